"""Every DAG imports cleanly, follows the house rules, and parses fast."""

import json
import os
import subprocess
import sys

import pytest

from lintas.assets import raw_assets

# extract DAG -> (its sources, cadence)
EXTRACT_DAGS = {
    "lintas_extract_dinsos_dtks": (["dinsos_dtks"], "0 6 1 * *"),  # monthly snapshot
    "lintas_extract_disdik_dapodik": (["disdik_peserta_didik"], "0 2 * * *"),  # daily
    "lintas_extract_diskopindag_umkm": (["diskopindag_umkm"], "*/30 * * * *"),  # on file arrival (polled)
    "lintas_extract_dpmptsp_izin": (["dpmptsp_izin_usaha", "dpmptsp_izin_usaha_kbli"], "15 * * * *"),  # hourly
}
EXPECTED_DAGS = {*EXTRACT_DAGS, "lintas_build_warehouse", "lintas_retrain_linkage", "lintas_retention"}


def test_no_import_errors(dagbag):
    assert dagbag.import_errors == {}


def test_expected_dags_present(dagbag):
    assert EXPECTED_DAGS <= set(dagbag.dag_ids)


def test_house_rules(dagbag):
    for dag_id, dag in dagbag.dags.items():
        assert dag.catchup is False, dag_id
        assert dag.tags and "lintas" in dag.tags, dag_id
        assert dag.doc_md, dag_id
        for task in dag.tasks:
            assert task.owner and task.owner != "airflow", (dag_id, task.task_id)
            assert task.retries is not None, (dag_id, task.task_id)
        # no cycles: a topological sort covers every task
        assert len(dag.topological_sort()) == len(dag.tasks), dag_id


def test_delivery_verdicts_are_leaves_and_gates_update_assets(dagbag):
    """A verdict with downstream all_done tasks could turn a failed run green: each source's delivery verdict is a
    leaf, never retried. Each source's gate alone updates that source's asset (for the batches it accepted, even
    beside a rejected sibling), and both only run when there is something to gate."""
    for dag_id, (sources, cadence) in EXTRACT_DAGS.items():
        dag = dagbag.dags[dag_id]
        assert dag.schedule == cadence, dag_id
        gates = [t for t in dag.tasks if t.task_id.startswith("gate__")]
        assert sorted(t.task_id for t in gates) == sorted(f"gate__{s}" for s in sources)
        for source in sources:
            gate_task = dag.get_task(f"gate__{source}")
            verdict = dag.get_task(f"deliveries__{source}")
            assert [t.task_id for t in gate_task.downstream_list] == [verdict.task_id], (dag_id, source)
            assert verdict.downstream_list == [] and verdict.retries == 0, (dag_id, source)
            assert verdict.trigger_rule == "none_failed"  # judges a run whose gate accepted nothing, too
            assert gate_task.retries == 0
            own_asset = {a.uri for a in raw_assets() if a.uri.rstrip("/").endswith(f"/{source}")}
            assert {o.uri for o in gate_task.outlets} == own_asset
            assert {t.task_id for t in gate_task.upstream_list} >= {f"anything_to_gate__{source}"}
        outlets = [t.task_id for t in dag.tasks if t.outlets]
        assert sorted(outlets) == sorted(t.task_id for t in gates), "only gates update assets"


def test_build_listens_to_every_raw_source(dagbag):
    dag = dagbag.dags["lintas_build_warehouse"]
    condition = dag.timetable.asset_condition
    assert type(condition).__name__ == "AssetAny"  # any one source with new data triggers a build
    assert {a.uri for a in condition.objects} == {a.uri for a in raw_assets()}


def test_build_resolves_identities_then_writes_audits_and_publishes_the_marts(dagbag):
    """The Python steps in order around the two dbt task groups (their insides: tests/dags/test_build_dag.py)."""
    dag = dagbag.dags["lintas_build_warehouse"]
    order = [t.task_id for t in dag.topological_sort() if "." not in t.task_id
             and t.task_id != "check_source_freshness"]
    assert order[:5] == ["prepare_warehouse", "anything_to_build", "load_seeds", "link_identities",
                         "reset_build_schema"]
    assert order[5:] in (["gate_marts", "publish", "record_history", "hold_back"],
                         ["gate_marts", "hold_back", "publish", "record_history"],
                         ["hold_back", "gate_marts", "publish", "record_history"],
                         ["gate_marts", "publish", "hold_back", "record_history"])
    # freshness is reported beside the build, never in its way
    freshness = dag.get_task("check_source_freshness")
    assert [t.task_id for t in freshness.upstream_list] == ["prepare_warehouse"] and not freshness.downstream_list
    # publish runs only when the gate passed (the default all_success), and a failed gate is not retried
    assert dag.get_task("publish").trigger_rule == "all_success"
    assert [t.task_id for t in dag.get_task("publish").upstream_list] == ["gate_marts"]
    assert dag.get_task("gate_marts").retries == 0


def test_retraining_runs_only_by_hand(dagbag):
    dag = dagbag.dags["lintas_retrain_linkage"]
    assert dag.schedule is None
    assert [t.task_id for t in dag.tasks] == ["retrain_model", "compare_with_reviewed"]
    # the comparison with the reviewed model is written for the candidate the retraining made
    assert [t.task_id for t in dag.get_task("compare_with_reviewed").upstream_list] == ["retrain_model"]


def test_retention_runs_daily_in_one_task(dagbag):
    dag = dagbag.dags["lintas_retention"]
    assert dag.schedule == "45 1 * * *"
    assert [t.task_id for t in dag.tasks] == ["purge"]


# Each DAG file parses in at most this much CPU time once Airflow is imported: the DAG processor re-parses every
# file every few minutes (Airflow's guidance: keep top-level code cheap; dag_file_processor_timeout is 50 s).
# CPU seconds of the parsing process, not wall seconds: the parse's own cost, which other work on a shared
# machine does not inflate (wall time at load 10-17 on 2 cores read 3.6 s for a 0.6 s parse).
PARSE_BUDGET_SECONDS = 2.0
_TIME_PARSE = """
import json, sys, time
import airflow  # noqa: F401 - Airflow's own import (and its authoring API, below) is not the DAG file's cost
from airflow.dag_processing.dagbag import DagBag
from airflow.sdk import dag, task  # noqa: F401
started, cpu_started = time.perf_counter(), time.process_time()
bag = DagBag(dag_folder=sys.argv[1])
print(json.dumps({"seconds": time.process_time() - cpu_started, "wall_seconds": time.perf_counter() - started,
                  "dags": sorted(bag.dag_ids),
                  "errors": {k: str(v)[:500] for k, v in bag.import_errors.items()}}))
"""


def _dag_files():
    from lintas import settings

    return sorted(settings.dags_dir().glob("*.py"))


@pytest.mark.parametrize("dag_file", _dag_files(), ids=lambda p: p.stem)
def test_dag_file_parses_within_budget(dag_file):
    """Timed in a fresh interpreter, as the DAG processor parses a file: nothing of ours is imported yet."""
    results = []
    for _ in range(2):  # best of two: other work on the machine can stall any single parse
        proc = subprocess.run([sys.executable, "-c", _TIME_PARSE, str(dag_file)], capture_output=True, text=True,
                              timeout=300, env=os.environ.copy())
        assert proc.returncode == 0, proc.stderr[-2000:]
        results.append(json.loads(proc.stdout.strip().splitlines()[-1]))
    result = min(results, key=lambda r: r["seconds"])
    print(f"{dag_file.name}: parsed in {result['seconds']:.2f} CPU s ({result['wall_seconds']:.2f} s wall)")
    assert result["errors"] == {}
    assert result["dags"], f"{dag_file.name} defines no DAG"
    assert result["seconds"] <= PARSE_BUDGET_SECONDS, f"{dag_file.name} took {result['seconds']:.2f} CPU s to parse"
