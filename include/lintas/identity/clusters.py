"""From links to persons: the connected components of NIK groups, rule pairs and confident model pairs (within
reviewers' constraints), and person ids that stay stable across runs, with the merges and splits between the runs."""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass

import pandas as pd

from lintas.identity.constraints import NONE, Constraints
from lintas.identity.scoring import MATCH_THRESHOLD


def components(record_keys: list[str], groups: list[list[str]], pairs: pd.DataFrame,
               rule_pairs: list[tuple[str, str]] = (), constraints: Constraints = NONE) -> dict[str, str]:
    """Union-find over reviewers' must-links, NIK groups, rule pairs and linked pairs: record key -> cluster
    representative. A link that would put two records with a cannot-link into one cluster is left out, so where
    reviewers said 'non_match' the strongest evidence (in that order, model pairs by probability) decides where
    a chain of links breaks."""
    parent = {k: k for k in record_keys}
    watched = {k: {k} for k in record_keys if constraints.constrained(k)}  # root -> its records with cannot-links

    def find(k: str) -> str:
        while parent[k] != k:
            parent[k] = parent[parent[k]]
            k = parent[k]
        return k

    def union(a: str, b: str) -> None:
        ra, rb = find(a), find(b)
        if ra == rb:
            return
        if ra in watched and rb in watched and constraints.keep_apart(watched[ra], watched[rb]):
            return
        kept, joined = min(ra, rb), max(ra, rb)
        parent[joined] = kept
        if joined in watched:
            watched.setdefault(kept, set()).update(watched.pop(joined))

    for link in constraints.must_links:
        if link.record_key_l in parent and link.record_key_r in parent:
            union(link.record_key_l, link.record_key_r)
    for group in groups:
        for other in group[1:]:
            union(group[0], other)
    for left, right in rule_pairs:
        union(left, right)
    linked = pairs[pairs["match_probability"] >= MATCH_THRESHOLD]
    if watched:
        linked = linked.sort_values("match_probability", ascending=False, kind="stable")
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
