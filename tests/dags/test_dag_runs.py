"""End-to-end DAG runs with dag.test(): real Airflow, real warehouse, real GX and dbt."""

from lintas import warehouse
from tests.fixtures.dtks_files import good_file, member, write


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
    assert run_id and run_id.startswith("manual__")
    assert dbt_results["model.lintas.mart_dtks_kelurahan_summary"] == "success"
    assert all(status in ("success", "pass") for status in dbt_results.values())


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
