"""Load deliveries into raw tables with PostgreSQL COPY, one transaction per delivery."""

from __future__ import annotations

import hashlib
import logging
import re
import traceback
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
    rows_duplicate: int = 0
    rows_quarantined: int = 0

    def add(self, loaded: Loaded | None, delivery: Delivery) -> None:
        if loaded is None:
            self.skipped.append(delivery.source_ref)
            return
        self.loaded.append(loaded.batch_id)
        self.rows_loaded += loaded.rows_stored
        self.rows_duplicate += loaded.rows_duplicate
        self.rows_quarantined += loaded.rows_quarantined

    def as_dict(self) -> dict:
        return {
            "source": self.source,
            "loaded": self.loaded,
            "rejected": self.rejected,
            "skipped": self.skipped,
            "rows_loaded": self.rows_loaded,
            "rows_duplicate": self.rows_duplicate,
            "rows_quarantined": self.rows_quarantined,
        }


def _is_value_column(column: str) -> bool:
    return not column.startswith("_") or column == "_extra"


class _NothingNew(Exception):
    """Every row (and every bad record) of an incremental pull was held before: roll back, record no batch."""


@dataclass(frozen=True)
class Loaded:
    batch_id: int
    rows_stored: int
    rows_duplicate: int
    rows_quarantined: int


def load_delivery(conn: psycopg.Connection, delivery: Delivery, table: str, ctx: RunContext) -> Loaded | None:
    """Load one delivery atomically. Returns the new batch, or None if nothing in it is new.

    File deliveries are deduplicated by checksum. Incremental deliveries (key_columns set) are also deduplicated
    row by row: a version (key + values) already held by a non-rejected batch is counted in rows_duplicate and
    not stored again, so overlapping pulls and re-runs never duplicate rows.
    """
    try:
        with conn.transaction():
            batch_id = _insert_batch(conn, delivery, ctx)
            if batch_id is None:
                return None
            errors = delivery.errors
            if delivery.key_columns:
                stored = _copy_new_versions(conn, delivery, table, batch_id)
                errors = _new_errors(conn, delivery)
                if stored == 0 and not errors:
                    raise _NothingNew
            else:
                _copy_rows(conn, table, batch_id, delivery.columns, delivery.rows)
                stored = len(delivery.rows)
            # re-sent rows and re-sent bad records (seen by an earlier batch) are counted, not stored again
            duplicates = len(delivery.rows) - stored + len(delivery.errors) - len(errors)
            conn.execute(
                "update audit.load_batch set rows_loaded = %s, rows_quarantined = %s, rows_duplicate = %s"
                " where batch_id = %s",
                (stored, len(errors), duplicates, batch_id),
            )
            _copy_errors(conn, delivery.source, errors, batch_id)
    except _NothingNew:
        log.info("%s: all %d row(s) were stored by earlier batches; nothing new", delivery.source_ref,
                 len(delivery.rows))
        return None
    except psycopg.DataError as exc:  # the transaction rolled back: nothing of this delivery is stored
        raise ContractError(delivery.source_ref, _refused_reason(exc, delivery)) from None
    # the gate and the staging views plan their queries on these statistics; autovacuum may be hours late
    conn.execute(sql.SQL("analyze {}").format(sql.Identifier(*table.split("."))))
    log.info(
        "loaded %s batch %s: %d rows stored, %d already held, %d quarantined, %d extra column(s)",
        delivery.source_ref, batch_id, stored, duplicates, len(errors), len(delivery.extra_columns),
    )
    for e in errors[:20]:
        log.warning("quarantined %s", e.describe(delivery.source_ref))
    if delivery.extra_columns:
        log.warning("%s: schema drift, extra column(s) kept in _extra: %s",
                    delivery.source_ref, ", ".join(delivery.extra_columns))
    return Loaded(batch_id, stored, duplicates, len(errors))


def _insert_batch(conn: psycopg.Connection, delivery: Delivery, ctx: RunContext) -> int | None:
    row = conn.execute(
        """
        insert into audit.load_batch
            (source, source_ref, checksum, period, status, rows_extracted, extra_columns,
             airflow_dag_id, airflow_run_id, rows_loaded, rows_quarantined, watermark, kode_kabkota)
        values (%s, %s, %s, %s, 'loaded', %s, %s, %s, %s, %s, %s, %s, %s)
        on conflict (source, checksum) do nothing
        returning batch_id
        """,
        (
            delivery.source, delivery.source_ref, delivery.checksum, delivery.period,
            delivery.rows_extracted, delivery.extra_columns, ctx.dag_id, ctx.run_id,
            len(delivery.rows), len(delivery.errors), delivery.watermark, delivery.kode_kabkota,
        ),
    ).fetchone()
    return None if row is None else row[0]


def _copy_rows(conn: psycopg.Connection, table: str, batch_id: int, columns: list[str], rows) -> None:
    schema, name = table.split(".")
    copy_stmt = sql.SQL("copy {} ({}) from stdin").format(
        sql.Identifier(schema, name),
        sql.SQL(", ").join(sql.Identifier(c) for c in ["_batch_id", *columns]),
    )
    with conn.cursor() as cur, cur.copy(copy_stmt) as copy:
        for index, values in enumerate(rows):
            try:
                copy.write_row((batch_id, *values))
            except psycopg.DataError as exc:  # refused before it left the client (e.g. a NUL in text)
                exc.lintas_row_index = index
                exc.lintas_table = table
                raise


_COPY_CONTEXT = re.compile(r"COPY (?P<table>\w+), line (?P<line>\d+)(?:, column (?P<column>\w+))?")


def _refused_reason(exc: psycopg.DataError, delivery: Delivery) -> str:
    """Why PostgreSQL refused a delivery, naming the table, the delivery's row and the column where known.
    Never the server's message text: it may quote the refused value."""
    index, column, table = getattr(exc, "lintas_row_index", None), None, getattr(exc, "lintas_table", None)
    found = _COPY_CONTEXT.search(exc.diag.context or "") if index is None else None
    if found:
        index, column, table = int(found["line"]) - 1, found["column"], found["table"]
    where = []
    if table:
        where.append(f"table {table}")
    if index is not None and table and not table.endswith("row_error") and index < len(delivery.rows):
        lineage = dict(zip(delivery.columns, delivery.rows[index], strict=False))
        if lineage.get("_sheet"):
            where.append(f"sheet {lineage['_sheet']!r}")
        where.append(f"row {lineage['_row_number']}" if "_row_number" in lineage else f"record {index + 1}")
    elif index is not None:
        where.append(f"record {index + 1}")
    if column:
        where.append(f"field {column}")
    what = "a NUL character" if exc.sqlstate is None and "NUL" in str(exc) else \
        f"{type(exc).__name__} (SQLSTATE {exc.sqlstate})"
    return f"PostgreSQL refused a value at {' '.join(where) or 'an unknown row'}: {what}"


def _copy_new_versions(conn: psycopg.Connection, delivery: Delivery, table: str, batch_id: int) -> int:
    """COPY into a scratch table, then keep versions no earlier non-rejected batch (nor this one) holds.

    A version is the key plus an md5 of the record's values (lineage excluded), computed in PostgreSQL, so a
    re-sent, unchanged record hashes the same whichever pull or page brought it.
    """
    schema, name = table.split(".")
    target = sql.Identifier(schema, name)
    conn.execute("drop table if exists pg_temp._incoming")
    conn.execute(sql.SQL("create temporary table _incoming as select * from {} with no data").format(target))
    _copy_rows(conn, "pg_temp._incoming", batch_id, delivery.columns, delivery.rows)
    values = [sql.Identifier(c) for c in delivery.columns if _is_value_column(c)]
    row_hash = sql.SQL("md5(row({})::text)").format(sql.SQL(", ").join(values))
    keys = [sql.Identifier(c) for c in (*delivery.key_columns, "_row_hash")]
    key_match = sql.SQL(" and ").join(sql.SQL("r.{0} = i.{0}").format(k) for k in keys)
    columns = sql.SQL(", ").join(sql.Identifier(c) for c in ["_batch_id", *delivery.columns])
    return conn.execute(
        sql.SQL(
            """
            insert into {target} ({columns}, _row_hash)
            select distinct on ({keys}) {columns}, _row_hash
            from (select {columns}, {row_hash} as _row_hash from pg_temp._incoming) as i
            where not exists (
                select 1 from {target} r join audit.load_batch b on b.batch_id = r._batch_id
                where {key_match} and b.status <> 'rejected'
            )
            order by {keys}, _row_number
            """
        ).format(target=target, columns=columns, row_hash=row_hash, keys=sql.SQL(", ").join(keys),
                 key_match=key_match)
    ).rowcount


def _new_errors(conn: psycopg.Connection, delivery: Delivery) -> list:
    """Bad records an overlapping pull sends again were quarantined before: keep only the ones not yet held."""
    if not delivery.errors:
        return []
    digests = [hashlib.md5(e.raw_record.encode("utf-8"), usedforsecurity=False).hexdigest()
               for e in delivery.errors]
    held = {r[0] for r in conn.execute(
        "select md5(q.raw_record) from quarantine.row_error q join audit.load_batch b using (batch_id)"
        " where q.source = %s and b.status <> 'rejected' and md5(q.raw_record) = any(%s)",
        (delivery.source, digests),
    )}
    return [e for e, digest in zip(delivery.errors, digests, strict=True) if digest not in held]


def _copy_errors(conn: psycopg.Connection, source: str, errors: list, batch_id: int) -> None:
    if not errors:
        return
    with conn.cursor() as cur, cur.copy(
        "copy quarantine.row_error"
        " (batch_id, source, location, row_number, field, rule, reason, raw_record, record_key) from stdin"
    ) as copy:
        for e in errors:
            copy.write_row((batch_id, source, e.location, e.row_number, e.field, e.rule, e.reason, e.raw_record,
                            e.record_key))


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


@dataclass(frozen=True)
class _Known:
    batch_id: int
    source_ref: str
    status: str


def _known_batches(conn: psycopg.Connection, source: str) -> dict[str, _Known]:
    """Every batch of the source by its checksum key (a delivery's sha256, or a rejection's own key)."""
    rows = conn.execute("select checksum, batch_id, source_ref, status from audit.load_batch where source = %s",
                        (source,))
    return {checksum: _Known(*rest) for checksum, *rest in rows}


def file_rejection_key(checksum: str, name: str) -> str:
    """A file's rejection is keyed by its bytes *and* its name: renaming a misnamed file, or delivering
    corrected bytes, is a new delivery that is read again; the same file seen again is not re-judged."""
    return f"rejected:{checksum}:{name}"


def ingest_files(
    conn: psycopg.Connection,
    *,
    source: str,
    files: Iterable[Path],
    parse: Callable[[Path], Delivery],
    table: str,
    ctx: RunContext,
) -> IngestReport:
    """Load every not-yet-seen file. Each file is judged alone: a contract breach, a re-sent earlier delivery,
    a value PostgreSQL refuses, or any unexpected failure rejects that file only, and the pass goes on.

    A rejected file left in the outbox is rejected once (one audit row, one failed run) and skipped quietly on
    later runs. A failure nobody foresaw is not a verdict on the bytes: it is recorded per run, so the file is
    tried again (and reported again) on every run until it loads or is removed.
    """
    report = IngestReport(source=source)
    known = _known_batches(conn, source)
    for path in sorted(files):
        try:
            _ingest_file(conn, path, known, report, source=source, parse=parse, table=table, ctx=ctx)
        except (psycopg.OperationalError, psycopg.InterfaceError):
            raise  # the warehouse itself is unreachable: a retry may help, a rejection would be wrong
        except Exception as exc:
            reason = f"could not be read: unexpected {type(exc).__name__} (the task log has where)"
            # the traceback's frames only: an exception's message may quote a value of the file
            log.error("%s: %s\n%s", path.name, reason, "".join(traceback.format_tb(exc.__traceback__)))
            _reject(conn, report, source, path.name, f"error:{ctx.run_id}:{path.name}", reason, ctx)
    return report


def _ingest_file(conn: psycopg.Connection, path: Path, known: dict[str, _Known], report: IngestReport, *,
                 source: str, parse: Callable[[Path], Delivery], table: str, ctx: RunContext) -> None:
    name = path.name
    checksum = sha256_file(path)
    rejection_key = file_rejection_key(checksum, name)
    if rejection_key in known:
        log.info("%s: rejected before (batch %s), skipped; deliver corrected bytes to read it again", name,
                 known[rejection_key].batch_id)
        report.skipped.append(name)
        return
    earlier = known.get(checksum)
    if earlier is not None:
        if earlier.source_ref == name:
            report.skipped.append(name)  # the same file seen again: already loaded, nothing to do
            return
        verdict = "was rejected" if earlier.status == "rejected" else "already loaded"
        reason = f"identical to {earlier.source_ref}, {verdict} as batch {earlier.batch_id}"
        _reject(conn, report, source, name, rejection_key, reason, ctx)
        known[rejection_key] = _Known(-1, name, "rejected")
        return
    try:
        delivery = parse(path)
        loaded = load_delivery(conn, delivery, table, ctx)
    except ContractError as exc:
        _reject(conn, report, source, name, rejection_key, exc.reason, ctx)
        known[rejection_key] = _Known(-1, name, "rejected")
        return
    report.add(loaded, delivery)
    if loaded is not None:
        known[checksum] = _Known(loaded.batch_id, name, "loaded")


def _reject(conn: psycopg.Connection, report: IngestReport, source: str, name: str, key: str, reason: str,
            ctx: RunContext) -> None:
    record_rejection(conn, source, name, key, reason, ctx)
    report.rejected.append({"source_ref": name, "reason": reason})


def last_watermark(conn: psycopg.Connection, source: str):
    """Where the next incremental pull starts (before the overlap): the newest record of any batch not rejected.

    A rejected batch does not move the watermark, so its records are pulled and gated again next time.
    """
    row = conn.execute(
        "select max(watermark) from audit.load_batch where source = %s and status <> 'rejected'", (source,)
    ).fetchone()
    return row[0]
