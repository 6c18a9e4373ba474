"""Benchmark: the warehouse build's dbt as one `dbt build` per half (before Cosmos) against the build DAG's two
Cosmos task groups (ExecutionMode.WATCHER), on the same loaded warehouse.

    .venv/bin/python bench/bench_build_dag.py --url postgresql://.../<a loaded warehouse> [--full-refresh]

The warehouse must hold gated raw data (e.g. `bench/bench_warnings.py --scale city --keep`). Runs, in order:
(a) before Cosmos: `dbt build --selector linkage_input`, identity resolution, the build schema reset and
`dbt build --selector marts`, each timed directly (what the build DAG's two opaque tasks ran); (b) the build DAG
itself by `airflow dags test lintas_build_warehouse` (`lintas.cli.run_dags`) in a scratch LINTAS_HOME (Airflow's
SQLite metadata DB), with each task's duration from Airflow's task_instance and each task group's span (first
start to last end). With
`--full-refresh` both rebuild the incremental models from scratch (a first build); without, both are re-runs on
unchanged data. Load average printed before and after each. Counts and timings only.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import tempfile
import time
from pathlib import Path

GROUPS = ("linkage_input", "marts")
DAG_ID = "lintas_build_warehouse"


def _load() -> str:
    return " ".join(f"{x:.1f}" for x in os.getloadavg())


def before_cosmos(url: str, full_refresh: bool, link: bool = True) -> dict:
    from lintas.identity import linkage
    from lintas.transform import dbt, publish

    extra = ["--full-refresh"] if full_refresh else []
    seconds = {}
    for step, action in (
        ("linkage_input", lambda: dbt.run(["build", "--fail-fast", "--selector", dbt.LINKAGE_INPUT, *extra], url)),
        *([("link_identities", lambda: linkage.link(url, run_id="bench-before"))] if link else []),
        ("reset_build_schema", lambda: publish.reset_build_schema(url)),
        ("marts", lambda: dbt.run(["build", "--fail-fast", "--selector", dbt.MARTS, *extra], url)),
    ):
        load = _load()
        started = time.perf_counter()
        action()
        seconds[step] = {"seconds": round(time.perf_counter() - started, 1), "load_before": load,
                         "load_after": _load()}
        print(f"before Cosmos: {step} {seconds[step]}")
    return seconds


def with_cosmos(full_refresh: bool, log_file: Path) -> dict:
    from bench.bench_pipeline import latest_run_tasks
    from lintas.cli import run_dags

    load = _load()
    conf = json.dumps({"full_refresh": full_refresh, "source": None})
    started = time.perf_counter()
    rc = run_dags([DAG_ID], check=False, log_file=log_file, conf=conf)
    wall = round(time.perf_counter() - started, 1)
    run_id, state, tasks = latest_run_tasks(DAG_ID)
    spans = {}
    for group in GROUPS:
        inside = [t for t in tasks if t["task_id"].startswith(group + ".") and t["start"] and t["end"]]
        producer = next((t for t in inside if t["task_id"].endswith(".dbt_producer_watcher")), None)
        spans[group] = {
            "tasks": len(inside),
            "span_seconds": round((max(t["end"] for t in inside) - min(t["start"] for t in inside)).total_seconds(),
                                  1) if inside else None,
            "producer_seconds": producer and producer["seconds"],
            "failed": sorted(t["task_id"] for t in inside if t["state"] not in ("success", "skipped")),
        }
    others = {t["task_id"]: t["seconds"] for t in tasks if not t["task_id"].startswith(GROUPS)}
    return {"rc": rc, "state": state, "run_id": run_id, "wall_seconds": wall, "load_before": load,
            "load_after": _load(), "groups": spans, "other_tasks": others}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--url", required=True, help="a warehouse holding gated raw data (it is rebuilt)")
    parser.add_argument("--full-refresh", action="store_true")
    parser.add_argument("--json", type=Path)
    parser.add_argument("--no-link", action="store_true",
                        help="before Cosmos: skip identity resolution (the warehouse already holds its result)")
    parser.add_argument("--cosmos-first", action="store_true", help="run the build DAG first, then the dbt builds")
    args = parser.parse_args()
    home = Path(tempfile.mkdtemp(prefix="lintas-bench-build-dag-"))
    os.environ["LINTAS_HOME"] = str(home)
    for name in ("AIRFLOW_HOME", "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"):
        os.environ.pop(name, None)
    os.environ["WAREHOUSE_URL"] = args.url
    from lintas import settings
    from lintas.cli import run_airflow
    from lintas.transform import dbt

    settings.reload()
    try:
        dbt.ensure_manifest()
        run_airflow(["db", "migrate"], log_file=home / "airflow-db-migrate.log")
        result = {"full_refresh": args.full_refresh, "cpus": os.cpu_count()}
        if not args.cosmos_first:
            result["before"] = before_cosmos(args.url, args.full_refresh, not args.no_link)
        result["cosmos"] = with_cosmos(args.full_refresh, home / "dags-test.log")
        if args.cosmos_first:
            result["before"] = before_cosmos(args.url, args.full_refresh, not args.no_link)
        print(json.dumps(result["cosmos"], indent=2, default=str))
        if result["cosmos"]["rc"] != 0:
            print("\n".join((home / "dags-test.log").read_text(encoding="utf-8").splitlines()[-40:]))
        if args.json:
            args.json.write_text(json.dumps(result, indent=2, default=str), encoding="utf-8")
    finally:
        shutil.rmtree(home, ignore_errors=True)


if __name__ == "__main__":
    main()
