"""Cooperatives and SMEs (Diskopindag): UMKM binaan workbooks from the agency outbox into the raw layer, gated.

The agency drops workbooks whenever a training or loan round closes, so the outbox is polled often; a poll that
finds no new workbook skips the gate and leaves the asset alone.
"""

from airflow.sdk import dag, task

from lintas import pipeline
from lintas.assets import RAW_DISKOPINDAG_UMKM
from lintas.dag_defaults import dag_settings, gate_step

SOURCE = pipeline.DISKOPINDAG_UMKM.name


@dag(
    dag_id="lintas_extract_diskopindag_umkm",
    description="UMKM binaan XLSX workbooks: outbox -> raw.diskopindag_umkm -> GX gate, on file arrival",
    schedule="*/30 * * * *",  # poll the outbox; only a new workbook (by checksum) is loaded
    doc_md=__doc__,
    **dag_settings(tags=["extract", "diskopindag"]),
)
def lintas_extract_diskopindag_umkm():
    @task
    def prepare_warehouse() -> dict:
        return pipeline.prepare_warehouse()

    @task
    def load_outbox(**context) -> dict:
        return pipeline.extract_files(SOURCE, pipeline.run_context(context))

    report = load_outbox()
    prepare_warehouse() >> report
    gate_step(SOURCE, RAW_DISKOPINDAG_UMKM, report)


lintas_extract_diskopindag_umkm()
