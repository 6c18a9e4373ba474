"""Reviewers' decisions as constraints every linkage run honours: a 'match' is a must-link (the two records'
clusters join), a 'non_match' a cannot-link (no chain of links may put the two records in one cluster). Decisions
are keyed by the records' stable keys, so they survive re-runs and model changes; the latest decision on a pair
is the one in force and 'unsure' constrains nothing (identity.review_decision, migration 015)."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime

DECISIONS = ("match", "non_match", "unsure")


@dataclass(frozen=True)
class Decision:
    decision_id: int
    record_key_l: str
    record_key_r: str
    decision: str  # one of DECISIONS
    decided_at: datetime


@dataclass(frozen=True)
class Constraints:
    must_links: tuple[Decision, ...] = ()  # newest first
    cannot_links: tuple[Decision, ...] = ()
    _cannot_of: dict[str, set[str]] = field(init=False, repr=False, compare=False, hash=False)

    def __post_init__(self):
        cannot_of = defaultdict(set)
        for d in self.cannot_links:
            cannot_of[d.record_key_l].add(d.record_key_r)
            cannot_of[d.record_key_r].add(d.record_key_l)
        object.__setattr__(self, "_cannot_of", cannot_of)

    def constrained(self, key: str) -> bool:
        """Whether the record has a cannot-link (only such records need watching when clusters join)."""
        return key in self._cannot_of

    def keep_apart(self, watched_a: set[str], watched_b: set[str]) -> bool:
        """Whether two clusters, given their records with cannot-links, must not join."""
        small, large = sorted((watched_a, watched_b), key=len)
        return any(not self._cannot_of[k].isdisjoint(large) for k in small)

    def causes(self, event: str, person_ids: set[int], person_of: dict[str, int],
               previous: dict[str, int]) -> list[int]:
        """The decisions behind a 'merge' or 'split' event among `person_ids`: must-links whose records were two
        persons and are now one, cannot-links whose records were one person and are now two."""
        links = self.must_links if event == "merge" else self.cannot_links
        return sorted(
            d.decision_id for d in links
            if {person_of.get(d.record_key_l), person_of.get(d.record_key_r)} <= person_ids
            and (person_of[d.record_key_l] == person_of[d.record_key_r]) == (event == "merge")
            and (previous.get(d.record_key_l) == previous.get(d.record_key_r) is not None) == (event == "split"))


NONE = Constraints()


def in_force(decisions: list[Decision]) -> Constraints:
    """The latest decision on each pair (a later decision overrides an earlier one, whichever way), as
    constraints."""
    latest: dict[tuple[str, str], Decision] = {}
    for d in sorted(decisions, key=lambda d: (d.decided_at, d.decision_id)):
        latest[tuple(sorted((d.record_key_l, d.record_key_r)))] = d
    newest_first = sorted(latest.values(), key=lambda d: (d.decided_at, d.decision_id), reverse=True)
    return Constraints(must_links=tuple(d for d in newest_first if d.decision == "match"),
                       cannot_links=tuple(d for d in newest_first if d.decision == "non_match"))


def read(conn) -> Constraints:
    """The decisions in force in the warehouse."""
    rows = conn.execute("select review_decision_id, record_key_l, record_key_r, decision, decided_at"
                        " from identity.review_decision").fetchall()
    return in_force([Decision(*row) for row in rows])
