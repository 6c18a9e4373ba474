"""Education (Dinas Pendidikan): students from the Dapodik API, incrementally by updated_at, gated.

Connection `lintas_dapodik` (host = API base URL, password = bearer token), or LINTAS_DAPODIK_URL/_TOKEN.
A refused token fails the run at once; 429 and 5xx are retried inside the pull, then by the task. A pull whose
pages contradict their meta (records missing or served twice) is recorded as rejected and fails `pull_api` without
retry: nothing is stored, no gate runs, no asset event, and the next scheduled run pulls the same span again.
"""

from airflow.sdk import dag, task

from lintas import pipeline
from lintas.assets import RAW_DISDIK_PESERTA_DIDIK
from lintas.dag_defaults import connection, dag_settings, fail_without_retry, gate_step, http_base_url

SOURCE = pipeline.DISDIK_PESERTA_DIDIK.name


@dag(
    dag_id="lintas_extract_disdik_dapodik",
    description="Dapodik peserta didik API: changes since the last watermark -> raw.disdik_peserta_didik -> gate",
    schedule="0 2 * * *",  # daily, after Dapodik's nightly sync from schools
    doc_md=__doc__,
    **dag_settings(tags=["extract", "disdik"]),
)
def lintas_extract_disdik_dapodik():
    @task
    def prepare_warehouse() -> dict:
        return pipeline.prepare_warehouse()

    @task
    def pull_api(**context) -> dict:
        conn = connection("lintas_dapodik")
        with fail_without_retry():
            return pipeline.extract_dapodik(
                pipeline.run_context(context),
                base_url=http_base_url(conn) if conn else None,
                token=conn.password if conn else None,
            )

    report = pull_api()
    prepare_warehouse() >> report
    gate_step(SOURCE, RAW_DISDIK_PESERTA_DIDIK, report)


lintas_extract_disdik_dapodik()
