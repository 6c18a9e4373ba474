"""The build DAG's dbt, rendered by Cosmos: one Airflow task per dbt model and one per model's data tests.

Cosmos' WATCHER mode runs ONE `dbt build` per task group (the producer task `dbt_producer_watcher`); each model's
and each model's tests' task reads that node's result from the producer and succeeds or fails with it. So a
failed model or test shows as its own failed task, while the warehouse is built by one dbt process (one process
per model, Cosmos' LOCAL mode, starts dbt ~60 times: see docs/build-dag.md).

The tasks are rendered from the pre-built manifest (dbt_project/target/manifest.airflow.json, `lintas.transform.dbt.
ensure_manifest`): nothing runs dbt while Airflow parses the DAG file.

Retries: the producer is never retried (Cosmos skips a producer retry and hands every model to its own dbt run);
a model's task is retried once (its retry runs that model alone: a dropped connection, a killed worker); a
model's tests' task is never retried (a failed test is a verdict on the data; retrying only repeats it).
"""

from __future__ import annotations

import re
from pathlib import Path

from lintas import settings, sources, warehouse
from lintas.transform import dbt

PRODUCER_TASK_ID = "dbt_producer_watcher"
MODEL_RETRIES = 1

# The connection (from WAREHOUSE_URL) is put into the dbt tasks' environment when they run (`_runtime_env`), never
# at DAG parse: nothing secret is serialized with the DAG or shown as a rendered template.
_RUNTIME_KEYS = ("LINTAS_PGHOST", "LINTAS_PGPORT", "LINTAS_PGUSER", "LINTAS_PGPASSWORD", "LINTAS_PGDATABASE",
                 "LINTAS_MARTS_BUILD_SCHEMA", "LINTAS_DBT_REGION_KABKOTA")


class ManifestMissing(RuntimeError):
    """The build DAG cannot be rendered: the dbt manifest has not been built."""


# The hand-run `period` parameter: one month, YYYY-MM (checked by the DAG's Param and again before it reaches dbt)
PERIOD_PATTERN = r"^[0-9]{4}-(0[1-9]|1[0-2])$"


def _runtime_env(context, operator) -> None:
    """Cosmos interceptor (runs in the task, before the dbt command is built): the warehouse connection, the build
    schema and the hand-run `source` and `period` parameters."""
    from airflow.sdk.log import mask_secret

    env = dbt.dbt_environment(warehouse.warehouse_url())
    if env["LINTAS_PGPASSWORD"]:
        mask_secret(env["LINTAS_PGPASSWORD"])
    operator.env = {**(operator.env or {}), **{k: env[k] for k in _RUNTIME_KEYS}}
    # `operator` is this run's copy of the task (Airflow's prepare_for_execution): narrowing it leaves later runs be
    params = context.get("params") or {}
    if params.get("period") and operator.task_id.endswith(PRODUCER_TASK_ID):
        operator.vars = {**(operator.vars or {}), **period_vars(params["period"])}
    source = params.get("source")
    if source and operator.task_id.endswith(PRODUCER_TASK_ID) and operator.selector == dbt.LINKAGE_INPUT:
        operator.selector, operator.select, operator.exclude = None, source_selection(source), dbt.NOT_IN_BUILDS


def period_vars(period: str) -> dict[str, str]:
    """dbt vars that make the incremental DTKS model re-parse one month (`rebuild_periode`)."""
    if not isinstance(period, str) or not re.fullmatch(PERIOD_PATTERN, period):
        raise ValueError(f"period must be a month as YYYY-MM, got {period!r}")
    return {"rebuild_periode": period}


def source_selection(source: str) -> str:
    """dbt selection of one raw source's staging and what it feeds, up to the unified source records."""
    agency = sources.find(source)[0].agency
    return f"source:raw_{agency}.{source}+,+int_identity__source_records"


def _record_results(project_dir: str, **kwargs) -> None:
    """Cosmos callback after every dbt invocation (also a failed one): node results into audit.dbt_run_result."""
    from lintas import pipeline
    from lintas.load.raw import RunContext

    # the task instance's run id: Cosmos keeps the first run id it saw in the operator's extra_context and merges
    # it into later contexts (dag.test() runs the same operator object again)
    ti = kwargs["context"]["ti"]
    pipeline.record_dbt_artifacts(project_dir, RunContext(ti.dag_id, ti.run_id))


def _static_env() -> dict[str, str]:
    # no DBT_TARGET_PATH: the Cosmos copy of the project keeps its own target/ (run_results.json is read there)
    return {"DBT_SEND_ANONYMOUS_USAGE_STATS": "false", "DBT_USE_COLORS": "false"}


def manifest() -> Path:
    path = dbt.airflow_manifest_path()
    if not path.exists():
        raise ManifestMissing(f"dbt manifest {path} not found: the build DAG's tasks are rendered from it. "
                              "Run `lintas warehouse manifest` (or `lintas warehouse prepare`) to build it.")
    return path


def dbt_task_group(group_id: str, selector: str, *, upstream):
    """A Cosmos task group of the selector's models and tests, run after `upstream` by one `dbt build`."""
    settings.export_for_in_process_libraries(settings.COSMOS_SETTINGS, keep_existing=True)
    from cosmos import DbtTaskGroup, ExecutionConfig, ProfileConfig, ProjectConfig, RenderConfig
    from cosmos.constants import ExecutionMode, InvocationMode, LoadMode, TestBehavior

    project = settings.dbt_project_dir()
    group = DbtTaskGroup(
        group_id=group_id,
        project_config=ProjectConfig(dbt_project_path=project, manifest_path=manifest(), project_name="lintas",
                                     install_dbt_deps=False),
        profile_config=ProfileConfig(profile_name="lintas", target_name="warehouse",
                                     profiles_yml_filepath=project / "profiles.yml"),
        execution_config=ExecutionConfig(execution_mode=ExecutionMode.WATCHER,
                                         invocation_mode=InvocationMode.SUBPROCESS,
                                         dbt_executable_path=dbt.dbt_executable()),
        # emit_datasets off: the published marts are the assets (lintas.assets.MARTS), not tables being built
        render_config=RenderConfig(load_method=LoadMode.DBT_MANIFEST, selector=selector,
                                   test_behavior=TestBehavior.AFTER_EACH, emit_datasets=False),
        operator_args={
            "env": _static_env(),
            "interceptors": [_runtime_env],
            "callback": _record_results,
            "full_refresh": "{{ params.full_refresh }}",
            "install_deps": False,
            "retries": MODEL_RETRIES,
        },
    )
    _wire(group, upstream)
    return group


def _wire(group, upstream) -> None:
    """The producer runs first; each model with no upstream model in the group reads its result once the producer
    is done, failed or not (one_done: not when the producer never ran). Reading results only after the build keeps
    dag.test() and a busy scheduler deterministic: no watcher waits on a producer that has not started."""
    tasks = list(group.iter_tasks())
    [producer] = [t for t in tasks if t.task_id.endswith(f".{PRODUCER_TASK_ID}")]
    producer.retries = 0
    upstream >> producer
    for task in tasks:
        if task is producer:
            continue
        if type(task).__name__ == "DbtTestWatcherOperator":
            task.retries = 0
        if task.upstream_list:
            continue
        producer >> task
        task.trigger_rule = "one_done"


def model_tasks(group) -> dict[str, str]:
    """dbt unique_id -> task id of each model's task in the group."""
    return {t.model_unique_id: t.task_id for t in group.iter_tasks()
            if type(t).__name__ == "DbtRunWatcherOperator"}
