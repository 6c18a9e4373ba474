"""Identity resolution rules that do not need a warehouse: NIK groups, the near-NIK rule, clustering, stable ids."""

import pandas as pd

from lintas.identity import linkage

COLUMNS = linkage.FEATURES


def records(*rows: dict) -> pd.DataFrame:
    base = dict.fromkeys(COLUMNS)
    return pd.DataFrame([{**base, "nik_valid": True, **row} for row in rows], columns=COLUMNS, dtype=object)


def test_a_nik_shared_by_records_that_agree_is_one_person_and_a_disputed_one_is_not():
    prepared = records(
        {"unique_id": "a:1", "nik": "3573011708850012", "dob": "1985-08-17", "sex": "L"},
        {"unique_id": "b:1", "nik": "3573011708850012", "dob": None, "sex": "L"},
        {"unique_id": "a:2", "nik": "3573014302010007", "dob": "2001-02-03", "sex": "P"},
        {"unique_id": "b:2", "nik": "3573014302010007", "dob": "1975-06-01", "sex": "P"},  # copy-pasted NIK
    )
    assert linkage.nik_groups(prepared) == [["a:1", "b:1"]]


def test_near_nik_rule_needs_the_name_and_a_place_or_birth_date_as_witness():
    prepared = records(
        {"unique_id": "dtks:1", "nik": "3573020507980001", "name": "dimas saputra", "sex": "L",
         "dob": "1998-07-05", "kelurahan": "35.73.02.1005"},
        # the same man in a workbook: NIK typed as an Excel number (16th digit lost), no birth date
        {"unique_id": "umkm:1", "nik": "3573020507980000", "name": "dimas saputra", "sex": "L",
         "kelurahan": "35.73.02.1005"},
        # a stranger born the same day in the same kecamatan: NIK one digit away, another name
        {"unique_id": "dtks:2", "nik": "3573020507980002", "name": "dimas pratama", "sex": "L",
         "dob": "1998-07-05", "kelurahan": "35.73.02.1005"},
        # same name and near NIK but recorded as a woman: a disagreement, not a typo
        {"unique_id": "disdik:1", "nik": "3573020507980003", "name": "dimas saputra", "sex": "P",
         "kelurahan": "35.73.02.1005"},
    )
    assert linkage.near_nik_pairs(prepared) == [("dtks:1", "umkm:1")]


def test_clusters_join_nik_groups_rule_pairs_and_only_confident_model_pairs():
    pairs = pd.DataFrame({"unique_id_l": ["c", "e"], "unique_id_r": ["d", "f"],
                          "match_probability": [linkage.MATCH_THRESHOLD, linkage.MATCH_THRESHOLD - 0.01]})
    cluster_of = linkage.clusters(list("abcdef"), [["a", "b"]], pairs, [("b", "c")])
    assert len({cluster_of[k] for k in "abcd"}) == 1
    assert cluster_of["e"] != cluster_of["f"], "below the threshold: review, not link"


def test_person_ids_are_stable_and_merges_and_splits_are_recorded():
    counter = iter(range(100, 200))
    first = linkage.assign_person_ids({"a": "a", "b": "a", "c": "c", "d": "d"}, {}, lambda: next(counter))
    assert first.person_of == {"a": 100, "b": 100, "c": 101, "d": 102}
    # next month: the same clusters plus a new record keep their ids
    again = linkage.assign_person_ids({"a": "a", "b": "a", "c": "c", "d": "d", "e": "e"}, first.person_of,
                                      lambda: next(counter))
    assert {k: again.person_of[k] for k in "abcd"} == first.person_of and again.person_of["e"] == 103
    # c and d turn out to be one person: the merge keeps one id and records the other
    merged = linkage.assign_person_ids({"a": "a", "b": "a", "c": "c", "d": "c"}, first.person_of,
                                       lambda: next(counter))
    assert merged.person_of["c"] == merged.person_of["d"] == 101
    assert merged.merges == [(101, [102])]
    # a and b turn out to be two people: the larger part keeps the id, the other gets a new one
    split = linkage.assign_person_ids({"a": "a", "b": "b"}, {"a": 100, "b": 100}, lambda: next(counter))
    assert split.person_of["a"] == 100 and split.person_of["b"] == 104
    assert split.splits == [(100, [104])]


def test_edit_distance_counts_a_transposition_once():
    assert linkage._osa_distance("3573011708850012", "3573011708850021", 2) == 1
    assert linkage._osa_distance("3573011708850012", "3573011708850012", 2) == 0
    assert linkage._osa_distance("3573011708850012", "9999999999999999", 2) == 3  # stops counting past 2


def test_near_nik_rule_catches_a_transposition():
    prepared = records(
        {"unique_id": "a", "nik": "3573011708850012", "name": "budi santoso", "kelurahan": "35.73.01.1001"},
        {"unique_id": "b", "nik": "3573011708850021", "name": "budi santoso", "kelurahan": "35.73.01.1001"},
    )
    assert linkage.near_nik_pairs(prepared) == [("a", "b")]
