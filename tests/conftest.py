"""Test environment: a private LINTAS_HOME and AIRFLOW_HOME per session, real PostgreSQL databases per test.

Set before anything imports Airflow, which reads its home at import time.
"""

from __future__ import annotations

import logging
import os
import shutil
import tempfile
import uuid
from pathlib import Path

import psycopg
import pytest
from psycopg import sql

# pytest-xdist workers inherit the controller's environment: drop what its import of this file set for Airflow
# (its SQLite metadata path above all), so each worker gets its own home and metadata DB
for _key in os.environ.pop("LINTAS_TEST_AIRFLOW_KEYS", "").split(","):
    os.environ.pop(_key, None)
_SESSION_HOME = Path(tempfile.mkdtemp(prefix="lintas-test-"))
os.environ["LINTAS_HOME"] = str(_SESSION_HOME)
os.environ.pop("WAREHOUSE_URL", None)
os.environ.pop("AIRFLOW_HOME", None)

from lintas import settings, warehouse  # noqa: E402

_AIRFLOW_ENV = settings.airflow_environment()
os.environ.update(_AIRFLOW_ENV)
os.environ["LINTAS_TEST_AIRFLOW_KEYS"] = ",".join(_AIRFLOW_ENV)
settings.reload()

# The machine's PostgreSQL; where it is absent the embedded server stands in, so nothing is skipped.
SERVER_URL = os.environ.get("LINTAS_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
# test databases are named <prefix>_template_... and <prefix>_...: sessions sharing a server can keep theirs apart
DB_PREFIX = os.environ.get("LINTAS_TEST_DB_PREFIX", "lintas_test")


def _server_url() -> str:
    try:
        with psycopg.connect(SERVER_URL, connect_timeout=3):
            return SERVER_URL
    except psycopg.OperationalError:
        return warehouse.embedded_url("postgres")


@pytest.fixture(autouse=True)
def _settings_follow_the_environment():
    """lintas.settings reads the environment once: every test starts from the session's environment, and a test
    that changes it (monkeypatch.setenv) calls settings.reload(). Set up before `monkeypatch`, so torn down after
    its undo: the next test does not see this one's settings."""
    settings.reload()
    yield
    settings.reload()


@pytest.fixture(scope="session")
def postgres_server_url() -> str:
    return _server_url()


@pytest.fixture(scope="session", autouse=True)
def _stop_embedded_warehouse():
    """Tests that start the embedded server under the session's LINTAS_HOME stop it when done."""
    yield
    warehouse.stop_embedded()
    # pgserver logs from an atexit hook, after pytest has closed its log streams
    logging.getLogger("pgserver").disabled = True
    shutil.rmtree(_SESSION_HOME, ignore_errors=True)


@pytest.fixture(scope="session")
def template_database(postgres_server_url) -> str:
    """A migrated warehouse with the reference seeds loaded, once per session: every test's database is a copy
    of it (CREATE DATABASE ... TEMPLATE), so no test pays the ~25 s of `dbt seed` again."""
    from lintas.transform import dbt

    name = f"{DB_PREFIX}_template_{uuid.uuid4().hex[:10]}"
    url = warehouse.with_database(postgres_server_url, name)
    warehouse.prepare(url)
    dbt.load_seeds(url)
    yield name
    warehouse.drop_database(url)


def fresh_database(server_url: str, template: str) -> str:
    """A new warehouse database copied from the session's template (migrations and seeds in place)."""
    name = f"{DB_PREFIX}_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(server_url, autocommit=True) as conn:
        conn.execute(sql.SQL("create database {} template {}").format(sql.Identifier(name), sql.Identifier(template)))
    url = warehouse.with_database(server_url, name)
    warehouse.prepare(url)  # nothing to do: proves the copy is up to date
    return url


@pytest.fixture
def warehouse_url(postgres_server_url, template_database, monkeypatch) -> str:
    """A new, migrated warehouse database for one test, dropped afterwards; WAREHOUSE_URL points at it."""
    url = fresh_database(postgres_server_url, template_database)
    monkeypatch.setenv("WAREHOUSE_URL", url)
    settings.reload()
    yield url
    warehouse.drop_database(url)


@pytest.fixture
def outbox(tmp_path, monkeypatch) -> Path:
    """An empty DTKS outbox folder that the pipeline reads from."""
    folder = tmp_path / "outbox" / "dinsos"
    folder.mkdir(parents=True)
    monkeypatch.setenv("LINTAS_OUTBOX_DINSOS", str(folder))
    settings.reload()
    return folder


@pytest.fixture
def outbox_for(tmp_path, monkeypatch):
    """Factory: an empty outbox folder for an agency (e.g. 'diskopindag') that the pipeline reads from."""

    def make(agency: str) -> Path:
        folder = tmp_path / "outbox" / agency
        folder.mkdir(parents=True, exist_ok=True)
        monkeypatch.setenv(f"LINTAS_OUTBOX_{agency.upper()}", str(folder))
        settings.reload()
        return folder

    return make
