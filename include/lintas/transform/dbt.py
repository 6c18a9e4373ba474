"""Run dbt (a subprocess of this venv's dbt) against the configured warehouse."""

from __future__ import annotations

import json
import logging
import os
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from lintas import settings, warehouse

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


def dbt_environment(url: str | None = None) -> dict[str, str]:
    parts = warehouse.libpq_parts(url or warehouse.warehouse_url())
    env = dict(os.environ)
    env.update({
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
    })
    return env


def run(args: list[str], url: str | None = None) -> DbtOutcome:
    """Run `dbt <args>`; raise DbtFailed naming the failed nodes (not their data) on a non-zero exit."""
    command = [dbt_executable(), *args]
    env = dbt_environment(url)
    log.info("running %s", " ".join(command))
    started = time.time()
    proc = subprocess.run(command, cwd=settings.dbt_project_dir(), env=env, capture_output=True, text=True)
    # dbt's own log lines name models and counts; its failure messages can quote SQL but not table rows.
    for line in proc.stdout.splitlines():
        log.info("dbt | %s", line)
    outcome = _outcome(command, Path(env["DBT_TARGET_PATH"]) / "run_results.json", started=started)
    if proc.returncode != 0:
        failed = [r["unique_id"] for r in outcome.results if r["status"] in ("error", "fail", "runtime error")]
        tail = "\n".join(proc.stdout.splitlines()[-15:] + proc.stderr.splitlines()[-5:])
        raise DbtFailed(f"dbt {' '.join(args)} failed (exit {proc.returncode}); failed nodes: {failed}\n{tail}",
                        outcome)
    return outcome


def _outcome(command: list[str], path: Path, *, started: float) -> DbtOutcome:
    # run_results.json from an earlier invocation must not be taken for this one's
    if not path.exists() or path.stat().st_mtime < started:
        return DbtOutcome(command=command, invocation_id=None, results=[])
    data = json.loads(path.read_text(encoding="utf-8"))
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


# What identity resolution reads: built first, then linkage writes identity.*, then everything else is built.
LINKAGE_INPUT = "+int_identity__source_records"


def build(url: str | None = None, *, select: str | None = None, exclude: str | None = None) -> DbtOutcome:
    """Seeds, models and their tests, in dependency order (optionally a selection of them)."""
    args = ["build", "--fail-fast"]
    if select:
        args += ["--select", select]
    if exclude:
        args += ["--exclude", exclude]
    return run(args, url)


def record(outcome: DbtOutcome, *, dag_id: str | None, run_id: str | None, url: str | None = None) -> None:
    """Keep every node's result in audit.dbt_run_result."""
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
