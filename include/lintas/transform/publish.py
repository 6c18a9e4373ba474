"""Write-audit-publish of the marts.

dbt writes the marts into the build schema (`marts_build`, see dbt_project/macros/generate_schema_name.sql), the
mart gate audits them there (lintas.quality.gate.run_mart_gate), and `publish` swaps the build schema into the
published `marts` in ONE transaction: analysts see either the whole previous version or the whole new one, never
a mix, and a failed build, dbt test or gate leaves `marts` exactly as it was. The previous version is kept (as
`marts_previous`) until the swap has committed, then dropped.

Only tables may be published: they hold their rows, so nothing in `marts` depends on the build schema after
the swap. Incremental models or snapshots do not belong in `marts` (each build starts from an empty build
schema).
"""

from __future__ import annotations

import json
import logging
import time

from psycopg import sql

from lintas import access, warehouse

log = logging.getLogger(__name__)

PUBLISHED_SCHEMA = "marts"
BUILD_SCHEMA = "marts_build"
PREVIOUS_SCHEMA = "marts_previous"
_LOCK = "select pg_advisory_xact_lock(hashtext('lintas.publish'))"
DROP_PREVIOUS_LOCK_TIMEOUT = "60s"  # an analyst's long query on the old version may hold the drop back


class PublishRefused(RuntimeError):
    """Nothing was swapped. The message names why (checks, tables), never row values."""


def reset_build_schema(url: str) -> None:
    """An empty build schema for a new build: leftovers of a failed build are never published."""
    with warehouse.connect(url) as conn, conn.transaction():
        conn.execute(_LOCK)
        conn.execute(sql.SQL("drop schema if exists {} cascade").format(sql.Identifier(BUILD_SCHEMA)))


def _relations(conn, schema: str) -> dict[str, str]:
    """name -> relkind of the tables, views and other relations of a schema (indexes and sequences aside).
    Partitions are part of their partitioned table ('p'): they live in its schema (macros/partitioning.sql) and
    move with it when the schema is renamed, and are gated, counted and granted through it."""
    rows = conn.execute(
        "select c.relname, c.relkind from pg_class c join pg_namespace n on n.oid = c.relnamespace"
        " where n.nspname = %s and c.relkind not in ('i', 'I', 'S', 't', 'c') and not c.relispartition order by 1",
        (schema,),
    )
    return dict(rows.fetchall())


def _schema_exists(conn, schema: str) -> bool:
    return conn.execute("select 1 from pg_namespace where nspname = %s", (schema,)).fetchone() is not None


def _gate_verdicts(conn, run_id: str, suites: list[str]) -> dict[str, bool]:
    """suite -> passed (no critical failure), from this run's latest validation of each mart suite."""
    rows = conn.execute(
        """
        select suite, bool_and(success or severity <> 'critical')
        from (
            select *, max(validated_at) over (partition by suite) as latest
            from audit.gate_result
            where batch_id is null and airflow_run_id = %s and suite = any(%s)
        ) g
        where validated_at = latest
        group by suite
        """,
        (run_id, suites),
    )
    return dict(rows.fetchall())


def _grants(conn, schema: str) -> list[sql.Composable]:
    """GRANT statements that give the schema's and its tables' grantees the same rights on the new version."""
    schema_rows = conn.execute(
        "select distinct a.grantee, a.privilege_type from pg_namespace n, aclexplode(n.nspacl) a"
        " where n.nspname = %s and a.grantee <> n.nspowner", (schema,)).fetchall()
    table_rows = conn.execute(
        "select distinct a.grantee, a.privilege_type from pg_class c join pg_namespace n on n.oid = c.relnamespace,"
        " aclexplode(c.relacl) a where n.nspname = %s and c.relkind in ('r', 'p') and not c.relispartition"
        " and a.grantee <> c.relowner",
        (schema,)).fetchall()
    names = dict(conn.execute("select oid, rolname from pg_roles").fetchall())

    def role(oid) -> sql.Composable:
        return sql.SQL("public") if oid == 0 else sql.Identifier(names[oid])

    target = sql.Identifier(PUBLISHED_SCHEMA)
    statements = [sql.SQL("grant {} on schema {} to {}").format(sql.SQL(priv), target, role(grantee))
                  for grantee, priv in schema_rows]
    statements += [sql.SQL("grant {} on all tables in schema {} to {}").format(sql.SQL(priv), target, role(grantee))
                   for grantee, priv in table_rows]
    return statements


def publish(*, dag_id: str | None, run_id: str | None, url: str) -> dict:
    """Swap the gated build schema into `marts` in one transaction and record the publish event.

    Refuses (PublishRefused, nothing swapped) unless every table in the build schema is a table and passed its
    mart suite in this run. Idempotent per run: a retry after a committed swap returns the recorded event."""
    if not run_id:
        raise PublishRefused("publish needs the run id its mart gate recorded its checks under")
    with warehouse.connect(url) as conn:
        access.ensure_roles(conn)  # cluster-wide, outside the transaction: creating them may race another database
        with conn.transaction():
            conn.execute(_LOCK)
            done = conn.execute(
                "select tables, row_count from audit.publish_event where airflow_run_id = %s"
                " and airflow_dag_id is not distinct from %s and outcome = 'published'", (run_id, dag_id)).fetchone()
            if done:
                return {"published": done[0], "rows": done[1], "already_published": True}
            if not _schema_exists(conn, BUILD_SCHEMA):
                raise PublishRefused(f"no build schema {BUILD_SCHEMA} to publish (build_marts did not run?)")
            relations = _relations(conn, BUILD_SCHEMA)
            not_tables = sorted(name for name, kind in relations.items() if kind not in ("r", "p"))
            if not_tables:
                raise PublishRefused(f"only tables may be published to {PUBLISHED_SCHEMA}; the build has other "
                                     f"relations (views?): {', '.join(not_tables)}")
            tables = sorted(relations)
            if not tables:
                raise PublishRefused(f"the build schema {BUILD_SCHEMA} holds no tables")
            from lintas.quality import gate

            suites = [gate.mart_suite(t) for t in tables]
            verdicts = _gate_verdicts(conn, run_id, suites)
            unchecked = [s for s in suites if s not in verdicts]
            failed = [s for s in suites if verdicts.get(s) is False]
            if unchecked or failed:
                raise PublishRefused(f"mart gate of run {run_id} not passed: failed {failed or 'none'}, "
                                     f"not checked {unchecked or 'none'}")
            counts = {t: conn.execute(sql.SQL("select count(*) from {}").format(
                sql.Identifier(BUILD_SCHEMA, t))).fetchone()[0] for t in tables}

            started = time.perf_counter()
            had_published = _schema_exists(conn, PUBLISHED_SCHEMA)
            grants = _grants(conn, PUBLISHED_SCHEMA) if had_published else []
            conn.execute(sql.SQL("drop schema if exists {} cascade").format(sql.Identifier(PREVIOUS_SCHEMA)))
            if had_published:
                conn.execute(sql.SQL("alter schema {} rename to {}").format(
                    sql.Identifier(PUBLISHED_SCHEMA), sql.Identifier(PREVIOUS_SCHEMA)))
            conn.execute(sql.SQL("alter schema {} rename to {}").format(
                sql.Identifier(BUILD_SCHEMA), sql.Identifier(PUBLISHED_SCHEMA)))
            for grant in grants:
                conn.execute(grant)
            # owner, grants, row-level security and the views over the new tables, before anyone can read them
            access.apply_published(conn)
            access.record_published(conn)
            event_id = conn.execute(
                "insert into audit.publish_event (airflow_dag_id, airflow_run_id, outcome, tables, row_count,"
                " swap_seconds) values (%s, %s, 'published', %s, %s, %s) returning publish_event_id",
                (dag_id, run_id, json.dumps(counts), sum(counts.values()), round(time.perf_counter() - started, 4)),
            ).fetchone()[0]
        swap_seconds = time.perf_counter() - started  # including the commit
        dropped = _drop_previous(conn)
    log.info("published %d mart table(s), %d rows, swap %.3fs (publish event %d)", len(counts),
             sum(counts.values()), swap_seconds, event_id)
    return {"published": counts, "rows": sum(counts.values()), "swap_seconds": round(swap_seconds, 4),
            "previous_dropped": dropped, "publish_event_id": event_id}


def _drop_previous(conn) -> bool:
    """Drop the replaced version once the swap has committed; if analysts' queries hold it too long, the next
    publish drops it instead."""
    try:
        with conn.transaction():
            conn.execute(sql.SQL("set local lock_timeout = {}").format(sql.Literal(DROP_PREVIOUS_LOCK_TIMEOUT)))
            conn.execute(sql.SQL("drop schema if exists {} cascade").format(sql.Identifier(PREVIOUS_SCHEMA)))
        return True
    except Exception as exc:  # the swap is done: a leftover old version is not a failure
        log.warning("previous marts kept as %s until the next publish: %s", PREVIOUS_SCHEMA, type(exc).__name__)
        return False


def record_held_back(*, dag_id: str | None, run_id: str | None, reason: str, failed: list[str],
                     url: str) -> None:
    """Record that this run's marts were not published (analysts keep the last published version)."""
    with warehouse.connect(url) as conn, conn.transaction():
        conn.execute(
            "insert into audit.publish_event (airflow_dag_id, airflow_run_id, outcome, tables, reason)"
            " values (%s, %s, 'held_back', %s, %s)",
            (dag_id, run_id, json.dumps({"failed": failed}), reason[:2000]),
        )


def fingerprint(url: str) -> dict[str, tuple[int, str]]:
    """table -> (rows, md5 over every row) of the published marts: to show that something did not change."""
    with warehouse.connect(url) as conn:
        tables = [r[0] for r in conn.execute(
            "select c.relname from pg_class c join pg_namespace n on n.oid = c.relnamespace"
            " where n.nspname = %s and c.relkind in ('r', 'p') and not c.relispartition order by 1",
            (PUBLISHED_SCHEMA,))]
        return {t: tuple(conn.execute(sql.SQL(
            "select count(*), md5(coalesce(string_agg(t::text, '|' order by t::text), '')) from {} t").format(
            sql.Identifier(PUBLISHED_SCHEMA, t))).fetchone()) for t in tables}


def latest_published(url: str) -> tuple | None:
    """(airflow_dag_id, airflow_run_id, published_at, row_count) of the version analysts see now."""
    with warehouse.connect(url) as conn:
        return conn.execute(
            "select airflow_dag_id, airflow_run_id, published_at, row_count from audit.publish_event"
            " where outcome = 'published' order by publish_event_id desc limit 1").fetchone()
