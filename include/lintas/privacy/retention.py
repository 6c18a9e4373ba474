"""Retention: how long each layer keeps personal data, and the purge that applies it (DAG lintas_retention).

The rules, in one place (docs/privacy.md explains them):

  raw, DTKS (monthly full snapshots)  the newest `dtks_keep_periods` accepted months; a month re-delivered keeps
                                      only its latest accepted batch. The member history marts are rebuilt from
                                      the months kept, so they cover that horizon; household history beyond it
                                      lives in the dbt snapshot snapshots.snap_dtks_household_status.
  raw, incremental (Dapodik, permits) every record's newest accepted version is kept however old its batch is;
                                      older versions go once `superseded_after_days` have passed.
  raw, UMKM workbooks                 the latest accepted delivery of each workbook name; earlier ones go after
                                      `superseded_after_days`.
  raw, rejected batches               after `rejected_after_days` (time to investigate with the agency).
  raw, batches not gated yet          never (the gate has not spoken).
  quarantine                          raw_record (the row as delivered) after `quarantine_after_days`; the rule,
                                      field, reason and row number stay, so counts per batch do not change.
  audit                               kept: counts and names only, no personal data.
  marts                               rebuilt by every build from what raw keeps (nothing to purge).
  snapshots                           closed versions (dbt_valid_to) older than `snapshot_years`.

A purge never changes a count in audit.load_batch: it sets `purged_at` and adds to `rows_purged`, and the
reconciliation extracted = loaded + quarantined + duplicate still holds. Nothing here logs a row value.
"""

from __future__ import annotations

import dataclasses
import json
import logging
from collections import Counter
from dataclasses import dataclass

from psycopg import sql

from lintas import warehouse
from lintas.load.raw import RunContext

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class RetentionRules:
    dtks_keep_periods: int = 24  # two years of monthly register snapshots
    superseded_after_days: int = 90  # a replaced version stays for a quarter: complaints, audits, corrections
    rejected_after_days: int = 90
    quarantine_after_days: int = 180
    snapshot_years: int = 10  # household status history (archives of social assistance decisions)


RULES = RetentionRules()

# incremental sources: key and the newest-first order of their versions, exactly as staging ranks them
# (dbt_project/models/staging/*: lintas.accepted_versions) -- the version staging calls current is kept
INCREMENTAL = {
    "disdik_peserta_didik": ("peserta_didik_id", ["_batch_id", "_page", "_row_number"],
                             "r.updated_at::timestamptz desc, r._batch_id desc, r._page desc, r._row_number desc"),
    "dpmptsp_izin_usaha": ("id", ["_batch_id", "_row_number"],
                           "r.updated_at::timestamp desc, r._batch_id desc, r._row_number desc"),
    "dpmptsp_izin_usaha_kbli": ("id", ["_batch_id", "_row_number"],
                                "r.updated_at::timestamp desc, r._batch_id desc, r._row_number desc"),
}
# whole-batch sources: which accepted batches staging reads (the latest per period / per workbook name)
DTKS = "dinsos_dtks"
UMKM = "diskopindag_umkm"
RAW_SOURCES = [DTKS, UMKM, *INCREMENTAL]

_SUPERSEDED_BATCHES = {
    DTKS: """
        select batch_id from (
            select batch_id, loaded_at,
                   row_number() over (partition by period, kode_kabkota order by batch_id desc) as recency,
                   dense_rank() over (order by period desc) as period_rank
            from audit.load_batch where source = %(source)s and status = 'accepted'
        ) b
        where loaded_at < now() - make_interval(days => %(days)s)
          and (recency > 1 or period_rank > %(keep_periods)s)""",
    UMKM: """
        select batch_id from (
            select batch_id, loaded_at,
                   row_number() over (partition by source_ref order by batch_id desc) as recency
            from audit.load_batch where source = %(source)s and status = 'accepted'
        ) b
        where loaded_at < now() - make_interval(days => %(days)s) and recency > 1""",
}


def _table(source: str) -> sql.Composable:
    return sql.Identifier("raw", source)


def _purge_batches(conn, source: str, batch_ids: list[int]) -> Counter:
    if not batch_ids:
        return Counter()
    rows = conn.execute(sql.SQL(
        "with deleted as (delete from {} where _batch_id = any(%s) returning _batch_id)"
        " select _batch_id, count(*) from deleted group by 1").format(_table(source)), (batch_ids,))
    return Counter(dict(rows.fetchall()))


def _purge_superseded_versions(conn, source: str, days: int) -> Counter:
    key, primary_key, newest_first = INCREMENTAL[source]
    t_pk = sql.SQL(", ").join(sql.SQL("t.") + sql.Identifier(c) for c in primary_key)
    r_pk = sql.SQL(", ").join(sql.SQL("r.") + sql.Identifier(c) for c in primary_key)
    query = sql.SQL("""
        with ranked as (
            select {r_pk}, b.loaded_at,
                   row_number() over (partition by r.{key} order by {order}) as recency
            from {table} r join audit.load_batch b on b.batch_id = r._batch_id
            where b.source = %(source)s and b.status = 'accepted'
        ),
        deleted as (
            delete from {table} t using ranked
            where ({t_pk}) = ({ranked_pk}) and ranked.recency > 1
              and ranked.loaded_at < now() - make_interval(days => %(days)s)
            returning t._batch_id
        )
        select _batch_id, count(*) from deleted group by 1""").format(
        r_pk=r_pk, key=sql.Identifier(key), order=sql.SQL(newest_first), table=_table(source), t_pk=t_pk,
        ranked_pk=sql.SQL(", ").join(sql.SQL("ranked.") + sql.Identifier(c) for c in primary_key))
    return Counter(dict(conn.execute(query, {"source": source, "days": days}).fetchall()))


def _mark_purged(conn, removed: Counter) -> None:
    for batch_id, rows in removed.items():
        conn.execute("update audit.load_batch set purged_at = now(), rows_purged = rows_purged + %s"
                     " where batch_id = %s", (rows, batch_id))


def purge_source(conn, source: str, rules: RetentionRules = RULES) -> Counter:
    """Remove the raw rows of one source that its rule no longer keeps; returns batch id -> rows removed."""
    rejected = [r[0] for r in conn.execute(
        "select batch_id from audit.load_batch where source = %s and status = 'rejected'"
        " and loaded_at < now() - make_interval(days => %s)", (source, rules.rejected_after_days))]
    removed = _purge_batches(conn, source, rejected)
    if source in INCREMENTAL:
        removed += _purge_superseded_versions(conn, source, rules.superseded_after_days)
    else:
        batch_ids = [r[0] for r in conn.execute(_SUPERSEDED_BATCHES[source], {
            "source": source, "days": rules.superseded_after_days, "keep_periods": rules.dtks_keep_periods})]
        removed += _purge_batches(conn, source, batch_ids)
    _mark_purged(conn, removed)
    return removed


def purge_quarantine(conn, rules: RetentionRules = RULES) -> int:
    return conn.execute(
        "update quarantine.row_error set raw_record = null, purged_at = now()"
        " where purged_at is null and quarantined_at < now() - make_interval(days => %s)",
        (rules.quarantine_after_days,)).rowcount


def purge_snapshots(conn, rules: RetentionRules = RULES) -> int:
    """Closed versions of the dbt snapshots older than the rule (open ones are the current state)."""
    tables = [r[0] for r in conn.execute(
        "select table_name from information_schema.columns where table_schema = 'snapshots'"
        " and column_name = 'dbt_valid_to'")]
    purged = 0
    for table in tables:
        purged += conn.execute(sql.SQL(
            "delete from {} where dbt_valid_to < now() - make_interval(years => %s)").format(
            sql.Identifier("snapshots", table)), (rules.snapshot_years,)).rowcount
    return purged


def run(ctx: RunContext, rules: RetentionRules, url: str) -> dict:
    """Apply every rule, each source in its own transaction; record the run in audit.retention_run."""
    with warehouse.connect(url) as conn:
        run_id = conn.execute(
            "insert into audit.retention_run (airflow_dag_id, airflow_run_id, rules) values (%s, %s, %s)"
            " returning retention_run_id",
            (ctx.dag_id, ctx.run_id, json.dumps(dataclasses.asdict(rules)))).fetchone()[0]
        per_source: dict[str, int] = {}
        batches = 0
        for source in RAW_SOURCES:
            with conn.transaction():
                removed = purge_source(conn, source, rules)
            per_source[source] = sum(removed.values())
            batches += len(removed)
        with conn.transaction():
            quarantine = purge_quarantine(conn, rules)
            snapshots = purge_snapshots(conn, rules)
        summary = {"retention_run_id": run_id, "raw_rows_purged": sum(per_source.values()),
                   "batches_touched": batches, "quarantine_rows_purged": quarantine,
                   "snapshot_rows_purged": snapshots, "per_source": per_source}
        conn.execute(
            "update audit.retention_run set raw_rows_purged = %s, batches_touched = %s,"
            " quarantine_rows_purged = %s, snapshot_rows_purged = %s, per_source = %s, finished_at = now()"
            " where retention_run_id = %s",
            (summary["raw_rows_purged"], batches, quarantine, snapshots, json.dumps(per_source), run_id))
    log.info("retention: %s raw rows removed from %s batches, %s quarantined rows' contents, %s snapshot rows",
             summary["raw_rows_purged"], batches, quarantine, snapshots)
    return summary
