"""What each DAG task does, importable and testable without a running Airflow.

Task bodies return small dicts of ids, counts and reasons (they go to XCom): never personal data.
"""

from __future__ import annotations

import logging
from collections import Counter
from dataclasses import dataclass

from lintas import settings, warehouse
from lintas.extract import dtks
from lintas.load.raw import RunContext, ingest_files
from lintas.quality import gate
from lintas.transform import dbt

log = logging.getLogger(__name__)


class PipelineFailed(RuntimeError):
    """The run must fail visibly: a gate failed or a delivery was rejected. Message names what, never values."""


@dataclass(frozen=True)
class FileSource:
    """A source delivered as files into an outbox folder."""

    name: str  # audit.load_batch.source and the raw table name
    agency: str  # outbox folder
    gate: str  # expectations/checkpoints/<gate>.yml
    table: str
    reader: object  # module with matches(path) and read(path)


DINSOS_DTKS = FileSource(name=dtks.SOURCE, agency="dinsos", gate="raw_dinsos_dtks",
                         table="raw.dinsos_dtks", reader=dtks)
FILE_SOURCES = {s.name: s for s in (DINSOS_DTKS,)}


def run_context(airflow_context) -> RunContext:
    """Lineage for a load from an Airflow task's context."""
    return RunContext(airflow_context["dag"].dag_id, airflow_context["run_id"])


def prepare_warehouse() -> dict:
    url = warehouse.prepare()
    return {"warehouse": warehouse.redact(url)}


def extract_files(source_name: str, ctx: RunContext) -> dict:
    source = FILE_SOURCES[source_name]
    folder = settings.outbox_dir(source.agency)
    if not folder.is_dir():
        raise PipelineFailed(f"outbox folder for {source.agency} does not exist: {folder}")
    files = [p for p in folder.iterdir() if p.is_file() and source.reader.matches(p)]
    ignored = sorted(p.name for p in folder.iterdir() if p.is_file() and p not in files)
    if ignored:
        log.warning("%s outbox: %d file(s) do not match the contract's file name and were ignored: %s",
                    source.agency, len(ignored), ", ".join(ignored))
    with warehouse.connect() as conn:
        report = ingest_files(conn, source=source.name, files=files, parse=source.reader.read,
                              table=source.table, ctx=ctx)
    log.info("%s: %d new batch(es), %d skipped, %d rejected, %d rows loaded, %d quarantined",
             source.name, len(report.loaded), len(report.skipped), len(report.rejected),
             report.rows_loaded, report.rows_quarantined)
    return report.as_dict()


def gate_source(source_name: str, extract_report: dict, ctx: RunContext) -> dict:
    """Gate every loaded-but-ungated batch of the source. Fails if a gate failed or a file was rejected."""
    source = FILE_SOURCES[source_name]
    results = [gate.run_gate(source.gate, batch_id, run_id=ctx.run_id)
               for batch_id in gate.pending_batches(source.name)]
    problems = [r.summary() for r in results if not r.passed]
    problems += [f"delivery {r['source_ref']} rejected: {r['reason']}" for r in extract_report.get("rejected", [])]
    outcome = {
        "source": source.name,
        "accepted": [r.batch_id for r in results if r.passed],
        "rejected": [r.batch_id for r in results if not r.passed],
        "warnings": sum(len(r.warnings) for r in results),
        "data_docs": str(gate.data_docs_index()),
    }
    if problems:
        raise PipelineFailed(f"{source.name}: held back from the warehouse\n" + "\n".join(problems))
    return outcome


def build_warehouse(ctx: RunContext | None = None) -> dict:
    """dbt build; every node's result goes to audit.dbt_run_result, on failure too."""
    ctx = ctx or RunContext()
    try:
        outcome = dbt.build()
    except dbt.DbtFailed as failure:
        dbt.record(failure.outcome, dag_id=ctx.dag_id, run_id=ctx.run_id)
        raise
    dbt.record(outcome, dag_id=ctx.dag_id, run_id=ctx.run_id)
    return {"dbt": dict(Counter(r["status"] for r in outcome.results))}
