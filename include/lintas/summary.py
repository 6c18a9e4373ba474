"""A short, PII-free account of the warehouse: rows per source and layer, batches, gate results."""

from __future__ import annotations

from psycopg import sql

from lintas import warehouse
from lintas.quality import gate
from lintas.report import collect

LAYERS = ("raw", "staging", "intermediate", "identity", "marts", "snapshots", "reference", "quarantine")


def table_counts(conn) -> list[tuple[str, str, int]]:
    tables = conn.execute(
        # a partition's rows are counted in its partitioned table
        "select table_schema, table_name from information_schema.tables join pg_class c"
        " on c.oid = format('%%I.%%I', table_schema, table_name)::regclass and not c.relispartition"
        " where table_schema = any(%s) order by 1, 2",
        (list(LAYERS),),
    ).fetchall()
    return [
        (schema, name, conn.execute(
            sql.SQL("select count(*) from {}").format(sql.Identifier(schema, name))).fetchone()[0])
        for schema, name in tables
    ]


def gate_totals(conn) -> list[tuple]:
    """Every gate run (a raw batch's or the mart gate's): its checks and failures by severity."""
    return conn.execute(
        "select suite, batch_id, count(*) as checks,"
        " count(*) filter (where not success and severity = 'critical') as critical_failed,"
        " count(*) filter (where not success and severity = 'warning') as warnings_failed"
        " from audit.gate_result group by suite, batch_id, airflow_run_id"
        " order by batch_id nulls last, min(validated_at)"
    ).fetchall()


def render(url: str) -> str:
    with warehouse.connect(url) as conn:
        counts, deliveries = table_counts(conn), collect.batches(conn)
        gates, publishes = gate_totals(conn), collect.publishes(conn)
    lines = [f"Warehouse: {warehouse.redact(url)}", "", "Rows per layer:"]
    lines += [f"  {schema:<13} {name:<45} {count:>10,}" for schema, name, count in counts]
    lines += ["", "Deliveries (audit.load_batch):"]
    for b in reversed(deliveries):  # oldest first
        line = (f"  {b.source:<24} {b.source_ref[:44]:<44} {b.status:<9} read {b.rows_extracted:>8,}"
                f"  loaded {b.rows_loaded:>8,}  already held {b.rows_duplicate:>6,}"
                f"  quarantined {b.rows_quarantined:>5,}")
        lines.append(line + (f"  ({b.rejection_reason[:80]})" if b.rejection_reason else ""))
    lines += ["", "Gates (audit.gate_result):"]
    for suite, batch_id, checks, critical, warnings in gates:
        verdict = "PASSED" if critical == 0 else "FAILED"
        target = f"batch {batch_id:<5}" if batch_id is not None else "mart build "
        lines.append(f"  {suite:<36} {target} {verdict:<7} {checks} checks, "
                     f"{critical} critical failed, {warnings} warnings")
    lines += ["", "Mart publishes (audit.publish_event):"]
    for p in reversed(publishes):  # oldest first
        detail = f"{p.row_count:,} rows" if p.published else (p.reason or "")[:100]
        lines.append(f"  {p.at:%Y-%m-%d %H:%M:%S} {p.outcome:<9} {p.run_id or '-':<44} {detail}")
    lines += ["", f"Data Docs: {gate.data_docs_index()}"]
    return "\n".join(lines)
