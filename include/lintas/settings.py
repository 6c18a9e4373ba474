"""Where things live. Every path and switch is read from the environment here, nowhere else."""

from __future__ import annotations

import os
from pathlib import Path

# include/lintas/settings.py -> repository root
_DEFAULT_ROOT = Path(__file__).resolve().parents[2]


def project_root() -> Path:
    return Path(os.environ.get("LINTAS_PROJECT_ROOT", _DEFAULT_ROOT)).resolve()


def lintas_home() -> Path:
    """Git-ignored folder for local state: embedded warehouse, Airflow home, reports, sample outboxes."""
    return Path(os.environ.get("LINTAS_HOME", project_root() / ".lintas")).resolve()


def linkage_model_path() -> Path | None:
    """Splink model for identity resolution if one is configured (LINTAS_LINKAGE_MODEL); None: the repository's
    reviewed model. A retrained model under LINTAS_HOME is only used once someone points this at it."""
    value = os.environ.get("LINTAS_LINKAGE_MODEL")
    return Path(value).expanduser().resolve() if value else None


def dbt_project_dir() -> Path:
    return project_root() / "dbt_project"


def expectations_dir() -> Path:
    return project_root() / "expectations"


def dags_dir() -> Path:
    return project_root() / "dags"


def plugins_dir() -> Path:
    return project_root() / "plugins"


def reports_dir() -> Path:
    return Path(os.environ.get("LINTAS_REPORTS_DIR", lintas_home() / "reports"))


def outbox_dir(agency: str) -> Path:
    """Folder an agency delivers files into (LINTAS_OUTBOX_<AGENCY> overrides)."""
    override = os.environ.get(f"LINTAS_OUTBOX_{agency.upper()}")
    return Path(override) if override else lintas_home() / "outbox" / agency


def airflow_environment() -> dict[str, str]:
    """Environment for running Airflow against this project (CLI, standalone, tests).

    The metadata DB is SQLite under LINTAS_HOME unless AIRFLOW__DATABASE__SQL_ALCHEMY_CONN is given.
    """
    home = Path(os.environ.get("AIRFLOW_HOME", lintas_home() / "airflow"))
    env = {
        "AIRFLOW_HOME": str(home),
        "AIRFLOW__CORE__DAGS_FOLDER": str(dags_dir()),
        "AIRFLOW__CORE__PLUGINS_FOLDER": str(plugins_dir()),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__CORE__UNIT_TEST_MODE": os.environ.get("AIRFLOW__CORE__UNIT_TEST_MODE", "False"),
        "AIRFLOW__LOGGING__BASE_LOG_FOLDER": str(home / "logs"),
        "LINTAS_HOME": str(lintas_home()),
        "LINTAS_PROJECT_ROOT": str(project_root()),
        # Cosmos (the build DAG's dbt tasks): no metadata-DB writes at DAG parse, no usage metrics sent out
        "AIRFLOW__COSMOS__ENABLE_CACHE_DBT_YAML_SELECTORS": "False",
        "AIRFLOW__COSMOS__ENABLE_TELEMETRY": "False",
    }
    if "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN" not in os.environ:
        env["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"] = f"sqlite:///{home / 'airflow.db'}"
    return env


class ConfigurationError(RuntimeError):
    """A required setting is missing. Names the setting, never a secret's value."""


def dapodik_api(base_url: str | None = None, token: str | None = None) -> tuple[str, str]:
    """Dapodik API base URL and bearer token: given (from an Airflow connection) or LINTAS_DAPODIK_URL/_TOKEN."""
    base_url = base_url or os.environ.get("LINTAS_DAPODIK_URL")
    token = token or os.environ.get("LINTAS_DAPODIK_TOKEN")
    if not base_url or not token:
        raise ConfigurationError(
            "Dapodik API not configured: set the Airflow connection 'lintas_dapodik' (host = base URL, "
            "password = token) or LINTAS_DAPODIK_URL and LINTAS_DAPODIK_TOKEN"
        )
    return base_url.rstrip("/"), token


def dpmptsp_url(url: str | None = None) -> str:
    """SQLAlchemy URL of the licensing database: given, LINTAS_DPMPTSP_URL, or the local SQLite stand-in."""
    return url or os.environ.get("LINTAS_DPMPTSP_URL") or f"sqlite:///{lintas_home() / 'sources' / 'dpmptsp.sqlite'}"


def region_code() -> str:
    """Kemendagri kode kab/kota this warehouse serves (LINTAS_KODE_KABKOTA; 3573 = Kota Malang): DTKS files
    named for another region are rejected."""
    return os.environ.get("LINTAS_KODE_KABKOTA", "3573")
