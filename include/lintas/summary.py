"""A short, PII-free account of the warehouse: rows per source and layer, batches, gate results."""

from __future__ import annotations

from psycopg import sql

from lintas import warehouse
from lintas.quality import gate

LAYERS = ("raw", "staging", "intermediate", "identity", "marts", "snapshots", "reference", "quarantine")


def table_counts(url: str | None = None) -> list[tuple[str, str, int]]:
    with warehouse.connect(url) as conn:
        tables = conn.execute(
            "select table_schema, table_name from information_schema.tables"
            " where table_schema = any(%s) order by 1, 2",
            (list(LAYERS),),
        ).fetchall()
        return [
            (schema, name, conn.execute(
                sql.SQL("select count(*) from {}").format(sql.Identifier(schema, name))).fetchone()[0])
            for schema, name in tables
        ]


def batches(url: str | None = None) -> list[tuple]:
    with warehouse.connect(url) as conn:
        return conn.execute(
            "select source, source_ref, status, rows_extracted, rows_loaded, rows_duplicate, rows_quarantined,"
            " coalesce(rejection_reason, '') from audit.load_batch order by batch_id"
        ).fetchall()


def gate_totals(url: str | None = None) -> list[tuple]:
    with warehouse.connect(url) as conn:
        return conn.execute(
            "select suite, batch_id, count(*) as checks,"
            " count(*) filter (where not success and severity = 'critical') as critical_failed,"
            " count(*) filter (where not success and severity = 'warning') as warnings_failed"
            " from audit.gate_result group by suite, batch_id, airflow_run_id"
            " order by batch_id nulls last, min(validated_at)"
        ).fetchall()


def publish_events(url: str | None = None) -> list[tuple]:
    with warehouse.connect(url) as conn:
        return conn.execute(
            "select airflow_run_id, outcome, published_at, row_count, reason from audit.publish_event"
            " order by publish_event_id"
        ).fetchall()


def render(url: str | None = None) -> str:
    url = url or warehouse.warehouse_url()
    lines = [f"Warehouse: {warehouse.redact(url)}", "", "Rows per layer:"]
    lines += [f"  {schema:<13} {name:<45} {count:>10,}" for schema, name, count in table_counts(url)]
    lines += ["", "Deliveries (audit.load_batch):"]
    for source, ref, status, extracted, loaded, duplicate, quarantined, reason in batches(url):
        line = (f"  {source:<24} {ref[:44]:<44} {status:<9} read {extracted:>8,}  loaded {loaded:>8,}"
                f"  already held {duplicate:>6,}  quarantined {quarantined:>5,}")
        lines.append(line + (f"  ({reason[:80]})" if reason else ""))
    lines += ["", "Gates (audit.gate_result):"]
    for suite, batch_id, checks, critical, warnings in gate_totals(url):
        verdict = "PASSED" if critical == 0 else "FAILED"
        target = f"batch {batch_id:<5}" if batch_id is not None else "mart build "
        lines.append(f"  {suite:<36} {target} {verdict:<7} {checks} checks, "
                     f"{critical} critical failed, {warnings} warnings")
    lines += ["", "Mart publishes (audit.publish_event):"]
    for run_id, outcome, at, rows, reason in publish_events(url):
        detail = f"{rows:,} rows" if outcome == "published" else (reason or "")[:100]
        lines.append(f"  {at:%Y-%m-%d %H:%M:%S} {outcome:<9} {run_id or '-':<44} {detail}")
    lines += ["", f"Data Docs: {gate.data_docs_index()}"]
    return "\n".join(lines)
