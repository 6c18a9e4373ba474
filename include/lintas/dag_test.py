"""`airflow dags test` of several DAGs, one after another, in one process (`lintas dags-test`, the demo, the bench).

Each DAG runs through the Airflow CLI's own `dags test` command (its parser and function, so what
`airflow dags test <dag_id>` runs), on DAGs parsed and stored in the metadata DB once, before the first (the
CLI parses the whole DAG folder for each call). The reason for one process: in Airflow 3 the first task of a
`dags test` process starts the in-process execution API, which builds its versioned routes (cadwyn) for 20-45 s
on this 2-core machine; later runs in the same process start at once (measured 2026-12-07 on a two-task DAG: 23 s for
the first `dag.test()`, 0.5 s for each later one; the CLI, with its own start, 45 s). Under the scheduler the
API server is long-lived and nobody pays this per DAG.

Run with the project's Airflow environment (`lintas.cli.run_dags` sets it):

    python -m lintas.dag_test [--conf JSON] [--progress FILE] [--keep-going] DAG_ID [DAG_ID ...]

`--progress` receives one JSON line as each DAG starts and ends (dag_id, event, epoch seconds, ok): the bench
reads it to time each DAG and to notice a stall. Exit code 1 when a DAG run failed.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path


def _note(progress: Path | None, **event) -> None:
    if progress is not None:
        with progress.open("a", encoding="utf-8") as out:
            out.write(json.dumps({**event, "at": time.time()}) + "\n")


def read_progress(progress: Path) -> list[dict]:
    """Per DAG run, in the order run: dag_id, started and ended (epoch seconds; ended None while running), ok."""
    runs: list[dict] = []
    if progress.exists():
        for line in progress.read_text(encoding="utf-8").splitlines():
            event = json.loads(line)
            if event["event"] == "start":
                runs.append({"dag_id": event["dag_id"], "started": event["at"], "ended": None, "ok": None})
            else:
                runs[-1].update(ended=event["at"], ok=event["ok"])  # DAGs run one at a time
    return runs


def parsed_dags() -> dict:
    """Every DAG of the configured bundles, parsed and stored in the metadata DB once: what each `airflow dags test`
    does for itself first (airflow.utils.cli.get_bagged_dag), 5-10 s a time here."""
    from airflow.dag_processing.bundles.manager import DagBundlesManager
    from airflow.dag_processing.dagbag import BundleDagBag, sync_bag_to_db
    from airflow.utils.providers_configuration_loader import providers_configuration_loaded

    @providers_configuration_loaded  # as the CLI command is
    def parse() -> dict:
        manager = DagBundlesManager()
        manager.sync_bundles_to_db()
        dags: dict = {}
        for bundle in manager.get_all_dag_bundles():
            bundle.initialize()
            bag = BundleDagBag(dag_folder=bundle.path, bundle_path=bundle.path, bundle_name=bundle.name)
            sync_bag_to_db(bag, bundle.name, bundle.version)
            dags = bag.dags | dags  # the first bundle holding a dag_id wins, as in get_bagged_dag
        return dags

    return parse()


def test_dag(dag_id: str, dags: dict, conf: str | None = None) -> bool:
    """`airflow dags test dag_id` in this process, on the DAG parsed by parsed_dags(); whether its run succeeded."""
    from airflow.cli import cli_parser
    from airflow.cli.commands.dag_command import dag_test

    if dag_id not in dags:
        print(f"airflow dags test {dag_id}: no such DAG (or it failed to parse)", file=sys.stderr, flush=True)
        return False
    args = cli_parser.get_parser().parse_args(["dags", "test", dag_id, *(["--conf", conf] if conf else [])])
    try:
        dag_test(args, dags[dag_id])
    except SystemExit as exc:  # the command ends a failed DAG run with SystemExit("DagRun failed")
        print(f"airflow dags test {dag_id}: {exc}", file=sys.stderr, flush=True)
        return exc.code in (None, 0)
    return True


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m lintas.dag_test", description=__doc__.split("\n\n")[0])
    parser.add_argument("dag_ids", nargs="+")
    parser.add_argument("--conf", help="JSON run conf, for every DAG")
    parser.add_argument("--progress", type=Path, help="append a JSON line as each DAG starts and ends")
    parser.add_argument("--keep-going", action="store_true", help="run the later DAGs after a failed one")
    args = parser.parse_args(argv)
    failed = []
    dags = parsed_dags()
    for dag_id in args.dag_ids:
        _note(args.progress, dag_id=dag_id, event="start")
        ok = test_dag(dag_id, dags, args.conf)
        _note(args.progress, dag_id=dag_id, event="end", ok=ok)
        if not ok:
            failed.append(dag_id)
            if not args.keep_going:
                break
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
