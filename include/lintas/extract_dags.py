"""The extract DAG of a registered source (lintas.sources): prepare the warehouse, extract through the source's
channel, then per raw table the gate (which updates the table's asset) and the verdict on the run's deliveries.

Each DAG file in dags/ is one call of `extract_dag`. lintas.pipeline (database drivers, file readers) is imported
by the tasks when they run, not at every parse.
"""

from __future__ import annotations

import pkgutil
from contextlib import contextmanager

from airflow.sdk import DAG, task

from lintas import assets
from lintas.dag_defaults import dag_settings
from lintas.sources import Channel, RawTable, Source

EXTRACT_TASK_IDS = {Channel.FILE_OUTBOX: "load_outbox", Channel.API_PULL: "pull_api",
                    Channel.DATABASE_PULL: "pull_database"}


def extract_dag(source: Source) -> DAG:
    with DAG(dag_id=source.dag_id, description=source.description, schedule=source.schedule, doc_md=source.doc,
             **dag_settings(tags=["extract", source.agency])) as dag:

        @task
        def prepare_warehouse() -> dict:
            from lintas import pipeline

            return pipeline.prepare_warehouse()

        reports = _extract_task(source)()
        prepare_warehouse() >> reports
        for table in source.tables:
            # a source of several tables reports per table, one XCom each (multiple_outputs)
            gate_step(table, reports[table.name] if len(source.tables) > 1 else reports)
    return dag


def _extract_task(source: Source):
    task_id = EXTRACT_TASK_IDS[source.channel]
    if source.channel is Channel.FILE_OUTBOX:
        [table] = source.tables

        @task(task_id=task_id)
        def load_outbox(**context) -> dict:
            from lintas import pipeline

            return pipeline.extract_files(table.name, pipeline.run_context(context))

        return load_outbox

    @task(task_id=task_id, multiple_outputs=len(source.tables) > 1)
    def pull(**context) -> dict:
        from lintas import pipeline

        conn = connection(source.connection)
        with fail_without_retry():
            return pkgutil.resolve_name(source.pull)(pipeline.run_context(context),
                                                     **_connection_parts(source.channel, conn))

    return pull


def _connection_parts(channel: Channel, conn) -> dict:
    """The pull's keyword arguments from the Airflow connection; none without one (the pull reads its settings)."""
    if conn is None:
        return {}
    if channel is Channel.API_PULL:
        return {"base_url": http_base_url(conn), "token": conn.password}
    return {"url": sqlalchemy_url(conn)}


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


def gate_step(table: RawTable, extract_report):
    """Gate the raw table's new batches, then judge the run's deliveries.

    `gate__<table>` updates the table's asset when it accepted at least one batch, so accepted data reaches the
    warehouse even when a sibling delivery of the same run was rejected; with nothing accepted it is skipped (no
    asset event, no build for nothing). The leaf `deliveries__<table>` fails the run, without retries, naming
    every delivery this run rejected (at delivery or by the gate). When the pull stored nothing new and rejected
    nothing, both are skipped.
    """
    from airflow.sdk.exceptions import AirflowSkipException

    name = table.name

    @task.short_circuit(task_id=f"anything_to_gate__{name}")
    def anything_to_gate(report: dict) -> bool:
        from lintas import pipeline

        return pipeline.anything_to_gate(name, report)

    # retries=0: a failed gate is a verdict on the data, not a transient error
    @task(task_id=f"gate__{name}", outlets=[assets.raw(table)], retries=0)
    def gate(**context) -> dict:
        from lintas import pipeline

        outcome = pipeline.gate_batches(name, pipeline.run_context(context))
        if not outcome["accepted"]:
            raise AirflowSkipException(f"{name}: no batch accepted, nothing new for the warehouse")
        return outcome

    # the leaf that decides the run's colour; none_failed: it also judges a run whose gate accepted nothing
    @task(task_id=f"deliveries__{name}", retries=0, trigger_rule="none_failed")
    def deliveries(**context) -> dict:
        from lintas import pipeline

        return pipeline.delivery_verdict(name, pipeline.run_context(context))

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
