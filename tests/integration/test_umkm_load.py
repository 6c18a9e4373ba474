"""Cooperatives/SMEs channel end to end: hand-made UMKM workbooks in the outbox -> raw layer -> gate."""

from __future__ import annotations

from lintas import pipeline, warehouse
from lintas.load.raw import RunContext
from lintas.quality import gate
from tests.fixtures.umkm_workbooks import excel_number, first_data_row, good_workbook, owner, write_workbook

CTX = RunContext("lintas_extract_diskopindag_umkm", "run-1")
SOURCE = "diskopindag_umkm"


def _rows(url, query):
    with warehouse.connect(url) as conn:
        return conn.execute(query).fetchall()


def test_workbook_lands_with_sheet_and_row_lineage_then_passes_the_gate(warehouse_url, outbox_for):
    outbox = outbox_for("diskopindag")
    good_workbook(outbox, nik_as_number_rows=(0,))
    report = pipeline.extract_files(SOURCE, CTX)
    assert (report["rows_loaded"], report["rows_quarantined"], report["rejected"]) == (9, 0, [])
    first = first_data_row()
    assert _rows(warehouse_url, "select _sheet, min(_row_number), max(_row_number) from raw.diskopindag_umkm"
                                " group by 1 order by 1") == [("KLOJEN", first, first + 3),
                                                              ("LOWOKWARU", first, first + 4)]
    # the first NIK of each sheet was typed as a number: its digits arrive as text, marked, 16th digit lost
    number_cells = _rows(warehouse_url, "select nik from raw.diskopindag_umkm where _nik_cell_type = 'number'")
    assert {n for (n,) in number_cells} == {str(int(excel_number(owner(i)["NIK"]))) for i in (0, 5)}

    result = gate.run_gate("raw_diskopindag_umkm", report["loaded"][0], url=warehouse_url, run_id=CTX.run_id)
    assert result.passed, result.summary()
    assert _rows(warehouse_url, "select status from audit.load_batch") == [("accepted",)]


def test_redelivery_is_skipped_and_a_second_workbook_adds(warehouse_url, outbox_for):
    outbox = outbox_for("diskopindag")
    good_workbook(outbox)
    pipeline.extract_files(SOURCE, CTX)
    again = pipeline.extract_files(SOURCE, RunContext(CTX.dag_id, "run-2"))
    assert again["loaded"] == [] and again["skipped"] == ["UMKM_BINAAN_2026.xlsx"]
    good_workbook(outbox, name="UMKM_BINAAN_2026_TRIWULAN4.xlsx", per_sheet={"SUKUN": 3})
    third = pipeline.extract_files(SOURCE, RunContext(CTX.dag_id, "run-3"))
    assert third["rows_loaded"] == 3
    assert _rows(warehouse_url, "select count(*) from raw.diskopindag_umkm") == [(12,)]


def test_bad_rows_are_quarantined_and_a_broken_workbook_is_rejected_whole(warehouse_url, outbox_for):
    outbox = outbox_for("diskopindag")
    rows = [owner(i) for i in range(4)] + [owner(4, **{"NAMA PEMILIK": None})]
    write_workbook(outbox / "UMKM_BINAAN_2025.xlsx", {"BLIMBING": rows})
    (outbox / "UMKM_BINAAN_2026.xlsx").write_bytes(b"NO;NAMA PEMILIK\n1;BUDI\n")  # a CSV renamed .xlsx
    (outbox / "~$UMKM_BINAAN_2026.xlsx").write_bytes(b"lock")  # Excel's lock file: not a delivery
    report = pipeline.extract_files(SOURCE, CTX)
    assert (report["rows_loaded"], report["rows_quarantined"]) == (4, 1)
    assert [r["source_ref"] for r in report["rejected"]] == ["UMKM_BINAAN_2026.xlsx"]
    assert _rows(warehouse_url, "select location, row_number, field, rule from quarantine.row_error") == [
        ("BLIMBING", first_data_row() + 4, "NAMA PEMILIK", "required")]
    batches = _rows(warehouse_url, "select source_ref, status, rows_extracted, rows_loaded, rows_quarantined"
                                   " from audit.load_batch order by source_ref")
    assert batches == [("UMKM_BINAAN_2025.xlsx", "loaded", 5, 4, 1), ("UMKM_BINAAN_2026.xlsx", "rejected", 0, 0, 0)]
