"""Run dbt (a subprocess of this venv's dbt) against the configured warehouse."""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from lintas import settings
from lintas.digest import update_with_files

# The Airflow DAG processor imports this module to render the build DAG: the database modules (psycopg, ~0.5 s)
# are imported by the functions that talk to the warehouse, not at import.

log = logging.getLogger(__name__)


class DbtFailed(RuntimeError):
    def __init__(self, message: str, outcome: DbtOutcome):
        super().__init__(message)
        self.outcome = outcome


@dataclass(frozen=True)
class DbtOutcome:
    command: list[str]
    invocation_id: str | None
    results: list[dict]  # unique_id, status, rows affected, execution time: no data values

    def count(self, status: str) -> int:
        return sum(1 for r in self.results if r["status"] == status)


def dbt_executable() -> str:
    local = Path(sys.executable).with_name("dbt")
    return str(local) if local.exists() else (shutil.which("dbt") or "dbt")


def dbt_environment(url: str) -> dict[str, str]:
    from lintas import region, warehouse
    from lintas.transform import publish

    parts = warehouse.libpq_parts(url)
    return settings.child_environment({
        "LINTAS_PGHOST": parts["host"],
        "LINTAS_PGPORT": parts["port"],
        "LINTAS_PGUSER": parts["user"],
        "LINTAS_PGPASSWORD": parts["password"],
        "LINTAS_PGDATABASE": parts["dbname"],
        "DBT_PROFILES_DIR": str(settings.dbt_project_dir()),
        "DBT_PROJECT_DIR": str(settings.dbt_project_dir()),
        "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
        "DBT_USE_COLORS": "false",
        "DBT_LOG_PATH": str(settings.lintas_home() / "dbt" / "logs"),
        "DBT_TARGET_PATH": str(settings.lintas_home() / "dbt" / "target"),
        # marts are written to the build schema; lintas.transform.publish swaps it into `marts` once gated
        "LINTAS_MARTS_BUILD_SCHEMA": publish.BUILD_SCHEMA,
        # the region's kab/kota codes, dbt's var lintas_region_kabkota (dbt_project.yml)
        **region.dbt_env(),
    })


def _invoke(args: list[str], url: str, extra_env: dict[str, str] | None):
    """Run `dbt <args>` in the project; returns the process, the command, its target folder and start time."""
    command = [dbt_executable(), *args]
    env = dbt_environment(url) | (extra_env or {})
    log.info("running %s", " ".join(command))
    started = time.time()
    proc = subprocess.run(command, cwd=settings.dbt_project_dir(), env=env, capture_output=True, text=True)
    # dbt's own log lines name models and counts; its failure messages can quote SQL but not table rows.
    for line in proc.stdout.splitlines():
        log.info("dbt | %s", line)
    return proc, command, Path(env["DBT_TARGET_PATH"]), started


def run(args: list[str], url: str, *, extra_env: dict[str, str] | None = None) -> DbtOutcome:
    """Run `dbt <args>`; raise DbtFailed naming the failed nodes (not their data) on a non-zero exit."""
    proc, command, target, started = _invoke(args, url, extra_env)
    outcome = _outcome(command, target / "run_results.json", started=started)
    if proc.returncode != 0:
        failed = [r["unique_id"] for r in outcome.results if r["status"] in FAILED_STATUSES]
        tail = "\n".join(proc.stdout.splitlines()[-15:] + proc.stderr.splitlines()[-5:])
        raise DbtFailed(f"dbt {' '.join(args)} failed (exit {proc.returncode}); failed nodes: {failed}\n{tail}",
                        outcome)
    return outcome


FAILED_STATUSES = ("error", "fail", "runtime error")


def _outcome(command: list[str], path: Path, *, started: float) -> DbtOutcome:
    # run_results.json from an earlier invocation must not be taken for this one's
    if not path.exists() or path.stat().st_mtime < started:
        return DbtOutcome(command=command, invocation_id=None, results=[])
    return read_outcome(path, command)


def read_outcome(path: Path, command: list[str] | None = None) -> DbtOutcome:
    """Node results of a run_results.json (none if dbt wrote none: it failed before running anything)."""
    if not path.exists():
        return DbtOutcome(command=command or [], invocation_id=None, results=[])
    data = json.loads(path.read_text(encoding="utf-8"))
    command = command or data.get("args", {}).get("invocation_command", "").split()
    results = [
        {
            "unique_id": r["unique_id"],
            "status": str(r["status"]),
            "execution_time": r.get("execution_time"),
            "rows_affected": (r.get("adapter_response") or {}).get("rows_affected"),
            "failures": r.get("failures"),
        }
        for r in data.get("results", [])
    ]
    return DbtOutcome(command=command, invocation_id=data.get("metadata", {}).get("invocation_id"), results=results)


# The two halves of a build, either side of identity resolution: YAML selectors in dbt_project/selectors.yml,
# shared with the Airflow build DAG (lintas.dbt_airflow renders one task group per selector). Neither selects
# seeds (loaded by `load_seeds` when their files change), unit tests (CI) or snapshots (after the publish).
LINKAGE_INPUT = "linkage_input"
MARTS = "marts"
NOT_IN_BUILDS = "resource_type:seed resource_type:unit_test resource_type:snapshot resource_type:exposure"


def build(url: str, *, selector: str) -> DbtOutcome:
    """Models and their data tests of a selector of selectors.yml, in dependency order."""
    return run(["build", "--fail-fast", "--selector", selector], url)


# What the manifest depends on: the project's files (models, macros, selectors, seeds' names and types).
_MANIFEST_INPUTS = ("dbt_project.yml", "selectors.yml", "models", "macros", "seeds", "snapshots", "tests")


def manifest_path() -> Path:
    """The parsed project (written by `ensure_manifest`, never at DAG parse)."""
    return settings.dbt_project_dir() / "target" / "manifest.json"


def airflow_manifest_path() -> Path:
    """The manifest without dbt's ~500 macros and the docs blocks: what Airflow renders the build DAG from, read at
    every parse of the DAG file (half the size to read)."""
    return manifest_path().with_name("manifest.airflow.json")


def project_fingerprint() -> str:
    """Hash of every file the manifest is parsed from, and of the dbt version parsing it."""
    from dbt.version import __version__ as dbt_version

    project = settings.dbt_project_dir()
    digest = hashlib.sha256(dbt_version.encode())
    for name in _MANIFEST_INPUTS:
        update_with_files(digest, project / name, relative_to=project)
    return digest.hexdigest()[:16]


def _fingerprint_file() -> Path:
    return manifest_path().with_name("manifest.fingerprint")


def manifest_is_fresh() -> bool:
    fingerprint = _fingerprint_file()
    return (manifest_path().exists() and airflow_manifest_path().exists() and fingerprint.exists()
            and fingerprint.read_text(encoding="utf-8").strip() == project_fingerprint())


# dbt parse reads profiles.yml, whose env_var() calls need values; it connects to nothing
_PARSE_ONLY_URL = "postgresql://parse@localhost:5432/parse"


def ensure_manifest() -> Path:
    """`dbt parse` into dbt_project/target unless the manifest there was parsed from the project as it is now.
    Written via a temporary target path and renamed, so a DAG parse never reads half a manifest."""
    target = manifest_path()
    if manifest_is_fresh():
        return target
    fingerprint = project_fingerprint()
    scratch = target.parent / f".parse-{os.getpid()}"
    env = dbt_environment(_PARSE_ONLY_URL) | {"DBT_TARGET_PATH": str(scratch)}
    proc = subprocess.run([dbt_executable(), "parse", "--no-partial-parse"], cwd=settings.dbt_project_dir(),
                          env=env, capture_output=True, text=True)
    if proc.returncode != 0:
        raise RuntimeError(f"dbt parse failed (exit {proc.returncode}):\n" + "\n".join(proc.stdout.splitlines()[-15:]))
    target.parent.mkdir(parents=True, exist_ok=True)
    parsed = json.loads((scratch / "manifest.json").read_text(encoding="utf-8"))
    slim = scratch / "manifest.airflow.json"
    slim.write_text(json.dumps(parsed | {"macros": {}, "docs": {}}), encoding="utf-8")
    os.replace(slim, airflow_manifest_path())
    os.replace(scratch / "manifest.json", target)
    shutil.rmtree(scratch, ignore_errors=True)
    _fingerprint_file().write_text(fingerprint + "\n", encoding="utf-8")
    log.info("dbt manifest written: %s (project %s)", target, fingerprint)
    return target


NO_DATA = "no data"  # freshness status of a source that has never had an accepted delivery


@dataclass(frozen=True)
class Freshness:
    """One raw source's freshness verdict: when its newest accepted delivery arrived, against its thresholds."""

    source: str
    status: str  # pass, warn, error, runtime error, or NO_DATA
    max_loaded_at: str | None
    age_seconds: float | None
    warn_after: str | None
    error_after: str | None


def source_freshness(url: str) -> list[Freshness]:
    """`dbt source freshness` over every source with a freshness rule. A stale source is a verdict, not a dbt
    failure: the exit code is not raised on, the verdicts are returned (a run that produced none raises)."""
    proc, command, target, started = _invoke(["source", "freshness"], url, None)
    path = target / "sources.json"
    if not path.exists() or path.stat().st_mtime < started:
        tail = "\n".join(proc.stdout.splitlines()[-15:] + proc.stderr.splitlines()[-5:])
        raise DbtFailed(f"dbt source freshness produced no results (exit {proc.returncode})\n{tail}",
                        DbtOutcome(command, None, []))
    verdicts = []
    for r in json.loads(path.read_text(encoding="utf-8")).get("results", []):
        criteria = r.get("criteria") or {}
        # dbt reports a source with no accepted delivery at all as loaded in year 1
        never = str(r.get("max_loaded_at") or "").startswith("0001-")
        verdicts.append(Freshness(
            source=r["unique_id"].rsplit(".", 1)[-1], status=NO_DATA if never else str(r["status"]),
            max_loaded_at=None if never else r.get("max_loaded_at"),
            age_seconds=None if never else r.get("max_loaded_at_time_ago_in_s"),
            warn_after=_period(criteria.get("warn_after")), error_after=_period(criteria.get("error_after"))))
    return sorted(verdicts, key=lambda v: v.source)


def _period(rule: dict | None) -> str | None:
    return f"{rule['count']} {rule['period']}" if rule and rule.get("count") else None


def record_freshness(verdicts: list[Freshness], *, dag_id: str | None, run_id: str | None, url: str) -> None:
    from lintas import warehouse

    with warehouse.connect(url) as conn, conn.transaction(), conn.cursor() as cur:
        cur.executemany(
            "insert into audit.source_freshness (airflow_dag_id, airflow_run_id, source, status, max_loaded_at,"
            " age_seconds, warn_after, error_after) values (%s, %s, %s, %s, %s, %s, %s, %s)",
            [(dag_id, run_id, v.source, v.status, v.max_loaded_at, v.age_seconds, v.warn_after, v.error_after)
             for v in verdicts],
        )


def seeds_fingerprint() -> str:
    """Hash of every seed file and of the project file (which types the seeds' columns)."""
    project = settings.dbt_project_dir()
    digest = hashlib.sha256((project / "dbt_project.yml").read_bytes())
    update_with_files(digest, project / "seeds", "*.csv", relative_to=project)
    return digest.hexdigest()[:16]


def load_seeds(url: str) -> DbtOutcome | None:
    """`dbt seed` when the seed files differ from what the warehouse holds (or a seed table is missing); the
    fingerprint of what was loaded is kept as the comment of schema `reference`. Returns None if nothing to do."""
    from psycopg import sql as psycopg_sql

    from lintas import warehouse

    expected = f"lintas seeds {seeds_fingerprint()}"
    seed_count = len(list((settings.dbt_project_dir() / "seeds").rglob("*.csv")))
    with warehouse.connect(url) as conn:
        held = conn.execute(
            "select obj_description(n.oid, 'pg_namespace'), count(c.oid) from pg_namespace n"
            " left join pg_class c on c.relnamespace = n.oid and c.relkind = 'r'"
            " where n.nspname = 'reference' group by n.oid").fetchone()
    if held is not None and held == (expected, seed_count):
        return None
    outcome = run(["seed", "--full-refresh"], url)
    with warehouse.connect(url) as conn:
        conn.execute(psycopg_sql.SQL("comment on schema reference is {}").format(psycopg_sql.Literal(expected)))
    return outcome


def record(outcome: DbtOutcome, *, dag_id: str | None, run_id: str | None, url: str) -> None:
    """Keep every node's result in audit.dbt_run_result."""
    from lintas import warehouse

    if not outcome.results:
        return
    with warehouse.connect(url) as conn, conn.transaction(), conn.cursor() as cur:
        cur.executemany(
            """
            insert into audit.dbt_run_result
                (invocation_id, airflow_dag_id, airflow_run_id, unique_id, resource_type, status,
                 execution_time, rows_affected, failures)
            values (%s, %s, %s, %s, %s, %s, %s, %s, %s)
            """,
            [
                (outcome.invocation_id or "unknown", dag_id, run_id, r["unique_id"], r["unique_id"].split(".")[0],
                 r["status"], r["execution_time"], r["rows_affected"], r["failures"])
                for r in outcome.results
            ],
        )


def generate_docs(url: str) -> Path:
    """The analysts' dbt docs as one self-contained HTML page (descriptions, lineage, column types of the published
    marts; the catalog holds no row values). Returns its path."""
    # describe what analysts query: the published `marts`, not the (by then removed) build schema
    run(["docs", "generate", "--static"], url, extra_env={"LINTAS_MARTS_BUILD_SCHEMA": "marts"})
    page = Path(dbt_environment(url)["DBT_TARGET_PATH"]) / "static_index.html"
    target = settings.lintas_home() / "dbt" / "docs" / "index.html"
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(page, target)
    return target
