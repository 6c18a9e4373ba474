"""Licensing (DPMPTSP): business permits and their KBLI from the agency database, by updated_at, gated.

Connection `lintas_dpmptsp` (any SQLAlchemy-style URI, read-only account), or LINTAS_DPMPTSP_URL; the local
SQLite stand-in otherwise. Each table has its own watermark, gate and asset.
"""

from airflow.sdk import dag, task

from lintas import pipeline
from lintas.assets import RAW_DPMPTSP_IZIN_USAHA, RAW_DPMPTSP_IZIN_USAHA_KBLI
from lintas.dag_defaults import connection, dag_settings, fail_without_retry, gate_step, sqlalchemy_url


@dag(
    dag_id="lintas_extract_dpmptsp_izin",
    description="OSS-RBA permits: izin_usaha + izin_usaha_kbli changes -> raw.dpmptsp_* -> GX gates",
    schedule="15 * * * *",  # hourly: permits are issued through the working day
    doc_md=__doc__,
    **dag_settings(tags=["extract", "dpmptsp"]),
)
def lintas_extract_dpmptsp_izin():
    @task
    def prepare_warehouse() -> dict:
        return pipeline.prepare_warehouse()

    @task(multiple_outputs=True)  # one XCom per table, read by each table's gate
    def pull_database(**context) -> dict:
        conn = connection("lintas_dpmptsp")
        with fail_without_retry():
            return pipeline.extract_izin(pipeline.run_context(context),
                                         url=sqlalchemy_url(conn) if conn else None)

    reports = pull_database()
    prepare_warehouse() >> reports
    for source, asset in ((pipeline.DPMPTSP_IZIN_USAHA, RAW_DPMPTSP_IZIN_USAHA),
                          (pipeline.DPMPTSP_IZIN_USAHA_KBLI, RAW_DPMPTSP_IZIN_USAHA_KBLI)):
        gate_step(source.name, asset, reports[source.name])


lintas_extract_dpmptsp_izin()
