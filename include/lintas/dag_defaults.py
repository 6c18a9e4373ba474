"""What every Lintas DAG shares: owner, retries, start date, no catchup, one run at a time, and the gate step."""

from __future__ import annotations

from contextlib import contextmanager
from datetime import timedelta

import pendulum

OWNER = "lintas-data"
START_DATE = pendulum.datetime(2026, 1, 1, tz="Asia/Jakarta")


def dag_settings(*, tags: list[str], retries: int = 2) -> dict:
    from lintas import alerts

    return {
        "start_date": START_DATE,
        "catchup": False,
        "max_active_runs": 1,
        "tags": ["lintas", *tags],
        "default_args": {"owner": OWNER, "retries": retries, "retry_delay": timedelta(minutes=5),
                         "on_failure_callback": alerts.notify_failure},
    }


@contextmanager
def fail_without_retry():
    """Fatal source errors (refused credentials, missing configuration) fail the task at once: retrying
    cannot fix them and would only delay the alert."""
    from airflow.sdk.exceptions import AirflowFailException

    from lintas import pipeline

    try:
        yield
    except pipeline.FATAL_ERRORS as exc:
        raise AirflowFailException(str(exc)) from exc


def connection(conn_id: str):
    """The Airflow connection if one is defined (UI, secrets backend or AIRFLOW_CONN_*), else None."""
    from airflow.sdk import Connection
    from airflow.sdk.exceptions import AirflowNotFoundException

    try:
        return Connection.get(conn_id)
    except AirflowNotFoundException:
        return None


def gate_step(source_name: str, asset, extract_report):
    """Gate the source's new batches, then judge the run's deliveries.

    `gate__<source>` updates the source's asset when it accepted at least one batch, so accepted data reaches the
    warehouse even when a sibling delivery of the same run was rejected; with nothing accepted it is skipped (no
    asset event, no build for nothing). The leaf `deliveries__<source>` fails the run, without retries, naming
    every delivery this run rejected (at delivery or by the gate). When the pull stored nothing new and rejected
    nothing, both are skipped.
    """
    from airflow.sdk import task
    from airflow.sdk.exceptions import AirflowSkipException

    from lintas import pipeline

    @task.short_circuit(task_id=f"anything_to_gate__{source_name}")
    def anything_to_gate(report: dict) -> bool:
        return pipeline.anything_to_gate(source_name, report)

    # retries=0: a failed gate is a verdict on the data, not a transient error
    @task(task_id=f"gate__{source_name}", outlets=[asset], retries=0)
    def gate(**context) -> dict:
        outcome = pipeline.gate_batches(source_name, pipeline.run_context(context))
        if not outcome["accepted"]:
            raise AirflowSkipException(f"{source_name}: no batch accepted, nothing new for the warehouse")
        return outcome

    # the leaf that decides the run's colour; none_failed: it also judges a run whose gate accepted nothing
    @task(task_id=f"deliveries__{source_name}", retries=0, trigger_rule="none_failed")
    def deliveries(**context) -> dict:
        return pipeline.delivery_verdict(source_name, pipeline.run_context(context))

    check = anything_to_gate(extract_report)
    gated = gate()
    verdict = deliveries()
    check >> gated >> verdict
    return verdict


def http_base_url(conn) -> str:
    """Base URL from an HTTP connection: `http://host:port/path` as Airflow splits it, or a full URL in host."""
    if conn.host and "://" in conn.host:
        return conn.host.rstrip("/")
    scheme = "https" if conn.conn_type == "https" else conn.extra_dejson.get("scheme", "http")
    port = f":{conn.port}" if conn.port else ""
    path = f"/{conn.schema.strip('/')}" if conn.schema else ""
    return f"{scheme}://{conn.host}{port}{path}"


# Airflow URIs name the database kind; SQLAlchemy also needs the driver this project installs.
_SQLALCHEMY_DRIVERS = {"mysql": "mysql+pymysql", "mariadb": "mysql+pymysql", "postgres": "postgresql+psycopg",
                       "postgresql": "postgresql+psycopg"}


def sqlalchemy_url(conn) -> str:
    uri = conn.get_uri()
    scheme, rest = uri.split("://", 1)
    return f"{_SQLALCHEMY_DRIVERS.get(scheme, scheme)}://{rest}"
