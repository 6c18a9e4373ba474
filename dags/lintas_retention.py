"""Retention, daily: removes the raw rows and the quarantined rows' contents that the retention rules
(lintas.privacy.retention, docs/privacy.md) no longer keep, and closed snapshot versions past their horizon.
The newest accepted version of every record stays, so the marts rebuild the same; audit.load_batch keeps its
counts (purged_at, rows_purged say what went) and each run is recorded in audit.retention_run."""

from airflow.sdk import dag, task

from lintas.dag_defaults import dag_settings


@dag(
    dag_id="lintas_retention",
    description="apply the personal-data retention rules to raw, quarantine and snapshots (counts stay)",
    schedule="45 1 * * *",  # daily, at night, before the morning pulls
    doc_md=__doc__,
    **dag_settings(tags=["privacy", "retention"]),
)
def lintas_retention():
    @task
    def purge(**context) -> dict:
        from lintas import pipeline, warehouse
        from lintas.privacy import retention

        pipeline.prepare_warehouse()  # migrations first: a new deployment may not have run a build yet
        return retention.run(pipeline.run_context(context), retention.RULES, warehouse.warehouse_url())

    purge()


lintas_retention()
