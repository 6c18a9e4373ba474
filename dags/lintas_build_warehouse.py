"""Warehouse build: dbt seeds, models and tests over every accepted raw batch, when any source has new data."""

from airflow.sdk import AssetAny, dag, task

from lintas import pipeline
from lintas.assets import RAW_SOURCES
from lintas.dag_defaults import dag_settings


@dag(
    dag_id="lintas_build_warehouse",
    description="dbt build: staging -> intermediate -> marts, run when a raw source asset updates",
    schedule=AssetAny(*RAW_SOURCES),  # any source with newly accepted data
    doc_md=__doc__,
    **dag_settings(tags=["warehouse", "dbt"], retries=1),
)
def lintas_build_warehouse():
    @task
    def prepare_warehouse() -> dict:
        return pipeline.prepare_warehouse()

    @task
    def dbt_build(**context) -> dict:
        return pipeline.build_warehouse(pipeline.run_context(context))

    prepare_warehouse() >> dbt_build()


lintas_build_warehouse()
