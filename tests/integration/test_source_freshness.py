"""dbt source freshness of the raw sources: accepted deliveries only, thresholds from the sources' YAML."""

from lintas import pipeline, warehouse
from lintas.load.raw import RunContext

CTX = RunContext("test_dag", "run-freshness")


def _delivery(conn, source: str, days_ago: int, status: str = "accepted") -> None:
    conn.execute(
        "insert into audit.load_batch (source, source_ref, checksum, status, loaded_at)"
        " values (%s, %s, md5(random()::text), %s, now() - make_interval(days => %s))",
        (source, f"{source}-{days_ago}", status, days_ago))


def test_each_source_is_judged_by_its_newest_accepted_delivery(warehouse_url):
    with warehouse.connect(warehouse_url) as conn:
        _delivery(conn, "dinsos_dtks", 50)  # monthly: error after 45 days ...
        _delivery(conn, "dinsos_dtks", 1, status="rejected")  # ... and a rejected delivery is no fresh data
        _delivery(conn, "disdik_peserta_didik", 4)  # daily API: warn after 3 days
        _delivery(conn, "diskopindag_umkm", 30)  # workbooks: fine for 100 days
        _delivery(conn, "dpmptsp_izin_usaha", 0)
    outcome = pipeline.check_source_freshness(CTX)
    assert outcome == {"error": ["dinsos_dtks"], "warn": ["disdik_peserta_didik"],
                       "pass": ["diskopindag_umkm", "dpmptsp_izin_usaha"], "no data": ["dpmptsp_izin_usaha_kbli"]}
    with warehouse.connect(warehouse_url) as conn:
        rows = conn.execute(
            "select source, status, round(age_seconds / 86400), warn_after, error_after, airflow_run_id"
            " from audit.source_freshness order by source").fetchall()
    assert rows[0] == ("dinsos_dtks", "error", 50, "35 day", "45 day", "run-freshness")
    assert rows[-1][:3] == ("dpmptsp_izin_usaha_kbli", "no data", None)
