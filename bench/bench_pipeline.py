"""End-to-end benchmark through Airflow: generate the agencies' data, then run every extract DAG, the build DAG
(with its publish) by `airflow dags test`, as `lintas demo` does, three times: the first run, an unchanged re-run,
and a next-month run (one new DTKS month, a day of Dapodik API and DPMPTSP permit changes).

    make bench SCALE=small|city|5          (or: .venv/bin/python bench/bench_pipeline.py --scale city)

Everything runs in a scratch LINTAS_HOME (Airflow's SQLite metadata DB included) against a fresh warehouse database
on the PostgreSQL server given by --server, both removed afterwards. Written to --out (default .lintas/bench):
bench-<scale>.json (this run) and bench.md (every bench-*.json there: tables, targets, growth between scales).
Counts and timings only: no record of the generated data leaves the scratch folder.

The DAGs of a phase run one after another in one process (`lintas.cli.run_dags`, as the demo): Airflow's
start-up (the in-process execution API) is paid once per phase, not once per DAG (lintas/dag_test.py says why).

Measured: wall seconds per DAG; per task, Airflow's own durations (the metadata DB's task_instance after each
`dags test`); dbt's execution time per model (audit.dbt_run_result); rows/s per source (audit.load_batch); peak
memory as the summed RSS of the `dags test` process tree, sampled every 0.25 s, per DAG and per task (the
tree's peak while the task ran: tasks run in that process or its children, so a task's peak includes what the
process already held).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import secrets
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from concurrent.futures import ProcessPoolExecutor
from datetime import UTC, datetime, timedelta
from multiprocessing import get_context
from pathlib import Path

PHASES = ("first", "unchanged", "next_month")
PHASE_TITLES = {"first": "first run", "unchanged": "unchanged re-run", "next_month": "next-month run"}
SCALE_ORDER = {"small": 0.0, "city": 1.0}
BUILD_DAG = "lintas_build_warehouse"
SAMPLE_SECONDS = 0.25
MB = 1024 * 1024
# issue 16's targets on the project's 2-core machine
CITY_SECONDS = 180
FIVE_X_OVER_CITY = 5.5
FIVE_X_PEAK_MB = 4096
UNCHANGED_SHARE = 0.20
NEXT_MONTH_SHARE = 0.40
# the next-month run's "day of changes": shares of the Dapodik students and of the permits
DAPODIK_CHANGED_SHARE = 0.01
PERMITS_NEW_SHARE = 0.005
PERMITS_CHANGED_SHARE = 0.01


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--scale", default="small", help="small, city, or a multiple of city (e.g. 5)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--months", type=int, default=2, help="DTKS months generated before the first run")
    parser.add_argument("--out", type=Path, help="where the JSON and Markdown go (default: <project>/.lintas/bench)")
    parser.add_argument("--server", default=os.environ.get("WAREHOUSE_SERVER",
                                                           "postgresql://postgres@127.0.0.1:5432/postgres"),
                        help="PostgreSQL server for the fresh warehouse database (its database part is ignored)")
    parser.add_argument("--dag-timeout", type=float, default=1200,
                        help="seconds before a DAG run counts as stalled: its running queries are EXPLAINed, "
                             "it is stopped, and the later phases are skipped")
    parser.add_argument("--phases", default=",".join(PHASES),
                        help=f"comma-separated subset of {','.join(PHASES)} (each needs the ones before it)")
    parser.add_argument("--keep", action="store_true", help="keep the scratch LINTAS_HOME and warehouse database")
    args = parser.parse_args(argv)
    phases = [p.strip() for p in args.phases.split(",") if p.strip()]
    if not phases or any(p not in PHASES for p in phases) or phases != list(PHASES[:len(phases)]):
        parser.error(f"--phases must be a prefix of {','.join(PHASES)}, got {args.phases!r}")
    args.phases = phases
    if args.scale not in SCALE_ORDER:
        try:
            if float(args.scale) <= 0:
                raise ValueError
        except ValueError:
            parser.error(f"--scale must be small, city or a positive number, got {args.scale!r}")
    return args


# -- measuring one `airflow dags test` ------------------------------------------------------------------------


def _tree_rss() -> int:
    """Summed RSS of this process's descendants (the `dags test` process, its task and dbt subprocesses)."""
    import psutil

    total = 0
    for child in psutil.Process().children(recursive=True):
        try:
            total += child.memory_info().rss
        except psutil.Error:  # ended between listing and reading
            pass
    return total


def _metadata_engine():
    import sqlalchemy as sa

    from lintas import settings

    return sa.create_engine(settings.airflow_environment()["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"])


def _utc(value) -> datetime | None:
    if value is None:
        return None
    moment = value if isinstance(value, datetime) else datetime.fromisoformat(str(value))
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment


def latest_run_tasks(dag_id: str) -> tuple[str | None, str | None, list[dict]]:
    """(run_id, state, tasks) of the DAG's newest run, from Airflow's metadata DB."""
    import sqlalchemy as sa

    engine = _metadata_engine()
    try:
        with engine.connect() as conn:
            run = conn.execute(sa.text("select run_id, state from dag_run where dag_id = :dag_id"
                                       " order by id desc limit 1"), {"dag_id": dag_id}).first()
            if run is None:
                return None, None, []
            rows = conn.execute(sa.text(
                "select task_id, map_index, state, start_date, end_date, duration, try_number from task_instance"
                " where dag_id = :dag_id and run_id = :run_id order by start_date, task_id"),
                {"dag_id": dag_id, "run_id": run.run_id}).all()
    finally:
        engine.dispose()
    tasks = [{"task_id": r.task_id + ("" if r.map_index < 0 else f"[{r.map_index}]"), "state": r.state,
              "start": _utc(r.start_date), "end": _utc(r.end_date),
              "seconds": None if r.duration is None else round(float(r.duration), 2), "tries": r.try_number}
             for r in rows]
    return run.run_id, run.state, tasks


def _peak_between(samples: list[tuple[float, int]], start: datetime | None, end: datetime | None) -> float | None:
    if start is None:
        return None
    low, high = start.timestamp() - SAMPLE_SECONDS, (end or datetime.now(UTC)).timestamp() + SAMPLE_SECONDS
    inside = [rss for at, rss in samples if low <= at <= high]
    return round(max(inside) / MB, 1) if inside else None


def _long_queries(url: str, older_than: float = 30) -> list[dict]:
    from lintas import warehouse

    with warehouse.connect(url) as conn:
        rows = conn.execute(
            "select pid, extract(epoch from now() - query_start)::int, query from pg_stat_activity"
            " where datname = current_database() and pid <> pg_backend_pid() and state = 'active'"
            " and now() - query_start > make_interval(secs => %s) order by query_start", (older_than,)).fetchall()
    return [{"pid": pid, "seconds": seconds, "query": query} for pid, seconds, query in rows]


def _compiled_sql(model: str) -> str | None:
    """The compiled select of a model being built, from the target/ of the dbt process's project copy."""
    import psutil

    for child in psutil.Process().children(recursive=True):
        try:
            if "dbt" not in " ".join(child.cmdline()):
                continue
            found = sorted(Path(child.cwd()).glob(f"target/compiled/**/{model}.sql"))
        except psutil.Error:
            continue
        if found:
            return found[0].read_text(encoding="utf-8")
    return None


def diagnose_stall(url: str, dag_id: str) -> dict:
    """What a stalled run was doing: running tasks, the warehouse's long queries (by model) and each one's EXPLAIN."""
    from lintas import warehouse

    _, _, tasks = latest_run_tasks(dag_id)
    stall = {"running_tasks": [t["task_id"] for t in tasks if t["state"] == "running"], "queries": []}
    for query in _long_queries(url):
        # dbt opens every statement with a comment naming its node (the text is cut at track_activity_query_size)
        node = re.search(r'"node_id":\s*"model\.[^."]+\.([^"]+)"', query["query"])
        model = node.group(1) if node else None
        entry = {"model": model, "seconds": query["seconds"], "explain": None}
        select = _compiled_sql(model) if model else None
        if select is not None:
            try:
                with warehouse.connect(url) as conn:
                    entry["explain"] = "\n".join(row[0] for row in conn.execute("explain " + select))  # noqa: S608 (dbt's own compiled model)
            except Exception as exc:  # noqa: BLE001 - a diagnosis must not hide the stall it diagnoses
                entry["explain"] = f"EXPLAIN failed: {type(exc).__name__}"
        stall["queries"].append(entry)
    return stall


def _stop_children(url: str) -> None:
    """Stop the stalled `dags test` (this process's children, by pid) and its queries in the bench database."""
    import psutil

    from lintas import warehouse

    copies = set()
    for child in psutil.Process().children(recursive=True):
        try:
            if "dbt" in " ".join(child.cmdline()):
                copies.add(Path(child.cwd()))
            child.kill()
        except psutil.Error:
            pass
    # Cosmos's copies of the dbt project, which the killed tasks can no longer remove
    for copy in copies:
        if copy.parent == Path(tempfile.gettempdir()) and (copy / "dbt_project.yml").exists():
            shutil.rmtree(copy, ignore_errors=True)
    with warehouse.connect(url) as conn:
        conn.execute("select pg_terminate_backend(pid) from pg_stat_activity"
                     " where datname = current_database() and pid <> pg_backend_pid()")


# -- what the warehouse recorded about a run ------------------------------------------------------------------


def channel_rows(url: str, runs: list[dict]) -> list[dict]:
    """Rows each extract run read (audit.load_batch), per raw table, with its channel and rows/s of the DAG."""
    from lintas import sources, warehouse

    channel_of = {table.name: source.channel.value for source in sources.SOURCES for table in source.tables}
    out = []
    with warehouse.connect(url) as conn:
        for run in runs:
            if run["dag_id"] == BUILD_DAG or run["run_id"] is None:
                continue
            for table, batches, extracted, loaded in conn.execute(
                    "select source, count(*), sum(rows_extracted), sum(rows_loaded) from audit.load_batch"
                    " where airflow_dag_id = %s and airflow_run_id = %s group by source order by source",
                    (run["dag_id"], run["run_id"])).fetchall():
                out.append({"source": table, "channel": channel_of.get(table, "?"), "batches": batches,
                            "rows_extracted": int(extracted), "rows_loaded": int(loaded),
                            "dag_seconds": run["seconds"],
                            "rows_per_second": round(int(extracted) / run["seconds"]) if run["seconds"] else None})
    return out


def dbt_models(url: str, run_id: str | None) -> list[dict]:
    """dbt's execution time per model of one build run (audit.dbt_run_result)."""
    from lintas import warehouse

    if run_id is None:
        return []
    with warehouse.connect(url) as conn:
        rows = conn.execute(
            "select unique_id, status, execution_time, rows_affected from audit.dbt_run_result"
            " where airflow_run_id = %s and resource_type = 'model' order by execution_time desc", (run_id,)).fetchall()
    return [{"model": uid.rsplit(".", 1)[-1], "status": status,
             "seconds": None if t is None else round(float(t), 2), "rows": rows_affected}
            for uid, status, t, rows_affected in rows]


# -- the next month's deliveries ------------------------------------------------------------------------------


def _next_period(outbox: Path) -> str:
    year_month = max(re.search(r"_(\d{6})\.csv$", p.name).group(1) for p in outbox.glob("DTKS_*_*.csv"))
    year, month = int(year_month[:4]), int(year_month[4:])
    return f"{year + month // 12}-{month % 12 + 1:02d}"


def _deliver_files(home: str, scale: str, seed: int, period: str, at: str) -> dict:
    """In a child process (the population is large): next month's DTKS snapshot into the outbox, and a day of
    permit changes in the licensing stand-in."""
    from lintas_sandbox.synth import dtks, izin, population

    pop = population.generate(scale, seed)
    with tempfile.TemporaryDirectory() as scratch:
        [(name, rows)] = dtks.render(pop, Path(scratch), last_period=period, months=1).items()
        shutil.move(Path(scratch) / "outbox" / "dinsos" / name, Path(home) / "outbox" / "dinsos" / name)
    url = izin.default_url(Path(home))
    permits = len(izin.permits(pop))
    changes = izin.apply_changes(url, pop, seed=seed, at=datetime.fromisoformat(at),
                                 new=max(1, round(permits * PERMITS_NEW_SHARE)),
                                 changed=max(1, round(permits * PERMITS_CHANGED_SHARE)))
    return {"dtks_file": name, "dtks_rows": rows, "permits_new": changes["new"], "permits_changed": changes["changed"]}


def deliver_next_month(home: Path, api, scale: str, seed: int) -> dict:
    """One new DTKS month, a day of Dapodik API changes (1% of the students) and of permit changes."""
    at = datetime.now(UTC)
    with ProcessPoolExecutor(max_workers=1, mp_context=get_context("spawn")) as pool:
        delivered = pool.submit(_deliver_files, str(home), scale, seed, _next_period(home / "outbox" / "dinsos"),
                                at.isoformat()).result()
    students = api.records()
    step = max(1, round(1 / DAPODIK_CHANGED_SHARE))
    changed = [{**record, "layak_pip": not record.get("layak_pip"),
                "updated_at": (at + timedelta(seconds=i)).isoformat(timespec="seconds")}
               for i, record in enumerate(students[::step])]
    api.upsert(changed)
    return {**delivered, "dapodik_changed": len(changed)}


# -- the report -----------------------------------------------------------------------------------------------


def _scale_key(scale: str) -> float:
    return SCALE_ORDER[scale] if scale in SCALE_ORDER else float(scale)


def phase_seconds(phase: dict) -> float:
    """The pipeline's time for a phase: the runner's wall seconds (its start and every DAG, one after another);
    recorded before one process ran them all (one `airflow dags test` process per DAG), every DAG's wall seconds."""
    return phase.get("wall_seconds") or round(sum(run["seconds"] for run in phase["dags"]), 1)


def phase_peak(phase: dict) -> float:
    return max((run["peak_mb"] for run in phase["dags"]), default=0.0)


def _status(ok: bool | None) -> str:
    return "not measured" if ok is None else ("met" if ok else "**missed**")


def evaluate_targets(results: dict[str, dict]) -> list[dict]:
    """Issue 16's targets against the recorded results (one per scale)."""
    targets = []

    def add(name, scale, measured, limit, ok):
        targets.append({"target": name, "scale": scale, "measured": measured, "limit": limit, "status": _status(ok)})

    def complete(phase):
        return phase is not None and all(run["rc"] == 0 and run["stall"] is None for run in phase["dags"])

    def seconds(phase):  # a run that stalled or failed took longer than its seconds say
        return f"{phase_seconds(phase)} s" if complete(phase) else f"> {phase_seconds(phase)} s (did not finish)"

    city = results.get("city", {}).get("phases", {}).get("first")
    city_s = phase_seconds(city) if complete(city) else None
    add("city end to end (first run)", "city", None if city is None else seconds(city),
        f"≤ {CITY_SECONDS} s", None if city is None else (city_s is not None and city_s <= CITY_SECONDS))
    five = results.get("5", {}).get("phases", {}).get("first")
    if five is not None and city_s:
        ratio = phase_seconds(five) / city_s
        add("5× city time over city time", "5", f"{ratio:.2f}×", f"≤ {FIVE_X_OVER_CITY}×",
            complete(five) and ratio <= FIVE_X_OVER_CITY)
    else:
        add("5× city time over city time", "5", None, f"≤ {FIVE_X_OVER_CITY}×", None)
    five_phases = results.get("5", {}).get("phases", {})
    five_peak = max((phase_peak(p) for p in five_phases.values()), default=None)
    if five_peak is None:
        add("peak memory at 5×", "5", None, f"≤ {FIVE_X_PEAK_MB:,} MB", None)
    elif five_peak > FIVE_X_PEAK_MB or all(complete(p) for p in five_phases.values()):
        add("peak memory at 5×", "5", f"{five_peak:,.0f} MB", f"≤ {FIVE_X_PEAK_MB:,} MB", five_peak <= FIVE_X_PEAK_MB)
    else:  # below the limit until a run stopped: what was not run may still exceed it
        add("peak memory at 5×", "5", f"≥ {five_peak:,.0f} MB (a run did not finish)", f"≤ {FIVE_X_PEAK_MB:,} MB",
            None)
    for scale, result in sorted(results.items(), key=lambda item: _scale_key(item[0])):
        phases = result["phases"]
        first = phases.get("first")
        for phase, share in (("unchanged", UNCHANGED_SHARE), ("next_month", NEXT_MONTH_SHARE)):
            later = phases.get(phase)
            if not (complete(first) and later is not None):
                add(f"{PHASE_TITLES[phase]} over first run", scale, None, f"≤ {share:.0%}", None)
                continue
            ratio = phase_seconds(later) / phase_seconds(first)
            add(f"{PHASE_TITLES[phase]} over first run", scale, f"{ratio:.0%}", f"≤ {share:.0%}",
                complete(later) and ratio <= share)
            if phase == "unchanged" and not any(c["batches"] for c in later["channels"]):
                # `dags test` runs the build unconditionally; the asset schedule starts none without new data
                extracts = sum(r["seconds"] for r in later["dags"] if r["dag_id"] != BUILD_DAG)
                ratio = extracts / phase_seconds(first)
                add("unchanged re-run over first run, extract DAGs only (no new batch: the schedule starts no build)",
                    scale, f"{ratio:.0%}", f"≤ {share:.0%}", complete(later) and ratio <= share)
    return targets


def _table(header: list[str], rows: list[list]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join("" if cell is None else str(cell) for cell in row) + " |" for row in rows]
    return lines


def _dag_state(run: dict) -> str:
    if run["stall"] is not None:
        return f"**stalled** (stopped after {run['stall']['after_seconds']} s)"
    return run["state"] or ("success" if run["rc"] == 0 else f"rc {run['rc']}")


def render_scale(result: dict) -> list[str]:
    meta, phases = result["meta"], result["phases"]
    lines = [f"## Scale {meta['scale']} (seed {meta['seed']})", "",
             f"{meta['started']}, commit `{meta['commit']}`, {meta['cpus']} CPUs, {meta['memory_gb']} GB RAM; "
             f"load average {meta['load_before']} before, {meta.get('load_after')} after. {meta['note']}", "",
             f"Generation: {meta.get('generate_seconds')} s (not part of the pipeline's time). "
             f"Next month delivered: {json.dumps(result.get('next_month_delivery'))}", ""]
    lines += _table(["phase", "pipeline s", "extract DAGs s", "build DAG s", "peak MB (process tree)"], [
        [PHASE_TITLES[name], phase_seconds(phase),
         round(sum(r["seconds"] for r in phase["dags"] if r["dag_id"] != BUILD_DAG), 1),
         sum(r["seconds"] for r in phase["dags"] if r["dag_id"] == BUILD_DAG), phase_peak(phase)]
        for name, phase in phases.items()])
    dag_ids = [run["dag_id"] for run in next(iter(phases.values()))["dags"]] if phases else []
    starts = {PHASE_TITLES[name]: phase.get("startup_seconds") for name, phase in phases.items()}
    lines += ["", "Per DAG: wall seconds of its `airflow dags test` (in brackets: first task's start to last task's"
                  " end; the rest is parsing the DAG and starting its first task), peak MB, state. "
                  + ("The DAGs of a phase run in one process (`lintas.dag_test`); its start before the first DAG: "
                     + ", ".join(f"{title} {value} s" for title, value in starts.items()) + "."
                     if any(value is not None for value in starts.values())
                     else "Each DAG ran in its own `airflow dags test` process (CLI start included)."), ""]
    rows = []
    for dag_id in dag_ids:
        row = [dag_id]
        for phase in phases.values():
            run = next((r for r in phase["dags"] if r["dag_id"] == dag_id), None)
            # a stopped run's span ends with the last task that finished: not shown
            span = ("" if run is None or run["stall"] is not None or run.get("task_span_seconds") is None
                    else f" ({run['task_span_seconds']} s)")
            row.append("" if run is None else f"{run['seconds']} s{span}, {run['peak_mb']:,.0f} MB, {_dag_state(run)}")
        rows.append(row)
    lines += _table(["DAG", *(PHASE_TITLES[p] for p in phases)], rows)
    quiet = [PHASE_TITLES[name] for name, phase in phases.items() if not phase["channels"]]
    lines += ["", "Rows per channel (rows/s: rows read over the extract DAG's wall seconds)"
              + (f"; no new batch in the {', '.join(quiet)}" if quiet else "") + ":", ""]
    lines += _table(["phase", "source", "channel", "batches", "rows read", "rows loaded", "DAG s", "rows/s"], [
        [PHASE_TITLES[name], c["source"], c["channel"], c["batches"], f"{c['rows_extracted']:,}",
         f"{c['rows_loaded']:,}", c["dag_seconds"], "" if c["rows_per_second"] is None else
         f"{c['rows_per_second']:,}"] for name, phase in phases.items() for c in phase["channels"]])
    for name, phase in phases.items():
        tasks = [(run["dag_id"], task) for run in phase["dags"] for task in run["tasks"]]
        shown = sorted((item for item in tasks if (item[1]["seconds"] or 0) >= 1),
                       key=lambda item: -(item[1]["seconds"] or 0))
        lines += ["", f"Airflow task durations, {PHASE_TITLES[name]} (tasks of 1 s or more; "
                      f"{len(tasks) - len(shown)} shorter tasks in the JSON):", ""]
        lines += _table(["DAG", "task", "state", "s", "peak MB while it ran"], [
            [dag_id, task["task_id"], task["state"], task["seconds"], task["peak_mb"]] for dag_id, task in shown])
        models = phase.get("dbt_models", [])[:10]
        if models:
            lines += ["", f"Slowest dbt models, {PHASE_TITLES[name]} (dbt's execution time):", ""]
            lines += _table(["model", "status", "s", "rows"], [
                [m["model"], m["status"], m["seconds"], m["rows"]] for m in models])
        for run in phase["dags"]:
            if run["stall"] is not None:
                stall = run["stall"]
                lines += ["", f"**Stall** in {run['dag_id']}: running tasks {', '.join(stall['running_tasks'])};"
                              f" stopped after {stall['after_seconds']} s."]
                for query in stall["queries"]:
                    lines += ["", f"Query of model `{query['model']}`, running {query['seconds']} s, EXPLAIN:", "",
                              "```", query["explain"] or "(compiled SQL not found)", "```"]
    return lines


def render_markdown(results: dict[str, dict]) -> str:
    ordered = sorted(results.items(), key=lambda item: _scale_key(item[0]))
    lines = ["# End-to-end benchmark (bench/bench_pipeline.py)", "",
             "Every extract DAG, then the build DAG with its publish, by `airflow dags test`; seconds are wall "
             "seconds, memory is the summed RSS of the `dags test` process tree.", "", "## Targets", ""]
    lines += _table(["target", "scale", "measured", "limit", "status"],
                    [[t["target"], t["scale"], t["measured"] or "—", t["limit"], t["status"]]
                     for t in evaluate_targets(results)])
    if len(ordered) > 1:
        lines += ["", "## Growth between scales (first run)", ""]
        rows, previous = [], None
        for scale, result in ordered:
            first = result["phases"].get("first")
            if first is None:
                continue
            read = sum(c["rows_extracted"] for c in first["channels"])
            extracts = round(sum(r["seconds"] for r in first["dags"] if r["dag_id"] != BUILD_DAG), 1)
            finished = all(run["rc"] == 0 and run["stall"] is None for run in first["dags"])
            seconds = phase_seconds(first) if finished else None

            def times(now, before):
                return "" if now is None or not before else f"{now / before:.1f}×"

            rows.append([scale, f"{read:,}", times(read, previous and previous[0]), extracts,
                         times(extracts, previous and previous[1]),
                         seconds if finished else f"> {phase_seconds(first)} (did not finish)",
                         times(seconds, previous and previous[2]), f"{phase_peak(first):,.0f}"])
            previous = (read, extracts, seconds)
        lines += _table(["scale", "rows read", "× previous", "extract DAGs s", "× previous", "pipeline s",
                         "× previous", "peak MB"], rows)
    for _, result in ordered:
        lines += ["", *render_scale(result)]
    return "\n".join(lines) + "\n"


def write_report(result: dict, out: Path) -> tuple[Path, Path]:
    """bench-<scale>.json for this result, and bench.md rendered from every bench-*.json in `out`."""
    out.mkdir(parents=True, exist_ok=True)
    path = out / f"bench-{result['meta']['scale']}.json"
    path.write_text(json.dumps(result, indent=1, default=str) + "\n", encoding="utf-8")
    results = {}
    for recorded in sorted(out.glob("bench-*.json")):
        data = json.loads(recorded.read_text(encoding="utf-8"))
        results[data["meta"]["scale"]] = data
    markdown = out / "bench.md"
    markdown.write_text(render_markdown(results), encoding="utf-8")
    return path, markdown


# -- the run --------------------------------------------------------------------------------------------------


def _load() -> str:
    return " / ".join(f"{value:.1f}" for value in os.getloadavg())


def _commit() -> str:
    from lintas import settings

    proc = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=settings.project_root(),
                          capture_output=True, text=True)
    return proc.stdout.strip() or "unknown"


def _dag_record(progress_run: dict, samples: list[tuple[float, int]], stall: dict | None) -> dict:
    """One DAG of a phase: its seconds (start to end inside the runner), Airflow's tasks, peaks, state."""
    dag_id = progress_run["dag_id"]
    ended = progress_run["ended"] or time.time()
    run_id, state, tasks = latest_run_tasks(dag_id)
    starts, ends = [t["start"] for t in tasks if t["start"]], [t["end"] for t in tasks if t["end"]]
    for task in tasks:
        task["peak_mb"] = _peak_between(samples, task["start"], task["end"])
        del task["start"], task["end"]
    inside = [rss for at, rss in samples if progress_run["started"] - SAMPLE_SECONDS <= at <= ended + SAMPLE_SECONDS]
    return {"dag_id": dag_id, "seconds": round(ended - progress_run["started"], 1),
            "rc": None if progress_run["ok"] is None else (0 if progress_run["ok"] else 1), "state": state,
            "run_id": run_id, "peak_mb": round(max(inside, default=0) / MB, 1),
            # first task's start to last task's end: the rest is the DAG's parse and its first task's start-up
            "task_span_seconds": (round((max(ends) - min(starts)).total_seconds(), 1)
                                  if starts and ends and stall is None else None),
            "tasks": tasks, "stall": stall}


def run_phase(name: str, url: str, logs: Path, timeout: float) -> dict:
    """Every DAG of the demo in turn, `airflow dags test` in one process (lintas.cli.run_dags, as the demo),
    timed per DAG from the runner's progress lines and sampled for memory; a DAG running longer than timeout is a
    stall: diagnosed, stopped, and the phase ends there."""
    from lintas.cli import run_dags
    from lintas.dag_test import read_progress
    from lintas_sandbox.demo import DEMO_DAGS

    progress = logs / f"{name}.progress.jsonl"
    progress.unlink(missing_ok=True)
    outcome: dict = {}
    worker = threading.Thread(target=lambda: outcome.update(rc=run_dags(
        DEMO_DAGS, check=False, log_file=logs / f"{name}.log", progress=progress, keep_going=True)))
    samples: list[tuple[float, int]] = []
    stall, stalled = None, None
    started = time.time()
    worker.start()
    while worker.is_alive():
        samples.append((time.time(), _tree_rss()))
        running = [run for run in read_progress(progress) if run["ended"] is None]
        if stall is None and running and time.time() - running[-1]["started"] > timeout:
            stalled = running[-1]["dag_id"]
            print(f"[bench]   {stalled}: still running after {timeout:.0f}s, recording the stall")
            stall = diagnose_stall(url, stalled)
            stall["after_seconds"] = round(time.time() - running[-1]["started"])
            _stop_children(url)
        worker.join(SAMPLE_SECONDS)
    wall = time.time() - started
    progress_runs = read_progress(progress)
    runs = []
    for progress_run in progress_runs:
        run = _dag_record(progress_run, samples, stall if progress_run["dag_id"] == stalled else None)
        print(f"[bench] {name}: {run['dag_id']} {_dag_state(run)} in {run['seconds']} s, peak {run['peak_mb']:,.0f} MB")
        runs.append(run)
    build = next((run for run in runs if run["dag_id"] == BUILD_DAG), None)
    return {"wall_seconds": round(wall, 1), "runner_rc": outcome.get("rc"),
            # the process's start before its first DAG (later DAGs pay no start-up of their own)
            "startup_seconds": round(progress_runs[0]["started"] - started, 1) if progress_runs else None,
            "dags": runs, "channels": channel_rows(url, runs),
            "dbt_models": dbt_models(url, build and build["run_id"])}


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    home = Path(tempfile.mkdtemp(prefix=f"lintas-bench-{args.scale}-"))
    # a scratch home: Airflow's metadata DB, the deliveries and dbt's target; nothing of the caller's
    os.environ["LINTAS_HOME"] = str(home)
    for name in ("AIRFLOW_HOME", "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN", "LINTAS_DPMPTSP_URL", "LINTAS_REPORTS_DIR"):
        os.environ.pop(name, None)
    from lintas import settings, warehouse
    from lintas.cli import run_airflow
    from lintas.transform import dbt
    from lintas_sandbox.standins.dapodik import DapodikServer

    out = args.out or settings.project_root() / ".lintas" / "bench"
    url = warehouse.with_database(args.server, f"lintas_bench_{uuid.uuid4().hex[:10]}")
    os.environ["WAREHOUSE_URL"] = url
    settings.reload()  # the settings are read once: again after changing the environment
    logs = home / "bench-logs"
    import psutil

    meta = {"scale": args.scale, "seed": args.seed, "months": args.months,
            "started": f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC",
            "commit": _commit(), "cpus": os.cpu_count(), "machine": platform.machine(),
            "memory_gb": round(psutil.virtual_memory().total / 1024 ** 3), "load_before": _load(),
            "note": "The machine is shared with other engineers' processes: seconds are upper bounds.",
            "warehouse": "fresh database on " + warehouse.redact(args.server), "airflow_metadata": "SQLite"}
    result: dict = {"meta": meta, "phases": {}}
    try:
        step = time.perf_counter()
        subprocess.run([sys.executable, "-m", "lintas.cli", "generate", "--scale", args.scale, "--seed",
                        str(args.seed), "--months", str(args.months), "--out", str(home)], check=True,
                       stdout=subprocess.DEVNULL)
        meta["generate_seconds"] = round(time.perf_counter() - step, 1)
        print(f"[bench] generated scale {args.scale} in {meta['generate_seconds']} s into {home}")
        warehouse.prepare(url)
        dbt.ensure_manifest()
        run_airflow(["db", "migrate"], log_file=logs / "airflow-db-migrate.log")
        token = secrets.token_urlsafe(24)
        with DapodikServer.from_jsonl(home / "sources" / "dapodik" / "peserta_didik.jsonl", token=token) as api:
            os.environ.update(LINTAS_DAPODIK_URL=api.base_url, LINTAS_DAPODIK_TOKEN=token)
            settings.reload()
            for phase in args.phases:
                if phase == "next_month":
                    result["next_month_delivery"] = deliver_next_month(home, api, args.scale, args.seed)
                    print(f"[bench] next month delivered: {result['next_month_delivery']}")
                result["phases"][phase] = run_phase(phase, url, logs, args.dag_timeout)
                print(f"[bench] {phase}: {phase_seconds(result['phases'][phase])} s")
                if any(run["stall"] is not None or run["rc"] != 0 for run in result["phases"][phase]["dags"]):
                    print(f"[bench] {phase} did not finish cleanly: later phases skipped (logs: {logs})")
                    break
    finally:
        meta["load_after"] = _load()
        json_path, md_path = write_report(result, out)
        print(f"[bench] {json_path}\n[bench] {md_path}")
        if args.keep:
            print(f"[bench] kept {home} and {warehouse.redact(url)}")
        else:
            warehouse.drop_database(url)
            shutil.rmtree(home, ignore_errors=True)


if __name__ == "__main__":
    main()
