"""From links to persons: the connected components of NIK groups, rule pairs and confident model pairs, and
person ids that stay stable across runs, with the merges and splits between the runs."""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass

import pandas as pd

from lintas.identity.scoring import MATCH_THRESHOLD


def components(record_keys: list[str], groups: list[list[str]], pairs: pd.DataFrame,
               rule_pairs: list[tuple[str, str]] = ()) -> dict[str, str]:
    """Union-find over NIK groups, rule pairs and linked pairs: record key -> cluster representative."""
    parent = {k: k for k in record_keys}

    def find(k: str) -> str:
        while parent[k] != k:
            parent[k] = parent[parent[k]]
            k = parent[k]
        return k

    def union(a: str, b: str) -> None:
        ra, rb = find(a), find(b)
        if ra != rb:
            parent[max(ra, rb)] = min(ra, rb)

    for group in groups:
        for other in group[1:]:
            union(group[0], other)
    for left, right in rule_pairs:
        union(left, right)
    linked = pairs[pairs["match_probability"] >= MATCH_THRESHOLD]
    for left, right in zip(linked["unique_id_l"], linked["unique_id_r"], strict=True):
        union(left, right)
    return {k: find(k) for k in record_keys}


@dataclass
class StableIds:
    person_of: dict[str, int]  # record key -> person id
    merges: list[tuple[int, list[int]]]
    splits: list[tuple[int, list[int]]]


def assign_person_ids(cluster_of: dict[str, str], previous: dict[str, int], new_id: Callable[[], int]) -> StableIds:
    """Keep the id most of a cluster's records had; a cluster with no (free) previous id gets a new one."""
    members: dict[str, list[str]] = defaultdict(list)
    for key, cluster in cluster_of.items():
        members[cluster].append(key)
    taken: set[int] = set()
    person_of: dict[str, int] = {}
    merges, chosen_by_prior = [], defaultdict(list)
    # biggest clusters choose first, so a split keeps the id with the larger part
    for cluster in sorted(members, key=lambda c: (-len(members[c]), c)):
        keys = members[cluster]
        prior = Counter(previous[k] for k in keys if k in previous)
        candidates = [pid for pid, _ in sorted(prior.items(), key=lambda x: (-x[1], x[0])) if pid not in taken]
        person_id = candidates[0] if candidates else new_id()
        taken.add(person_id)
        if len(prior) > 1:
            merges.append((person_id, sorted(p for p in prior if p != person_id)))
        for pid in prior:
            if pid != person_id:
                chosen_by_prior[pid].append(person_id)
        for key in keys:
            person_of[key] = person_id
    splits = [(pid, sorted(set(ids))) for pid, ids in chosen_by_prior.items() if pid in taken]
    return StableIds(person_of, merges, splits)
