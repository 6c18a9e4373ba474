"""Broken file deliveries against a real PostgreSQL: each becomes a rejected batch naming file, row and field,
and the rest of the outbox still loads in the same pass (issue 11)."""

import logging

import psycopg
import pytest

from lintas import pipeline, warehouse
from lintas.extract import dtks
from lintas.extract.contract import ContractError, Delivery
from lintas.load.raw import RunContext, ingest_files, load_delivery
from tests.fixtures import bad_deliveries as bad
from tests.fixtures.dtks_files import good_file, member, write
from tests.fixtures.umkm_workbooks import good_workbook

CTX = RunContext("lintas_extract_dinsos_dtks", "run-1")


def _batches(url, source="dinsos_dtks"):
    with warehouse.connect(url) as conn:
        return conn.execute("select source_ref, status, rejection_reason, rows_loaded from audit.load_batch"
                            " where source = %s order by batch_id", (source,)).fetchall()


def _statuses(url, source="dinsos_dtks"):
    return {ref: status for ref, status, _, _ in _batches(url, source)}


def test_poison_files_are_rejected_and_the_good_later_month_still_loads(warehouse_url, outbox, caplog):
    # sorted first in the outbox, so each would have blocked the month after it
    bad.dtks_in_utf16(outbox, period="2026-05")
    bad.dtks_with_nul(outbox, period="2026-06")
    bad.dtks_with_long_field(outbox, period="2026-07")
    bad.dtks_cut(outbox, period="2026-08")
    good_file(outbox, period="2026-10", count=20)
    with caplog.at_level(logging.INFO):
        report = pipeline.extract_files("dinsos_dtks", CTX)
    assert report["rows_loaded"] == 20 and len(report["loaded"]) == 1
    reasons = {r["source_ref"]: r["reason"] for r in report["rejected"]}
    batches = {ref: (status, reason, rows) for ref, status, reason, rows in _batches(warehouse_url)}
    assert batches["DTKS_3573_202610.csv"] == ("loaded", None, 20)
    assert {ref: b[1] for ref, b in batches.items() if b[0] == "rejected"} == reasons
    assert reasons["DTKS_3573_202605.csv"].startswith("UTF-16 is not an accepted encoding")
    assert reasons["DTKS_3573_202606.csv"].startswith("NUL byte at line 5 (byte offset ")
    assert reasons["DTKS_3573_202607.csv"].startswith("line 4 field ALAMAT: longer than the 4096-character limit")
    assert reasons["DTKS_3573_202608.csv"].startswith("truncated: last record at line ")
    # nothing of a rejected file reached the raw table, and no value reached a reason or the log
    with warehouse.connect(warehouse_url) as conn:
        assert conn.execute("select count(distinct _batch_id) from raw.dinsos_dtks").fetchone()[0] == 1
    for text in [*reasons.values(), caplog.text]:
        assert "WARGA NOMOR" not in text and member(3)["NIK"] not in text


def test_a_truncated_month_is_never_accepted(warehouse_url, outbox):
    good_file(outbox, period="2026-09", count=100)
    pipeline.gate_source("dinsos_dtks", pipeline.extract_files("dinsos_dtks", CTX), CTX)
    # next month cut at 97%: within the 10% shrink bound, so only the truncation rule can catch it
    bad.dtks_cut(outbox, period="2026-10", keep=0.97, count=100)
    report = pipeline.extract_files("dinsos_dtks", RunContext(CTX.dag_id, "run-2"))
    assert report["loaded"] == [] and [r["source_ref"] for r in report["rejected"]] == ["DTKS_3573_202610.csv"]
    with pytest.raises(pipeline.PipelineFailed, match="DTKS_3573_202610.csv rejected: truncated: last record"):
        pipeline.gate_source("dinsos_dtks", report, RunContext(CTX.dag_id, "run-2"))
    assert _statuses(warehouse_url) == {"DTKS_3573_202609.csv": "accepted", "DTKS_3573_202610.csv": "rejected"}
    with warehouse.connect(warehouse_url) as conn:
        periods = conn.execute("select distinct periode from raw.dinsos_dtks").fetchall()
    assert periods == [("2026-09",)]


def test_last_months_bytes_under_the_new_months_name_are_rejected_naming_the_earlier_batch(warehouse_url, outbox):
    september = good_file(outbox, period="2026-09", count=10)
    first = pipeline.extract_files("dinsos_dtks", CTX)
    [batch_id] = first["loaded"]
    bad.resend(september, "DTKS_3573_202610.csv")
    good_file(outbox, period="2026-11", count=10)
    second = pipeline.extract_files("dinsos_dtks", RunContext(CTX.dag_id, "run-2"))
    assert second["rejected"] == [{"source_ref": "DTKS_3573_202610.csv",
                                   "reason": f"identical to DTKS_3573_202609.csv, already loaded as batch {batch_id}"}]
    assert len(second["loaded"]) == 1 and second["skipped"] == ["DTKS_3573_202609.csv"]
    with pytest.raises(pipeline.PipelineFailed, match="DTKS_3573_202610.csv rejected: identical to"):
        pipeline.gate_source("dinsos_dtks", second, CTX)
    # next run: the same files again are quiet no-ops (the re-sent one was judged once, and stays rejected)
    third = pipeline.extract_files("dinsos_dtks", RunContext(CTX.dag_id, "run-3"))
    assert third["rejected"] == [] and third["loaded"] == [] and len(third["skipped"]) == 3
    assert len(_batches(warehouse_url)) == 3


def test_misnamed_files_are_rejected_and_lock_and_partial_files_ignored(warehouse_url, outbox):
    write(outbox, "DTKS_3573_202611 (1).csv", [member(0, "2026-11")])
    write(outbox, "DTKS_3573_202611;x.csv", [member(1, "2026-11")])
    write(outbox, "DTKS_3507_202611.csv", [member(2, "2026-11")])
    write(outbox, ".DTKS_3573_202612.csv.partial", [member(3, "2026-12")])
    (outbox / "~$DTKS_3573_202611.csv").write_bytes(b"lock")
    good_file(outbox, period="2026-10", count=5)
    report = pipeline.extract_files("dinsos_dtks", CTX)
    assert report["rows_loaded"] == 5
    assert _statuses(warehouse_url) == {"DTKS_3573_202610.csv": "loaded", "DTKS_3573_202611 (1).csv": "rejected",
                                        "DTKS_3573_202611;x.csv": "rejected", "DTKS_3507_202611.csv": "rejected"}
    reasons = {r["source_ref"]: r["reason"] for r in report["rejected"]}
    assert reasons["DTKS_3573_202611 (1).csv"] == f"name does not match the contract {dtks.NAME_CONTRACT}"
    assert "region 3573" in reasons["DTKS_3507_202611.csv"]
    # renamed to the contract, the same bytes are a new delivery and load
    (outbox / "DTKS_3573_202611 (1).csv").rename(outbox / "DTKS_3573_202611.csv")
    again = pipeline.extract_files("dinsos_dtks", RunContext(CTX.dag_id, "run-2"))
    assert again["rows_loaded"] == 1 and again["rejected"] == []


def test_a_value_postgres_refuses_rolls_back_that_delivery_naming_row_and_field(warehouse_url):
    """The loader's own guard, below the extractors' checks: a delivery built by hand with a NUL in NAMA."""
    rows = [(2 + i, *(f"v{i}" for _ in dtks.COLUMNS), None) for i in range(3)]
    rows[1] = (3, *("x\x00y" if c == "nama" else "v" for c in dtks.COLUMNS.values()), None)
    delivery = Delivery(source="dinsos_dtks", source_ref="DTKS_3573_202610.csv", checksum="c" * 64,
                        period="2026-10", columns=dtks.RAW_COLUMNS, rows=rows)
    with warehouse.connect(warehouse_url) as conn:
        with pytest.raises(ContractError) as caught:
            load_delivery(conn, delivery, "raw.dinsos_dtks", CTX)
        assert caught.value.reason == "PostgreSQL refused a value at table raw.dinsos_dtks row 3: a NUL character"
        assert conn.execute("select count(*) from audit.load_batch").fetchone()[0] == 0, "rolled back"
        assert conn.execute("select count(*) from raw.dinsos_dtks").fetchone()[0] == 0
        # server-side refusals are named from COPY's context (line -> the delivery's row, and the column)
        delivery.columns = [*dtks.RAW_COLUMNS[:-1], "_extra"]
        delivery.rows = [(2, *("v" for _ in dtks.COLUMNS), '{"A": 1}'), (3, *("v" for _ in dtks.COLUMNS), "{no")]
        with pytest.raises(ContractError, match=r"^DTKS_3573_202610.csv: PostgreSQL refused a value at table "
                                                r"dinsos_dtks row 3 field _extra: InvalidTextRepresentation"):
            load_delivery(conn, delivery, "raw.dinsos_dtks", CTX)


def test_an_unforeseen_failure_rejects_that_file_only_and_is_retried_next_run(warehouse_url, outbox, caplog):
    poison = good_file(outbox, period="2026-09", count=3)
    good_file(outbox, period="2026-10", count=4)

    def reader_with_a_bug(path):  # stands for a library failure nobody foresaw, its message quoting a value
        if path == poison:
            raise KeyError(member(0)["NIK"])
        return dtks.read(path)

    with warehouse.connect(warehouse_url) as conn, caplog.at_level(logging.INFO):
        report = ingest_files(conn, source="dinsos_dtks", files=sorted(outbox.iterdir()), parse=reader_with_a_bug,
                              table="raw.dinsos_dtks", ctx=CTX)
        assert report.rows_loaded == 4
        assert report.rejected == [{"source_ref": poison.name,
                                    "reason": "could not be read: unexpected KeyError (the task log has where)"}]
        assert member(0)["NIK"] not in caplog.text and "reader_with_a_bug" in caplog.text
        # not a verdict on the bytes: the next run (the bug fixed) reads the file again
        fixed = ingest_files(conn, source="dinsos_dtks", files=[poison], parse=dtks.read, table="raw.dinsos_dtks",
                             ctx=RunContext(CTX.dag_id, "run-2"))
        assert fixed.rows_loaded == 3


def test_broken_workbooks_are_rejected_naming_sheet_row_and_column_and_the_good_one_loads(warehouse_url, outbox_for):
    outbox = outbox_for("diskopindag")
    bad.umkm_with_long_cell(outbox, name="UMKM_BINAAN_2024_A.xlsx")
    bad.umkm_with_broken_xml(outbox, name="UMKM_BINAAN_2024_B.xlsx")
    (outbox / "UMKM_BINAAN_2024_C.xlsx").write_bytes(b"PK\x03\x04 not really a zip")
    good_workbook(outbox, name="UMKM_BINAAN_2026.xlsx")
    report = pipeline.extract_files("diskopindag_umkm", RunContext("lintas_extract_diskopindag_umkm", "run-1"))
    assert report["rows_loaded"] == 9
    reasons = {r["source_ref"]: r["reason"] for r in report["rejected"]}
    assert reasons["UMKM_BINAAN_2024_A.xlsx"].startswith("sheet 'BLIMBING' row 3 column ALAMAT: longer than")
    assert reasons["UMKM_BINAAN_2024_B.xlsx"].startswith("not a readable XLSX workbook")
    assert reasons["UMKM_BINAAN_2024_C.xlsx"] == "not an XLSX workbook (not a zip container)"
    assert _statuses(warehouse_url, "diskopindag_umkm") == {
        "UMKM_BINAAN_2024_A.xlsx": "rejected", "UMKM_BINAAN_2024_B.xlsx": "rejected",
        "UMKM_BINAAN_2024_C.xlsx": "rejected", "UMKM_BINAAN_2026.xlsx": "loaded"}


def test_the_warehouse_going_away_is_not_a_rejection(warehouse_url, outbox):
    """A dropped warehouse connection fails the pass (Airflow retries it); it is no verdict on a file."""
    good_file(outbox, period="2026-09", count=3)
    good_file(outbox, period="2026-10", count=3)
    with warehouse.connect(warehouse_url) as conn:
        backend = conn.info.backend_pid

        def read_while_the_warehouse_restarts(path):
            with warehouse.connect(warehouse_url) as admin:
                admin.execute("select pg_terminate_backend(%s)", (backend,))
            return dtks.read(path)

        with pytest.raises(psycopg.OperationalError):
            ingest_files(conn, source="dinsos_dtks", files=sorted(outbox.iterdir()),
                         parse=read_while_the_warehouse_restarts, table="raw.dinsos_dtks", ctx=CTX)
    assert _batches(warehouse_url) == []
