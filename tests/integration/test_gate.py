"""The raw gate: GX suites run as SQL in PostgreSQL, verdicts recorded, Data Docs free of personal data."""

import pytest

from lintas import pipeline, warehouse
from lintas.load.raw import RunContext
from lintas.quality import gate
from tests.fixtures.dtks_files import good_file, member, write

CTX = RunContext("test_dag", "run-gate")


def test_good_batch_is_accepted_and_every_check_recorded(warehouse_url, outbox):
    good_file(outbox, count=60)
    report = pipeline.extract_files("dinsos_dtks", CTX)
    outcome = pipeline.gate_source("dinsos_dtks", report, CTX)
    assert outcome["accepted"] == report["loaded"] and outcome["rejected"] == []
    with warehouse.connect(warehouse_url) as conn:
        assert conn.execute("select status from audit.load_batch").fetchone()[0] == "accepted"
        checks, failed = conn.execute(
            "select count(*), count(*) filter (where not success) from audit.gate_result").fetchone()
    assert checks >= 10 and failed == 0


def test_broken_batch_fails_the_gate_naming_the_checks(warehouse_url, outbox):
    rows = [member(i, NIK="3.57305E+15" if i % 2 else member(i)["NIK"], JENIS_KELAMIN="X" if i < 5 else "L")
            for i in range(40)]
    write(outbox, "DTKS_3573_202610.csv", rows)
    report = pipeline.extract_files("dinsos_dtks", CTX)
    with pytest.raises(pipeline.PipelineFailed) as failure:
        pipeline.gate_source("dinsos_dtks", report, CTX)
    message = str(failure.value)
    assert "expect_column_values_to_match_regex(nik)" in message
    assert "20 of 40 unexpected" in message
    assert "expect_column_values_to_be_in_set(jenis_kelamin)" in message
    assert "3.57305E+15" not in message
    with warehouse.connect(warehouse_url) as conn:
        status, reason = conn.execute("select status, rejection_reason from audit.load_batch").fetchone()
    assert status == "rejected" and "nik" in reason


def test_warning_does_not_block(warehouse_url, outbox):
    # 9 of 60 NIKs blank: 85% present is under the 87% warning bar; the critical validity check ignores
    # blanks (they are missing, not malformed), so the batch passes with one warning.
    rows = [member(i, NIK="" if i < 9 else member(i)["NIK"]) for i in range(60)]
    write(outbox, "DTKS_3573_202610.csv", rows)
    report = pipeline.extract_files("dinsos_dtks", CTX)
    [result] = [gate.run_gate("raw_dinsos_dtks", b, url=warehouse_url, run_id="w") for b in report["loaded"]]
    assert result.passed
    assert [w.expectation for w in result.warnings] == ["expect_column_values_to_not_be_null"]


def test_data_docs_hold_no_personal_data(warehouse_url, outbox):
    rows = [member(i, NIK="35730512345" if i % 2 else member(i)["NIK"]) for i in range(30)]
    write(outbox, "DTKS_3573_202610.csv", rows)
    report = pipeline.extract_files("dinsos_dtks", CTX)
    with pytest.raises(pipeline.PipelineFailed):
        pipeline.gate_source("dinsos_dtks", report, CTX)
    docs = gate.data_docs_index().parent
    pages = list(docs.rglob("*.html")) + list((gate.gx_root() / "gx" / "uncommitted" / "validations").rglob("*.json"))
    assert pages, "Data Docs and validation results were written"
    text = "\n".join(p.read_text(encoding="utf-8", errors="replace") for p in pages)
    for row in rows:
        assert row["NIK"] not in text
        assert row["NAMA"] not in text
        assert row["ALAMAT"] not in text


def test_a_dtks_snapshot_may_not_shrink_more_than_ten_percent(warehouse_url, outbox):
    """Bound relative to the previous ACCEPTED batch: a rejected batch never becomes the reference."""
    ctx = RunContext("test_dag", "run-shrink")
    outcomes = []
    for period, count in (("2026-08", 50), ("2026-09", 44), ("2026-10", 45)):
        good_file(outbox, period=period, count=count)
        report = pipeline.extract_files("dinsos_dtks", ctx)
        try:
            outcomes.append(pipeline.gate_source("dinsos_dtks", report, ctx))
        except pipeline.PipelineFailed as failure:
            outcomes.append(str(failure))
    assert outcomes[0]["accepted"] and outcomes[2]["accepted"], "the first batch and a 10% shrink pass"
    message = outcomes[1]  # 44 of 50 is a 12% shrink
    assert 'expect_table_row_count_to_be_between "may not shrink more than 10% against the previous accepted' \
           ' DTKS batch": observed 44 (expected >= 45)' in message
    with warehouse.connect(warehouse_url) as conn:
        statuses = conn.execute("select period, status from audit.load_batch order by batch_id").fetchall()
        recorded = conn.execute(
            "select success, observed_value, expected from audit.gate_result where description like 'may not shrink%'"
            " order by batch_id").fetchall()
    assert statuses == [("2026-08", "accepted"), ("2026-09", "rejected"), ("2026-10", "accepted")]
    assert recorded == [(True, "50", ">= 0"), (False, "44", ">= 45"), (True, "45", ">= 45")]


def test_incremental_and_yearly_sources_have_no_shrink_bound():
    """Only full snapshots are bounded by the previous batch: a Dapodik or permits pull holds only changes, and
    each UMKM workbook covers one kecamatan and year, so consecutive batches are not comparable."""
    for name in ("raw_disdik_peserta_didik", "raw_dpmptsp_izin_usaha", "raw_dpmptsp_izin_usaha_kbli",
                 "raw_diskopindag_umkm"):
        assert "previous_accepted_rows" not in gate.suite_path(name).read_text(encoding="utf-8"), name
    assert "previous_accepted_rows * 0.9" in gate.suite_path("raw_dinsos_dtks").read_text(encoding="utf-8")
