"""`lintas summary`: rows per layer, deliveries, gate runs and publishes, read through the report's collect."""

from __future__ import annotations

from lintas import summary, warehouse


def test_summary_lists_layers_deliveries_gates_and_publishes_oldest_first(warehouse_url):
    with warehouse.connect(warehouse_url) as conn:
        conn.execute("insert into audit.load_batch (source, source_ref, checksum, status, rows_extracted,"
                     " rows_loaded, rows_quarantined) values ('dinsos_dtks', 'DTKS_3573_202609.csv', 'a',"
                     " 'accepted', 42, 40, 2)")
        conn.execute("insert into audit.load_batch (source, source_ref, checksum, status, rejection_reason)"
                     " values ('dinsos_dtks', 'DTKS_3573_202611.csv', 'b', 'rejected',"
                     " 'missing required column(s): NIK')")
        conn.execute("insert into audit.gate_result (batch_id, suite, expectation, column_name, severity, success,"
                     " airflow_run_id) select min(batch_id), 'raw_dinsos_dtks', 'expect_x', 'nik', s, ok, 'r1'"
                     " from audit.load_batch, (values ('critical', true), ('warning', false)) v(s, ok)"
                     " group by s, ok")
        conn.execute("insert into audit.publish_event (airflow_run_id, outcome, row_count) values ('b1',"
                     " 'published', 1240)")
        conn.execute("insert into audit.publish_event (airflow_run_id, outcome, reason) values ('b2', 'held_back',"
                     " 'mart gate failed')")
    lines = summary.render(warehouse_url).splitlines()
    assert lines[0] == f"Warehouse: {warehouse.redact(warehouse_url)}"
    assert any(line.split()[:2] == ["reference", "kode_wilayah_jawa_timur_35"] for line in lines)

    deliveries = lines[lines.index("Deliveries (audit.load_batch):") + 1:][:2]
    assert deliveries[0].split()[:4] == ["dinsos_dtks", "DTKS_3573_202609.csv", "accepted", "read"]
    assert "loaded       40" in deliveries[0] and "quarantined     2" in deliveries[0]
    assert "DTKS_3573_202611.csv" in deliveries[1] and deliveries[1].endswith("(missing required column(s): NIK)")

    [gate] = lines[lines.index("Gates (audit.gate_result):") + 1:][:1]
    assert gate.split()[:4] == ["raw_dinsos_dtks", "batch", gate.split()[2], "PASSED"]
    assert gate.endswith("2 checks, 0 critical failed, 1 warnings")

    publishes = lines[lines.index("Mart publishes (audit.publish_event):") + 1:][:2]
    assert publishes[0].split()[2:] == ["published", "b1", "1,240", "rows"]
    assert publishes[1].split()[2:] == ["held_back", "b2", "mart", "gate", "failed"]
    assert lines[-1].startswith("Data Docs: ")
