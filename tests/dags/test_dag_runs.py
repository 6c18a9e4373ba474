"""End-to-end DAG runs with dag.test(): real Airflow, real warehouse, real GX and dbt."""

import sqlalchemy as sa

from lintas import warehouse
from lintas.standins.dapodik import DapodikServer
from tests.dags.test_dag_integrity import EXTRACT_DAGS
from tests.fixtures import izin_db
from tests.fixtures.dapodik_records import TOKEN, student
from tests.fixtures.dtks_files import good_file, member, write
from tests.fixtures.umkm_workbooks import good_workbook


def _mart_snapshot(url):
    with warehouse.connect(url) as conn:
        return conn.execute("select * from marts.mart_dtks_kelurahan_summary order by 1, 2").fetchall()


def _run(dagbag, dag_id):
    dagrun = dagbag.dags[dag_id].test()
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
        schemas = {r[0] for r in conn.execute("select nspname from pg_namespace where nspname like 'marts%'")}
    assert run_id and run_id.startswith("manual__")
    assert dbt_results["model.lintas.mart_dtks_kelurahan_summary"] == "success"
    assert all(status in ("success", "pass") for status in dbt_results.values())
    assert tasks["gate_marts"] == "success" and tasks["publish"] == "success"
    assert tasks["record_history"] == "success"
    [(build_run, outcome, tables)] = published
    assert build_run.startswith("manual__") and outcome == "published"
    assert tables["mart_dtks_kelurahan_summary"] == len(mart)
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
    assert tasks["load_outbox"] == "success" and tasks["gate__dinsos_dtks"] == "failed"

    # even if the build runs anyway (by hand, or for another source), the held-back batch stays out
    assert _run(dagbag, "lintas_build_warehouse")[0] == "success"
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
    with DapodikServer([student(i) for i in range(15)], token=TOKEN) as api:
        monkeypatch.setenv("LINTAS_DAPODIK_URL", api.base_url)
        monkeypatch.setenv("LINTAS_DAPODIK_TOKEN", TOKEN)
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
        counts = [conn.execute(f"select count(*) from staging.{model}").fetchone()[0] for model in (
            "stg_dinsos__dtks_members", "stg_disdik__students", "stg_diskopindag__umkm_owners",
            "stg_dpmptsp__permits", "stg_dpmptsp__permit_kbli")]
    assert counts == [12, 15, 9, 7, 7]


def test_a_refused_token_fails_the_run_at_once(airflow_db, dagbag, warehouse_url, monkeypatch):
    with DapodikServer([student(1)], token=TOKEN) as api:
        monkeypatch.setenv("LINTAS_DAPODIK_URL", api.base_url)
        monkeypatch.setenv("LINTAS_DAPODIK_TOKEN", "an-old-token")
        dagrun = dagbag.dags["lintas_extract_disdik_dapodik"].test()
        pull = next(ti for ti in dagrun.get_task_instances() if ti.task_id == "pull_api")
        assert dagrun.state == "failed"
        assert (pull.state, pull.try_number) == ("failed", 1), "a refused token is not retried"
        assert (api.requests, api.statuses[401]) == (1, 1), "one request, refused, never repeated"
