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
    # 4 of 60 NIKs blank: 93.3% present is under the 95% warning bar; the critical validity check ignores
    # blanks (they are missing, not malformed), so the batch passes with one warning.
    rows = [member(i, NIK="" if i < 4 else member(i)["NIK"]) for i in range(60)]
    write(outbox, "DTKS_3573_202610.csv", rows)
    report = pipeline.extract_files("dinsos_dtks", CTX)
    [result] = [gate.run_gate("raw_dinsos_dtks", b, run_id="w") for b in report["loaded"]]
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
