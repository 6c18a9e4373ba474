"""Data-subject access (`lintas subject`) on the hand-made town of test_marts, delivered through all four
channels and built by the real pipeline. One more workbook brings a quarantined row with the subject's NIK and a
row of the same owner under a mistyped NIK, which only identity resolution ties to them."""

from __future__ import annotations

import io
import json
import logging
import stat

import pytest

from lintas import cli, pipeline, settings, warehouse
from lintas.privacy import subject
from tests.fixtures.umkm_workbooks import owner, write_workbook
from tests.integration.test_marts import CTX, NIK, PEOPLE, town  # noqa: F401 (town: the module's fixture)

SUBJECT = "A0"  # SUPRIYADI: welfare register (two months), an SME owner; family card KK_A with A1 and A2
TYPO_NIK = NIK[SUBJECT][:-1] + "7"  # one digit off: a clerk's typo in the second workbook


@pytest.fixture(scope="module")
def warehouse_of_town(town, tmp_path_factory):  # noqa: F811
    name, sex, born, _, _ = PEOPLE[SUBJECT]
    outbox = tmp_path_factory.mktemp("subject") / "diskopindag"
    outbox.mkdir()
    same_owner = {"NAMA PEMILIK": name, "JENIS KELAMIN": sex, "TANGGAL LAHIR": born, "KELURAHAN": "TLOGOMAS",
                  "NIB": None, "NAMA KOPERASI": None, "NOMOR INDUK KOPERASI": None, "PINJAMAN MODAL BPR": "TIDAK",
                  "NILAI PINJAMAN (Rp)": None}
    write_workbook(outbox / "UMKM_BINAAN_2026_SUSULAN.xlsx", {"LOWOKWARU": [
        owner(0, **{**same_owner, "NIK": TYPO_NIK, "NAMA USAHA": "KERIPIK TEMPE SUPRI"}),
        owner(1, **{**same_owner, "NIK": NIK[SUBJECT], "NAMA PEMILIK": None}),  # quarantined: no owner name
    ]})
    with pytest.MonkeyPatch.context() as env:
        env.setenv("WAREHOUSE_URL", town)
        env.setenv("LINTAS_OUTBOX_DISKOPINDAG", str(outbox))
        settings.reload()
        report = pipeline.extract_files("diskopindag_umkm", CTX)
        assert (report["rows_loaded"], report["rows_quarantined"]) == (1, 1)
        pipeline.gate_source("diskopindag_umkm", report, CTX)
        pipeline.build_warehouse(CTX)
    return town


def _text(report: subject.SubjectReport) -> str:
    return report.render_text() + report.to_json()


def test_every_layer_is_found_with_the_persons_other_records(warehouse_of_town, caplog):
    caplog.set_level(logging.DEBUG)
    report = subject.find(NIK[SUBJECT], warehouse_of_town, include_views=True)
    assert report.views_not_searched == []
    assert len(report.person_ids) == 1
    sources = sorted(k.split(":")[0] for k in report.record_keys)
    assert sources == [
        "dinsos_dtks", "diskopindag_umkm", "diskopindag_umkm"]
    assert any("SUSULAN" in k for k in report.record_keys), "the mistyped-NIK record, linked to the same person"
    found = {f.relation: f for f in report.found}
    assert {f.layer for f in report.found} == {"raw", "quarantine", "staging", "intermediate", "identity",
                                               "marts", "snapshots"}
    assert len(found["raw.dinsos_dtks"].rows) == 2, "both monthly snapshots"
    umkm_raw = found["raw.diskopindag_umkm"]
    niks = sorted(row[umkm_raw.columns.index("nik")] for row in umkm_raw.rows)
    assert niks == sorted([NIK[SUBJECT], TYPO_NIK]), "the typo row is found through the person, not the NIK"
    assert len(found["quarantine.row_error"].rows) == 1
    assert len(found["identity.person_record"].rows) == 3
    assert len(found["marts.dim_person"].rows) == 1
    needs = found["marts.fct_person_needs"]
    assert [row[needs.columns.index("rule_code")] for row in needs.rows] == ["UMKM_TANPA_IZIN"]
    programmes = found["marts.fct_programme_participation"]
    assert {row[programmes.columns.index("programme")] for row in programmes.rows} >= {"PKH", "PELATIHAN_UMKM"}
    assert len(found["marts.dim_dtks_member_history"].rows) >= 1
    assert found["snapshots.snap_dtks_household_status"].matched_by == ["kepala_keluarga_person_id",
                                                                         "no_kk (household)"]
    assert report.row_count == sum(len(f.rows) for f in report.found)
    # the subject's own data is in the report ...
    assert NIK[SUBJECT] in report.render_text() and "SUPRIYADI" in report.to_json()
    # ... and never in a log
    assert NIK[SUBJECT] not in caplog.text and TYPO_NIK not in caplog.text and "SUPRIYADI" not in caplog.text


def test_by_default_every_table_is_searched_and_views_are_named(warehouse_of_town):
    """Views store nothing: by default the tables they compute from are searched, and the views are listed."""
    report = subject.find(NIK[SUBJECT], warehouse_of_town)
    assert {f.layer for f in report.found} == {"raw", "quarantine", "intermediate", "identity", "marts",
                                               "snapshots"}
    assert "staging.stg_dinsos__dtks_members" in report.views_not_searched
    assert "intermediate.int_identity__source_records" in {f.relation for f in report.found}  # a table
    with_views = subject.find(NIK[SUBJECT], warehouse_of_town, include_views=True)
    tables = {f.relation: len(f.rows) for f in with_views.found if f.relation not in report.views_not_searched}
    assert tables == {f.relation: len(f.rows) for f in report.found}
    assert "view(s) not searched" in report.render_text()


def test_no_other_persons_data_is_included(warehouse_of_town):
    """Not the family members on the same card, not a neighbour."""
    text = _text(subject.find(NIK[SUBJECT], warehouse_of_town, include_views=True))
    for other in ("A1", "A2", "B0", "C0", "D0", "S9"):
        assert NIK[other] not in text, other
        assert PEOPLE[other][0] not in text, other
    child_report = subject.find(NIK["A1"], warehouse_of_town, include_views=True)
    household = {f.relation: f.matched_by for f in child_report.found if "no_kk (household)" in f.matched_by}
    assert "snapshots.snap_dtks_household_status" in household, "her family's register status is hers too"
    child = _text(child_report)
    assert "NUR AINI" in child
    assert NIK[SUBJECT] not in child and TYPO_NIK not in child and "SUPRIYADI" not in child


def test_cli_json_to_stdout_and_to_a_private_file(warehouse_of_town, monkeypatch, capsys, tmp_path):
    monkeypatch.setenv("WAREHOUSE_URL", warehouse_of_town)
    settings.reload()
    cli.main(["subject", "--nik", NIK["B0"], "--json"])
    answer = json.loads(capsys.readouterr().out)
    assert answer["layers"]["raw"]["raw.dpmptsp_izin_usaha"]["row_count"] == 1  # her permit
    assert answer["layers"]["marts"]["marts.dim_person"]["rows"][0]["nik"] == NIK["B0"]
    assert answer["row_count"] == sum(r["row_count"] for layer in answer["layers"].values() for r in layer.values())

    out = tmp_path / "sar.json"
    cli.main(["subject", "--nik", NIK["B0"], "--format", "json", "--out", str(out)])
    printed = capsys.readouterr().out
    assert NIK["B0"] not in printed and f"{answer['row_count']} row(s)" in printed
    assert json.loads(out.read_text(encoding="utf-8")) == answer
    assert stat.S_IMODE(out.stat().st_mode) == 0o600
    with warehouse.connect(warehouse_of_town) as conn:
        served = conn.execute("select * from audit.subject_request").fetchall()
    assert len(served) == 2 and served[0][3] > 0 and NIK["B0"] not in repr(served)


def test_cli_reads_the_nik_from_stdin(warehouse_of_town, monkeypatch, capsys):
    """`--nik -`: the NIK stays out of the shell history and the process list."""
    monkeypatch.setenv("WAREHOUSE_URL", warehouse_of_town)
    settings.reload()
    monkeypatch.setattr("sys.stdin", io.StringIO(NIK["D0"] + "\n"))
    cli.main(["subject", "--nik", "-"])
    shown = capsys.readouterr().out
    assert shown.startswith(f"Data held by Lintas about NIK {NIK['D0'][:6]}******{NIK['D0'][12:]}")
    assert "HENDRA GUNAWAN" in shown and "BANSOS_DESIL_TINGGI" in shown


def test_unknown_and_malformed_niks(warehouse_of_town, monkeypatch):
    assert subject.find("3573050101990099", warehouse_of_town).found == []
    monkeypatch.setenv("WAREHOUSE_URL", warehouse_of_town)
    settings.reload()
    with pytest.raises(SystemExit) as exit_:
        cli.main(["subject", "--nik", "35730512345"])
    assert "16 digits" in str(exit_.value) and "35730512345" not in str(exit_.value)
