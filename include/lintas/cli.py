"""`lintas` command line: generate sample agency data, prepare the warehouse, run Airflow, show a summary."""

from __future__ import annotations

import argparse
import os
import secrets
import shlex
import subprocess
import sys
import time
from pathlib import Path

from lintas import settings, summary, warehouse

DEMO_DAGS = [
    "lintas_extract_dinsos_dtks",
    "lintas_extract_disdik_dapodik",
    "lintas_extract_diskopindag_umkm",
    "lintas_extract_dpmptsp_izin",
    "lintas_build_warehouse",
]


def _airflow(args: list[str], check: bool = True, log_file: Path | None = None) -> int:
    """Run the airflow CLI with the project's environment; output to log_file if given."""
    venv_bin = Path(sys.executable).parent
    # standalone starts its components as `airflow ...` subprocesses: the venv must be on PATH
    env = {**os.environ, **settings.airflow_environment(),
           "PATH": f"{venv_bin}{os.pathsep}{os.environ.get('PATH', '')}"}
    Path(env["AIRFLOW_HOME"]).mkdir(parents=True, exist_ok=True)
    airflow = str(venv_bin / "airflow")
    if log_file is None:
        proc = subprocess.run([airflow, *args], env=env)
    else:
        log_file.parent.mkdir(parents=True, exist_ok=True)
        with log_file.open("w", encoding="utf-8") as out:
            proc = subprocess.run([airflow, *args], env=env, stdout=out, stderr=subprocess.STDOUT)
    if check and proc.returncode != 0:
        if log_file is not None:
            print("\n".join(log_file.read_text(encoding="utf-8").splitlines()[-40:]))
        raise SystemExit(f"airflow {' '.join(args)} failed with exit code {proc.returncode}"
                         + (f"; full log: {log_file}" if log_file else ""))
    return proc.returncode


def cmd_generate(args: argparse.Namespace) -> None:
    from lintas.synth import dapodik, dtks, izin, population, umkm

    out = Path(args.out) if args.out else settings.lintas_home()
    started = time.perf_counter()
    profile = getattr(args, "profile", "default")  # `lintas demo` calls this with its own arguments
    pop = population.generate(args.scale, args.seed, profile)
    print(f"generated {len(pop.persons):,} residents in {len(pop.households):,} families "
          f"(scale {args.scale}, seed {args.seed}, noise profile {profile})"
          f" in {time.perf_counter() - started:.1f}s")
    deliveries = {
        "Dinas Sosial DTKS (outbox/dinsos)": lambda: dtks.render(pop, out, last_period=args.last_period,
                                                                 months=args.months),
        "Dinas Pendidikan Dapodik API data (sources/dapodik)": lambda: dapodik.render(pop, out),
        "Diskopindag UMKM workbooks (outbox/diskopindag)": lambda: umkm.render(pop, out),
        "DPMPTSP licensing database": lambda: izin.render(pop, args.dpmptsp_url, out),
    }
    for label, render in deliveries.items():
        step = time.perf_counter()
        counts = render()
        print(f"  {label}: {time.perf_counter() - step:.1f}s")
        for name, rows in counts.items():
            print(f"    {name}: {rows:,} rows")
    print(f"  truth (never loaded into the warehouse): {out / 'truth'}")


def cmd_standin(args: argparse.Namespace) -> None:
    from lintas.standins import dapodik

    data = Path(args.data) if args.data else settings.lintas_home() / "sources" / "dapodik" / "peserta_didik.jsonl"
    dapodik.serve_forever(data, host=args.host, port=args.port, token=args.token)


def cmd_warehouse(args: argparse.Namespace) -> None:
    if args.action == "prepare":
        print(f"warehouse ready: {warehouse.redact(warehouse.prepare())}")
    elif args.action == "stop":
        print("embedded warehouse stopped" if warehouse.stop_embedded() else "embedded warehouse was not running")
    elif args.action == "url":
        print(warehouse.warehouse_url())
    elif args.action == "dbt-env":  # for tools that run dbt themselves (sqlfluff's dbt templater)
        from lintas.transform import dbt

        env = dbt.dbt_environment()
        for key in sorted(k for k in env if k.startswith(("LINTAS_PG", "DBT_"))):
            print(f"export {key}={shlex.quote(env[key])}")


def cmd_summary(_: argparse.Namespace) -> None:
    print(summary.render())


def cmd_report(args: argparse.Namespace) -> None:
    from lintas.report import run_report

    print(run_report.render(out=Path(args.out) if args.out else None, runs=args.runs))


def cmd_docs(_: argparse.Namespace) -> None:
    from lintas.transform import dbt

    print(dbt.generate_docs())


def cmd_check_ui(_: argparse.Namespace) -> None:
    from lintas import ui_check

    result = ui_check.check(ui_check.build_dag_tasks())
    for shot in result.screenshots:
        print(f"screenshot: {shot}")
    if result.problems:
        raise SystemExit("UI check failed:\n" + "\n".join(result.problems))
    print("UI check passed: Airflow grid, run report and Data Docs render as expected")


def cmd_airflow(args: argparse.Namespace) -> None:
    raise SystemExit(_airflow(args.airflow_args, check=False))


def cmd_demo(args: argparse.Namespace) -> None:
    from lintas.standins import dapodik

    started = time.perf_counter()
    url = warehouse.prepare()
    print(f"[demo] warehouse: {warehouse.redact(url)}")
    dapodik_data = settings.lintas_home() / "sources" / "dapodik" / "peserta_didik.jsonl"
    if not dapodik_data.exists():
        cmd_generate(argparse.Namespace(scale=args.scale, seed=args.seed, out=None, last_period="2026-10",
                                        months=2, dpmptsp_url=None))
    logs = settings.lintas_home() / "demo-logs"
    print("[demo] migrating the Airflow metadata database")
    _airflow(["db", "migrate"], log_file=logs / "airflow-db-migrate.log")
    token = secrets.token_urlsafe(24)
    # The education agency's API, stood in by a local HTTP server for the length of the demo
    with dapodik.DapodikServer.from_jsonl(dapodik_data, token=token) as api:
        os.environ.update(LINTAS_DAPODIK_URL=api.base_url, LINTAS_DAPODIK_TOKEN=token)
        print(f"[demo] Dapodik stand-in API at {api.base_url}")
        for dag_id in DEMO_DAGS:
            step = time.perf_counter()
            _airflow(["dags", "test", dag_id], log_file=logs / f"{dag_id}.log")
            print(f"[demo] airflow dags test {dag_id}: success in {time.perf_counter() - step:.0f}s "
                  f"(log: {logs / (dag_id + '.log')})")
    _demo_failing_batch(url, logs)
    print()
    print(summary.render(url))
    from lintas.report import run_report

    print(f"\nAuditors' run report: {run_report.render(url)}")
    from lintas.transform import dbt

    print(f"Analysts' dbt docs (every mart and column described): {dbt.generate_docs(url)}")
    print(f"\n[demo] finished in {time.perf_counter() - started:.0f}s")


BAD_BATCH_KEEPS = 0.6  # the failing-batch demo's DTKS month lost 40% of the register


def _next_month(period: str) -> str:
    year, month = map(int, period.split("-"))
    return f"{year + month // 12}-{month % 12 + 1:02d}"


def _deliver_shrunk_dtks(url: str) -> tuple[Path, bool]:
    """Dinas Sosial delivers next month's snapshot, but 40% of the register is missing (a truncated export).
    Written from the latest accepted month; returns (path, whether it was new)."""
    import csv

    with warehouse.connect(url) as conn:
        period, ref = conn.execute(
            "select period, source_ref from audit.load_batch where source = 'dinsos_dtks' and status = 'accepted'"
            " order by period desc, batch_id desc limit 1").fetchone()
    outbox = settings.outbox_dir("dinsos")
    bad_period = _next_month(period)
    target = outbox / f"DTKS_3573_{bad_period.replace('-', '')}.csv"
    if target.exists():
        return target, False
    source = outbox / ref
    raw = source.read_bytes()
    encoding = "utf-8-sig" if raw.startswith(b"\xef\xbb\xbf") else "utf-8"
    text = raw.decode(encoding)
    delimiter = ";" if text.split("\n", 1)[0].count(";") > text.split("\n", 1)[0].count("|") else "|"
    rows = list(csv.reader(text.splitlines(), delimiter=delimiter))
    header, body = rows[0], rows[1:]
    column = [h.strip().upper() for h in header].index("PERIODE")
    kept = body[: int(len(body) * BAD_BATCH_KEEPS)]
    for row in kept:
        row[column] = bad_period
    partial = target.with_name(f".{target.name}.partial")
    with partial.open("w", encoding=encoding, newline="") as fh:
        csv.writer(fh, delimiter=delimiter, lineterminator="\r\n").writerows([header, *kept])
    partial.rename(target)  # the outbox never shows half a file
    return target, True


def _demo_failing_batch(url: str, logs: Path) -> None:
    """A deliberately bad DTKS month: the raw gate holds it back and the published marts do not change."""
    from lintas.transform import publish

    print("\n[demo] failing batch: Dinas Sosial delivers a month that lost 40% of the register")
    before = publish.fingerprint(url)
    path, new = _deliver_shrunk_dtks(url)
    print(f"[demo]   delivered {path.name}" + ("" if new else " (already delivered by an earlier demo run)"))
    step = time.perf_counter()
    dag_id = "lintas_extract_dinsos_dtks"
    log_file = logs / f"{dag_id}__failing_batch.log"
    rc = _airflow(["dags", "test", dag_id], check=False, log_file=log_file)
    with warehouse.connect(url) as conn:
        batch = conn.execute(
            "select batch_id, status, rows_loaded, rejection_reason from audit.load_batch"
            " where source = 'dinsos_dtks' and source_ref = %s order by batch_id desc limit 1",
            (path.name,)).fetchone()
    if batch is None or batch[1] != "rejected":
        raise SystemExit(f"[demo] the bad batch {path.name} was not held back: {batch and batch[1]}")
    batch_id, _, rows, reason = batch
    verdict = "run failed, as it should" if rc != 0 else "run finished (nothing new to gate)"
    print(f"[demo]   airflow dags test {dag_id}: {verdict} in {time.perf_counter() - step:.0f}s (log: {log_file})")
    print(f"[demo]   batch {batch_id} ({rows:,} rows) REJECTED and held back from the warehouse: {reason}")
    print("[demo]   its asset was not updated, so no warehouse build ran for it")
    after = publish.fingerprint(url)
    if after != before:
        raise SystemExit("[demo] the published marts changed although the batch was held back")
    print(f"[demo]   published marts unchanged: {len(after)} table(s), same row counts and checksums")
    for table, (count, checksum) in after.items():
        print(f"[demo]     marts.{table:<40} {count:>8,} rows  md5 {checksum}")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="lintas", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)

    gen = sub.add_parser("generate", help="write synthetic agency deliveries (and the hidden truth)")
    gen.add_argument("--scale", default="small", help="small, city, or a multiple of city (e.g. 5)")
    gen.add_argument("--seed", type=int, default=1)
    gen.add_argument("--profile", choices=["default", "second"], default="default",
                     help="noise profile of the deliveries: the default clerks, or a second set of habits"
                          " (lintas/synth/second.py) to check that linkage is not tuned to one generator")
    gen.add_argument("--out", help="output folder (default: LINTAS_HOME)")
    gen.add_argument("--last-period", default="2026-10", help="last DTKS month, YYYY-MM")
    gen.add_argument("--months", type=int, default=2, help="how many monthly DTKS snapshots")
    gen.add_argument("--dpmptsp-url", help="SQLAlchemy URL for the licensing stand-in (default: SQLite file)")
    gen.set_defaults(func=cmd_generate)

    standin = sub.add_parser("standin", help="serve an agency stand-in (for trying the pipeline by hand)")
    standin.add_argument("agency", choices=["dapodik"])
    standin.add_argument("--data", help="JSONL of student records (default: LINTAS_HOME/sources/dapodik)")
    standin.add_argument("--host", default="127.0.0.1")
    standin.add_argument("--port", type=int, default=8765)
    standin.add_argument("--token", required=True, help="bearer token clients must send")
    standin.set_defaults(func=cmd_standin)

    wh = sub.add_parser("warehouse", help="prepare the warehouse or print its URL")
    wh.add_argument("action", choices=["prepare", "url", "stop", "dbt-env"])
    wh.set_defaults(func=cmd_warehouse)

    sub.add_parser("summary", help="rows per layer, deliveries, gate results").set_defaults(func=cmd_summary)

    rep = sub.add_parser("report", help="write the auditors' static HTML run report and print its path")
    rep.add_argument("--out", help="output file (default: LINTAS_REPORTS_DIR/index.html)")
    rep.add_argument("--runs", type=int, default=20, help="how many recent Airflow runs to show")
    rep.set_defaults(func=cmd_report)

    sub.add_parser("docs", help="write the analysts' dbt docs (one static HTML page) and print its path"
                   ).set_defaults(func=cmd_docs)

    sub.add_parser("check-ui", help="open the Airflow grid, run report and Data Docs in headless Chromium"
                   " and save screenshots (after `make demo`)").set_defaults(func=cmd_check_ui)

    af = sub.add_parser("airflow", help="run the airflow CLI with this project's environment")
    af.add_argument("airflow_args", nargs=argparse.REMAINDER)
    af.set_defaults(func=cmd_airflow)

    demo = sub.add_parser("demo", help="prepare everything and run the pipeline end to end")
    demo.add_argument("--scale", default="small")
    demo.add_argument("--seed", type=int, default=1)
    demo.set_defaults(func=cmd_demo)

    args = parser.parse_args(argv)
    args.func(args)


if __name__ == "__main__":
    main()
