"""Explaining a person: masking, field comparison and the text and JSON a person sees."""

from __future__ import annotations

import json
from datetime import UTC, datetime

from lintas.identity import explain


def _explanation(revealed: bool) -> explain.PersonExplanation:
    nik = "3573054203900011"
    record = explain.RecordLine("dinsos_dtks:ID1", "dinsos_dtks", nik if revealed else explain.mask_nik(nik),
                                "nik+probabilistic", 0.99987, name="SITI AMINAH" if revealed else None,
                                birth_date="1990-03-02" if revealed else None)
    link = explain.LinkLine("dinsos_dtks:ID1", "diskopindag_umkm:f!s!7", "name_birth_mother", None,
                            list(explain.DECISIVE["name_birth_mother"]),
                            {"nik": "missing", "name": "similar", "dob": "agree", "sex": "agree", "mother": "differ",
                             "kelurahan": "agree", "street": "missing"})
    event = {"link_run_id": 2, "event": "merge", "person_id": 7, "other_person_ids": [9],
             "recorded_at": datetime(2026, 11, 2, 8, 30, tzinfo=UTC)}
    return explain.PersonExplanation(7, revealed, [record], [link], [event])


def test_a_nik_is_masked_to_region_and_serial_and_anything_else_to_nothing():
    assert explain.mask_nik("3573054203900011") == "357305******0011"
    assert explain.mask_nik("3573 0542 0390 0011") == "357305******0011"
    assert explain.mask_nik("357305420390001") == "*" * 15  # not a NIK: not even its region shows
    assert explain.mask_nik(None) == explain.mask_nik("") == "-"


def test_fields_compare_as_agree_similar_differ_or_missing():
    left = {"nik": "3573054203900011", "name": "siti aminah", "dob": "1990-03-02", "sex": "P", "mother": "sri",
            "kelurahan": "35.73.05.1001", "street": None}
    right = {"nik": "3573054203900010", "name": "siti aminah", "dob": "1990-03-12", "sex": "L", "mother": None,
             "kelurahan": "35.73.05.1001", "street": "sukarno hatta"}
    assert explain.compare_fields(left, right) == {
        "nik": "similar", "name": "agree", "dob": "similar", "sex": "differ", "mother": "missing",
        "kelurahan": "agree", "street": "missing"}
    assert explain.compare_fields({**left, "nik": "3573050101800005", "dob": "1971-11-30"}, right)["nik"] == "differ"
    assert explain.compare_fields({**left, "dob": "1971-11-30"}, right)["dob"] == "differ"


def test_a_link_names_the_decisive_fields_that_agree_and_differ():
    link = _explanation(False).links[0]
    assert link.decisive == ["name", "dob", "mother"]
    assert (link.agreeing(), link.differing()) == (["name", "dob"], ["mother"])


def test_masked_output_shows_no_identity_and_revealed_output_does():
    masked = _explanation(False)
    for text in (masked.render_text(), masked.to_json()):
        assert "357305******0011" in text and "name_birth_mother" in text
        assert "3573054203900011" not in text and "SITI" not in text and "1990-03-02" not in text
    text = masked.render_text()
    assert "agree: name, dob; differ: mother" in text
    assert "run 2 2026-11-02 08:30: merge person 7 with 9" in text
    as_json = json.loads(masked.to_json())
    assert as_json["links"][0]["agreeing"] == ["name", "dob"] and as_json["records"][0]["name"] is None
    revealed = _explanation(True).render_text()
    assert "3573054203900011" in revealed and "SITI AMINAH" in revealed and "born 1990-03-02" in revealed
