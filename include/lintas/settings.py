"""Where things live and how they are switched: every path, switch and secret, read from the environment here and
nowhere else (tests/unit/test_settings_only_reader.py keeps it so).

`current()` reads the environment once per process and keeps the result. A test or command that changes the
environment afterwards calls `reload()`; a child process gets its environment from `child_environment()`, built from
the same snapshot, never by changing `os.environ`.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from types import MappingProxyType

# include/lintas/settings.py -> repository root
_DEFAULT_ROOT = Path(__file__).resolve().parents[2]
_OUTBOX_PREFIX = "LINTAS_OUTBOX_"


class ConfigurationError(RuntimeError):
    """A required setting is missing. Names the setting, never a secret's value."""


@dataclass(frozen=True)
class Settings:
    """Everything the package reads from its environment. Secrets (and URLs that may carry one) stay out of repr."""

    project_root: Path  # LINTAS_PROJECT_ROOT: the repository (dbt project, expectations, DAGs)
    lintas_home: Path  # LINTAS_HOME: git-ignored local state (embedded warehouse, Airflow home, reports, outboxes)
    reports_dir: Path  # LINTAS_REPORTS_DIR
    airflow_home: Path  # AIRFLOW_HOME
    # LINTAS_REGION_CODES: Kemendagri codes of the region served, dotted ("35.73", "35.73,35.79"; a province "35"
    # stands for all its kab/kota; lintas.region expands and checks them). LINTAS_KODE_KABKOTA (one code, "3573")
    # is the older name, read when LINTAS_REGION_CODES is not set.
    region_codes: tuple[str, ...]
    linkage_model: Path | None  # LINTAS_LINKAGE_MODEL: None = the repository's reviewed Splink model
    linkage_backend: str  # LINTAS_LINKAGE_BACKEND: where Splink scores the pairs, duckdb (in process) or spark
    spark_master: str  # LINTAS_SPARK_MASTER: the Spark master of the spark backend (local[2], k8s://..., yarn)
    outbox_overrides: Mapping[str, Path]  # LINTAS_OUTBOX_<AGENCY>: folder an agency delivers into, by agency
    report_url: str | None  # LINTAS_REPORT_URL: where alerts point readers (default: the local report file)
    alert_email_to: tuple[str, ...]  # LINTAS_ALERT_EMAIL_TO, comma-separated
    alert_email_from: str  # LINTAS_ALERT_EMAIL_FROM
    smtp_host: str  # LINTAS_SMTP_HOST
    smtp_port: str  # LINTAS_SMTP_PORT: kept as text, checked when an e-mail is sent (a bad port must not stop a run)
    airflow_unit_test_mode: str  # AIRFLOW__CORE__UNIT_TEST_MODE, passed on to Airflow processes
    airflow_metadata_url: str | None = field(repr=False)  # AIRFLOW__DATABASE__SQL_ALCHEMY_CONN; None: SQLite here
    warehouse_url: str | None = field(repr=False)  # WAREHOUSE_URL; None: the embedded PostgreSQL under lintas_home
    dpmptsp_url: str | None = field(repr=False)  # LINTAS_DPMPTSP_URL: licensing DB fallback for the izin pull
    dapodik_url: str | None = field(repr=False)  # LINTAS_DAPODIK_URL: fallback when no Airflow connection is set
    dapodik_token: str | None = field(repr=False)  # LINTAS_DAPODIK_TOKEN
    pseudonym_key: str | None = field(repr=False)  # LINTAS_PSEUDONYM_KEY: HMAC key of published pseudonyms
    alert_webhook_url: str | None = field(repr=False)  # LINTAS_ALERT_WEBHOOK_URL (chat webhooks carry a token)
    # the whole environment as read: handed on to child processes, and to `--password-env`-style lookups
    environment: Mapping[str, str] = field(repr=False, compare=False)

    @classmethod
    def from_environment(cls, environ: Mapping[str, str]) -> Settings:
        def text(name: str) -> str | None:
            return environ.get(name, "").strip() or None

        root = Path(environ.get("LINTAS_PROJECT_ROOT", _DEFAULT_ROOT)).resolve()
        home = Path(environ.get("LINTAS_HOME", root / ".lintas")).resolve()
        model = text("LINTAS_LINKAGE_MODEL")
        return cls(
            project_root=root,
            lintas_home=home,
            reports_dir=Path(environ.get("LINTAS_REPORTS_DIR", home / "reports")),
            airflow_home=Path(environ.get("AIRFLOW_HOME", home / "airflow")),
            region_codes=_region_codes(environ.get("LINTAS_REGION_CODES")
                                       or environ.get("LINTAS_KODE_KABKOTA") or "35.73"),
            linkage_model=Path(model).expanduser().resolve() if model else None,
            linkage_backend=(text("LINTAS_LINKAGE_BACKEND") or "duckdb").lower(),
            spark_master=text("LINTAS_SPARK_MASTER") or "local[2]",
            outbox_overrides=MappingProxyType({
                name.removeprefix(_OUTBOX_PREFIX).lower(): Path(value)
                for name, value in environ.items() if name.startswith(_OUTBOX_PREFIX) and value}),
            report_url=text("LINTAS_REPORT_URL"),
            alert_email_to=tuple(a.strip() for a in environ.get("LINTAS_ALERT_EMAIL_TO", "").split(",") if a.strip()),
            alert_email_from=environ.get("LINTAS_ALERT_EMAIL_FROM", "lintas@localhost"),
            smtp_host=environ.get("LINTAS_SMTP_HOST", "localhost"),
            smtp_port=environ.get("LINTAS_SMTP_PORT", "25"),
            airflow_unit_test_mode=environ.get("AIRFLOW__CORE__UNIT_TEST_MODE", "False"),
            airflow_metadata_url=environ.get("AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"),
            warehouse_url=text("WAREHOUSE_URL"),
            dpmptsp_url=text("LINTAS_DPMPTSP_URL"),
            dapodik_url=text("LINTAS_DAPODIK_URL"),
            dapodik_token=text("LINTAS_DAPODIK_TOKEN"),
            pseudonym_key=environ.get("LINTAS_PSEUDONYM_KEY") or None,
            alert_webhook_url=text("LINTAS_ALERT_WEBHOOK_URL"),
            environment=MappingProxyType(dict(environ)),
        )


def _region_codes(text: str) -> tuple[str, ...]:
    """'3573, 35.79' -> ('35.73', '35.79'): digits grouped as Kemendagri writes them; anything else kept as given
    (lintas.region rejects it, naming the setting)."""
    codes = []
    for part in text.split(","):
        part = part.strip()
        digits = part.replace(".", "")
        if digits.isdigit() and len(digits) in (2, 4):
            part = ".".join(digits[i:i + 2] for i in range(0, len(digits), 2))
        if part and part not in codes:
            codes.append(part)
    return tuple(codes)


@cache
def current() -> Settings:
    """The settings of this process, read from the environment on first use."""
    return Settings.from_environment(os.environ)


def reload() -> Settings:
    """Read the environment again: for tests and commands that change it after the settings were first read."""
    current.cache_clear()
    return current()


def export_for_in_process_libraries(values: Mapping[str, str], *, keep_existing: bool = False) -> None:
    """The one place that writes os.environ, for libraries that read their configuration from this process's
    environment and nothing else: Airflow and Cosmos (their settings, read at import), Great Expectations
    (`${VAR}` substitution of the warehouse URL, so no password is written into its project on disk).
    Child processes never need this: they get `child_environment()`."""
    os.environ.update({k: v for k, v in values.items() if not (keep_existing and k in os.environ)})


def child_environment(overrides: Mapping[str, str] | None = None) -> dict[str, str]:
    """Environment for a child process (dbt, airflow): this process's environment as read, plus `overrides`."""
    return {**current().environment, **(overrides or {})}


def project_root() -> Path:
    return current().project_root


def lintas_home() -> Path:
    """Git-ignored folder for local state: embedded warehouse, Airflow home, reports, sample outboxes."""
    return current().lintas_home


def linkage_model_path() -> Path | None:
    """Splink model for identity resolution if one is configured (LINTAS_LINKAGE_MODEL); None: the repository's
    reviewed model. A retrained model under LINTAS_HOME is only used once someone points this at it."""
    return current().linkage_model


LINKAGE_BACKENDS = ("duckdb", "spark")


def linkage_backend() -> str:
    """The engine Splink scores candidate pairs on (LINTAS_LINKAGE_BACKEND): 'duckdb' in the worker's process (a
    city), or 'spark' (a province; the optional extra `lintas[spark]` and Java 17, docs/deployment.md)."""
    backend = current().linkage_backend
    if backend not in LINKAGE_BACKENDS:
        raise ConfigurationError(f"LINTAS_LINKAGE_BACKEND must be one of {', '.join(LINKAGE_BACKENDS)}")
    return backend


def spark_master() -> str:
    """The Spark master of the spark linkage backend (LINTAS_SPARK_MASTER, default local[2]: this machine)."""
    return current().spark_master


def dbt_project_dir() -> Path:
    return project_root() / "dbt_project"


def expectations_dir() -> Path:
    return project_root() / "expectations"


def dags_dir() -> Path:
    return project_root() / "dags"


def plugins_dir() -> Path:
    return project_root() / "plugins"


def reports_dir() -> Path:
    return current().reports_dir


def outbox_dir(agency: str) -> Path:
    """Folder an agency delivers files into (LINTAS_OUTBOX_<AGENCY> overrides)."""
    return current().outbox_overrides.get(agency.lower(), lintas_home() / "outbox" / agency)


# Cosmos (the build DAG's dbt tasks), for every Airflow process (airflow_environment(), docker-compose.yml) and
# exported in-process where the build DAG is rendered (lintas.dbt_airflow).
COSMOS_SETTINGS = {
    # Cosmos would cache the parsed YAML selectors in an Airflow Variable, i.e. write the metadata DB while the DAG
    # file is parsed (which a DAG processor must not do); reading them from the manifest takes milliseconds.
    "AIRFLOW__COSMOS__ENABLE_CACHE_DBT_YAML_SELECTORS": "False",
    # no usage metrics sent out of the warehouse's network
    "AIRFLOW__COSMOS__ENABLE_TELEMETRY": "False",
}


def airflow_environment() -> dict[str, str]:
    """Environment for running Airflow against this project (CLI, standalone, tests).

    The metadata DB is SQLite under LINTAS_HOME unless AIRFLOW__DATABASE__SQL_ALCHEMY_CONN is given.
    """
    s = current()
    env = {
        "AIRFLOW_HOME": str(s.airflow_home),
        "AIRFLOW__CORE__DAGS_FOLDER": str(dags_dir()),
        "AIRFLOW__CORE__PLUGINS_FOLDER": str(plugins_dir()),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__CORE__UNIT_TEST_MODE": s.airflow_unit_test_mode,
        "AIRFLOW__LOGGING__BASE_LOG_FOLDER": str(s.airflow_home / "logs"),
        "LINTAS_HOME": str(s.lintas_home),
        "LINTAS_PROJECT_ROOT": str(s.project_root),
        **COSMOS_SETTINGS,
    }
    if s.airflow_metadata_url is None:
        env["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"] = f"sqlite:///{s.airflow_home / 'airflow.db'}"
    return env


def dapodik_api(base_url: str | None = None, token: str | None = None) -> tuple[str, str]:
    """Dapodik API base URL and bearer token: given (from an Airflow connection) or LINTAS_DAPODIK_URL/_TOKEN."""
    base_url = base_url or current().dapodik_url
    token = token or current().dapodik_token
    if not base_url or not token:
        raise ConfigurationError(
            "Dapodik API not configured: set the Airflow connection 'lintas_dapodik' (host = base URL, "
            "password = token) or LINTAS_DAPODIK_URL and LINTAS_DAPODIK_TOKEN"
        )
    return base_url.rstrip("/"), token


def dpmptsp_url(url: str | None = None) -> str:
    """SQLAlchemy URL of the licensing database: given, LINTAS_DPMPTSP_URL, or the local SQLite stand-in."""
    return url or current().dpmptsp_url or f"sqlite:///{lintas_home() / 'sources' / 'dpmptsp.sqlite'}"


def region_codes() -> tuple[str, ...]:
    """Kemendagri codes of the region this warehouse serves as configured (LINTAS_REGION_CODES, default 35.73 =
    Kota Malang): kab/kota codes, or province codes standing for all their kab/kota. lintas.region expands them."""
    return current().region_codes
