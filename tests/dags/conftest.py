import subprocess
import sys
from pathlib import Path

import pytest


@pytest.fixture(scope="session")
def airflow_db():
    """A migrated Airflow metadata DB (SQLite under the session's LINTAS_HOME): dag.test() needs one."""
    import os

    airflow = str(Path(sys.executable).with_name("airflow"))
    Path(os.environ["AIRFLOW_HOME"]).mkdir(parents=True, exist_ok=True)  # SQLite will not create the folder
    proc = subprocess.run([airflow, "db", "migrate"], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr[-3000:] or proc.stdout[-3000:]


@pytest.fixture(scope="session")
def dagbag():
    from airflow.dag_processing.dagbag import DagBag

    from lintas import settings
    from tests.fixtures.dag_runs import remember_declared_params

    bag = DagBag(dag_folder=str(settings.dags_dir()))
    remember_declared_params(bag)
    return bag


@pytest.fixture(scope="session", autouse=True)
def dbt_manifest():
    """The build DAG is rendered from the dbt manifest, which `lintas warehouse prepare` keeps fresh: so do the
    DAG tests (a no-op when the project has not changed since the last parse)."""
    from lintas.transform import dbt

    return dbt.ensure_manifest()
