import json

import pytest

from lintas.extract import dtks
from lintas.extract.contract import ContractError
from tests.fixtures.dtks_files import HEADER, good_file, member, write


def test_reads_a_contract_file(tmp_path):
    path = good_file(tmp_path, count=12)
    delivery = dtks.read(path)
    assert delivery.period == "2026-10"
    assert len(delivery.rows) == 12 and delivery.errors == []
    assert delivery.rows_extracted == 12
    first = dict(zip(dtks.RAW_COLUMNS, delivery.rows[0], strict=True))
    assert first["_row_number"] == 2  # header is line 1
    assert first["iddtks"] == "ID000000" and first["nik"] == "3573051501800001"
    assert first["_extra"] is None
    assert len(delivery.checksum) == 64


@pytest.mark.parametrize(("delimiter", "encoding"), [(";", "utf-8"), ("|", "utf-8-sig"), (";", "cp1252")])
def test_delimiters_and_encodings(tmp_path, delimiter, encoding):
    rows = [member(0, NAMA="SITI MU'ÎNAH"), member(1)]
    path = write(tmp_path, "DTKS_3573_202610.csv", rows, delimiter=delimiter, encoding=encoding)
    delivery = dtks.read(path)
    assert [r[4] for r in delivery.rows] == ["SITI MU'ÎNAH", "WARGA NOMOR 1"]


def test_header_case_spaces_and_order_do_not_matter(tmp_path):
    header = [f"  {h.lower()} " for h in reversed(HEADER)]
    rows = [{f"  {k.lower()} ": v for k, v in member(i).items()} for i in range(3)]
    delivery = dtks.read(write(tmp_path, "DTKS_3573_202610.csv", rows, header=header))
    assert len(delivery.rows) == 3
    assert dict(zip(dtks.RAW_COLUMNS, delivery.rows[2], strict=True))["iddtks"] == "ID000002"


def test_extra_column_is_kept_and_reported(tmp_path):
    rows = [{**member(i), "KETERANGAN": f"catatan {i}"} for i in range(2)]
    delivery = dtks.read(write(tmp_path, "DTKS_3573_202610.csv", rows, header=[*HEADER, "KETERANGAN"]))
    assert delivery.extra_columns == ["KETERANGAN"]
    extra = dict(zip(dtks.RAW_COLUMNS, delivery.rows[1], strict=True))["_extra"]
    assert json.loads(extra) == {"KETERANGAN": "catatan 1"}


def test_missing_column_rejects_the_file_naming_the_column(tmp_path):
    header = [h for h in HEADER if h != "NO_KK"]
    path = write(tmp_path, "DTKS_3573_202610.csv", [member(0)], header=header)
    with pytest.raises(ContractError, match="missing required column.*NO_KK"):
        dtks.read(path)


@pytest.mark.parametrize("name", ["DTKS_3573_2026.csv", "dtks-3573-202610.csv", "DTKS_3573_202613.csv"])
def test_bad_file_names_are_rejected(tmp_path, name):
    path = write(tmp_path, name, [member(0)])
    with pytest.raises(ContractError, match=name):
        dtks.read(path)


def test_mixed_delimiters_reject_the_file(tmp_path):
    path = tmp_path / "DTKS_3573_202610.csv"
    path.write_text("IDDTKS;NO_KK|NIK\n", encoding="utf-8")
    with pytest.raises(ContractError, match="exactly one of"):
        dtks.read(path)


def test_bad_rows_are_quarantined_with_row_and_field_and_good_rows_kept(tmp_path):
    rows = [member(0), member(1, IDDTKS=""), member(2), member(3, PERIODE="2026-09"), member(0, NAMA="DUPLIKAT"),
            member(5)]
    path = write(tmp_path, "DTKS_3573_202610.csv", rows)
    # a row with too few fields, inserted by hand before the last row (a short *last* row is a truncated file)
    lines = path.read_bytes().decode("utf-8").split("\r\n")
    lines.insert(6, "ID999999;3573;X")
    path.write_bytes("\r\n".join(lines).encode("utf-8"))
    delivery = dtks.read(path)
    assert [r[1] for r in delivery.rows] == ["ID000000", "ID000002", "ID000005"]
    errors = {(e.row_number, e.field, e.rule) for e in delivery.errors}
    assert errors == {
        (3, "IDDTKS", "required"),
        (5, "PERIODE", "matches_file_period"),
        (6, "IDDTKS", "unique_in_file"),
        (7, "*", "field_count"),
    }
    assert delivery.rows_extracted == 7
    # reasons name the rule and field, never the value
    for e in delivery.errors:
        assert "DUPLIKAT" not in e.reason and "3573" not in e.reason


def test_blank_cells_become_null_and_blank_lines_are_not_rows(tmp_path):
    path = write(tmp_path, "DTKS_3573_202610.csv", [member(0, NIK="", DESIL=" ")])
    with path.open("a", encoding="utf-8") as fh:
        fh.write("\r\n;;;\r\n")
    delivery = dtks.read(path)
    record = dict(zip(dtks.RAW_COLUMNS, delivery.rows[0], strict=True))
    assert record["nik"] is None and record["desil"] is None
    assert delivery.rows_extracted == 1
