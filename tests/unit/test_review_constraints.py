"""Reviewers' decisions as must-link / cannot-link constraints on small hand-made graphs."""

from datetime import UTC, datetime, timedelta

import pandas as pd

from lintas.identity import clusters, constraints, linkage, scoring

T0 = datetime(2026, 11, 1, 9, 0, tzinfo=UTC)


def decision(decision_id: int, left: str, right: str, kind: str, minutes: int = 0) -> constraints.Decision:
    return constraints.Decision(decision_id, left, right, kind, T0 + timedelta(minutes=minutes))


def model_pairs(*pairs: tuple[str, str, float]) -> pd.DataFrame:
    return pd.DataFrame(pairs, columns=["unique_id_l", "unique_id_r", "match_probability"])


def same(cluster_of: dict[str, str], *keys: str) -> bool:
    return len({cluster_of[k] for k in keys}) == 1


def test_a_cannot_link_breaks_a_chain_at_its_weakest_link():
    chain = model_pairs(("a", "b", 0.9999), ("b", "c", scoring.MATCH_THRESHOLD))
    assert same(clusters.components(list("abc"), [], chain), "a", "b", "c"), "without a decision: one chain"
    apart = constraints.in_force([decision(1, "a", "c", "non_match")])
    cluster_of = clusters.components(list("abc"), [], chain, [], apart)
    assert not same(cluster_of, "a", "c")
    assert same(cluster_of, "a", "b"), "the stronger link holds, the weaker one breaks"


def test_a_cannot_link_outranks_a_nik_group_rule_or_another_reviewers_match():
    # a and c share a NIK group with b; a reviewer found a and c are two people, then c and d one, then a and d
    apart = constraints.in_force([decision(1, "a", "c", "non_match"), decision(2, "c", "d", "match", minutes=5),
                                  decision(3, "a", "d", "match", minutes=1)])
    cluster_of = clusters.components(list("abcd"), [["a", "b", "c"]], model_pairs(), [("b", "d")], apart)
    assert not same(cluster_of, "a", "c")
    assert same(cluster_of, "c", "d"), "the newest must-link holds"
    assert same(cluster_of, "a", "b") and not same(cluster_of, "a", "d"), "the older one would join a and c"


def test_a_must_link_joins_two_components():
    pairs = model_pairs(("a", "b", 0.9995), ("c", "d", 0.9999), ("d", "e", 0.95))  # d-e: below the threshold
    before = clusters.components(list("abcde"), [], pairs)
    assert not same(before, "a", "c") and not same(before, "d", "e")
    joined = constraints.in_force([decision(1, "b", "e", "match")])
    after = clusters.components(list("abcde"), [], pairs, [], joined)
    assert same(after, "a", "b", "e") and not same(after, "a", "c")


def test_the_latest_decision_on_a_pair_is_in_force_whichever_order_it_is_read():
    history = [decision(1, "a", "b", "match", minutes=0), decision(2, "b", "a", "non_match", minutes=5),
               decision(3, "c", "d", "non_match", minutes=0), decision(4, "c", "d", "match", minutes=5),
               decision(5, "e", "f", "match", minutes=0), decision(6, "e", "f", "unsure", minutes=5)]
    for order in (history, history[::-1]):
        in_force = constraints.in_force(order)
        assert [d.decision_id for d in in_force.cannot_links] == [2]
        assert [d.decision_id for d in in_force.must_links] == [4], "'unsure' lifts the earlier match"
    pairs = model_pairs(("a", "b", 0.9999))
    cluster_of = clusters.components(list("abcdef"), [], pairs, [], constraints.in_force(history))
    assert not same(cluster_of, "a", "b") and same(cluster_of, "c", "d") and not same(cluster_of, "e", "f")


def test_decisions_on_records_no_longer_delivered_are_ignored():
    gone = constraints.in_force([decision(1, "a", "x", "match"), decision(2, "b", "y", "non_match")])
    cluster_of = clusters.components(list("ab"), [], model_pairs(("a", "b", 0.9999)), [], gone)
    assert same(cluster_of, "a", "b")


def test_a_split_by_a_cannot_link_is_an_event_naming_the_decision_and_a_review_link_has_its_method():
    apart = constraints.in_force([decision(7, "a", "c", "non_match"), decision(8, "c", "d", "match")])
    previous = {"a": 100, "b": 100, "c": 100, "d": 101}
    cluster_of = clusters.components(list("abcd"), [], model_pairs(("a", "b", 0.9999), ("b", "c", 0.9991)), [],
                                     apart)
    counter = iter(range(200, 300))
    ids = clusters.assign_person_ids(cluster_of, previous, lambda: next(counter))
    assert ids.person_of["a"] == ids.person_of["b"] == 100 and ids.person_of["c"] == ids.person_of["d"] == 101
    (split_from, split_into), = ids.splits
    (merged_into, merged), = ids.merges
    assert apart.causes("split", {split_from, *split_into}, ids.person_of, previous) == [7]
    assert apart.causes("merge", {merged_into, *merged}, ids.person_of, previous) == [8]
    # an event the decisions did not cause names none
    assert apart.causes("split", {100, 101}, {"a": 100, "b": 100, "c": 101, "d": 101},
                        {"a": 100, "b": 100, "c": 101, "d": 101}) == []
    assert linkage.match_method("d", set(), {}, set(), {"c", "d"}) == "review"
    assert linkage.match_method("d", set(), {"d": 0.9995}, set(), {"c", "d"}) == "probabilistic"
