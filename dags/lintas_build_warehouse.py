"""Warehouse build when any source has new accepted data: dbt up to the unified source records, identity
resolution (every record to a stable person id), then the identity-based models and marts, with their tests."""

from airflow.sdk import AssetAny, dag, task

from lintas import pipeline
from lintas.assets import RAW_SOURCES
from lintas.dag_defaults import dag_settings


@dag(
    dag_id="lintas_build_warehouse",
    description="dbt staging -> identity resolution -> marts, run when a raw source asset updates",
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

    prepare_warehouse() >> build_linkage_input() >> link_identities() >> build_marts()


lintas_build_warehouse()
