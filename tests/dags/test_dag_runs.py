"""End-to-end DAG runs with dag.test(): real Airflow, real warehouse, real GX and dbt."""

import sqlalchemy as sa
from psycopg import sql

from lintas import settings, sources, warehouse
from lintas_sandbox.standins.dapodik import DapodikServer
from tests.dags.test_dag_integrity import EXTRACT_DAGS
from tests.fixtures import bad_deliveries, izin_db
from tests.fixtures.dag_runs import run_dag
from tests.fixtures.dapodik_records import TOKEN, student
from tests.fixtures.dtks_files import good_file, member, write
from tests.fixtures.umkm_workbooks import good_workbook


def _mart_snapshot(url):
    with warehouse.connect(url) as conn:
        return conn.execute("select * from marts.rpt_dtks_kelurahan_summary order by 1, 2").fetchall()


def _run(dagbag, dag_id, **conf):
    dagrun = run_dag(dagbag, dag_id, **conf)
    return dagrun.state, {ti.task_id: ti.state for ti in dagrun.get_task_instances()}


def test_extract_then_build_publishes_the_mart(airflow_db, dagbag, warehouse_url, outbox):
    good_file(outbox, count=30)
    state, tasks = _run(dagbag, "lintas_extract_dinsos_dtks")
    assert state == "success", tasks
    state, tasks = _run(dagbag, "lintas_build_warehouse")
    assert state == "success", tasks
    mart = _mart_snapshot(warehouse_url)
    assert sum(row[5] for row in mart) == 30
    with warehouse.connect(warehouse_url) as conn:
        run_id = conn.execute("select airflow_run_id from audit.load_batch").fetchone()[0]
        dbt_results = dict(conn.execute(
            "select unique_id, status from audit.dbt_run_result"
            " where airflow_dag_id = 'lintas_build_warehouse' and airflow_run_id like 'manual__%'").fetchall())
        published = conn.execute(
            "select airflow_run_id, outcome, tables from audit.publish_event"
            " where airflow_dag_id = 'lintas_build_warehouse'").fetchall()
        schemas = {r[0] for r in conn.execute("select nspname from pg_namespace where nspname like 'marts%'"
                                              " and nspname not in ('marts_pseudo', 'marts_public')")}
        freshness = dict(conn.execute("select source, status from audit.source_freshness").fetchall())
    assert run_id and run_id.startswith("manual__")
    assert tasks["check_source_freshness"] == "success"
    # DTKS was just accepted; the other agencies have delivered nothing yet
    assert freshness == {"dinsos_dtks": "pass", "disdik_peserta_didik": "no data", "diskopindag_umkm": "no data",
                         "dpmptsp_izin_usaha": "no data", "dpmptsp_izin_usaha_kbli": "no data"}
    assert dbt_results["model.lintas.rpt_dtks_kelurahan_summary"] == "success"
    assert all(status in ("success", "pass") for status in dbt_results.values())
    assert tasks["gate_marts"] == "success" and tasks["publish"] == "success"
    assert tasks["record_history"] == "success"
    [(build_run, outcome, tables)] = published
    assert build_run.startswith("manual__") and outcome == "published"
    assert tables["rpt_dtks_kelurahan_summary"] == len(mart)
    assert schemas == {"marts"}, "the build schema was swapped in, the previous version dropped"


def test_failing_gate_fails_the_run_and_leaves_the_mart_untouched(airflow_db, dagbag, warehouse_url, outbox):
    good_file(outbox, period="2026-09", count=30)
    assert _run(dagbag, "lintas_extract_dinsos_dtks")[0] == "success"
    assert _run(dagbag, "lintas_build_warehouse")[0] == "success"
    before = _mart_snapshot(warehouse_url)

    # next month's file arrives with Excel-mangled NIKs in half the rows
    write(outbox, "DTKS_3573_202610.csv",
          [member(i, NIK="3.57305E+15" if i % 2 else member(i)["NIK"]) for i in range(30)])
    state, tasks = _run(dagbag, "lintas_extract_dinsos_dtks")
    assert state == "failed"
    assert tasks["load_outbox"] == "success" and tasks["gate__dinsos_dtks"] == "skipped"  # nothing to announce
    assert tasks["deliveries__dinsos_dtks"] == "failed"

    # even if the build runs anyway (by hand, or for another source), the held-back batch stays out; without
    # `force` it would end at once (nothing accepted since the published build)
    state, tasks = _run(dagbag, "lintas_build_warehouse", force=True)
    assert state == "success" and tasks["publish"] == "success"
    assert _mart_snapshot(warehouse_url) == before
    with warehouse.connect(warehouse_url) as conn:
        statuses = conn.execute("select source_ref, status from audit.load_batch order by 1").fetchall()
    assert statuses == [("DTKS_3573_202609.csv", "accepted"), ("DTKS_3573_202610.csv", "rejected")]


def test_failing_mart_gate_fails_the_build_and_publishes_nothing(airflow_db, dagbag, warehouse_url, outbox):
    good_file(outbox, period="2026-09", count=30)
    assert _run(dagbag, "lintas_extract_dinsos_dtks")[0] == "success"
    assert _run(dagbag, "lintas_build_warehouse")[0] == "success"
    before = _mart_snapshot(warehouse_url)

    # a month that passes the raw gate, but whose addresses resolve to no kelurahan of the city
    write(outbox, "DTKS_3573_202610.csv", [member(i, KELURAHAN="ANTAH BERANTAH") for i in range(30)])
    assert _run(dagbag, "lintas_extract_dinsos_dtks")[0] == "success"
    state, tasks = _run(dagbag, "lintas_build_warehouse")
    assert state == "failed"
    assert (tasks["marts.dbt_producer_watcher"], tasks["gate_marts"], tasks["publish"]) == (
        "success", "failed", "upstream_failed")
    assert _mart_snapshot(warehouse_url) == before
    with warehouse.connect(warehouse_url) as conn:
        outcomes = conn.execute("select outcome from audit.publish_event order by publish_event_id").fetchall()
    assert outcomes == [("published",), ("held_back",)]


def test_every_agency_channel_runs_through_airflow(airflow_db, dagbag, warehouse_url, outbox, outbox_for,
                                                    tmp_path, monkeypatch):
    """Each extract DAG pulls from its stand-in, gates, and only a gate with something to gate runs."""
    good_file(outbox, count=12)
    good_workbook(outbox_for("diskopindag"))
    permits_url = f"sqlite:///{tmp_path / 'dpmptsp.sqlite'}"
    engine = sa.create_engine(permits_url)
    izin_db.create(engine)
    izin_db.insert(engine, "izin_usaha", [izin_db.permit(i) for i in range(1, 8)])
    izin_db.insert(engine, "izin_usaha_kbli", [izin_db.kbli(i, i) for i in range(1, 8)])
    monkeypatch.setenv("LINTAS_DPMPTSP_URL", permits_url)
    settings.reload()
    with DapodikServer([student(i) for i in range(15)], token=TOKEN) as api:
        monkeypatch.setenv("LINTAS_DAPODIK_URL", api.base_url)
        monkeypatch.setenv("LINTAS_DAPODIK_TOKEN", TOKEN)
        settings.reload()
        for dag_id in EXTRACT_DAGS:
            state, tasks = _run(dagbag, dag_id)
            assert state == "success", (dag_id, tasks)
            assert {t: s for t, s in tasks.items() if t.startswith("gate__")} == {
                f"gate__{s}": "success" for s in EXTRACT_DAGS[dag_id][0]}, dag_id
        # nothing new anywhere: the gates are skipped, so no asset is updated and no build is triggered
        for dag_id in EXTRACT_DAGS:
            state, tasks = _run(dagbag, dag_id)
            assert state == "success", (dag_id, tasks)
            assert {s for t, s in tasks.items() if t.startswith("gate__")} == {"skipped"}, (dag_id, tasks)
    assert _run(dagbag, "lintas_build_warehouse")[0] == "success"
    with warehouse.connect(warehouse_url) as conn:
        counts = [conn.execute(sql.SQL("select count(*) from {}").format(sql.Identifier("staging", model)))
                  .fetchone()[0] for model in (
            "stg_dinsos__dtks_members", "stg_disdik__students", "stg_diskopindag__umkm_owners",
            "stg_dpmptsp__permits", "stg_dpmptsp__permit_kbli")]
    assert counts == [12, 15, 9, 7, 7]


def test_a_refused_token_fails_the_run_at_once(airflow_db, dagbag, warehouse_url, monkeypatch):
    with DapodikServer([student(1)], token=TOKEN) as api:
        monkeypatch.setenv("LINTAS_DAPODIK_URL", api.base_url)
        monkeypatch.setenv("LINTAS_DAPODIK_TOKEN", "an-old-token")
        settings.reload()
        dagrun = run_dag(dagbag, "lintas_extract_disdik_dapodik")
        pull = next(ti for ti in dagrun.get_task_instances() if ti.task_id == "pull_api")
        assert dagrun.state == "failed"
        assert (pull.state, pull.try_number) == ("failed", 1), "a refused token is not retried"
        assert (api.requests, api.statuses[401]) == (1, 1), "one request, refused, never repeated"


def _asset_events(uri: str) -> int:
    from airflow.models.asset import AssetEvent, AssetModel
    from airflow.utils.session import create_session
    from sqlalchemy import func, select

    with create_session() as session:
        return session.scalar(select(func.count()).select_from(AssetEvent).join(
            AssetModel, AssetModel.id == AssetEvent.asset_id).where(AssetModel.uri == uri))


def test_an_inconsistent_pull_fails_the_extract_without_retry_and_triggers_no_build(airflow_db, dagbag,
                                                                                      warehouse_url, monkeypatch):
    from lintas_sandbox.standins.dapodik import Faults

    uri = sources.raw_table("disdik_peserta_didik").asset_uri
    events_before = _asset_events(uri)
    with DapodikServer([student(i) for i in range(25)], token=TOKEN, page_cap=10,
                       faults=Faults(repeat_pages={3: 2})) as api:
        monkeypatch.setenv("LINTAS_DAPODIK_URL", api.base_url)
        monkeypatch.setenv("LINTAS_DAPODIK_TOKEN", TOKEN)
        settings.reload()
        dagrun = run_dag(dagbag, "lintas_extract_disdik_dapodik")
        tis = {ti.task_id: ti for ti in dagrun.get_task_instances()}
        assert dagrun.state == "failed"
        assert (tis["pull_api"].state, tis["pull_api"].try_number) == ("failed", 1), "a data verdict: not retried"
        assert tis["gate__disdik_peserta_didik"].state == "upstream_failed"
        assert _asset_events(uri) == events_before, "no asset event: the warehouse build is not triggered"
        with warehouse.connect(warehouse_url) as conn:
            assert conn.execute("select status, rejection_reason from audit.load_batch").fetchall() == [
                ("rejected", "incomplete pull: meta.total says 25, 20 distinct record(s) received; 30 record(s) "
                             "received in 3 page(s); page 3 repeats page 2; 10 record(s) served again unchanged")]
            assert conn.execute("select count(*) from raw.disdik_peserta_didik").fetchone() == (0,)

        api.set_faults(None)  # the next scheduled run, the API pages correctly again
        state, tasks = _run(dagbag, "lintas_extract_disdik_dapodik")
        assert state == "success" and tasks["gate__disdik_peserta_didik"] == "success", tasks
        assert _asset_events(uri) == events_before + 1
    with warehouse.connect(warehouse_url) as conn:
        assert conn.execute("select count(*) from raw.disdik_peserta_didik").fetchone() == (25,)


def test_a_poison_file_fails_the_run_once_without_retry_and_the_good_month_still_loads(
        airflow_db, dagbag, warehouse_url, outbox, capfd):
    """Issue 11: a UTF-16 file first in the outbox used to crash the extract (retried for nothing) and block every
    later month. Now it is a rejected batch; the good month is loaded, accepted and announced to the warehouse
    build (asset event) in the same run; the run fails at the delivery verdict, once, naming the file and why."""
    uri = sources.raw_table("dinsos_dtks").asset_uri
    events_before = _asset_events(uri)
    bad_deliveries.dtks_in_utf16(outbox, period="2026-09")
    good_file(outbox, period="2026-10", count=20)
    dagrun = run_dag(dagbag, "lintas_extract_dinsos_dtks")
    tries = {ti.task_id: (ti.state, ti.try_number) for ti in dagrun.get_task_instances()}
    assert dagrun.state == "failed"
    assert tries["load_outbox"] == ("success", 1)
    assert tries["gate__dinsos_dtks"] == ("success", 1)
    assert tries["deliveries__dinsos_dtks"] == ("failed", 1), "a verdict on data is not retried"
    assert _asset_events(uri) == events_before + 1, "the good month triggers the build"
    task_output = "".join(capfd.readouterr())  # the verdict's failure, as the task log shows it
    assert "DTKS_3573_202609.csv rejected: UTF-16 is not an accepted encoding (UTF-8 or Windows-1252)" in task_output
    with warehouse.connect(warehouse_url) as conn:
        batches = conn.execute("select source_ref, status, rows_loaded from audit.load_batch order by 1").fetchall()
    assert batches == [("DTKS_3573_202609.csv", "rejected", 0), ("DTKS_3573_202610.csv", "accepted", 20)]
    # the file stays in the outbox; it was judged once, so the next run is quiet and green
    state, tasks = _run(dagbag, "lintas_extract_dinsos_dtks")
    assert state == "success" and tasks["gate__dinsos_dtks"] == "skipped"
    assert _asset_events(uri) == events_before + 1


def test_retention_purges_a_superseded_delivery_and_keeps_its_counts(airflow_db, dagbag, warehouse_url, outbox):
    good_file(outbox, period="2026-09", count=10)
    assert _run(dagbag, "lintas_extract_dinsos_dtks")[0] == "success"
    write(outbox, "DTKS_3573_202609.csv", [member(i, "2026-09", RT="007") for i in range(10)])  # a corrected month
    assert _run(dagbag, "lintas_extract_dinsos_dtks")[0] == "success"
    with warehouse.connect(warehouse_url) as conn:
        conn.execute("update audit.load_batch set loaded_at = loaded_at - interval '1 year'")
    state, tasks = _run(dagbag, "lintas_retention")
    assert (state, tasks) == ("success", {"purge": "success"})
    with warehouse.connect(warehouse_url) as conn:
        batches = conn.execute("select rows_loaded, rows_purged, purged_at is not null from audit.load_batch"
                               " order by batch_id").fetchall()
        kept = conn.execute("select distinct rt from raw.dinsos_dtks").fetchall()
        run = conn.execute("select airflow_dag_id, raw_rows_purged from audit.retention_run").fetchall()
    assert batches == [(10, 10, True), (10, 0, False)]
    assert kept == [("007",)]
    assert run == [("lintas_retention", 10)]
