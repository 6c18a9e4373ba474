"""The build DAG rendered by Cosmos: one task per dbt model and per model's tests, from the pre-built manifest;
honest retries; hand-run parameters; one asset per published mart. End to end with dag.test() on a small town."""

from __future__ import annotations

import json
import os
import subprocess
import sys

from lintas import assets, dbt_airflow, settings, warehouse
from lintas.transform import dbt
from tests.fixtures.dag_runs import run_dag
from tests.fixtures.dtks_files import good_file

DAG_ID = "lintas_build_warehouse"


def _manifest_models() -> tuple[set[str], set[str]]:
    """(linkage input models, marts models) from the manifest: the unified source records and their ancestors,
    and every other model."""
    manifest = json.loads(dbt.manifest_path().read_text(encoding="utf-8"))
    models = {uid for uid, n in manifest["nodes"].items() if n["resource_type"] == "model"}
    parents = manifest["parent_map"]
    todo, linkage = ["model.lintas.int_identity__source_records"], set()
    while todo:
        uid = todo.pop()
        if uid in models and uid not in linkage:
            linkage.add(uid)
            todo += parents.get(uid, [])
    return linkage, models - linkage


def _group_models(dag, group: str) -> dict[str, object]:
    return {t.model_unique_id: t for t in dag.tasks
            if t.task_id.startswith(f"{group}.") and type(t).__name__ == "DbtRunWatcherOperator"}


def test_every_dbt_model_is_a_task_of_its_group(dagbag):
    dag = dagbag.dags[DAG_ID]
    linkage, marts = _manifest_models()
    assert len(marts) >= 20 and "model.lintas.dim_person" in marts
    assert set(_group_models(dag, "marts")) == marts
    assert set(_group_models(dag, "linkage_input")) == linkage
    # each model's tests follow the model; the models run by one dbt build (the producer)
    for group in ("linkage_input", "marts"):
        producers = [t for t in dag.tasks if t.task_id == f"{group}.{dbt_airflow.PRODUCER_TASK_ID}"]
        assert len(producers) == 1 and type(producers[0]).__name__ == "DbtProducerWatcherOperator"
    assert dag.get_task("marts.dim_wilayah.test").upstream_task_ids == {"marts.dim_wilayah.run"}


def test_identity_resolution_sits_between_the_groups_and_gate_publish_history_follow(dagbag):
    dag = dagbag.dags[DAG_ID]
    producer = f"marts.{dbt_airflow.PRODUCER_TASK_ID}"
    assert dag.get_task("link_identities").upstream_task_ids and all(
        t.startswith("linkage_input.") for t in dag.get_task("link_identities").upstream_task_ids)
    assert dag.get_task("reset_build_schema").upstream_task_ids == {"link_identities"}
    assert dag.get_task(producer).upstream_task_ids == {"reset_build_schema"}
    assert all(t.startswith("marts.") for t in dag.get_task("gate_marts").upstream_task_ids)
    assert dag.get_task("publish").upstream_task_ids == {"gate_marts"}
    assert dag.get_task("record_history").upstream_task_ids == {"publish"}
    assert dag.get_task("hold_back").trigger_rule == "one_failed"
    assert dag.get_task("hold_back").upstream_task_ids == dag.get_task("gate_marts").upstream_task_ids
    # the short circuit stands before every build step, freshness beside it
    assert dag.get_task("anything_to_build").upstream_task_ids == {"prepare_warehouse"}
    assert dag.get_task("load_seeds").upstream_task_ids == {"anything_to_build"}
    assert dag.get_task("check_source_freshness").upstream_task_ids == {"prepare_warehouse"}


def test_data_failures_are_not_retried_transient_ones_are(dagbag):
    dag = dagbag.dags[DAG_ID]
    by_kind: dict[str, set[int]] = {}
    for t in dag.tasks:
        by_kind.setdefault(type(t).__name__, set()).add(t.retries)
    assert by_kind["DbtProducerWatcherOperator"] == {0}, "one dbt build per group, never repeated"
    assert by_kind["DbtTestWatcherOperator"] == {0}, "a failed dbt test is a verdict on the data"
    assert by_kind["DbtRunWatcherOperator"] == {dbt_airflow.MODEL_RETRIES} and dbt_airflow.MODEL_RETRIES == 1
    assert dag.get_task("gate_marts").retries == 0
    assert dag.get_task("link_identities").retries == 1 and dag.get_task("publish").retries == 1


def test_no_secret_is_rendered_into_the_dag(dagbag, monkeypatch):
    dag = dagbag.dags[DAG_ID]
    for t in dag.tasks:
        env = getattr(t, "env", None) or {}
        assert not any(k.startswith("LINTAS_PG") for k in env), t.task_id


def test_one_asset_per_mart_suite_on_publish(dagbag):
    suites = {p.stem.removeprefix("marts_") for p in (settings.expectations_dir() / "suites").glob("marts_*.json")}
    _, marts = _manifest_models()
    published = {uid.split(".")[-1] for uid in marts if "/marts/" in json.loads(
        dbt.manifest_path().read_text(encoding="utf-8"))["nodes"][uid]["original_file_path"]}
    assert set(assets.MARTS) == suites == published
    dag = dagbag.dags[DAG_ID]
    assert {o.uri for o in dag.get_task("publish").outlets} == {f"lintas://warehouse/marts/{t}" for t in suites}


def test_without_a_manifest_the_dag_fails_to_import_naming_the_fix(tmp_path):
    root = tmp_path / "project"
    (root / "dbt_project").mkdir(parents=True)
    for name in ("dags", "expectations"):
        (root / name).symlink_to(settings.project_root() / name)
    for item in settings.dbt_project_dir().iterdir():
        if item.name != "target":
            (root / "dbt_project" / item.name).symlink_to(item)
    code = ("from airflow.dag_processing.dagbag import DagBag\n"
            f"bag = DagBag(dag_folder={str(root / 'dags' / 'lintas_build_warehouse.py')!r})\n"
            "print('DAGS', list(bag.dag_ids)); print('ERRORS', *bag.import_errors.values())")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         env=os.environ | {"LINTAS_PROJECT_ROOT": str(root)}).stdout
    assert "DAGS []" in out
    errors = out[out.index("ERRORS"):]
    assert "ManifestMissing" in errors and "lintas warehouse manifest" in errors


def test_manifest_is_rebuilt_when_the_project_changes():
    assert dbt.manifest_is_fresh()
    stamp = dbt.manifest_path().stat().st_mtime_ns
    assert dbt.ensure_manifest() == dbt.manifest_path() and dbt.manifest_path().stat().st_mtime_ns == stamp
    fingerprint = dbt.manifest_path().with_name("manifest.fingerprint")
    fingerprint.write_text("from-an-older-project\n")
    assert not dbt.manifest_is_fresh()
    dbt.ensure_manifest()
    assert dbt.manifest_is_fresh() and dbt.manifest_path().stat().st_mtime_ns != stamp


# ---- end to end (dag.test) ----

def _run(dagbag, dag_id, **conf):
    dagrun = run_dag(dagbag, dag_id, **conf)
    return dagrun, {ti.task_id: ti for ti in dagrun.get_task_instances()}


def _asset_events(run_id: str) -> dict[str, dict]:
    from airflow.models.asset import AssetEvent
    from airflow.utils.session import create_session

    with create_session() as session:
        events = session.query(AssetEvent).filter(AssetEvent.source_dag_id == DAG_ID,
                                                   AssetEvent.source_run_id == run_id).all()
        return {e.asset.uri: e.extra for e in events}


def _publish_events(url):
    with warehouse.connect(url) as conn:
        return conn.execute("select airflow_run_id, outcome, tables from audit.publish_event"
                            " order by publish_event_id").fetchall()


def _dbt_results(url, run_id):
    with warehouse.connect(url) as conn:
        return conn.execute("select unique_id, status from audit.dbt_run_result where airflow_run_id = %s",
                            (run_id,)).fetchall()


def test_build_runs_every_model_as_a_task_and_publishes_one_asset_event_per_mart(
        airflow_db, dagbag, warehouse_url, outbox):
    good_file(outbox, count=30)
    assert _run(dagbag, "lintas_extract_dinsos_dtks")[0].state == "success"
    dagrun, tis = _run(dagbag, DAG_ID)
    assert dagrun.state == "success", {t: ti.state for t, ti in tis.items() if ti.state != "success"}
    dbt_tasks = [t for t in tis if t.startswith(("linkage_input.", "marts."))]
    assert len(dbt_tasks) > 60 and {tis[t].state for t in dbt_tasks} == {"success"}
    assert tis["hold_back"].state == "skipped"

    [(run_id, outcome, tables)] = _publish_events(warehouse_url)
    assert (run_id, outcome) == (dagrun.run_id, "published") and set(tables) == set(assets.MARTS)
    events = _asset_events(dagrun.run_id)
    assert set(events) == {a.uri for a in assets.MARTS.values()}
    for table, asset in assets.MARTS.items():
        assert events[asset.uri]["rows"] == tables[table], table
    assert events[assets.MARTS["rpt_dtks_kelurahan_summary"].uri]["rows"] > 0
    # every node of both dbt builds is in the audit, by the run that built it
    results = dict(_dbt_results(warehouse_url, dagrun.run_id))
    assert results["model.lintas.dim_person"] == "success" and results["model.lintas.stg_dinsos__dtks_members"]
    assert set(results.values()) <= {"success", "pass"}


def test_a_failing_dbt_test_fails_its_task_once_and_publishes_nothing(airflow_db, dagbag, warehouse_url, outbox):
    good_file(outbox, count=20)
    assert _run(dagbag, "lintas_extract_dinsos_dtks")[0].state == "success"
    # a region row with a level the mart's accepted_values test rejects (no table constraint catches it first)
    with warehouse.connect(warehouse_url) as conn:
        conn.execute("insert into reference.kode_wilayah_jawa_timur_35 (kode, kode_tanpa_titik, level, jenis,"
                     " nama, kode_induk) values ('35.73.05.1001.9', '357305100109', 5, 'rw', 'RW 9', '35.73.05.1001')")
    dagrun, tis = _run(dagbag, DAG_ID)
    assert dagrun.state == "failed"
    failed = sorted(t for t, ti in tis.items() if ti.state == "failed")
    assert failed == ["marts.dbt_producer_watcher", "marts.dim_wilayah.test"], failed
    assert tis["marts.dim_wilayah.test"].try_number == 1, "a failed dbt test is not retried"
    assert tis["marts.dim_wilayah.run"].state == "success"
    assert tis["marts.rpt_kelurahan_needs.run"].state == "upstream_failed", "built from dim_wilayah"
    assert (tis["gate_marts"].state, tis["publish"].state) == ("upstream_failed", "upstream_failed")
    assert tis["hold_back"].state == "success"
    [(run_id, outcome, tables)] = _publish_events(warehouse_url)
    assert (run_id, outcome) == (dagrun.run_id, "held_back")
    assert any(f.startswith("test.lintas.accepted_values_dim_wilayah_level") for f in tables["failed"])
    assert _asset_events(dagrun.run_id) == {}
    with warehouse.connect(warehouse_url) as conn:
        assert conn.execute("select count(*) from pg_namespace where nspname = 'marts'").fetchone()[0] == 0

    # nothing changed, but nothing was published: the build is tried again, and fails again (stays red)
    dagrun, tis = _run(dagbag, DAG_ID)
    assert dagrun.state == "failed" and tis["anything_to_build"].state == "success"
    assert tis["marts.dim_wilayah.test"].state == "failed" and tis["publish"].state == "upstream_failed"


def test_hand_run_full_refresh_one_source_and_one_period(airflow_db, dagbag, warehouse_url, outbox):
    good_file(outbox, count=12)
    assert _run(dagbag, "lintas_extract_dinsos_dtks")[0].state == "success"
    assert _run(dagbag, DAG_ID)[0].state == "success"
    # a month the register no longer delivers: the incremental model keeps it (it only replaces months with a new
    # batch) until a full refresh rebuilds it from the accepted batches
    with warehouse.connect(warehouse_url) as conn:
        conn.execute("create temp table old_month as select * from intermediate.int_dinsos__dtks_members_located"
                     " limit 1")
        conn.execute("update old_month set periode = '1999-01', dtks_member_key = dtks_member_key || '-1999'")
        conn.execute("insert into intermediate.int_dinsos__dtks_members_located select * from old_month")

    dagrun, tis = _run(dagbag, DAG_ID, source="dinsos_dtks")
    assert dagrun.state == "success"
    linkage = {uid for uid, _ in _dbt_results(warehouse_url, dagrun.run_id)
               if uid.startswith("model.") and uid in _manifest_models()[0]}
    assert "model.lintas.stg_dinsos__dtks_members" in linkage
    assert "model.lintas.stg_disdik__students" not in linkage, "only the chosen source's staging was built"
    with warehouse.connect(warehouse_url) as conn:
        kept = conn.execute("select count(*) from intermediate.int_dinsos__dtks_members_located"
                            " where periode = '1999-01'").fetchone()[0]
    assert kept == 1, "without full_refresh the incremental model keeps what it holds"

    # `period`: one delivered month re-parsed (a hand-damaged row of it comes back), every other month kept
    with warehouse.connect(warehouse_url) as conn:
        [month] = [r[0] for r in conn.execute(
            "select distinct periode from intermediate.int_dinsos__dtks_members_located where periode <> '1999-01'")]
        conn.execute("update intermediate.int_dinsos__dtks_members_located set nama_kelurahan = 'RUSAK'"
                     " where periode = %s", (month,))
    dagrun, tis = _run(dagbag, DAG_ID, period=month)
    assert dagrun.state == "success" and tis["anything_to_build"].state == "success"
    with warehouse.connect(warehouse_url) as conn:
        damaged, kept = conn.execute(
            "select count(*) filter (where periode = %s and nama_kelurahan = 'RUSAK'),"
            " count(*) filter (where periode = '1999-01') from intermediate.int_dinsos__dtks_members_located",
            (month,)).fetchone()
    assert damaged == 0, "the chosen month was re-parsed"
    assert kept == 1, "only the chosen month was rebuilt"

    dagrun, tis = _run(dagbag, DAG_ID, full_refresh=True)
    assert dagrun.state == "success"
    rebuilt = {uid for uid, _ in _dbt_results(warehouse_url, dagrun.run_id)}
    assert "model.lintas.stg_disdik__students" in rebuilt, "the hand run's `source` did not narrow the next run"
    with warehouse.connect(warehouse_url) as conn:
        kept = conn.execute("select count(*) from intermediate.int_dinsos__dtks_members_located"
                            " where periode = '1999-01'").fetchone()[0]
    assert kept == 0, "full_refresh rebuilt the incremental model from its sources"


def test_period_is_a_month_before_it_reaches_dbt(dagbag):
    assert dbt_airflow.period_vars("2026-09") == {"rebuild_periode": "2026-09"}
    for bad in ("2026-13", "2026-9", "2026-09'; drop table x; --", "", None):
        try:
            dbt_airflow.period_vars(bad)
        except ValueError:
            continue
        raise AssertionError(f"{bad!r} was accepted")
    assert dagbag.dags[DAG_ID].params.get_param("period").schema["pattern"] == dbt_airflow.PERIOD_PATTERN


# one build step of each kind; hold_back (one_failed) and the gate are skipped too, never run
_BUILD_STEPS = ("load_seeds", "link_identities", "marts.dbt_producer_watcher", "gate_marts", "publish",
                "record_history", "hold_back")


def test_nothing_new_since_the_published_build_skips_it_new_data_builds_again(
        airflow_db, dagbag, warehouse_url, outbox):
    good_file(outbox, count=12)
    assert _run(dagbag, "lintas_extract_dinsos_dtks")[0].state == "success"
    first, _ = _run(dagbag, DAG_ID)
    assert first.state == "success"

    dagrun, tis = _run(dagbag, DAG_ID)
    assert dagrun.state == "success"
    assert (tis["prepare_warehouse"].state, tis["anything_to_build"].state) == ("success", "success")
    assert {t: tis[t].state for t in _BUILD_STEPS} == dict.fromkeys(_BUILD_STEPS, "skipped")
    assert {tis[t].state for t in tis if t.startswith(("linkage_input.", "marts."))} == {"skipped"}
    assert [r[0] for r in _publish_events(warehouse_url)] == [first.run_id], "nothing published again"

    # a hand run asking for it builds anyway
    forced, tis = _run(dagbag, DAG_ID, force=True)
    assert forced.state == "success" and tis["publish"].state == "success"

    # a new accepted batch: built and published
    good_file(outbox, period="2026-11", count=12)
    assert _run(dagbag, "lintas_extract_dinsos_dtks")[0].state == "success"
    dagrun, tis = _run(dagbag, DAG_ID)
    assert dagrun.state == "success" and tis["publish"].state == "success"
    assert [r[0] for r in _publish_events(warehouse_url)] == [first.run_id, forced.run_id, dagrun.run_id]
