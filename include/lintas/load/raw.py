"""Load deliveries into raw tables with PostgreSQL COPY, one transaction per delivery."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

import psycopg
from psycopg import sql

from lintas.extract.contract import ContractError, Delivery, sha256_file

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class RunContext:
    """Who is loading: the Airflow DAG and run (or a CLI caller)."""

    dag_id: str | None = None
    run_id: str | None = None


@dataclass
class IngestReport:
    """Outcome of one pass over a source. Holds file names, ids, counts and reasons: no row values."""

    source: str
    loaded: list[int] = field(default_factory=list)  # batch ids
    rejected: list[dict] = field(default_factory=list)  # {"source_ref", "reason"}
    skipped: list[str] = field(default_factory=list)  # already-loaded deliveries
    rows_loaded: int = 0
    rows_quarantined: int = 0

    def as_dict(self) -> dict:
        return {
            "source": self.source,
            "loaded": self.loaded,
            "rejected": self.rejected,
            "skipped": self.skipped,
            "rows_loaded": self.rows_loaded,
            "rows_quarantined": self.rows_quarantined,
        }


def known_checksums(conn: psycopg.Connection, source: str) -> set[str]:
    rows = conn.execute("select checksum from audit.load_batch where source = %s", (source,))
    return {r[0] for r in rows}


def load_delivery(conn: psycopg.Connection, delivery: Delivery, table: str, ctx: RunContext) -> int | None:
    """Load one delivery atomically. Returns the new batch id, or None if this delivery was loaded before."""
    with conn.transaction():
        row = conn.execute(
            """
            insert into audit.load_batch
                (source, source_ref, checksum, period, status, rows_extracted, extra_columns,
                 airflow_dag_id, airflow_run_id, rows_loaded, rows_quarantined)
            values (%s, %s, %s, %s, 'loaded', %s, %s, %s, %s, %s, %s)
            on conflict (source, checksum) do nothing
            returning batch_id
            """,
            (
                delivery.source, delivery.source_ref, delivery.checksum, delivery.period,
                delivery.rows_extracted, delivery.extra_columns, ctx.dag_id, ctx.run_id,
                len(delivery.rows), len(delivery.errors),
            ),
        ).fetchone()
        if row is None:
            return None
        batch_id = row[0]
        schema, name = table.split(".")
        copy_stmt = sql.SQL("copy {} ({}) from stdin").format(
            sql.Identifier(schema, name),
            sql.SQL(", ").join(sql.Identifier(c) for c in ["_batch_id", *delivery.columns]),
        )
        with conn.cursor() as cur:
            with cur.copy(copy_stmt) as copy:
                for values in delivery.rows:
                    copy.write_row((batch_id, *values))
            if delivery.errors:
                with cur.copy(
                    "copy quarantine.row_error (batch_id, source, row_number, field, rule, reason, raw_record)"
                    " from stdin"
                ) as copy:
                    for e in delivery.errors:
                        copy.write_row((batch_id, delivery.source, e.row_number, e.field, e.rule, e.reason,
                                        e.raw_record))
    log.info(
        "loaded %s batch %s: %d rows, %d quarantined, %d extra column(s)",
        delivery.source_ref, batch_id, len(delivery.rows), len(delivery.errors), len(delivery.extra_columns),
    )
    for e in delivery.errors[:20]:
        log.warning("quarantined %s", e.describe(delivery.source_ref))
    if delivery.extra_columns:
        log.warning("%s: schema drift, extra column(s) kept in _extra: %s",
                    delivery.source_ref, ", ".join(delivery.extra_columns))
    return batch_id


def record_rejection(
    conn: psycopg.Connection, source: str, source_ref: str, checksum: str, reason: str, ctx: RunContext
) -> None:
    with conn.transaction():
        conn.execute(
            """
            insert into audit.load_batch
                (source, source_ref, checksum, status, rejection_reason, airflow_dag_id, airflow_run_id)
            values (%s, %s, %s, 'rejected', %s, %s, %s)
            on conflict (source, checksum) do nothing
            """,
            (source, source_ref, checksum, reason, ctx.dag_id, ctx.run_id),
        )
    log.error("rejected %s: %s", source_ref, reason)


def ingest_files(
    conn: psycopg.Connection,
    *,
    source: str,
    files: Iterable[Path],
    parse: Callable[[Path], Delivery],
    table: str,
    ctx: RunContext,
) -> IngestReport:
    """Load every not-yet-seen file; a contract breach rejects that file only."""
    report = IngestReport(source=source)
    seen = known_checksums(conn, source)
    for path in sorted(files):
        checksum = sha256_file(path)
        if checksum in seen:
            report.skipped.append(path.name)
            continue
        try:
            delivery = parse(path)
        except ContractError as exc:
            record_rejection(conn, source, path.name, checksum, exc.reason, ctx)
            report.rejected.append({"source_ref": path.name, "reason": exc.reason})
            continue
        batch_id = load_delivery(conn, delivery, table, ctx)
        seen.add(checksum)
        if batch_id is None:
            report.skipped.append(path.name)
            continue
        report.loaded.append(batch_id)
        report.rows_loaded += len(delivery.rows)
        report.rows_quarantined += len(delivery.errors)
    return report
