import json
import logging
import re
import zipfile
from datetime import date, datetime
from pathlib import Path

import openpyxl
import pytest

from lintas.extract import umkm
from lintas.extract.contract import ContractError
from tests.fixtures.umkm_workbooks import (
    HEADER,
    excel_number,
    first_data_row,
    good_workbook,
    owner,
    write_workbook,
)

SQL = Path(umkm.__file__).parents[1] / "sql" / "003_all_agencies.sql"


def as_dicts(delivery):
    return [dict(zip(umkm.RAW_COLUMNS, row, strict=True)) for row in delivery.rows]


def test_raw_columns_are_the_raw_tables_columns():
    block = re.search(r"create table if not exists raw\.diskopindag_umkm \((.*?)\n\);", SQL.read_text(), re.S)
    table_columns = re.findall(r"^\s{4}(\w+)\s", block[1], re.M)
    lineage = {"_batch_id", "_loaded_at", "primary"}  # "primary key (...)" is not a column
    assert sorted(umkm.RAW_COLUMNS) == sorted(c for c in table_columns if c not in lineage)
    assert len(set(umkm.RAW_COLUMNS)) == len(umkm.RAW_COLUMNS)
    assert umkm.RAW_COLUMNS[:2] == ["_sheet", "_row_number"]


@pytest.mark.parametrize(("title", "merged_header"), [(True, True), (True, False), (False, True), (False, False)])
def test_reads_a_contract_workbook(tmp_path, title, merged_header):
    path = good_workbook(tmp_path, title=title, merged_header=merged_header, footer=True)
    delivery = umkm.read(path)
    assert delivery.source == "diskopindag_umkm" and delivery.source_ref == "UMKM_BINAAN_2026.xlsx"
    assert delivery.period == "2026" and len(delivery.checksum) == 64 and delivery.key_columns == ()
    assert delivery.columns == umkm.RAW_COLUMNS
    assert delivery.errors == [] and delivery.extra_columns == []
    rows = as_dicts(delivery)
    assert [r["_sheet"] for r in rows] == ["LOWOKWARU"] * 5 + ["KLOJEN"] * 4  # JUMLAH row and signature skipped
    start = first_data_row(title=title, merged_header=merged_header)
    assert [r["_row_number"] for r in rows] == [*range(start, start + 5), *range(start, start + 4)]
    first, second = rows[0], rows[1]
    expected = owner(0, KECAMATAN="LOWOKWARU")
    assert first["no"] == "1" and first["nama_pemilik"] == "PEMILIK USAHA 0"
    assert first["nik"] == expected["NIK"] and first["_nik_cell_type"] == "text"
    assert first["tanggal_lahir"] == "1980-01-01" and first["tanggal_pelatihan"] == "2026-01-10"
    assert first["rt_rw"] == "005/002" and first["kelurahan"] == "Tasik Madu" and first["kecamatan"] == "LOWOKWARU"
    assert first["nib"] == "0120000000000"  # leading zero kept
    assert first["nama_koperasi"] is None and first["nomor_induk_koperasi"] is None  # blank -> NULL
    assert first["pinjaman_modal_bpr"] == "YA" and first["nilai_pinjaman"] == "5000000"
    assert first["_extra"] is None
    # group-labelled columns of the two-row header: lower label alone, "lower upper", "upper lower"
    assert second["nama_koperasi"] == "KOPERASI SEJAHTERA BERSAMA"
    assert second["nomor_induk_koperasi"] == "3573010000000001"
    assert second["jenis_pelatihan"] == "PEMASARAN DIGITAL" and second["pinjaman_modal_bpr"] == "TIDAK"
    assert rows[5]["nama_pemilik"] == "PEMILIK USAHA 5" and rows[5]["_row_number"] == start


def test_row_number_is_the_excel_row(tmp_path):
    rows = [owner(0), {}, {}, owner(1), {"NO": 5}, owner(2)]  # blank rows, and a numbered but empty row
    path = write_workbook(tmp_path / "UMKM_BINAAN_2026.xlsx", {"DATA": rows})
    delivery = umkm.read(path)
    sheet = openpyxl.load_workbook(path)["DATA"]
    name_column = HEADER.index("NAMA PEMILIK") + 1
    got = as_dicts(delivery)
    assert first_data_row() == 6  # three title rows, a two-row header
    assert [r["_row_number"] for r in got] == [6, 9, 11]
    for r in got:
        assert sheet.cell(r["_row_number"], name_column).value == r["nama_pemilik"]
    assert delivery.errors == []


def test_sheets_may_order_columns_differently(tmp_path):
    reordered = [*reversed(HEADER)]
    sheets = {"KLOJEN": [owner(0), owner(1)], "SUKUN": [owner(0), owner(1)]}
    path = write_workbook(tmp_path / "UMKM_BINAAN_2026_Q1.xlsx", sheets, headers={"SUKUN": reordered})
    rows = as_dicts(umkm.read(path))
    klojen = [{k: v for k, v in r.items() if k != "_sheet"} for r in rows if r["_sheet"] == "KLOJEN"]
    sukun = [{k: v for k, v in r.items() if k != "_sheet"} for r in rows if r["_sheet"] == "SUKUN"]
    assert len(klojen) == 2 and klojen == sukun


def test_nik_typed_as_a_number_is_digits_marked_number(tmp_path):
    rows = [owner(0), owner(1), owner(2)]
    path = write_workbook(tmp_path / "UMKM_BINAAN_2026.xlsx", {"DATA": rows}, nik_as_number_rows=(1,))
    got = as_dicts(umkm.read(path))
    nik = str(rows[1]["NIK"])
    assert got[1]["nik"] == nik[:15] + "0"  # Excel kept 15 significant digits, no ".0" or exponent
    assert got[1]["_nik_cell_type"] == "number"
    assert [got[0]["_nik_cell_type"], got[2]["_nik_cell_type"]] == ["text", "text"]
    assert excel_number(nik) == float(got[1]["nik"])


def test_nik_forms(tmp_path):
    rows = [
        owner(0, NIK="'3573010101800000"),
        owner(1, NIK="  '3573010101800001 "),
        owner(2, NIK=3573010101800002),  # an int number cell (no float rounding in the file)
        owner(3, NIK=None),
        owner(4, NIK="3573-0101-0180"),  # malformed: delivered as is, not a row error
    ]
    delivery = umkm.read(write_workbook(tmp_path / "UMKM_BINAAN_2026.xlsx", {"DATA": rows}))
    got = [(r["nik"], r["_nik_cell_type"]) for r in as_dicts(delivery)]
    assert got == [
        ("3573010101800000", "text"),
        ("3573010101800001", "text"),
        ("3573010101800002", "number"),
        (None, None),
        ("3573-0101-0180", "text"),
    ]
    assert delivery.errors == []


def test_dates_serials_and_text(tmp_path):
    rows = [
        owner(0, **{"TANGGAL LAHIR": date(1975, 8, 17), "TANGGAL PELATIHAN": datetime(2026, 3, 4, 0, 0)}),
        owner(1, **{"TANGGAL LAHIR": 27623, "TANGGAL PELATIHAN": 46085.75}),  # Excel serial day numbers
        owner(2, **{"TANGGAL LAHIR": "17-08-1975", "TANGGAL PELATIHAN": " 04/03/2026 "}),
        owner(3, **{"TANGGAL LAHIR": None, "TANGGAL PELATIHAN": ""}),
    ]
    got = as_dicts(umkm.read(write_workbook(tmp_path / "UMKM_BINAAN_2026.xlsx", {"DATA": rows})))
    assert [(r["tanggal_lahir"], r["tanggal_pelatihan"]) for r in got] == [
        ("1975-08-17", "2026-03-04"),
        ("27623", "46085"),
        ("17-08-1975", "04/03/2026"),
        (None, None),
    ]


def test_numbers_and_text_become_readable_text(tmp_path):
    rows = [
        owner(0, NO=1.0, NIB=1234567890123, **{"NOMOR INDUK KOPERASI": 3573010000000009.0, "RT/RW": 5,
                                               "NILAI PINJAMAN (Rp)": 7_500_000.0, "SEKTOR": 2.5}),
        owner(1, NIB="'0120000000001", **{"NILAI PINJAMAN (Rp)": "Rp 5.000.000", "PINJAMAN MODAL BPR": "Y"}),
        owner(2, **{"NAMA PEMILIK": "  SITI   AMINAH  ", "NILAI PINJAMAN (Rp)": 1_250_000.4}),
        owner(3, NIB=120000000002),  # a number cell: Excel dropped the NIB's leading zero
    ]
    got = as_dicts(umkm.read(write_workbook(tmp_path / "UMKM_BINAAN_2026.xlsx", {"DATA": rows})))
    assert (got[0]["no"], got[0]["nib"], got[0]["nomor_induk_koperasi"]) == ("1", "1234567890123", "3573010000000009")
    assert (got[0]["rt_rw"], got[0]["nilai_pinjaman"], got[0]["sektor"]) == ("5", "7500000", "2.5")
    assert (got[1]["nib"], got[1]["nilai_pinjaman"], got[1]["pinjaman_modal_bpr"]) == (
        "0120000000001", "Rp 5.000.000", "Y")
    assert got[2]["nama_pemilik"] == "SITI   AMINAH" and got[2]["nilai_pinjaman"] == "1250000"
    assert got[3]["nib"] == "0120000000002"


def test_header_case_spacing_and_parentheses_do_not_matter(tmp_path):
    header = ["No.", "  nama   pemilik ", "Nik", "Jenis Kelamin", "tanggal lahir", "Alamat", "RT / RW",
              "Kelurahan", "KECAMATAN ", "Nama Usaha", "sektor", "nib", "Nama\nKoperasi", "nomor induk koperasi",
              "Jenis_Pelatihan", "Tanggal Pelatihan", "Pinjaman Modal BPR", "NILAI PINJAMAN(Rp)"]
    path = write_workbook(tmp_path / "UMKM_BINAAN_2026.xlsx", {"DATA": [owner(0), owner(1)]}, headers=header,
                          merged_header=False)
    got = as_dicts(umkm.read(path))
    assert [r["nama_pemilik"] for r in got] == ["PEMILIK USAHA 0", "PEMILIK USAHA 1"]
    assert got[1]["nama_koperasi"] == "KOPERASI SEJAHTERA BERSAMA" and got[0]["nilai_pinjaman"] == "5000000"


@pytest.mark.parametrize("label", ["NILAI PINJAMAN (RP)", "nilai pinjaman ( Rp )", "NILAI PINJAMAN",
                                   "NILAI PINJAMAN (RP.)", "Nilai Pinjaman Rp", "PINJAMAN NILAI (Rp)"])
def test_amount_header_spellings(tmp_path, label):
    header = [*HEADER[:-1], label]
    path = write_workbook(tmp_path / "UMKM_BINAAN_2026.xlsx", {"DATA": [owner(0, **{label: 5_000_000})]},
                          headers=header,
                          merged_header=False)
    assert as_dicts(umkm.read(path))[0]["nilai_pinjaman"] == "5000000"


def test_two_row_header_split_label_and_no_merges(tmp_path):
    # "NILAI PINJAMAN" over "(Rp)": the name is the upper and lower label combined
    groups = {"NILAI PINJAMAN (Rp)": ("NILAI PINJAMAN", "(Rp)")}
    path = write_workbook(tmp_path / "UMKM_BINAAN_2026.xlsx", {"A": [owner(0)]}, groups=groups)
    got = as_dicts(umkm.read(path))
    assert len(got) == 1 and got[0]["nilai_pinjaman"] == "5000000" and got[0]["_row_number"] == 6
    # "PINJAMAN" merged over "MODAL BPR" and "NILAI (Rp)": the group's word belongs inside the lower label
    groups = {"PINJAMAN MODAL BPR": ("PINJAMAN", "MODAL BPR"), "NILAI PINJAMAN (Rp)": ("PINJAMAN", "NILAI (Rp)")}
    path = write_workbook(tmp_path / "UMKM_BINAAN_2028.xlsx", {"A": [owner(0)]}, groups=groups)
    got = as_dicts(umkm.read(path))
    assert (got[0]["nilai_pinjaman"], got[0]["pinjaman_modal_bpr"]) == ("5000000", owner(0)["PINJAMAN MODAL BPR"])

    # a two-row header typed without merged cells (as another tool exports it)
    workbook = openpyxl.Workbook()
    ws = workbook.active
    ws.title = "B"
    upper = [h if h not in ("NAMA KOPERASI", "NOMOR INDUK KOPERASI") else None for h in HEADER]
    upper[HEADER.index("NAMA KOPERASI")] = "KOPERASI"
    lower = [h if h in ("NAMA KOPERASI", "NOMOR INDUK KOPERASI") else None for h in HEADER]
    ws.append(upper)
    ws.append(lower)
    ws.append([owner(1)[h] for h in HEADER])
    path = tmp_path / "UMKM_BINAAN_2027.xlsx"
    workbook.save(path)
    got = as_dicts(umkm.read(path))
    assert len(got) == 1 and got[0]["_row_number"] == 3
    assert got[0]["nama_koperasi"] == "KOPERASI SEJAHTERA BERSAMA"


def test_extra_columns_are_kept_and_reported(tmp_path):
    sheets = {"A": [{**owner(0), "KETERANGAN": "lunas"}, owner(1)],
              "B": [{**owner(2), "NO HP": 81234567890, "KETERANGAN": None}],
              "C": [owner(3)]}
    headers = {"A": [*HEADER, "KETERANGAN"], "B": ["NO HP", *HEADER, "KETERANGAN"]}
    delivery = umkm.read(write_workbook(tmp_path / "UMKM_BINAAN_2026.xlsx", sheets, headers=headers))
    assert delivery.extra_columns == ["KETERANGAN", "NO HP"]
    got = as_dicts(delivery)
    assert json.loads(got[0]["_extra"]) == {"KETERANGAN": "lunas"}
    assert json.loads(got[1]["_extra"]) == {"KETERANGAN": None}
    assert json.loads(got[2]["_extra"]) == {"NO HP": "81234567890", "KETERANGAN": None}
    assert got[3]["_extra"] is None


def test_missing_required_column_rejects_the_workbook_naming_sheet_and_column(tmp_path):
    sheets = {"KLOJEN": [owner(0)], "SUKUN": [owner(1)]}
    headers = {"SUKUN": [h for h in HEADER if h not in ("NIB", "TANGGAL PELATIHAN")]}
    path = write_workbook(tmp_path / "UMKM_BINAAN_2026.xlsx", sheets, headers=headers)
    with pytest.raises(ContractError, match=r"SUKUN.*missing required column.*NIB, TANGGAL PELATIHAN") as info:
        umkm.read(path)
    assert "PEMILIK USAHA" not in str(info.value) and owner(1)["NIK"] not in str(info.value)


def test_duplicated_header_column_rejects_the_workbook(tmp_path):
    path = write_workbook(tmp_path / "UMKM_BINAAN_2026.xlsx", {"DATA": [owner(0)]}, headers=[*HEADER, "nik"],
                          merged_header=False)
    with pytest.raises(ContractError, match=r"DATA.*duplicated header column.*NIK"):
        umkm.read(path)


def test_notes_and_summary_sheets_are_skipped_beside_data_and_reject_a_workbook_without_data(tmp_path):
    path = write_workbook(tmp_path / "UMKM_BINAAN_2026.xlsx", {"DATA": [owner(0)]})
    workbook = openpyxl.load_workbook(path)
    workbook.create_sheet("KOSONG")  # entirely empty: skipped
    workbook.save(path)
    assert len(umkm.read(path).rows) == 1

    notes = workbook.create_sheet("CATATAN")
    notes["B3"] = "Data diisi oleh petugas kecamatan"  # a notes sheet beside the data: skipped
    summary = workbook.create_sheet("REKAP")  # a summary per kecamatan: no owner column, skipped
    for row in (["KECAMATAN", "JUMLAH UMKM"], ["LOWOKWARU", 1], ["JUMLAH", 1]):
        summary.append(row)
    workbook.save(path)
    assert len(umkm.read(path).rows) == 1

    # without a data sheet the first other sheet's reason rejects the workbook
    del workbook["DATA"]
    workbook.save(path)
    with pytest.raises(ContractError, match=r"CATATAN.*no header row"):
        umkm.read(path)

    # a long sheet without a header found may be data: it rejects the workbook, beside data sheets too
    workbook = openpyxl.load_workbook(write_workbook(path, {"DATA": [owner(0)]}))
    long_sheet = workbook.create_sheet("LAIN")
    for i in range(umkm.HEADER_SCAN_ROWS + 5):
        long_sheet.append([i + 1, f"BARIS {i}"])
    workbook.save(path)
    with pytest.raises(ContractError, match=r"LAIN.*no header row"):
        umkm.read(path)


def test_a_data_sheet_whose_owner_columns_were_renamed_still_rejects_the_workbook(tmp_path):
    renamed = [{"NAMA PEMILIK": "NAMA", "NIK": "NO KTP"}.get(h, h) for h in HEADER]
    path = write_workbook(tmp_path / "UMKM_BINAAN_2026.xlsx", {"DATA": [owner(0)], "LAIN": [owner(1)]},
                          headers={"DATA": HEADER, "LAIN": renamed}, merged_header=False)
    with pytest.raises(ContractError, match=r"LAIN.*missing required column\(s\): NAMA PEMILIK, NIK"):
        umkm.read(path)


def test_workbook_with_only_empty_sheets_is_rejected(tmp_path):
    path = tmp_path / "UMKM_BINAAN_2026.xlsx"
    openpyxl.Workbook().save(path)
    with pytest.raises(ContractError, match="empty"):
        umkm.read(path)


def test_blank_owner_name_is_quarantined_naming_sheet_and_row(tmp_path):
    sheets = {"KLOJEN": [owner(0), owner(1, **{"NAMA PEMILIK": "   "}), owner(2)],
              "SUKUN": [owner(3, **{"NAMA PEMILIK": None})]}
    delivery = umkm.read(write_workbook(tmp_path / "UMKM_BINAAN_2026.xlsx", sheets))
    assert [r["nama_pemilik"] for r in as_dicts(delivery)] == ["PEMILIK USAHA 0", "PEMILIK USAHA 2"]
    start = first_data_row()
    assert [(e.location, e.row_number, e.field, e.rule) for e in delivery.errors] == [
        ("KLOJEN", start + 1, "NAMA PEMILIK", "required"),
        ("SUKUN", start, "NAMA PEMILIK", "required"),
    ]
    error = delivery.errors[0]
    assert error.raw_record.split("|")[HEADER.index("NIK")] == owner(1)["NIK"]
    assert error.raw_record.count("|") == len(HEADER) - 1
    assert error.describe(delivery.source_ref) == (
        f"UMKM_BINAAN_2026.xlsx KLOJEN row {start + 1} field NAMA PEMILIK: NAMA PEMILIK is blank")
    assert owner(1)["NIK"] not in error.reason
    assert delivery.rows_extracted == 4


def test_data_ends_at_the_total_row(tmp_path, caplog):
    rows = [owner(0), owner(1, **{"NAMA USAHA": "TOTAL JAYA MOTOR"})]
    header = ["NAMA USAHA", *[h for h in HEADER if h != "NAMA USAHA"]]  # business name in the first column
    path = write_workbook(tmp_path / "UMKM_BINAAN_2026.xlsx", {"DATA": rows}, headers=header, footer=True)
    with caplog.at_level(logging.WARNING, logger="lintas.extract.umkm"):
        delivery = umkm.read(path)
    assert [r["nama_usaha"] for r in as_dicts(delivery)] == ["WARUNG BAROKAH 0", "TOTAL JAYA MOTOR"]
    assert delivery.errors == []  # signature rows after JUMLAH are not data
    assert "3 non-blank row(s) after the total row" in caplog.text
    assert "KEPALA" not in caplog.text and "Malang" not in caplog.text


@pytest.mark.parametrize("label", ["TOTAL", "Jumlah Keseluruhan", "  JUMLAH:"])
def test_total_row_labels(tmp_path, label):
    path = write_workbook(tmp_path / "UMKM_BINAAN_2026.xlsx", {"DATA": [owner(0)]}, jumlah=False)
    workbook = openpyxl.load_workbook(path)
    ws = workbook["DATA"]
    ws.cell(ws.max_row + 1, 2, label)
    ws.cell(ws.max_row + 1, 2, "not an owner")
    workbook.save(path)
    delivery = umkm.read(path)
    assert len(delivery.rows) == 1 and delivery.errors == []


def test_column_numbering_row_under_the_header_is_skipped(tmp_path):
    path = write_workbook(tmp_path / "UMKM_BINAAN_2026.xlsx", {"DATA": [owner(0), owner(1)]}, numbering_row=True)
    delivery = umkm.read(path)
    assert [r["_row_number"] for r in as_dicts(delivery)] == [7, 8] and delivery.errors == []


def test_not_an_xlsx_file_is_rejected(tmp_path):
    csv_file = tmp_path / "UMKM_BINAAN_2026.xlsx"
    csv_file.write_text("NO;NAMA PEMILIK;NIK\n1;SITI;3573010101800000\n", encoding="utf-8")
    with pytest.raises(ContractError, match="not an XLSX workbook"):
        umkm.read(csv_file)

    good = good_workbook(tmp_path, name="UMKM_BINAAN_2025.xlsx")
    truncated = tmp_path / "UMKM_BINAAN_2024.xlsx"
    truncated.write_bytes(good.read_bytes()[: good.stat().st_size // 2])
    with pytest.raises(ContractError, match="XLSX"):
        umkm.read(truncated)

    other_zip = tmp_path / "UMKM_BINAAN_2023.xlsx"
    with zipfile.ZipFile(other_zip, "w") as zf:
        zf.writestr("readme.txt", "bukan workbook")
    with pytest.raises(ContractError, match="not a readable XLSX workbook"):
        umkm.read(other_zip)


@pytest.mark.parametrize(("name", "matched"), [
    ("UMKM_BINAAN_2026.xlsx", True),
    ("umkm_binaan_2026_kecamatan_klojen.XLSX", True),
    ("UMKM_BINAAN_2026 (revisi).xlsx", True),
    ("~$UMKM_BINAAN_2026.xlsx", False),  # Excel lock file
    ("UMKM_BINAAN_2026.xls", False),
    ("UMKM_BINAAN_2026.csv", False),
    ("UMKM_BINAAN_26.xlsx", False),
    ("DATA_UMKM_BINAAN_2026.xlsx", False),
])
def test_file_names(tmp_path, name, matched):
    assert umkm.matches(tmp_path / name) is matched


def test_period_comes_from_the_file_name_and_bad_names_are_rejected(tmp_path):
    path = good_workbook(tmp_path, name="umkm_binaan_2025_rev2.xlsx")
    assert umkm.read(path).period == "2025"
    lock = good_workbook(tmp_path, name="~$UMKM_BINAAN_2026.xlsx")
    with pytest.raises(ContractError, match="name does not match the contract"):
        umkm.read(lock)


def test_row_number_header_may_say_no_urut(tmp_path):
    header = ["No. Urut", *HEADER[1:]]
    rows = [owner(i, **{"No. Urut": i + 1}) for i in range(2)]  # the fixture finds a value by its column's label
    path = write_workbook(tmp_path / "UMKM_BINAAN_2026.xlsx", {"DATA": rows}, headers=header, merged_header=False)
    assert [r["no"] for r in as_dicts(umkm.read(path))] == ["1", "2"]
