"""Warehouse build: dbt seeds, models and tests over every accepted raw batch, when any source has new data."""

from datetime import timedelta

import pendulum
from airflow.sdk import AssetAny, dag, task

from lintas import pipeline
from lintas.assets import RAW_SOURCES


@dag(
    dag_id="lintas_build_warehouse",
    description="dbt build: staging -> intermediate -> marts, run when a raw source asset updates",
    schedule=AssetAny(*RAW_SOURCES),  # any source with newly accepted data
    start_date=pendulum.datetime(2026, 1, 1, tz="Asia/Jakarta"),
    catchup=False,
    max_active_runs=1,
    tags=["lintas", "warehouse", "dbt"],
    default_args={"owner": "lintas-data", "retries": 1, "retry_delay": timedelta(minutes=5)},
    doc_md=__doc__,
)
def lintas_build_warehouse():
    @task
    def prepare_warehouse() -> dict:
        return pipeline.prepare_warehouse()

    @task
    def dbt_build() -> dict:
        return pipeline.build_warehouse()

    prepare_warehouse() >> dbt_build()


lintas_build_warehouse()
