"""Raw loading against a real PostgreSQL: COPY, lineage, idempotency, rejection, quarantine, reconciliation."""

from lintas import pipeline, warehouse
from lintas.load.raw import RunContext
from tests.fixtures.dtks_files import HEADER, good_file, member, write

CTX = RunContext("test_dag", "run-1")


def _count(url, query, *args):
    with warehouse.connect(url) as conn:
        return conn.execute(query, args).fetchone()[0]


def test_load_records_lineage_and_reconciles(warehouse_url, outbox):
    good_file(outbox, count=25)
    report = pipeline.extract_files("dinsos_dtks", CTX)
    assert report["rows_loaded"] == 25 and len(report["loaded"]) == 1
    with warehouse.connect(warehouse_url) as conn:
        batch = conn.execute(
            "select source_ref, length(checksum), status, rows_extracted, rows_loaded, rows_quarantined,"
            " airflow_dag_id, airflow_run_id, period from audit.load_batch").fetchone()
        assert batch == ("DTKS_3573_202610.csv", 64, "loaded", 25, 25, 0, "test_dag", "run-1", "2026-10")
        rows = conn.execute("select min(_row_number), max(_row_number), count(distinct _batch_id)"
                            " from raw.dinsos_dtks").fetchone()
        assert rows == (2, 26, 1)


def test_reruns_and_redeliveries_never_duplicate(warehouse_url, outbox):
    path = good_file(outbox, count=10)
    pipeline.extract_files("dinsos_dtks", CTX)
    second = pipeline.extract_files("dinsos_dtks", RunContext("test_dag", "run-2"))
    assert second["loaded"] == [] and second["skipped"] == [path.name]
    # the same bytes delivered again under another (valid) name: not loaded twice, and not silently skipped
    (outbox / "DTKS_3573_202611.csv").write_bytes(path.read_bytes())
    third = pipeline.extract_files("dinsos_dtks", CTX)
    assert third["loaded"] == [] and [r["source_ref"] for r in third["rejected"]] == ["DTKS_3573_202611.csv"]
    assert _count(warehouse_url, "select count(*) from raw.dinsos_dtks") == 10


def test_contract_breach_rejects_that_file_only(warehouse_url, outbox):
    good_file(outbox, period="2026-09", count=8)
    write(outbox, "DTKS_3573_202610.csv", [member(0)], header=[h for h in HEADER if h != "NIK"])
    report = pipeline.extract_files("dinsos_dtks", CTX)
    assert report["rows_loaded"] == 8
    assert report["rejected"] == [{"source_ref": "DTKS_3573_202610.csv",
                                   "reason": "missing required column(s): NIK"}]
    with warehouse.connect(warehouse_url) as conn:
        statuses = dict(conn.execute("select source_ref, status from audit.load_batch").fetchall())
    assert statuses == {"DTKS_3573_202609.csv": "loaded", "DTKS_3573_202610.csv": "rejected"}


def test_bad_rows_go_to_quarantine_and_counts_reconcile(warehouse_url, outbox):
    rows = [member(i) for i in range(6)] + [member(6, IDDTKS=""), member(7, PERIODE="2025-01")]
    write(outbox, "DTKS_3573_202610.csv", rows)
    report = pipeline.extract_files("dinsos_dtks", CTX)
    assert report["rows_loaded"] == 6 and report["rows_quarantined"] == 2
    with warehouse.connect(warehouse_url) as conn:
        quarantined = conn.execute(
            "select row_number, field, rule from quarantine.row_error order by row_number").fetchall()
        assert quarantined == [(8, "IDDTKS", "required"), (9, "PERIODE", "matches_file_period")]
        extracted, loaded, held = conn.execute(
            "select rows_extracted, rows_loaded, rows_quarantined from audit.load_batch").fetchone()
        assert extracted == loaded + held == 8
        assert conn.execute("select count(*) from raw.dinsos_dtks").fetchone()[0] == loaded


def test_migrations_apply_once(warehouse_url):
    assert warehouse.migrate(warehouse_url) == []
    assert _count(warehouse_url, "select count(*) from audit.schema_migration") >= 1
