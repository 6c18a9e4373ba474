"""Licensing channel end to end: an agency database (SQLite, and the machine's MariaDB) -> raw layer, incremental.

Covers watermark + overlap, equal timestamps, idempotent re-runs, status changes as new versions, schema drift,
quarantine, and fatal vs transient connection errors.
"""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
import sqlalchemy as sa

from lintas import pipeline, warehouse
from lintas.extract import izin
from lintas.load.raw import RunContext, last_watermark
from tests.fixtures import izin_db
from tests.fixtures.izin_db import T0

CTX = RunContext("lintas_extract_dpmptsp_izin", "run-1")
MARIADB_SERVER = "mysql+pymysql://root@127.0.0.1:3306"


def _mariadb_available() -> bool:
    try:
        with sa.create_engine(MARIADB_SERVER, connect_args={"connect_timeout": 3}).connect():
            return True
    except sa.exc.OperationalError:
        return False


@pytest.fixture(params=["sqlite", "mariadb"])
def agency_db(request, tmp_path):
    """The agency database as a SQLAlchemy URL: a SQLite file, or a fresh database on the machine's MariaDB."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'dpmptsp.sqlite'}"
        return
    if not _mariadb_available():
        pytest.skip("MariaDB is not running on 127.0.0.1:3306 on this machine")
    name = f"dpmptsp_{uuid.uuid4().hex[:8]}"
    server = sa.create_engine(MARIADB_SERVER)
    with server.begin() as conn:
        conn.execute(sa.text(f"create database {name}"))
    yield f"{MARIADB_SERVER}/{name}"
    with server.begin() as conn:
        conn.execute(sa.text(f"drop database {name}"))
    server.dispose()


def _raw(url: str, query: str):
    with warehouse.connect(url) as conn:
        return conn.execute(query).fetchall()


def test_incremental_pull_with_overlap_is_idempotent(warehouse_url, agency_db):
    engine = sa.create_engine(agency_db)
    izin_db.create(engine)
    izin_db.insert(engine, "izin_usaha", [izin_db.permit(i, T0 + timedelta(minutes=i // 3)) for i in range(1, 31)])
    izin_db.insert(engine, "izin_usaha_kbli", [izin_db.kbli(i, i) for i in range(1, 31)])

    first = pipeline.extract_izin(CTX, url=agency_db)
    assert first["dpmptsp_izin_usaha"]["rows_loaded"] == 30
    assert first["dpmptsp_izin_usaha_kbli"]["rows_loaded"] == 30

    # nothing changed: the overlap re-reads the newest rows, but no batch and no row is added
    again = pipeline.extract_izin(RunContext(CTX.dag_id, "run-2"), url=agency_db)
    assert again["dpmptsp_izin_usaha"]["loaded"] == [] and again["dpmptsp_izin_usaha"]["rows_loaded"] == 0
    assert _raw(warehouse_url, "select count(*) from raw.dpmptsp_izin_usaha") == [(30,)]

    # the agency works: a permit is revoked, a new one is issued with a timestamp EQUAL to the old watermark
    newest = T0 + timedelta(minutes=29 // 3)
    izin_db.update(engine, "izin_usaha", [5], status="DICABUT", updated_at=newest + timedelta(minutes=1))
    izin_db.insert(engine, "izin_usaha", [izin_db.permit(31, newest)])
    third = pipeline.extract_izin(RunContext(CTX.dag_id, "run-3"), url=agency_db)["dpmptsp_izin_usaha"]
    assert third["rows_loaded"] == 2, "the revocation and the late row with an equal timestamp"
    assert third["rows_duplicate"] >= 3, "overlapping rows were seen again and not stored"
    versions = _raw(warehouse_url, "select status from raw.dpmptsp_izin_usaha where id = '5' order by _batch_id")
    assert versions == [("AKTIF",), ("DICABUT",)], "a status change is a new version, the old one kept"

    batches = _raw(warehouse_url, """
        select source, rows_extracted, rows_loaded, rows_duplicate, rows_quarantined, watermark is not null
        from audit.load_batch order by batch_id""")
    assert all(b[1] == b[2] + b[3] + b[4] and b[5] for b in batches), "every batch reconciles and has a watermark"
    assert [b[0] for b in batches].count("dpmptsp_izin_usaha") == 2
    engine.dispose()


def test_values_arrive_as_text_with_leading_zeros(warehouse_url, tmp_path):
    url = f"sqlite:///{tmp_path / 'a.sqlite'}"
    engine = sa.create_engine(url)
    izin_db.create(engine)
    izin_db.insert(engine, "izin_usaha", [izin_db.permit(1, nib="0012345678901", jenis_pelaku_usaha="01",
                                                         nik_penanggung_jawab=None)])
    pipeline.extract_izin(CTX, url=url)
    row = _raw(warehouse_url, "select nib, jenis_pelaku_usaha, nik_penanggung_jawab, tanggal_terbit, updated_at"
                              " from raw.dpmptsp_izin_usaha")
    assert row == [("0012345678901", "01", None, "2026-10-01", "2026-10-01 09:00:00")]


def test_schema_drift_extra_column_kept_renamed_column_rejected(warehouse_url, tmp_path):
    url = f"sqlite:///{tmp_path / 'a.sqlite'}"
    engine = sa.create_engine(url)
    izin_db.create(engine, extra_column="email_usaha")
    izin_db.insert(engine, "izin_usaha", [izin_db.permit(1, email_usaha="x@example.id")])
    report = pipeline.extract_izin(CTX, url=url)["dpmptsp_izin_usaha"]
    assert report["rows_loaded"] == 1
    assert _raw(warehouse_url, "select extra_columns from audit.load_batch") == [(["email_usaha"],)]
    assert _raw(warehouse_url, "select _extra->>'email_usaha' from raw.dpmptsp_izin_usaha") == [("x@example.id",)]

    izin_db.create(engine, renamed_column="skala_usaha")
    drifted = izin_db.permit(2)
    drifted["skala_usaha_lama"] = drifted.pop("skala_usaha")
    izin_db.insert(engine, "izin_usaha", [drifted])
    report = pipeline.extract_izin(RunContext(CTX.dag_id, "run-2"), url=url)["dpmptsp_izin_usaha"]
    assert report["rejected"] == [{"source_ref": "izin_usaha", "reason": "missing required column(s): skala_usaha"}]
    assert _raw(warehouse_url, "select count(*) from audit.load_batch where status = 'rejected'") == [(1,)]


def test_rows_without_id_or_timestamp_are_quarantined(warehouse_url, tmp_path):
    url = f"sqlite:///{tmp_path / 'a.sqlite'}"
    engine = sa.create_engine(url)
    izin_db.create(engine)
    izin_db.insert(engine, "izin_usaha", [izin_db.permit(1), izin_db.permit(2, updated_at=None)])
    report = pipeline.extract_izin(CTX, url=url)["dpmptsp_izin_usaha"]
    assert (report["rows_loaded"], report["rows_quarantined"], report["rows_without_timestamp"]) == (1, 1, 1)
    assert _raw(warehouse_url, "select field, rule, reason, location from quarantine.row_error") == [
        ("updated_at", "required", izin._NO_STAMP, "izin_usaha id 2")]


def test_rows_without_a_usable_updated_at_are_swept_every_pull_and_counted(warehouse_url, agency_db):
    """NULL, a MySQL zero date and junk never match updated_at >= since; each pull selects them explicitly."""
    engine = sa.create_engine(agency_db)
    izin_db.create(engine)
    izin_db.insert(engine, "izin_usaha", [izin_db.permit(i, T0 + timedelta(minutes=i)) for i in range(1, 11)])
    izin_db.insert(engine, "izin_usaha_kbli", [izin_db.kbli(i, i) for i in range(1, 11)])
    first = pipeline.extract_izin(CTX, url=agency_db)
    assert first["dpmptsp_izin_usaha"]["rows_loaded"] == 10

    # after the first pull, the agency's application writes rows it forgets to stamp
    izin_db.insert(engine, "izin_usaha", [izin_db.permit(11, updated_at=None), izin_db.permit(12, updated_at=None),
                                          izin_db.permit(13, updated_at="0000-00-00 00:00:00"),
                                          izin_db.permit(14, updated_at="1899-12-31 23:00:00")])
    izin_db.insert(engine, "izin_usaha_kbli", [izin_db.kbli(11, 11, updated_at=None)])
    second = pipeline.extract_izin(RunContext(CTX.dag_id, "run-2"), url=agency_db)
    permits, kbli = second["dpmptsp_izin_usaha"], second["dpmptsp_izin_usaha_kbli"]
    assert (permits["rows_loaded"], permits["rows_quarantined"], permits["rows_without_timestamp"]) == (0, 4, 4)
    assert (kbli["rows_quarantined"], kbli["rows_without_timestamp"]) == (1, 1)
    assert _raw(warehouse_url, "select source, location, field, rule from quarantine.row_error order by 1, 2") == [
        ("dpmptsp_izin_usaha", "izin_usaha id 11", "updated_at", "required"),
        ("dpmptsp_izin_usaha", "izin_usaha id 12", "updated_at", "required"),
        ("dpmptsp_izin_usaha", "izin_usaha id 13", "updated_at", "timestamp"),
        ("dpmptsp_izin_usaha", "izin_usaha id 14", "updated_at", "timestamp"),
        ("dpmptsp_izin_usaha_kbli", "izin_usaha_kbli id 11", "updated_at", "required")]
    batches = _raw(warehouse_url, "select source, status, rows_loaded, rows_quarantined, watermark"
                                  " from audit.load_batch order by batch_id")
    # the batch's watermark is that of the rows the overlap re-read: the unstamped rows add nothing to it
    assert batches[2] == ("dpmptsp_izin_usaha", "loaded", 0, 4, batches[0][4])
    assert batches[3] == ("dpmptsp_izin_usaha_kbli", "loaded", 0, 1, batches[1][4])
    with warehouse.connect(warehouse_url) as conn:
        assert last_watermark(conn, "dpmptsp_izin_usaha") == batches[0][4], "the watermark does not move"
    for source, report in second.items():  # a batch of only held-back rows is gated like any other
        assert pipeline.gate_source(source, report, CTX)["rejected"] == []

    # swept again next run: still counted, not quarantined twice, no new batch
    third = pipeline.extract_izin(RunContext(CTX.dag_id, "run-3"), url=agency_db)["dpmptsp_izin_usaha"]
    assert (third["loaded"], third["rows_without_timestamp"]) == ([], 4)
    assert _raw(warehouse_url, "select count(*) from quarantine.row_error") == [(5,)]

    # the agency stamps one: it arrives as an ordinary change and moves the watermark
    fixed = T0 + timedelta(hours=2)
    izin_db.update(engine, "izin_usaha", [11], updated_at=fixed)
    fourth = pipeline.extract_izin(RunContext(CTX.dag_id, "run-4"), url=agency_db)["dpmptsp_izin_usaha"]
    assert (fourth["rows_loaded"], fourth["rows_quarantined"], fourth["rows_without_timestamp"]) == (1, 0, 3)
    assert _raw(warehouse_url, "select id from raw.dpmptsp_izin_usaha where id = '11'") == [("11",)]
    with warehouse.connect(warehouse_url) as conn:
        assert last_watermark(conn, "dpmptsp_izin_usaha").astimezone(izin.AGENCY_TIMEZONE).replace(
            tzinfo=None) == fixed

    # a fix-up script stamps another with its created_at, long before the watermark: still found, by its id
    izin_db.update(engine, "izin_usaha", [12], updated_at=T0)
    fifth = pipeline.extract_izin(RunContext(CTX.dag_id, "run-5"), url=agency_db)["dpmptsp_izin_usaha"]
    assert (fifth["rows_loaded"], fifth["rows_without_timestamp"]) == (1, 2)
    assert _raw(warehouse_url, "select updated_at from raw.dpmptsp_izin_usaha where id = '12'") == [
        ("2026-10-01 09:00:00",)]
    with warehouse.connect(warehouse_url) as conn:
        assert last_watermark(conn, "dpmptsp_izin_usaha").astimezone(izin.AGENCY_TIMEZONE).replace(
            tzinfo=None) == fixed, "an old stamp does not move the watermark back"
    engine.dispose()


def test_unreachable_database_is_transient_refused_login_is_fatal():
    engine = izin.engine_for("mysql+pymysql://lintas@127.0.0.1:1/none?connect_timeout=1")
    with pytest.raises(izin.SourceUnavailable, match="unreachable after 2 attempts"):
        izin.pull(engine, izin.IZIN_USAHA, None, attempts=2, base_delay=0.01)
    if not _mariadb_available():
        pytest.skip("MariaDB is not running on 127.0.0.1:3306 on this machine")
    refused = izin.engine_for("mysql+pymysql://no_such_user:wrong@127.0.0.1:3306/test")  # secret-scan: fake
    with pytest.raises(izin.SourceAccessDenied, match="refused our account") as failure:
        izin.pull(refused, izin.IZIN_USAHA, None, attempts=3, base_delay=0.01)
    assert "wrong" not in str(failure.value), "no secret in the message"


def test_pulled_batches_pass_their_gates(warehouse_url, tmp_path):
    url = f"sqlite:///{tmp_path / 'a.sqlite'}"
    engine = sa.create_engine(url)
    izin_db.create(engine)
    izin_db.insert(engine, "izin_usaha", [izin_db.permit(i) for i in range(1, 11)])
    izin_db.insert(engine, "izin_usaha_kbli", [izin_db.kbli(i, i) for i in range(1, 11)])
    reports = pipeline.extract_izin(CTX, url=url)
    for source, report in reports.items():
        assert pipeline.anything_to_gate(source, report)
        outcome = pipeline.gate_source(source, report, CTX)
        assert outcome["accepted"] == report["loaded"] and outcome["rejected"] == []
        assert not pipeline.anything_to_gate(source, {"rejected": []}), "nothing left to gate"
