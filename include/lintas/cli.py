"""`lintas` command line: prepare the warehouse, run Airflow, show a summary, reports, access and subject requests.

Other installed packages add commands through the `lintas.commands` entry point: the sandbox (sandbox/, in the
development install only) adds `generate`, `standin` and `demo`.
"""

from __future__ import annotations

import argparse
import os
import shlex
import subprocess
import sys
from collections.abc import Callable, Iterable
from importlib.metadata import entry_points
from pathlib import Path

from lintas import settings, summary, warehouse

COMMANDS_ENTRY_POINT = "lintas.commands"
SANDBOX_COMMANDS = ("generate", "standin", "demo")  # what the sandbox adds, named when it is missing

AddCommands = Callable[[argparse._SubParsersAction], None]


def _airflow_process(command: list[str], check: bool, log_file: Path | None, extra_env: dict[str, str] | None,
                     what: str) -> int:
    """Run command with the project's Airflow environment (plus extra_env); output to log_file if given."""
    venv_bin = Path(sys.executable).parent
    # standalone starts its components as `airflow ...` subprocesses: the venv must be on PATH
    env = settings.child_environment({
        **settings.airflow_environment(), **(extra_env or {}),
        "PATH": f"{venv_bin}{os.pathsep}{settings.current().environment.get('PATH', '')}"})
    Path(env["AIRFLOW_HOME"]).mkdir(parents=True, exist_ok=True)
    if log_file is None:
        proc = subprocess.run(command, env=env)
    else:
        log_file.parent.mkdir(parents=True, exist_ok=True)
        with log_file.open("w", encoding="utf-8") as out:
            proc = subprocess.run(command, env=env, stdout=out, stderr=subprocess.STDOUT)
    if check and proc.returncode != 0:
        if log_file is not None:
            print("\n".join(log_file.read_text(encoding="utf-8").splitlines()[-40:]))
        raise SystemExit(f"{what} failed with exit code {proc.returncode}"
                         + (f"; full log: {log_file}" if log_file else ""))
    return proc.returncode


def run_airflow(args: list[str], check: bool = True, log_file: Path | None = None,
                extra_env: dict[str, str] | None = None) -> int:
    """Run the airflow CLI with the project's environment (plus extra_env); output to log_file if given."""
    airflow = str(Path(sys.executable).parent / "airflow")
    return _airflow_process([airflow, *args], check, log_file, extra_env, f"airflow {' '.join(args)}")


def run_dags(dag_ids: list[str], check: bool = True, log_file: Path | None = None,
             extra_env: dict[str, str] | None = None, *, conf: str | None = None, progress: Path | None = None,
             keep_going: bool = False) -> int:
    """`airflow dags test` of each DAG in turn, in one process (lintas.dag_test: Airflow's start-up paid once)."""
    command = [sys.executable, "-m", "lintas.dag_test", *dag_ids, *(["--conf", conf] if conf else []),
               *(["--progress", str(progress)] if progress else []), *(["--keep-going"] if keep_going else [])]
    return _airflow_process(command, check, log_file, extra_env, f"airflow dags test {' '.join(dag_ids)}")


def cmd_dags_test(args: argparse.Namespace) -> None:
    from lintas.transform import dbt

    dbt.ensure_manifest()  # the build DAG is rendered from it
    raise SystemExit(run_dags(args.dag_ids, check=False, conf=args.conf, keep_going=args.keep_going))


def cmd_warehouse(args: argparse.Namespace) -> None:
    if args.action in ("prepare", "manifest"):
        from lintas.transform import dbt

        # the build DAG's tasks are rendered from the dbt manifest: (re)parsed here when the project changed
        print(f"dbt manifest: {dbt.ensure_manifest()}")
    if args.action == "prepare":
        print(f"warehouse ready: {warehouse.redact(warehouse.prepare(warehouse.warehouse_url()))}")
    elif args.action == "stop":
        print("embedded warehouse stopped" if warehouse.stop_embedded() else "embedded warehouse was not running")
    elif args.action == "url":
        print(warehouse.warehouse_url())
    elif args.action == "dbt-env":  # for tools that run dbt themselves (sqlfluff's dbt templater)
        from lintas.transform import dbt

        env = dbt.dbt_environment(warehouse.warehouse_url())
        for key in sorted(k for k in env if k.startswith(("LINTAS_PG", "DBT_"))):
            print(f"export {key}={shlex.quote(env[key])}")


def cmd_access(args: argparse.Namespace) -> None:
    from lintas import access

    if args.action == "apply":
        # asked for by hand: applied whether or not the fingerprints say something changed
        access.apply(warehouse.warehouse_url(), take_over_dbt_objects=args.take_over_dbt_objects, force=True)
    elif args.action == "grant-login":
        password = settings.current().environment.get(args.password_env) if args.password_env else None
        if args.password_env and not password:
            raise SystemExit(f"{args.password_env} is not set")
        access.grant_login(args.login, args.role, kecamatan=args.kecamatan, password=password,
                           url=warehouse.warehouse_url())
        print(f"{args.login}: member of {access.ROLES[args.role]}"
              + (f", kecamatan {', '.join(args.kecamatan)}" if args.kecamatan else ""))
    elif args.action == "revoke-login":
        access.revoke_login(args.login, warehouse.warehouse_url(), drop=args.drop)
        print(f"{args.login}: no lintas role any more" + (", dropped" if args.drop else ""))
    print(access.describe(warehouse.warehouse_url()))


def cmd_summary(_: argparse.Namespace) -> None:
    print(summary.render(warehouse.warehouse_url()))


def cmd_report(args: argparse.Namespace) -> None:
    from lintas.report import run_report

    print(run_report.render(warehouse.warehouse_url(), out=Path(args.out) if args.out else None, runs=args.runs))


def cmd_docs(_: argparse.Namespace) -> None:
    from lintas.transform import dbt

    print(dbt.generate_docs(warehouse.warehouse_url()))


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
    raise SystemExit(run_airflow(args.airflow_args, check=False))


def cmd_subject(args: argparse.Namespace) -> None:
    """Data-subject access request: the person's own data to the operator's screen or a file, never to a log."""
    from lintas.privacy import subject

    nik = sys.stdin.readline() if args.nik == "-" else args.nik  # "-": not in the shell history or process list
    url = warehouse.warehouse_url()
    try:
        report = subject.find(nik, url, include_views=args.include_views)
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
    subject.record_request(report, url)


def cmd_explain_person(args: argparse.Namespace) -> None:
    """How a person's records were linked; identities masked unless --reveal and the login's role allow it."""
    from lintas.identity import explain

    try:
        explanation = explain.explain(args.person_id, warehouse.warehouse_url(), reveal=args.reveal)
    except explain.ExplainError as exc:
        raise SystemExit(f"lintas explain-person: {exc}") from None
    sys.stdout.write(explanation.to_json() if args.format == "json" else explanation.render_text())


def installed_commands() -> list[AddCommands]:
    """The functions of installed packages that add commands (entry point group `lintas.commands`)."""
    return [entry.load() for entry in entry_points(group=COMMANDS_ENTRY_POINT)]


def main(argv: list[str] | None = None, commands: Iterable[AddCommands] | None = None) -> None:
    """Run one command. commands: what adds further commands (default: installed_commands())."""
    parser = argparse.ArgumentParser(prog="lintas", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)

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

    exp = sub.add_parser("explain-person", help="a person's records, how each joined, merges and splits")
    exp.add_argument("person_id", type=int)
    exp.add_argument("--format", choices=["text", "json"], default="text")
    exp.add_argument("--reveal", action="store_true",
                     help="show full NIK, name and birth date (engineers and analysts only; the read is logged)")
    exp.set_defaults(func=cmd_explain_person)

    dt = sub.add_parser("dags-test", help="`airflow dags test` of several DAGs in turn, in one process"
                        " (Airflow's start-up paid once)")
    dt.add_argument("dag_ids", nargs="+")
    dt.add_argument("--conf", help="JSON run conf, for every DAG")
    dt.add_argument("--keep-going", action="store_true", help="run the later DAGs after a failed one")
    dt.set_defaults(func=cmd_dags_test)

    af = sub.add_parser("airflow", help="run the airflow CLI with this project's environment")
    af.add_argument("airflow_args", nargs=argparse.REMAINDER)
    af.set_defaults(func=cmd_airflow)

    for add_commands in installed_commands() if commands is None else commands:
        add_commands(sub)
    argv = sys.argv[1:] if argv is None else argv
    if argv and argv[0] in SANDBOX_COMMANDS and argv[0] not in sub.choices:
        raise SystemExit(f"lintas {argv[0]}: the sandbox is not installed (it comes with the development install,"
                         " `make install`; the deployable image leaves it out)")
    args = parser.parse_args(argv)
    args.func(args)


if __name__ == "__main__":
    main()
