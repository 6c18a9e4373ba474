"""`lintas dags-test` / lintas.cli.run_dags: several `airflow dags test` runs in one process (the demo's and the
bench's way to pay Airflow's start-up once)."""

from __future__ import annotations

from lintas.cli import run_dags
from lintas.dag_test import read_progress

EXTRACT = "lintas_extract_dinsos_dtks"


def test_each_dag_is_timed_and_a_failed_one_stops_the_rest_unless_told(airflow_db, warehouse_url, outbox, tmp_path):
    progress = tmp_path / "progress.jsonl"
    rc = run_dags(["no_such_dag", EXTRACT], check=False, log_file=tmp_path / "stop.log", progress=progress)
    assert rc == 1
    assert [(run["dag_id"], run["ok"]) for run in read_progress(progress)] == [("no_such_dag", False)]
    assert "no_such_dag" in (tmp_path / "stop.log").read_text(encoding="utf-8")

    progress.unlink()
    rc = run_dags(["no_such_dag", EXTRACT], check=False, log_file=tmp_path / "go.log", progress=progress,
                  keep_going=True)
    runs = read_progress(progress)
    assert rc == 1  # one of them failed
    assert [(run["dag_id"], run["ok"]) for run in runs] == [("no_such_dag", False), (EXTRACT, True)]
    assert all(run["started"] <= run["ended"] for run in runs)
    assert runs[0]["ended"] <= runs[1]["started"]  # one after another

