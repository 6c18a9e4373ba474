"""Licensing (DPMPTSP): business permits pulled from the agency's relational database by `updated_at`.

Any SQLAlchemy URL works (MariaDB/MySQL in production, SQLite for the stand-in). The account needs only SELECT.
Each pull reads rows with `updated_at >= since` (the caller subtracts an overlap from the last watermark, because
equal timestamps and late commits happen); the loader stores each record version once.

Rows without a usable `updated_at` would never match `updated_at >= since`: NULL, a MySQL/MariaDB zero date
('0000-00-00 00:00:00', which PyMySQL hands over as that text, not a datetime) or anything before 1900. Every pull
therefore also selects them explicitly (`updated_at is null or updated_at < 1900-01-01`) and quarantines them
(field `updated_at`, rule `required` for NULL, `timestamp` otherwise, located by table and id). The loader keeps a
quarantined record once (by the md5 of its values), so sweeping them each pull stores nothing twice; they never
move the watermark; the pull's report counts them (`rows_without_timestamp`) on every run until the agency fixes
them. The caller also passes the ids it holds only in quarantine for their updated_at (`recheck_ids`): a fix that
stamps such a row with an old time (say its created_at, before the watermark) is still found by its key.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import sqlalchemy as sa
import tenacity
from sqlalchemy.exc import DBAPIError, OperationalError

from lintas.extract.contract import ContractError, Delivery, RowError

log = logging.getLogger(__name__)

# The agency's database keeps local wall-clock time without a zone.
AGENCY_TIMEZONE = ZoneInfo("Asia/Jakarta")
DEFAULT_OVERLAP = timedelta(minutes=30)
FETCH_CHUNK = 5_000
# An updated_at before this is no timestamp a permit can have (zero dates compare below it too): swept, quarantined.
NO_TIMESTAMP_BEFORE = datetime(1900, 1, 1)


@dataclass(frozen=True)
class Table:
    source: str  # audit.load_batch.source and raw table name
    name: str  # table in the agency database
    columns: tuple[str, ...]  # contract columns, in raw-table order

    @property
    def raw_columns(self) -> list[str]:
        return ["_row_number", *self.columns, "_extra"]


IZIN_USAHA = Table(
    source="dpmptsp_izin_usaha",
    name="izin_usaha",
    columns=(
        "id", "nib", "tanggal_terbit", "jenis_pelaku_usaha", "nama_usaha", "nik_penanggung_jawab",
        "nama_penanggung_jawab", "alamat_usaha", "rt_rw", "kelurahan", "kode_wilayah", "skala_usaha", "status",
        "created_at", "updated_at",
    ),
)
IZIN_USAHA_KBLI = Table(
    source="dpmptsp_izin_usaha_kbli",
    name="izin_usaha_kbli",
    columns=("id", "izin_id", "kbli", "nama_kegiatan", "skala_risiko", "updated_at"),
)
TABLES = (IZIN_USAHA, IZIN_USAHA_KBLI)


# MySQL/MariaDB: access denied for user / to database / for a command: retrying cannot help.
ACCESS_DENIED = {1044, 1045, 1142}


class SourceAccessDenied(RuntimeError):
    """Fatal: our credentials were refused. Fails the task loudly, no retry."""


class SourceUnavailable(RuntimeError):
    """The agency database could not be reached after retries (transient: the task retries later)."""


def engine_for(url: str) -> sa.Engine:
    # pool_pre_ping: a connection dropped by the agency's firewall is replaced rather than failing the pull
    return sa.create_engine(url, pool_pre_ping=True, future=True)


def next_since(watermark: datetime | None, overlap: timedelta = DEFAULT_OVERLAP) -> datetime | None:
    return None if watermark is None else watermark - overlap


def _text(value) -> str | None:
    """Every value to text as the agency holds it; timestamps as local ISO without zone, dates as ISO."""
    if value is None:
        return None
    if isinstance(value, datetime):
        return value.replace(tzinfo=None).isoformat(sep=" ")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, bytes):
        value = value.decode("utf-8", errors="replace")
    text = str(value).strip()
    return text or None


def _as_local(value) -> datetime | None:
    """updated_at as an aware datetime (the DB's naive local time, or text from SQLite)."""
    if isinstance(value, datetime):
        parsed = value
    elif isinstance(value, str) and value.strip():
        try:
            parsed = datetime.fromisoformat(value.strip())
        except ValueError:
            return None
    else:
        return None
    return parsed.replace(tzinfo=AGENCY_TIMEZONE) if parsed.tzinfo is None else parsed


_NO_STAMP = "updated_at is NULL: no incremental pull selects it by time; swept each pull until the agency sets it"
_BAD_STAMP = "updated_at is not a usable timestamp (a zero date, unparsable, or before 1900)"


def _source_columns(engine: sa.Engine, table: Table) -> list[str]:
    inspector = sa.inspect(engine)
    if not inspector.has_table(table.name):
        raise ContractError(table.name, "table does not exist in the agency database")
    present = [c["name"] for c in inspector.get_columns(table.name)]
    lowered = {c.lower(): c for c in present}
    missing = [c for c in table.columns if c not in lowered]
    if missing:
        raise ContractError(table.name, f"missing required column(s): {', '.join(missing)}")
    return present


def pull(engine: sa.Engine, table: Table, since: datetime | None, *, recheck_ids: Iterable[str] = (),
         attempts: int = 4, base_delay: float = 2.0) -> Delivery:
    """Read every row of `table` with updated_at >= since, or without a usable updated_at, or whose id is in
    `recheck_ids` (rows held back before for their updated_at: a fix may stamp them with an older time), retrying
    transient connection failures with exponential backoff (at most a minute between tries)."""
    recheck_ids = sorted(set(recheck_ids))

    def before_retry(retry_state: tenacity.RetryCallState) -> None:
        log.warning("%s: transient database error (%s), retry %d/%d in %.0fs", table.name,
                    _error_name(retry_state.outcome.exception()), retry_state.attempt_number, attempts - 1,
                    retry_state.next_action.sleep)
        engine.dispose()  # a fresh connection for the next try

    retrying = tenacity.Retrying(stop=tenacity.stop_after_attempt(attempts),
                                 wait=tenacity.wait_exponential(multiplier=base_delay, max=60.0),
                                 retry=tenacity.retry_if_exception(_transient), before_sleep=before_retry)
    try:
        return retrying(_pull_checked, engine, table, since, recheck_ids)
    except tenacity.RetryError as failed:
        raise SourceUnavailable(f"{table.name}: agency database unreachable after {attempts} attempts "
                                f"({_error_name(failed.last_attempt.exception())})") from None


def _transient(exc: BaseException) -> bool:
    """A dropped or refused connection (retried); any other database error is not."""
    return isinstance(exc, OperationalError) or (isinstance(exc, DBAPIError) and exc.connection_invalidated)


def _error_name(exc: DBAPIError) -> str:
    return type(exc.orig).__name__ if exc.orig else type(exc).__name__


def _pull_checked(engine: sa.Engine, table: Table, since: datetime | None, recheck_ids: list[str]) -> Delivery:
    """One pull; refused credentials become SourceAccessDenied (fatal: retrying cannot help)."""
    try:
        return _pull_once(engine, table, since, recheck_ids)
    except DBAPIError as exc:
        code = exc.orig.args[0] if exc.orig is not None and exc.orig.args else None
        if code in ACCESS_DENIED:
            raise SourceAccessDenied(f"{table.name}: the agency database refused our account "
                                     f"(MySQL error {code}); check the connection's credentials") from None
        raise


def _pull_once(engine: sa.Engine, table: Table, since: datetime | None, recheck_ids: list[str]) -> Delivery:
    present = _source_columns(engine, table)
    lowered = {c.lower(): c for c in present}
    extra = sorted(c for c in present if c.lower() not in table.columns)
    source_table = sa.table(table.name, *(sa.column(c) for c in present))
    updated_at = source_table.c[lowered["updated_at"]]
    query = sa.select(*source_table.c).order_by(updated_at, source_table.c[lowered["id"]])
    since_local = None
    if since is not None:
        since_local = since.astimezone(AGENCY_TIMEZONE).replace(tzinfo=None)
        # rows without a usable updated_at are swept every time: `>= since` alone never finds them
        wanted = [updated_at >= since_local, updated_at.is_(None), updated_at < NO_TIMESTAMP_BEFORE]
        if recheck_ids:
            wanted.append(source_table.c[lowered["id"]].in_([int(i) if i.isdigit() else i for i in recheck_ids]))
        query = query.where(sa.or_(*wanted))
    since_ref = f"{since_local.isoformat(sep=' ')} or no timestamp" if since_local else "start"
    delivery = Delivery(
        source=table.source,
        source_ref=f"{table.name} updated_at>={since_ref}",
        checksum="",
        period=None,
        columns=table.raw_columns,
        extra_columns=extra,
        key_columns=("id",),
    )
    digest = hashlib.sha256()
    watermark = None
    with engine.connect() as conn:
        result = conn.execution_options(stream_results=True).execute(query)
        names = list(result.keys())
        row_number = 0
        while chunk := result.fetchmany(FETCH_CHUNK):
            for record in chunk:
                row_number += 1
                by_name = dict(zip(names, record, strict=True))
                values = {c: _text(by_name[lowered[c]]) for c in table.columns}
                extra_values = {c: _text(by_name[c]) for c in extra}
                line = json.dumps([values, extra_values], sort_keys=True, ensure_ascii=False)
                digest.update(line.encode("utf-8"))
                raw_stamp = by_name[lowered["updated_at"]]
                stamp = _as_local(raw_stamp)
                if values["id"] is None:
                    delivery.errors.append(RowError(row_number, "id", "required", "id is blank", line, table.name))
                    continue
                where = f"{table.name} id {values['id']}"  # the agency's row key: opaque, no personal data
                if values["updated_at"] is None:
                    delivery.errors.append(RowError(row_number, "updated_at", "required", _NO_STAMP, line, where))
                    continue
                if stamp is None or stamp.replace(tzinfo=None) < NO_TIMESTAMP_BEFORE:
                    delivery.errors.append(RowError(row_number, "updated_at", "timestamp", _BAD_STAMP, line, where))
                    continue
                watermark = stamp if watermark is None or stamp > watermark else watermark
                delivery.rows.append((row_number, *values.values(),
                                      json.dumps(extra_values) if extra_values else None))
    delivery.checksum = f"{table.name}:{digest.hexdigest()}"
    delivery.watermark = watermark
    unstamped = without_timestamp(delivery)
    if unstamped:
        log.warning("%s: %d row(s) without a usable updated_at, quarantined (once) and swept again every pull until "
                    "the agency sets it", table.name, unstamped)
    return delivery


def without_timestamp(delivery: Delivery) -> int:
    """Rows of a pull held back for lack of a usable updated_at (new or quarantined by an earlier pull)."""
    return sum(e.field == "updated_at" for e in delivery.errors)
