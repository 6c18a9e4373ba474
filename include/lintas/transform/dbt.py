"""Run dbt (a subprocess of this venv's dbt) against the configured warehouse."""

from __future__ import annotations

import json
import logging
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from lintas import settings, warehouse

log = logging.getLogger(__name__)


class DbtFailed(RuntimeError):
    pass


@dataclass(frozen=True)
class DbtOutcome:
    command: list[str]
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
    proc = subprocess.run(command, cwd=settings.dbt_project_dir(), env=env, capture_output=True, text=True)
    # dbt's own log lines name models and counts; its failure messages can quote SQL but not table rows.
    for line in proc.stdout.splitlines():
        log.info("dbt | %s", line)
    results = _run_results(Path(env["DBT_TARGET_PATH"]) / "run_results.json")
    if proc.returncode != 0:
        failed = [r["unique_id"] for r in results if r["status"] in ("error", "fail", "runtime error")]
        tail = "\n".join(proc.stdout.splitlines()[-15:] + proc.stderr.splitlines()[-5:])
        raise DbtFailed(f"dbt {' '.join(args)} failed (exit {proc.returncode}); failed nodes: {failed}\n{tail}")
    return DbtOutcome(command=command, results=results)


def _run_results(path: Path) -> list[dict]:
    if not path.exists():
        return []
    data = json.loads(path.read_text(encoding="utf-8"))
    return [
        {
            "unique_id": r["unique_id"],
            "status": str(r["status"]),
            "execution_time": r.get("execution_time"),
            "rows_affected": (r.get("adapter_response") or {}).get("rows_affected"),
            "failures": r.get("failures"),
        }
        for r in data.get("results", [])
    ]


def build(url: str | None = None) -> DbtOutcome:
    """Seeds, models and their tests, in dependency order."""
    return run(["build", "--fail-fast"], url)
