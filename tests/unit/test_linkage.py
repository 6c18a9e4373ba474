"""Identity resolution rules that do not need a warehouse: NIK groups, the near-NIK rule, clustering, stable ids."""

from datetime import date

import pandas as pd

from lintas.identity import clusters, features, linkage, names, rules, scoring, workspace

COLUMNS = features.FEATURES


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
    assert rules.nik_groups(prepared) == [["a:1", "b:1"]]


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
    assert rules.near_nik_pairs(prepared) == [("dtks:1", "umkm:1")]


def test_clusters_join_nik_groups_rule_pairs_and_only_confident_model_pairs():
    pairs = pd.DataFrame({"unique_id_l": ["c", "e"], "unique_id_r": ["d", "f"],
                          "match_probability": [scoring.MATCH_THRESHOLD, scoring.MATCH_THRESHOLD - 0.01]})
    cluster_of = clusters.components(list("abcdef"), [["a", "b"]], pairs, [("b", "c")])
    assert len({cluster_of[k] for k in "abcd"}) == 1
    assert cluster_of["e"] != cluster_of["f"], "below the threshold: review, not link"


def test_person_ids_are_stable_and_merges_and_splits_are_recorded():
    counter = iter(range(100, 200))
    first = clusters.assign_person_ids({"a": "a", "b": "a", "c": "c", "d": "d"}, {}, lambda: next(counter))
    assert first.person_of == {"a": 100, "b": 100, "c": 101, "d": 102}
    # next month: the same clusters plus a new record keep their ids
    again = clusters.assign_person_ids({"a": "a", "b": "a", "c": "c", "d": "d", "e": "e"}, first.person_of,
                                      lambda: next(counter))
    assert {k: again.person_of[k] for k in "abcd"} == first.person_of and again.person_of["e"] == 103
    # c and d turn out to be one person: the merge keeps one id and records the other
    merged = clusters.assign_person_ids({"a": "a", "b": "a", "c": "c", "d": "c"}, first.person_of,
                                       lambda: next(counter))
    assert merged.person_of["c"] == merged.person_of["d"] == 101
    assert merged.merges == [(101, [102])]
    # a and b turn out to be two people: the larger part keeps the id, the other gets a new one
    split = clusters.assign_person_ids({"a": "a", "b": "b"}, {"a": 100, "b": 100}, lambda: next(counter))
    assert split.person_of["a"] == 100 and split.person_of["b"] == 104
    assert split.splits == [(100, [104])]


def test_edit_distance_counts_a_transposition_once():
    assert names.osa_distance("3573011708850012", "3573011708850021", 2) == 1
    assert names.osa_distance("3573011708850012", "3573011708850012", 2) == 0
    assert names.osa_distance("3573011708850012", "9999999999999999", 2) == 3  # stops counting past 2


def test_near_nik_rule_catches_a_transposition():
    prepared = records(
        {"unique_id": "a", "nik": "3573011708850012", "name": "budi santoso", "kelurahan": "35.73.01.1001"},
        {"unique_id": "b", "nik": "3573011708850021", "name": "budi santoso", "kelurahan": "35.73.01.1001"},
    )
    assert rules.near_nik_pairs(prepared) == [("a", "b")]


def test_a_same_birth_date_witnesses_a_near_nik_only_when_the_nik_differs_in_its_date_digits():
    prepared = records(
        # two children of the same common name born the same day, registered in the same kecamatan: serials
        # 0001 and 0002, living in different kelurahan, different mothers: two people
        {"unique_id": "dtks:1", "nik": "3573020507150001", "name": "muhammad rizki", "sex": "L",
         "dob": "2015-07-05", "kelurahan": "35.73.02.1005", "mother": "siti aminah"},
        {"unique_id": "disdik:1", "nik": "3573020507150002", "name": "muhammad rizki", "sex": "L",
         "dob": "2015-07-05", "kelurahan": "35.73.02.1009", "mother": "dewi lestari"},
        # a typo in the birth-date digits of the NIK while the recorded birth date agrees: one person
        {"unique_id": "dtks:2", "nik": "3573024411900003", "name": "ani susanti", "sex": "P",
         "dob": "1990-11-04", "kelurahan": "35.73.02.1005"},
        {"unique_id": "disdik:2", "nik": "3573024412900003", "name": "ani susanti", "sex": "P",
         "dob": "1990-11-04", "kelurahan": "35.73.02.1009"},
        # the same mother's name is a witness of its own
        {"unique_id": "dtks:3", "nik": "3573021203100004", "name": "rina wati", "sex": "P",
         "dob": "2010-03-12", "kelurahan": "35.73.02.1005", "mother": "sri rahayu"},
        {"unique_id": "disdik:3", "nik": "3573021203100005", "name": "rina wati", "sex": "P",
         "dob": "2010-03-12", "kelurahan": "35.73.02.1001", "mother": "sri rahayu"},
    )
    assert rules.near_nik_pairs(prepared) == [("disdik:2", "dtks:2"), ("disdik:3", "dtks:3")]


def test_a_permit_joins_a_near_nik_of_the_same_name_only_outside_the_date_digits_and_unambiguously():
    permit = features.PERMITS
    prepared = records(
        # the business address differs from the home: no witness is possible, the serial typo is accepted
        {"unique_id": "umkm:1", "source": "diskopindag_umkm", "nik": "3573050101800011", "name": "agus salim",
         "sex": "L", "dob": "1980-01-01", "kelurahan": "35.73.05.1001"},
        {"unique_id": f"{permit}:1", "source": permit, "nik": "3573050101800012", "name": "agus salim",
         "kelurahan": "35.73.01.1003"},
        # a namesake born days apart (NIK differs in the birth-date digits): not joined
        {"unique_id": "dtks:2", "source": "dinsos_dtks", "nik": "3573050202800021", "name": "budi hartono",
         "sex": "L", "dob": "1980-02-02", "kelurahan": "35.73.05.1001"},
        {"unique_id": f"{permit}:2", "source": permit, "nik": "3573050302800021", "name": "budi hartono",
         "kelurahan": "35.73.01.1003"},
        # ambiguous: the permit's NIK is one edit from two different same-name NIKs
        {"unique_id": "dtks:3", "source": "dinsos_dtks", "nik": "3573050505800031", "name": "eko prasetyo",
         "sex": "L", "dob": "1980-05-05", "kelurahan": "35.73.05.1001"},
        {"unique_id": "dtks:4", "source": "dinsos_dtks", "nik": "3573050505800033", "name": "eko prasetyo",
         "sex": "L", "dob": "1980-05-05", "kelurahan": "35.73.05.1002"},
        {"unique_id": f"{permit}:3", "source": permit, "nik": "3573050505800032", "name": "eko prasetyo",
         "kelurahan": "35.73.01.1003"},
    )
    assert rules.near_nik_pairs(prepared) == [(f"{permit}:1", "umkm:1")]


def test_name_birth_date_and_mother_together_link_but_twins_and_far_niks_do_not():
    prepared = records(
        {"unique_id": "dtks:1", "name": "dimas saputra", "dob": "2012-04-01", "mother": "sri wahyuni", "sex": "L",
         "nik": "3573050104120001", "kelurahan": "35.73.05.1001"},
        # moved house, NIK not recorded
        {"unique_id": "disdik:1", "name": "dimas saputra", "dob": "2012-04-01", "mother": "sri wahyuni",
         "sex": "L", "kelurahan": "35.73.01.1003"},
        # twin: same birth date and mother, another name
        {"unique_id": "disdik:2", "name": "dika saputra", "dob": "2012-04-01", "mother": "sri wahyuni",
         "sex": "L"},
    )
    assert rules.name_birth_mother_pairs(prepared) == [("disdik:1", "dtks:1")]
    # all three alike but another record with another NIK: which one the record without NIK is, the rule
    # cannot tell (it would chain two NIKs into one person), so it links none of them
    namesake = records({"unique_id": "disdik:3", "name": "dimas saputra", "dob": "2012-04-01",
                        "mother": "sri wahyuni", "sex": "L", "nik": "3573019999120077"})
    assert rules.name_birth_mother_pairs(pd.concat([prepared, namesake], ignore_index=True)) == []


def test_a_home_business_permit_joins_the_one_person_of_its_name_street_and_kelurahan():
    permit = features.PERMITS
    home = {"kelurahan": "35.73.05.1001", "street": "sukarno hatta"}
    prepared = records(
        {"unique_id": f"{permit}:1", "source": permit, "name": "sri mulyani", "nik": None, **home},
        {"unique_id": "dtks:1", "source": "dinsos_dtks", "name": "sri mulyani", "nik": "3573054506700001",
         "dob": "1970-06-05", **home},
        {"unique_id": "umkm:1", "source": "diskopindag_umkm", "name": "sri mulyani", "nik": "3573054506700001",
         **home},
        # two different people of that name on the street: ambiguous, not joined
        {"unique_id": f"{permit}:2", "source": permit, "name": "joko susilo", "nik": None, **home},
        {"unique_id": "dtks:2", "source": "dinsos_dtks", "name": "joko susilo", "nik": "3573050101600001", **home},
        {"unique_id": "dtks:3", "source": "dinsos_dtks", "name": "joko susilo", "nik": "3573050101900002", **home},
        # a pupil namesake is no candidate for a permit holder
        {"unique_id": f"{permit}:3", "source": permit, "name": "rizky pratama", "nik": None, **home},
        {"unique_id": "disdik:3", "source": "disdik_peserta_didik", "name": "rizky pratama", "nik": None,
         "dob": "2014-02-01", **home},
    )
    assert rules.home_business_pairs(prepared) == [(f"{permit}:1", "dtks:1"), (f"{permit}:1", "umkm:1")]


def test_match_method_names_the_strongest_evidence_and_rule_for_links_without_nik_or_model():
    in_nik_group, best, by_rule = {"a", "b"}, {"b": 0.9995, "c": 0.9991}, {"a", "c", "d"}
    methods = {k: linkage.match_method(k, in_nik_group, best, by_rule) for k in "abcde"}
    assert methods == {"a": "nik", "b": "nik+probabilistic", "c": "probabilistic", "d": "rule", "e": "single"}


def test_blocking_rules_never_block_on_a_name_alone_and_duckdb_spill_is_bounded():
    # a given name with only the kelurahan or only the surname grows with the square of the city (bench/README.md)
    for rule in scoring.BLOCKING:
        if '"first_name"' in rule:
            assert rule.count(" and ") >= 1 and ('"dob"' in rule or rule.count(" and ") >= 2), rule
    with workspace.duckdb_connection() as con:
        limit = con.execute("select current_setting('max_temp_directory_size')").fetchone()[0]
    assert limit.endswith("GiB") and float(limit.split()[0]) < 100


def _candidate_pairs(prepared: pd.DataFrame) -> int:
    with workspace.duckdb_connection() as con:
        scoring.create_linkage_features(con, prepared)
        rules = " or ".join(f"coalesce({rule}, false)" for rule in scoring.BLOCKING)
        # the model's own blocking rules are SQL expressions (DuckDB), not identifiers or values
        return con.execute("select count(*) from linkage_features as l inner join linkage_features as r"  # noqa: S608
                           f" on l.unique_id < r.unique_id where {rules}").fetchone()[0]


def test_a_name_block_without_birth_date_is_capped_so_candidate_pairs_grow_linearly():
    holder = {"first_name": "budi", "last_name": "santoso", "name": "budi santoso", "kelurahan": "35.73.05.1001",
              "street": "sukarno hatta"}
    few = records(*({"unique_id": f"izin:{i}", **holder} for i in range(3)))
    assert _candidate_pairs(few) == 3
    # more namesakes than MAX_BLOCK_RECORDS at one address and no birth date: not compared with each other
    many = records(*({"unique_id": f"izin:{i}", **holder} for i in range(scoring.MAX_BLOCK_RECORDS + 1)))
    assert _candidate_pairs(many) == 0


def raw(**fields) -> dict:
    """A record as int_identity__source_records delivers it."""
    return {**dict.fromkeys(features.SOURCE_COLUMNS), "nik_from_number_cell": False, **fields}


def test_a_family_card_number_typed_as_nik_is_no_key_even_on_a_record_without_a_no_kk_of_its_own():
    family_card = "3573050312150004"  # issued 3 Dec 2015 in Sukun
    prepared = features.prepare(pd.DataFrame([
        raw(record_key="dinsos_dtks:1", record_source="dinsos_dtks", nik="3573054506700001", no_kk=family_card,
            nama="SRI MULYANI", jenis_kelamin="P", tanggal_lahir=date(1970, 6, 5)),
        # her UMKM row: the clerk copied the No. KK into the NIK column, and the workbook has no No. KK column
        raw(record_key="diskopindag_umkm:f!s!7", record_source="diskopindag_umkm", nik=family_card,
            nama="Hj. Sri Mulyani", jenis_kelamin="P"),
        # a pupil without No. KK whose NIK column holds a card issued in 2019: its date digits are no birth date
        raw(record_key="disdik_peserta_didik:9", record_source="disdik_peserta_didik", nik="3573051107190002",
            nama="AGUS SANTOSO", jenis_kelamin="L", tanggal_lahir=date(2012, 3, 14)),
        # one digit off the recorded birth date is a typo, not another number: still this record's NIK
        raw(record_key="disdik_peserta_didik:10", record_source="disdik_peserta_didik", nik="3573051403120003",
            nama="BAYU AJI", jenis_kelamin="L", tanggal_lahir=date(2012, 3, 15)),
    ], dtype=object)).set_index("unique_id")
    assert pd.isna(prepared.loc["diskopindag_umkm:f!s!7", "nik"])
    pupil = prepared.loc["disdik_peserta_didik:9"]
    assert pupil["nik_contradicted"] and not pupil["nik_valid"] and pupil["nik"] == "3573051107190002"
    assert not prepared.loc["disdik_peserta_didik:10", "nik_contradicted"]
    assert prepared.loc["disdik_peserta_didik:10", "nik_valid"]


def test_a_nik_that_contradicts_its_record_neither_forms_a_nik_group_nor_vetoes_a_link():
    prepared = records(
        # two pupils whose NIK column holds their family card: the same number, each contradicting its record
        {"unique_id": "disdik:1", "nik": "3573051107190002", "nik_valid": False, "nik_contradicted": True,
         "dob": "2012-03-14", "sex": "L"},
        {"unique_id": "disdik:2", "nik": "3573051107190002", "nik_valid": False, "nik_contradicted": True,
         "dob": "2012-03-14", "sex": "L"},
    )
    assert rules.nik_groups(prepared) == []
    scored = pd.DataFrame({"unique_id_l": ["disdik:1", "dtks:5"], "unique_id_r": ["dtks:1", "dtks:6"],
                           "nik_l": ["3573051107190002", "3573050101800001"],
                           "nik_r": ["3573051403120003", "3573059912990009"], "match_probability": [0.9999, 0.9999]})
    assert list(rules.nik_veto(scored, {"disdik:1", "disdik:2"})) == [False, True]


def test_a_fifteen_digit_number_cell_nik_is_the_same_corrupt_number_as_one_with_a_zeroed_16th_digit():
    prepared = features.prepare(pd.DataFrame([
        raw(record_key="diskopindag_umkm:f!s!3", record_source="diskopindag_umkm", nik="357305170885001",
            nik_from_number_cell=True, nama="DIMAS SAPUTRA", jenis_kelamin="L"),
    ], dtype=object))
    assert prepared.loc[0, "nik"] == "3573051708850010" and not prepared.loc[0, "nik_valid"]


def test_near_nik_rule_accepts_a_typo_an_initial_or_a_leftover_title_in_the_name_but_not_another_name():
    place = {"kelurahan": "35.73.02.1005", "sex": "L"}
    prepared = records(
        {"unique_id": "dtks:1", "nik": "3573020507980001", "name": "dimas saputra", "dob": "1998-07-05", **place},
        # Excel number cell (16th digit lost) and one typo in the surname
        {"unique_id": "umkm:1", "nik": "3573020507980000", "name": "dimas saputrs", **place},
        {"unique_id": "dtks:2", "nik": "3573021203870004", "name": "budi santoso", "dob": "1987-03-12", **place},
        # the surname as an initial, NIK transposed
        {"unique_id": "umkm:2", "nik": "3573021203870040", "name": "budi s", **place},
        {"unique_id": "dtks:3", "nik": "3573026110750003", "name": "siti aminah", "dob": "1975-10-21",
         "kelurahan": "35.73.02.1005", "sex": "P"},
        # a title the dictionary lacks ("bu") left in front
        {"unique_id": "umkm:3", "nik": "3573026110750000", "name": "bu siti aminah",
         "kelurahan": "35.73.02.1005", "sex": "P"},
        # a stranger of the same given name, NIK one serial digit away, same kelurahan: another surname
        {"unique_id": "dtks:4", "nik": "3573020507980002", "name": "dimas pratama", "dob": "1998-07-05", **place},
    )
    assert rules.near_nik_pairs(prepared) == [("dtks:1", "umkm:1"), ("dtks:2", "umkm:2"), ("dtks:3", "umkm:3")]


def test_home_business_counts_persons_so_a_holder_already_linked_across_two_records_is_joined():
    permit = features.PERMITS
    home = {"kelurahan": "35.73.05.1001", "street": "sukarno hatta"}
    prepared = records(
        {"unique_id": f"{permit}:1", "source": permit, "name": "sri mulyani", "nik": None, **home},
        # the same woman in DTKS with her NIK and in a workbook without one: two records, one person
        {"unique_id": "dtks:1", "source": "dinsos_dtks", "name": "sri mulyani", "nik": "3573054506700001",
         "dob": "1970-06-05", **home},
        {"unique_id": "umkm:1", "source": "diskopindag_umkm", "name": "sri mulyani", "nik": None, **home},
    )
    assert rules.home_business_pairs(prepared) == [], "counted as records: two candidates, ambiguous"
    person_of = {"dtks:1": "dtks:1", "umkm:1": "dtks:1"}  # linked by an earlier rule or the model
    assert rules.home_business_pairs(prepared, person_of) == [(f"{permit}:1", "dtks:1"), (f"{permit}:1", "umkm:1")]
    # house numbers recorded on both sides and different: a namesake further along the street, not her home
    prepared["house_number"] = ["12", "40", None]
    assert rules.home_business_pairs(prepared, person_of) == [(f"{permit}:1", "umkm:1")]


def test_a_similar_name_with_the_same_birth_date_and_home_or_mother_links_when_no_two_niks_say_otherwise():
    home = {"kelurahan": "35.73.04.1007", "street": "kawi", "sex": "P", "dob": "2011-09-02"}
    prepared = records(
        {"unique_id": "dtks:1", "name": "rahmawati putri", "nik": "3573044209110003", "mother": "sri wahyuni",
         **home},
        # her school record: surname typed with a dropped letter, NIK left blank
        {"unique_id": "disdik:1", "name": "rahmawati putr", "nik": None, "mother": "sri wahyuni", **home},
        # her twin: same date, home and mother, a given name two letters away
        {"unique_id": "dtks:2", "name": "rahmadani putri", "nik": None, "mother": "sri wahyuni", **home},
        # moved house, the family card in the NIK field (contradicted), the mother remarried and recorded with
        # her new husband's name after hers: neither home nor mother's name in common
        {"unique_id": "disdik:7", "name": "bayu aji", "nik": "3573051107190002", "nik_contradicted": True,
         "mother": "endang lestari", "dob": "2012-03-14", "sex": "L", "kelurahan": "35.73.01.1002"},
        {"unique_id": "dtks:7", "name": "bayu a", "nik": "3573051403120003", "mother": "endang lestari hasan",
         "dob": "2012-03-14", "sex": "L", "kelurahan": "35.73.05.1001"},
    )
    assert rules.similar_name_birth_pairs(prepared) == [("disdik:1", "dtks:1")]
    # the same mother's name in both: the moved pupil joins; the contradicted NIK does not stand in the way
    prepared.loc[prepared["unique_id"] == "dtks:7", "mother"] = "endang lestari"
    assert rules.similar_name_birth_pairs(prepared) == [("disdik:1", "dtks:1"), ("disdik:7", "dtks:7")]
    # a namesake born the same day on the same street with her own NIK, far from the first: the record without
    # NIK cannot tell which of the two it is
    namesake = records({"unique_id": "umkm:9", "name": "rahmawati putri", "nik": "3573104209110001", **home})
    assert rules.similar_name_birth_pairs(pd.concat([prepared, namesake], ignore_index=True)) == [
        ("disdik:7", "dtks:7")]


def test_a_shared_nik_with_disagreeing_birth_dates_links_the_records_of_one_name_only():
    prepared = records(
        {"unique_id": "dtks:1", "nik": "3573014302010007", "name": "nur aini", "dob": "2001-02-03", "sex": "P"},
        # the school typed day and month the other way round
        {"unique_id": "disdik:1", "nik": "3573014302010007", "name": "nur aini", "dob": "2001-03-02", "sex": "P"},
        # her mother's record with the daughter's NIK copied in: another name
        {"unique_id": "dtks:2", "nik": "3573014302010007", "name": "sri wahyuni", "dob": "1975-06-01", "sex": "P"},
    )
    assert rules.nik_groups(prepared) == []
    assert rules.same_nik_pairs(prepared) == [("disdik:1", "dtks:1")]


def test_a_permit_nik_whose_date_digits_say_a_child_is_contradicted():
    prepared = features.prepare(pd.DataFrame([
        raw(record_key=f"{features.PERMITS}:4", record_source=features.PERMITS, nik="3573050312150004",
            nama="SRI MULYANI"),
        raw(record_key=f"{features.PERMITS}:5", record_source=features.PERMITS, nik="3573054506700001",
            nama="SRI MULYANI"),
    ], dtype=object))
    assert list(prepared["nik_contradicted"]) == [True, False]


def test_excels_lost_16th_digit_needs_no_witness_when_unambiguous():
    prepared = records(
        {"unique_id": "dtks:1", "nik": "3573020507980003", "name": "dimas saputra", "sex": "L",
         "dob": "1998-07-05", "kelurahan": "35.73.02.1005"},
        # moved house since: another kelurahan, no mother recorded; the workbook kept the NIK as a number
        {"unique_id": "umkm:1", "nik": "3573020507980000", "nik_number_cell": True, "name": "dimas saputra",
         "sex": "L", "dob": "1998-07-05", "kelurahan": "35.73.05.1001"},
    )
    assert rules.near_nik_pairs(prepared) == [("dtks:1", "umkm:1")]
    # typed as text, the same one digit is a stranger's serial as much as a typo: no witness, no link
    prepared["nik_number_cell"] = False
    assert rules.near_nik_pairs(prepared) == []


def test_rules_return_no_pairs_when_no_candidates_exist():
    prepared = records(
        {"unique_id": "dtks:1", "name": "dimas saputra", "dob": "1998-07-05", "sex": "L"},
        {"unique_id": "disdik:1", "name": "nur aini", "dob": "2011-02-03", "sex": "P"},
    )
    assert rules.similar_name_birth_pairs(prepared) == [] and rules.same_nik_pairs(prepared) == []


def test_a_number_cell_nik_with_one_more_typo_is_still_near_on_its_first_15_digits():
    permit = features.PERMITS
    prepared = records(
        # the owner's workbook row: NIK typed as a number (16th digit lost) with the 9th digit mistyped
        {"unique_id": "umkm:1", "source": "diskopindag_umkm", "nik": "3573022507980000", "nik_number_cell": True,
         "name": "dimas saputra", "kelurahan": "35.73.02.1005"},
        # his permit from OSS: the NIK as it is
        {"unique_id": f"{permit}:1", "source": permit, "nik": "3573022508980003", "name": "dimas saputra",
         "kelurahan": "35.73.02.1005"},
        # two typed-as-text NIKs two edits apart: no rule for those
        {"unique_id": "umkm:2", "source": "diskopindag_umkm", "nik": "3573031203870011", "name": "budi santoso",
         "kelurahan": "35.73.03.1001"},
        {"unique_id": f"{permit}:2", "source": permit, "nik": "3573031204870014", "name": "budi santoso",
         "kelurahan": "35.73.03.1001"},
    )
    assert rules.near_nik_pairs(prepared) == [(f"{permit}:1", "umkm:1")]


def test_a_shared_business_id_joins_an_owners_workbook_row_and_permit_of_one_persons_names_only():
    permit, umkm = features.PERMITS, "diskopindag_umkm"
    nib = "9120204567813"
    prepared = records(
        # Bu Sri's workbook row: the clerk typed her No. KK as NIK (no NIK left), her permit has no NIK at all
        {"unique_id": f"{umkm}:f!s!3", "source": umkm, "name": "sri mulyani", "nib": nib, "sex": "P",
         "dob": "1970-06-05", "nik": None},
        {"unique_id": f"{permit}:11", "source": permit, "name": "hj sri mulyani", "nib": nib, "nik": None},
        # the same NIB mistyped onto another owner's row: another name, stays apart
        {"unique_id": f"{umkm}:f!s!9", "source": umkm, "name": "bambang hermawan", "nib": nib, "nik": None},
        # a permit of the same name and NIB whose NIK says another person (three digits of the serial away)
        {"unique_id": f"{permit}:12", "source": permit, "name": "sri mulyani", "nib": nib,
         "nik": "3573054506700999"},
        {"unique_id": f"{umkm}:f!s!4", "source": umkm, "name": "sri mulyani", "nib": nib,
         "nik": "3573054506700001", "sex": "P"},
        # a NIB on a pupil's record does not exist; an unlicensed business has none: no pair without one
        {"unique_id": f"{umkm}:f!s!5", "source": umkm, "name": "sri mulyani", "nib": None, "nik": None},
    )
    found = rules.same_nib_pairs(prepared)
    assert all(a < b for a, b in found)
    assert {frozenset(p) for p in found} == {frozenset(p) for p in [
        (f"{permit}:11", f"{permit}:12"), (f"{permit}:11", f"{umkm}:f!s!3"), (f"{permit}:11", f"{umkm}:f!s!4"),
        (f"{umkm}:f!s!3", f"{permit}:12"), (f"{umkm}:f!s!3", f"{umkm}:f!s!4")]}
    # the permit's NIK column holds her family card, issued 5 Mar 2004: its date digits cannot be a woman born on
    # 5 Jun 1970 (the workbook records her birth date), so it says nothing against her
    prepared.loc[prepared["unique_id"] == f"{permit}:12", "nik"] = "3573050503040011"
    prepared.loc[prepared["unique_id"] == f"{umkm}:f!s!4", "dob"] = "1970-06-05"
    assert (f"{umkm}:f!s!4", f"{permit}:12") in rules.same_nib_pairs(prepared)
    # a recorded sex that disagrees: not one person
    prepared.loc[prepared["unique_id"] == f"{umkm}:f!s!4", "sex"] = "L"
    assert (f"{umkm}:f!s!3", f"{umkm}:f!s!4") not in rules.same_nib_pairs(prepared)


def test_a_business_id_is_read_as_13_digits_or_not_at_all():
    prepared = features.prepare(pd.DataFrame([
        raw(record_key="diskopindag_umkm:f!s!1", record_source="diskopindag_umkm", nama="SRI MULYANI",
            nib="9120204567813"),
        raw(record_key="dpmptsp_izin_usaha:1", record_source="dpmptsp_izin_usaha", nama="SRI MULYANI",
            nib="912020456781"),  # 12 digits: malformed
        raw(record_key="dpmptsp_izin_usaha:2", record_source="dpmptsp_izin_usaha", nama="SRI MULYANI",
            nib="0000000000000"),  # a placeholder
    ], dtype=object)).set_index("unique_id")
    assert prepared["nib"].iloc[0] == "9120204567813" and prepared["nib"].iloc[1:].isna().all()


def test_a_home_business_joins_a_nik_two_typos_away_but_not_a_nik_that_says_another_person():
    permit = features.PERMITS
    home = {"kelurahan": "35.73.02.1004", "street": "ciliwung", "house_number": "17"}
    prepared = records(
        # Pak Joko's DTKS record, and his permit at home whose NIK the clerk typed with two slips
        {"unique_id": "dtks:1", "source": "dinsos_dtks", "name": "joko susilo", "nik": "3573021203750004",
         "dob": "1975-03-12", **home},
        {"unique_id": f"{permit}:1", "source": permit, "name": "joko susilo", "nik": "3573021230750007", **home},
    )
    assert rules.home_business_pairs(prepared) == [(f"{permit}:1", "dtks:1")]
    # three digits away: that NIK says someone else (a namesake who rents the front room), no link
    prepared.loc[1, "nik"] = "3573021230750907"
    assert rules.home_business_pairs(prepared) == []


def test_a_permit_joins_a_nik_group_only_under_a_name_one_person_could_have():
    permit = features.PERMITS
    nik = "3573011708850012"
    prepared = records(
        {"unique_id": "dtks:1", "source": "dinsos_dtks", "nik": nik, "name": "agus salim", "dob": "1985-08-17",
         "sex": "L"},
        # his own permit, the title left in: one person
        {"unique_id": f"{permit}:1", "source": permit, "nik": nik, "name": "h agus salim"},
        # a neighbour's permit whose NIK took a typo onto his serial: another name, no birth date to disagree
        {"unique_id": f"{permit}:2", "source": permit, "nik": nik, "name": "rudi hartono"},
    )
    assert rules.nik_groups(prepared) == [["dtks:1", f"{permit}:1"]]
    # a permit in his own kelurahan: the place witnesses what the name cannot (a nickname, a business name)
    prepared.loc[prepared["unique_id"] == "dtks:1", "kelurahan"] = "35.73.01.1002"
    prepared.loc[prepared["unique_id"] == f"{permit}:2", "kelurahan"] = "35.73.01.1002"
    assert rules.nik_groups(prepared) == [["dtks:1", f"{permit}:1", f"{permit}:2"]]
    # two undated permits alone: each one's name is checked against the other's
    alone = records(
        {"unique_id": f"{permit}:3", "source": permit, "nik": nik, "name": "agus salim"},
        {"unique_id": f"{permit}:4", "source": permit, "nik": nik, "name": "rudi hartono"},
    )
    assert rules.nik_groups(alone) == []
