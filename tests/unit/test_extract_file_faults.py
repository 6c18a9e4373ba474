"""Deliveries that cannot be read are rejected whole with a reason naming file, line and field (issue 11)."""

import pytest

from lintas import settings
from lintas.extract import dtks, umkm
from lintas.extract.contract import ContractError, is_not_a_delivery
from tests.fixtures import bad_deliveries as bad
from tests.fixtures.dtks_files import good_file, member, write


def _reason(path, reader=dtks) -> str:
    with pytest.raises(ContractError) as caught:
        reader.read(path)
    assert caught.value.source_ref == path.name
    return caught.value.reason


@pytest.mark.parametrize("bom", [True, False])
def test_utf16_is_named_as_an_encoding_the_contract_does_not_accept(tmp_path, bom):
    reason = _reason(bad.dtks_in_utf16(tmp_path, bom=bom))
    assert reason.startswith("UTF-16") and "is not an accepted encoding (UTF-8 or Windows-1252)" in reason


def test_nul_byte_names_line_and_byte_offset(tmp_path):
    path = bad.dtks_with_nul(tmp_path, row=3)
    offset = path.read_bytes().index(b"\x00")
    assert _reason(path) == f"NUL byte at line 5 (byte offset {offset}): not a text export"


def test_a_10_mb_field_is_rejected_naming_line_and_field_without_its_value(tmp_path):
    reason = _reason(bad.dtks_with_long_field(tmp_path, row=2))
    assert reason.startswith("line 4 field ALAMAT: longer than the 4096-character limit (10485760 characters")
    assert "AAAA" not in reason


def test_the_field_limit_is_inclusive(tmp_path):
    path = bad.dtks_with_long_field(tmp_path, chars=dtks.MAX_FIELD_CHARS, field="NAMA")
    assert len(dtks.read(path).rows) == 5
    assert "field NAMA" in _reason(bad.dtks_with_long_field(tmp_path, chars=dtks.MAX_FIELD_CHARS + 1, field="NAMA"))


def test_a_file_cut_mid_row_is_truncated_not_a_smaller_register(tmp_path):
    path = bad.dtks_cut(tmp_path, keep=0.97, count=100)
    last_line = path.read_bytes().count(b"\n") + 1
    reason = _reason(path)
    assert reason.startswith(f"truncated: last record at line {last_line} is incomplete")


def test_a_cut_inside_the_last_field_keeps_the_field_count_but_lacks_the_final_line_break(tmp_path):
    path = good_file(tmp_path, count=5)
    path.write_bytes(path.read_bytes()[:-4])  # "2026-10\r\n" -> "2026-"
    assert _reason(path) == ("truncated: last record at line 6 is incomplete "
                             "(no line break after it: the file must end with one)")


def test_newline_rule_complete_last_record_needs_its_line_break(tmp_path):
    """The chosen rule: a file ends with a line break. With it, a complete file (and trailing blank lines) loads;
    without it, even a complete-looking last record is rejected: it cannot be told from a cut one."""
    ok = good_file(tmp_path, count=5)
    ok.write_bytes(ok.read_bytes() + b"\r\n\r\n")
    assert len(dtks.read(ok).rows) == 5
    lf_only = write(tmp_path, "DTKS_3573_202609.csv", [member(i, "2026-09") for i in range(3)])
    lf_only.write_bytes(lf_only.read_bytes().replace(b"\r\n", b"\n"))
    assert len(dtks.read(lf_only).rows) == 3
    assert "no line break after it" in _reason(bad.dtks_without_final_newline(tmp_path, count=5))


def test_cr_only_line_breaks_load_like_crlf_and_the_newline_rule_still_holds(tmp_path):
    """Old Mac "CSV (Macintosh)" exports end lines with CR alone: read as line breaks, not one long line."""
    path = good_file(tmp_path, count=5)
    path.write_bytes(path.read_bytes().replace(b"\r\n", b"\r"))
    delivery = dtks.read(path)
    assert len(delivery.rows) == 5 and delivery.errors == []
    assert [row[0] for row in delivery.rows] == [2, 3, 4, 5, 6]  # physical lines, as with CRLF
    path.write_bytes(path.read_bytes().rstrip(b"\r"))
    assert "no line break after it" in _reason(path)


def test_a_header_csv_cannot_read_is_a_contract_error_not_a_crash(tmp_path):
    path = good_file(tmp_path, count=3)
    header, rest = path.read_bytes().split(b"\r\n", 1)
    path.write_bytes(header.replace(b"NO_KK", b"NO\rKK") + b"\r\n" + rest)
    assert _reason(path).startswith("line 1 (header): not readable as CSV (new-line character seen in unquoted field")


def test_an_unterminated_quote_in_the_last_record_is_truncation(tmp_path):
    reason = _reason(bad.dtks_with_open_quote(tmp_path, count=5))
    assert reason == "truncated: last record at line 6 is incomplete (a quoted field is never closed)"


def test_a_short_row_before_the_last_is_only_quarantined(tmp_path):
    path = good_file(tmp_path, count=4)
    lines = path.read_bytes().split(b"\r\n")
    lines.insert(2, b"ID999999;3573")
    path.write_bytes(b"\r\n".join(lines))
    delivery = dtks.read(path)
    assert len(delivery.rows) == 4 and [(e.row_number, e.rule) for e in delivery.errors] == [(3, "field_count")]


@pytest.mark.parametrize("name", ["DTKS_3573_202611 (1).csv", "DTKS_3573_202611;.csv", "DTKS_'3573'_202611.csv",
                                  'DTKS_3573_202611".csv', "DTKS_3573_202611.CSV.bak", "dtks-3573-202611.csv"])
def test_names_outside_the_contract_are_rejected_naming_the_contract(tmp_path, name):
    path = write(tmp_path, name, [member(0)])
    assert _reason(path) == "name does not match the contract DTKS_<kode kab/kota>_<YYYYMM>.csv"


def test_another_regions_file_is_rejected(tmp_path, monkeypatch):
    path = write(tmp_path, "DTKS_3507_202610.csv", [member(0)])
    assert _reason(path) == "kode kab/kota 3507 in the file name is not this warehouse's region 3573"
    monkeypatch.setenv("LINTAS_KODE_KABKOTA", "3507")
    settings.reload()
    assert len(dtks.read(path).rows) == 1


@pytest.mark.parametrize(("name", "ignored"), [
    (".DTKS_3573_202611.csv.partial", True), ("~$UMKM_BINAAN_2026.xlsx", True), ("DTKS_3573_202611.csv.tmp", True),
    ("DTKS_3573_202611.csv.part", True), ("DTKS_3573_202611.csv", False), ("DTKS_3573_202611 (1).csv", False),
    ("catatan.txt", False),
])
def test_only_hidden_lock_and_in_progress_files_are_not_deliveries(tmp_path, name, ignored):
    assert is_not_a_delivery(tmp_path / name) is ignored


def test_an_over_long_workbook_cell_names_sheet_row_and_column(tmp_path):
    reason = _reason(bad.umkm_with_long_cell(tmp_path, row=1), umkm)
    assert reason == "sheet 'BLIMBING' row 3 column ALAMAT: longer than the 4096-character limit (20000 characters)"


def test_a_workbook_whose_xml_holds_a_nul_is_rejected_not_a_crash(tmp_path):
    reason = _reason(bad.umkm_with_broken_xml(tmp_path), umkm)
    assert reason.startswith("not a readable XLSX workbook (")
