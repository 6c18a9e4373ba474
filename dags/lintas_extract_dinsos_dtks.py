"""Welfare (Dinas Sosial): DTKS monthly snapshots from the agency outbox into the raw layer, gated."""

from airflow.sdk import dag, task

from lintas import pipeline
from lintas.assets import RAW_DINSOS_DTKS
from lintas.dag_defaults import dag_settings, gate_step

SOURCE = pipeline.DINSOS_DTKS.name


@dag(
    dag_id="lintas_extract_dinsos_dtks",
    description="DTKS/DTSEN monthly snapshot: outbox -> raw.dinsos_dtks -> GX gate",
    schedule="0 6 1 * *",  # the agency delivers once a month; a late file is picked up next run or by hand
    doc_md=__doc__,
    **dag_settings(tags=["extract", "dinsos"]),
)
def lintas_extract_dinsos_dtks():
    @task
    def prepare_warehouse() -> dict:
        return pipeline.prepare_warehouse()

    @task
    def load_outbox(**context) -> dict:
        return pipeline.extract_files(SOURCE, pipeline.run_context(context))

    report = load_outbox()
    prepare_warehouse() >> report
    gate_step(SOURCE, RAW_DINSOS_DTKS, report)


lintas_extract_dinsos_dtks()
