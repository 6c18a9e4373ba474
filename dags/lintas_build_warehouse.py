"""Warehouse build when any source has new accepted data: dbt up to the unified source records, identity
resolution (every record to a stable person id), then the identity-based models and marts with their dbt tests,
written into the build schema `marts_build`. The mart gate checks every built mart against its reviewed suite;
only then does `publish` swap the build schema into `marts` in one transaction, and `record_history` takes the dbt
snapshots (type-2 history) of what was published. A failed dbt test or mart gate
fails the run naming the checks, and analysts keep the last published marts."""

from airflow.sdk import AssetAny, dag, task

from lintas import pipeline
from lintas.assets import RAW_SOURCES
from lintas.dag_defaults import dag_settings


@dag(
    dag_id="lintas_build_warehouse",
    description="dbt staging -> identity resolution -> marts (build schema) -> mart gate -> atomic publish",
    schedule=AssetAny(*RAW_SOURCES),  # any source with newly accepted data
    doc_md=__doc__,
    **dag_settings(tags=["warehouse", "dbt"], retries=1),
)
def lintas_build_warehouse():
    @task
    def prepare_warehouse() -> dict:
        return pipeline.prepare_warehouse()

    @task
    def build_linkage_input(**context) -> dict:
        return pipeline.build_linkage_input(pipeline.run_context(context))

    @task
    def link_identities(**context) -> dict:
        return pipeline.link_identities(pipeline.run_context(context))

    @task
    def build_marts(**context) -> dict:
        return pipeline.build_marts(pipeline.run_context(context))

    # retries=0: a failed gate is a verdict on the data, not a transient error
    @task(retries=0)
    def gate_marts(**context) -> dict:
        return pipeline.gate_marts(pipeline.run_context(context))

    @task
    def publish(**context) -> dict:
        return pipeline.publish_marts(pipeline.run_context(context))

    @task
    def record_history(**context) -> dict:
        return pipeline.record_history(pipeline.run_context(context))

    @task
    def check_source_freshness(**context) -> dict:
        return pipeline.check_source_freshness(pipeline.run_context(context))

    prepared = prepare_warehouse()
    prepared >> check_source_freshness()
    (prepared >> build_linkage_input() >> link_identities() >> build_marts() >> gate_marts() >> publish()
     >> record_history())


lintas_build_warehouse()
