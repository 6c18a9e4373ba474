"""The sandbox's `lintas` commands: `generate` sample agency data, serve an agency `standin`, run the `demo`.

Registered with the `lintas` command through the `lintas.commands` entry point (sandbox/pyproject.toml), so they
exist only where the sandbox is installed (the development install), never in the deployable image.
"""

from __future__ import annotations

import argparse
import csv
import io
import secrets
import time
from pathlib import Path

from lintas import dag_test, settings, sources, summary, warehouse
from lintas.cli import run_airflow, run_dags

DEMO_DAGS = [*(source.dag_id for source in sources.SOURCES), "lintas_build_warehouse"]
BAD_BATCH_KEEPS = 0.6  # the failing-batch demo's DTKS export stopped at 60% of its bytes, mid-row


def generate(out: Path, scale: str, seed: int, profile: str = "default", last_period: str = "2026-10",
             months: int = 2, dpmptsp_url: str | None = None) -> None:
    """Write every agency's synthetic delivery under out (and the hidden truth under out/truth)."""
    from lintas_sandbox.synth import dapodik, dtks, izin, population, umkm

    started = time.perf_counter()
    pop = population.generate(scale, seed, profile)
    print(f"generated {len(pop.persons):,} residents in {len(pop.households):,} families "
          f"(scale {scale}, seed {seed}, noise profile {profile})"
          f" in {time.perf_counter() - started:.1f}s")
    deliveries = {
        "Dinas Sosial DTKS (outbox/dinsos)": lambda: dtks.render(pop, out, last_period=last_period, months=months),
        "Dinas Pendidikan Dapodik API data (sources/dapodik)": lambda: dapodik.render(pop, out),
        "Diskopindag UMKM workbooks (outbox/diskopindag)": lambda: umkm.render(pop, out),
        "DPMPTSP licensing database": lambda: izin.render(pop, dpmptsp_url, out),
    }
    for label, render in deliveries.items():
        step = time.perf_counter()
        counts = render()
        print(f"  {label}: {time.perf_counter() - step:.1f}s")
        for name, rows in counts.items():
            print(f"    {name}: {rows:,} rows")
    print(f"  truth (never loaded into the warehouse): {out / 'truth'}")


def cmd_generate(args: argparse.Namespace) -> None:
    generate(Path(args.out) if args.out else settings.lintas_home(), args.scale, args.seed, args.profile,
             args.last_period, args.months, args.dpmptsp_url)


def cmd_standin(args: argparse.Namespace) -> None:
    from lintas_sandbox.standins import dapodik

    data = Path(args.data) if args.data else settings.lintas_home() / "sources" / "dapodik" / "peserta_didik.jsonl"
    dapodik.serve_forever(data, host=args.host, port=args.port, token=args.token)


def cmd_demo(args: argparse.Namespace) -> None:
    from lintas.report import run_report
    from lintas.transform import dbt
    from lintas_sandbox.standins import dapodik

    started = time.perf_counter()
    url = warehouse.prepare(warehouse.warehouse_url())
    print(f"[demo] warehouse: {warehouse.redact(url)}, dbt manifest: {dbt.ensure_manifest()}")
    dapodik_data = settings.lintas_home() / "sources" / "dapodik" / "peserta_didik.jsonl"
    if not dapodik_data.exists():
        generate(settings.lintas_home(), args.scale, args.seed)
    logs = settings.lintas_home() / "demo-logs"
    print("[demo] migrating the Airflow metadata database")
    run_airflow(["db", "migrate"], log_file=logs / "airflow-db-migrate.log")
    token = secrets.token_urlsafe(24)
    # The education agency's API, stood in by a local HTTP server for the length of the demo
    with dapodik.DapodikServer.from_jsonl(dapodik_data, token=token) as api:
        dapodik_env = {"LINTAS_DAPODIK_URL": api.base_url, "LINTAS_DAPODIK_TOKEN": token}
        print(f"[demo] Dapodik stand-in API at {api.base_url}")
        log_file, progress = logs / "dags-test.log", logs / "dags-test.progress.jsonl"
        progress.unlink(missing_ok=True)
        step = time.perf_counter()
        print(f"[demo] airflow dags test, in one process: {', '.join(DEMO_DAGS)} (log: {log_file})")
        run_dags(DEMO_DAGS, log_file=log_file, extra_env=dapodik_env, progress=progress)
        runs = dag_test.read_progress(progress)
        for run in runs:
            print(f"[demo]   {run['dag_id']}: success in {run['ended'] - run['started']:.0f}s")
        startup = time.perf_counter() - step - sum(run["ended"] - run["started"] for run in runs)
        print(f"[demo]   the process starting, before the first DAG: {startup:.0f}s")
    _demo_failing_batch(url, logs)
    print()
    print(summary.render(url))
    print(f"\nAuditors' run report: {run_report.render(url)}")
    print(f"Analysts' dbt docs (every mart and column described): {dbt.generate_docs(url)}")
    _demo_access(url)
    print(f"\n[demo] finished in {time.perf_counter() - started:.0f}s")


def _demo_access(url: str) -> None:
    """The roles are in place after the demo's publish: what each may read (see README, Access control)."""
    from lintas import access

    access.apply(url)
    print(f"\n[demo] access control (grant logins with `lintas access grant-login`):\n{access.describe(url)}")


def _next_month(period: str) -> str:
    year, month = map(int, period.split("-"))
    return f"{year + month // 12}-{month % 12 + 1:02d}"


def _deliver_shrunk_dtks(url: str) -> tuple[Path, bool]:
    """Dinas Sosial delivers next month's snapshot, but the export stopped at 60% of its bytes, in the middle of a
    row. Written from the latest accepted month, read as the pipeline reads it; returns (path, whether it was
    new)."""
    from lintas.extract import dtks

    with warehouse.connect(url) as conn:
        period, ref = conn.execute(
            "select period, source_ref from audit.load_batch where source = 'dinsos_dtks' and status = 'accepted'"
            " order by period desc, batch_id desc limit 1").fetchone()
    outbox = settings.outbox_dir("dinsos")
    bad_period = _next_month(period)
    target = outbox / f"{ref[:len('DTKS_3573_')]}{bad_period.replace('-', '')}.csv"  # the same kab/kota's file
    if target.exists():
        return target, False
    accepted = dtks.read(outbox / ref)
    header = list(dtks.COLUMNS)
    period_at = header.index("PERIODE")
    rows = []
    for row in accepted.rows:  # (_row_number, contract columns..., _extra): the contract's columns are enough
        values = ["" if value is None else value for value in row[1:1 + len(header)]]
        values[period_at] = bad_period
        rows.append(values)
    whole = io.StringIO()
    csv.writer(whole, delimiter=";", lineterminator="\r\n").writerows([header, *rows])
    data = whole.getvalue().encode("utf-8")
    cut = int(len(data) * BAD_BATCH_KEEPS)
    while data[cut - 1:cut + 1].strip(b"\r\n") != data[cut - 1:cut + 1]:  # cut inside a row, not at its end
        cut -= 1
    partial = target.with_name(f".{target.name}.partial")
    partial.write_bytes(data[:cut])
    partial.rename(target)  # the upload itself is whole: it is the export that stopped short
    return target, True


def _demo_failing_batch(url: str, logs: Path) -> None:
    """A deliberately bad DTKS month, cut short mid-row: rejected as truncated, so the published marts do not
    change."""
    from lintas.transform import publish

    print("\n[demo] failing batch: Dinas Sosial delivers a month whose export stopped at 60%, mid-row")
    before = publish.fingerprint(url)
    path, new = _deliver_shrunk_dtks(url)
    print(f"[demo]   delivered {path.name}" + ("" if new else " (already delivered by an earlier demo run)"))
    step = time.perf_counter()
    dag_id = "lintas_extract_dinsos_dtks"
    log_file = logs / f"{dag_id}__failing_batch.log"
    rc = run_dags([dag_id], check=False, log_file=log_file)
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
    print(f"[demo]   batch {batch_id} REJECTED, {rows:,} rows loaded, held back from the warehouse: {reason}")
    print("[demo]   its asset was not updated, so no warehouse build ran for it")
    after = publish.fingerprint(url)
    if after != before:
        raise SystemExit("[demo] the published marts changed although the batch was held back")
    print(f"[demo]   published marts unchanged: {len(after)} table(s), same row counts and checksums")
    for table, (count, checksum) in after.items():
        print(f"[demo]     marts.{table:<40} {count:>8,} rows  md5 {checksum}")


def register(sub: argparse._SubParsersAction) -> None:
    """Add the sandbox's commands to the `lintas` command (the `lintas.commands` entry point)."""
    gen = sub.add_parser("generate", help="write synthetic agency deliveries (and the hidden truth)")
    gen.add_argument("--scale", default="small", help="small, city, or a multiple of city (e.g. 5)")
    gen.add_argument("--seed", type=int, default=1)
    gen.add_argument("--profile", choices=["default", "second"], default="default",
                     help="noise profile of the deliveries: the default clerks, or a second set of habits"
                          " (lintas_sandbox/synth/second.py) to check that linkage is not tuned to one generator")
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

    demo = sub.add_parser("demo", help="prepare everything and run the pipeline end to end")
    demo.add_argument("--scale", default="small")
    demo.add_argument("--seed", type=int, default=1)
    demo.set_defaults(func=cmd_demo)
