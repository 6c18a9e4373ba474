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
    if args.action in ("prepare", "manifest"):
        from lintas.transform import dbt

        # the build DAG's tasks are rendered from the dbt manifest: (re)parsed here when the project changed
        print(f"dbt manifest: {dbt.ensure_manifest()}")
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


def cmd_access(args: argparse.Namespace) -> None:
    from lintas import access

    if args.action == "apply":
        access.apply(take_over_dbt_objects=args.take_over_dbt_objects)
    elif args.action == "grant-login":
        password = os.environ.get(args.password_env) if args.password_env else None
        if args.password_env and not password:
            raise SystemExit(f"{args.password_env} is not set")
        access.grant_login(args.login, args.role, kecamatan=args.kecamatan, password=password)
        print(f"{args.login}: member of {access.ROLES[args.role]}"
              + (f", kecamatan {', '.join(args.kecamatan)}" if args.kecamatan else ""))
    elif args.action == "revoke-login":
        access.revoke_login(args.login, drop=args.drop)
        print(f"{args.login}: no lintas role any more" + (", dropped" if args.drop else ""))
    print(access.describe())


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
    from lintas.transform import dbt

    dbt.ensure_manifest()  # the build DAG is rendered from it
    raise SystemExit(_airflow(args.airflow_args, check=False))


def cmd_demo(args: argparse.Namespace) -> None:
    from lintas.standins import dapodik
    from lintas.transform import dbt

    started = time.perf_counter()
    url = warehouse.prepare()
    print(f"[demo] warehouse: {warehouse.redact(url)}, dbt manifest: {dbt.ensure_manifest()}")
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
    _demo_access(url)
    print(f"\n[demo] finished in {time.perf_counter() - started:.0f}s")


def _demo_access(url: str) -> None:
    """The roles are in place after the demo's publish: what each may read (see README, Access control)."""
    from lintas import access

    access.apply(url)
    print(f"\n[demo] access control (grant logins with `lintas access grant-login`):\n{access.describe(url)}")


BAD_BATCH_KEEPS = 0.6  # the failing-batch demo's DTKS export stopped at 60% of its bytes, mid-row


def _next_month(period: str) -> str:
    year, month = map(int, period.split("-"))
    return f"{year + month // 12}-{month % 12 + 1:02d}"


def _deliver_shrunk_dtks(url: str) -> tuple[Path, bool]:
    """Dinas Sosial delivers next month's snapshot, but the export stopped at 60% of its bytes, in the middle of a
    row. Written from the latest accepted month; returns (path, whether it was new)."""
    import csv
    import io

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
    for row in body:
        row[column] = bad_period
    whole = io.StringIO()
    csv.writer(whole, delimiter=delimiter, lineterminator="\r\n").writerows([header, *body])
    data = whole.getvalue().encode(encoding)
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
    print(f"[demo]   batch {batch_id} REJECTED, {rows:,} rows loaded, held back from the warehouse: {reason}")
    print("[demo]   its asset was not updated, so no warehouse build ran for it")
    after = publish.fingerprint(url)
    if after != before:
        raise SystemExit("[demo] the published marts changed although the batch was held back")
    print(f"[demo]   published marts unchanged: {len(after)} table(s), same row counts and checksums")
    for table, (count, checksum) in after.items():
        print(f"[demo]     marts.{table:<40} {count:>8,} rows  md5 {checksum}")


def cmd_subject(args: argparse.Namespace) -> None:
    """Data-subject access request: the person's own data to the operator's screen or a file, never to a log."""
    from lintas.privacy import subject

    nik = sys.stdin.readline() if args.nik == "-" else args.nik  # "-": not in the shell history or process list
    try:
        report = subject.find(nik, include_views=args.include_views)
    except subject.SubjectRequestError as exc:
        raise SystemExit(f"lintas subject: {exc}") from None
    text = report.to_json() if args.format == "json" else report.render_text()
    if args.out:
        out = Path(args.out)
        out.touch(mode=0o600)
        out.chmod(0o600)  # the person's data: readable by the operator only
        out.write_text(text, encoding="utf-8")
        print(f"{report.row_count} row(s) in {len(report.found)} relation(s) written to {out}")
    else:
        sys.stdout.write(text)
    subject.record_request(report)


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
    wh.add_argument("action", choices=["prepare", "manifest", "url", "stop", "dbt-env"])
    wh.set_defaults(func=cmd_warehouse)

    acc = sub.add_parser("access", help="roles and logins: who may read what (run as a warehouse admin)")
    acc_sub = acc.add_subparsers(dest="action", required=True)
    acc_sub.add_parser("show", help="what each role may read")
    apply = acc_sub.add_parser("apply", help="create the roles, grants, policies and views again")
    apply.add_argument("--take-over-dbt-objects", action="store_true",
                       help="also give lintas_pipeline dbt's schemas' objects (once, before the pipeline connects"
                            " as a lintas_pipeline login; while no build runs)")
    grant = acc_sub.add_parser("grant-login", help="create a login (if needed) and make it a member of a role")
    grant.add_argument("login")
    grant.add_argument("--role", required=True, choices=["pipeline", "engineer", "analyst", "kecamatan", "auditor",
                                                          "public"])
    grant.add_argument("--kecamatan", action="append", help="kecamatan code (e.g. 35.73.05), repeatable")
    grant.add_argument("--password-env", help="environment variable holding the login's password")
    revoke = acc_sub.add_parser("revoke-login", help="take a login out of every lintas role")
    revoke.add_argument("login")
    revoke.add_argument("--drop", action="store_true", help="drop the login as well")
    acc.set_defaults(func=cmd_access)

    sub.add_parser("summary", help="rows per layer, deliveries, gate results").set_defaults(func=cmd_summary)

    rep = sub.add_parser("report", help="write the auditors' static HTML run report and print its path")
    rep.add_argument("--out", help="output file (default: LINTAS_REPORTS_DIR/index.html)")
    rep.add_argument("--runs", type=int, default=20, help="how many recent Airflow runs to show")
    rep.set_defaults(func=cmd_report)

    sub.add_parser("docs", help="write the analysts' dbt docs (one static HTML page) and print its path"
                   ).set_defaults(func=cmd_docs)

    sub.add_parser("check-ui", help="open the Airflow grid, run report and Data Docs in headless Chromium"
                   " and save screenshots (after `make demo`)").set_defaults(func=cmd_check_ui)

    subj = sub.add_parser("subject", help="data-subject access request: everything held about one NIK")
    subj.add_argument("--nik", required=True, help="the person's 16-digit NIK, or - to read it from stdin")
    subj.add_argument("--format", choices=["text", "json"], default="text")
    subj.add_argument("--json", dest="format", action="store_const", const="json", help="same as --format json")
    subj.add_argument("--out", help="write the report to this file (mode 600) instead of stdout")
    subj.add_argument("--include-views", action="store_true",
                      help="also search the views (staging, most of intermediate): slow on a city-scale warehouse")
    subj.set_defaults(func=cmd_subject)

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
