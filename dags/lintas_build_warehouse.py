"""Warehouse build when any source has new accepted data: dbt up to the unified source records (task group
`linkage_input`), identity resolution (every record to a stable person id), then the identity-based models and
marts with their dbt tests (task group `marts`), written into the build schema `marts_build`. Every dbt model and
every model's tests is its own task (Cosmos, one `dbt build` per group): a failed model or test shows as that
task. The mart gate checks every built mart against its reviewed suite; only then does `publish` swap the build
schema into `marts` in one transaction (one asset event per mart, with its row count), and `record_history` takes
the dbt snapshots (type-2 history) of what was published. A failed dbt test or mart gate fails the run naming the
checks, is not retried, and analysts keep the last published marts.

Hand runs: `full_refresh` rebuilds the incremental models from scratch (after a change to the alias seed); `source`
rebuilds only that source's staging up to the unified source records (the marts are always rebuilt whole: they are
published as one schema); `period` (YYYY-MM) re-parses that DTKS month in the incremental model (after a fix to the
parsing or the alias seed that concerns one month; other months are kept); `force` builds even when nothing changed
since the published build (otherwise such a run, like any run with no new accepted batch, ends after
`anything_to_build`)."""

from airflow.sdk import AssetAny, Param, dag, task

from lintas import assets, dbt_airflow, sources
from lintas.dag_defaults import dag_settings
from lintas.transform import dbt

# lintas.pipeline (database drivers, file readers) is imported by the tasks when they run, not by every parse


@dag(
    dag_id="lintas_build_warehouse",
    description="dbt staging -> identity resolution -> marts (build schema) -> mart gate -> atomic publish",
    schedule=AssetAny(*assets.raw_assets()),  # any source with newly accepted data
    doc_md=__doc__,
    params={
        "full_refresh": Param(False, type="boolean", description="dbt --full-refresh of the incremental models"),
        "source": Param(None, type=["null", "string"], enum=[None, *(t.name for t in sources.raw_tables())],
                        description="rebuild only this source's staging (the marts are always rebuilt whole)"),
        "period": Param(None, type=["null", "string"], pattern=dbt_airflow.PERIOD_PATTERN,
                        description="YYYY-MM: re-parse this DTKS month in the incremental model (others are kept)"),
        "force": Param(False, type="boolean",
                       description="build even if nothing changed since the published build (skipped otherwise)"),
    },
    **dag_settings(tags=["warehouse", "dbt"], retries=1),
)
def lintas_build_warehouse():
    @task
    def prepare_warehouse() -> dict:
        from lintas import pipeline

        return pipeline.prepare_warehouse()

    # nothing new since the published build: every later task is skipped (the scheduler only starts this DAG on
    # new data, but hand runs and `airflow dags test` start it anyway). A held-back build is always tried again.
    @task.short_circuit(ignore_downstream_trigger_rules=True)
    def anything_to_build(params=None, **context) -> bool:
        from lintas import pipeline

        params = params or {}
        return pipeline.build_needed(pipeline.run_context(context), full_refresh=bool(params.get("full_refresh")),
                                     source=params.get("source"), period=params.get("period"),
                                     force=bool(params.get("force")))["build"]

    @task
    def load_seeds(**context) -> dict:
        from lintas import pipeline

        return pipeline.load_seeds(pipeline.run_context(context))

    @task
    def link_identities(**context) -> dict:
        from lintas import pipeline

        return pipeline.link_identities(pipeline.run_context(context))

    @task
    def reset_build_schema() -> None:
        from lintas import pipeline

        pipeline.reset_build_schema()

    # retries=0: a failed gate is a verdict on the data, not a transient error
    @task(retries=0)
    def gate_marts(**context) -> dict:
        from lintas import pipeline

        return pipeline.gate_marts(pipeline.run_context(context))

    @task(outlets=list(assets.MARTS.values()))
    def publish(**context) -> dict:
        from lintas import pipeline

        result = pipeline.publish_marts(pipeline.run_context(context))
        assets.mart_events(context["outlet_events"], result["published"], context["run_id"])
        return result

    @task
    def record_history(**context) -> dict:
        from lintas import pipeline

        return pipeline.record_history(pipeline.run_context(context))

    # once per failed build, whichever dbt task failed; a failed gate records its own
    @task(trigger_rule="one_failed", retries=0)
    def hold_back(**context) -> dict:
        from lintas import pipeline

        return pipeline.hold_back_failed_build(pipeline.run_context(context))

    # freshness is reported beside the build, never in its way
    @task
    def check_source_freshness(**context) -> dict:
        from lintas import pipeline

        return pipeline.check_source_freshness(pipeline.run_context(context))

    prepared = prepare_warehouse()
    prepared >> check_source_freshness()
    seeds = prepared >> anything_to_build() >> load_seeds()
    linkage_input = dbt_airflow.dbt_task_group("linkage_input", dbt.LINKAGE_INPUT, upstream=seeds)
    build_schema = linkage_input >> link_identities() >> reset_build_schema()
    marts = dbt_airflow.dbt_task_group("marts", dbt.MARTS, upstream=build_schema)
    marts >> gate_marts() >> publish() >> record_history()
    marts >> hold_back()


lintas_build_warehouse()
