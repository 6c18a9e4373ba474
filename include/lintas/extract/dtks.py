"""Welfare (Dinas Sosial) DTKS/DTSEN monthly snapshot CSVs: `DTKS_<kode kab/kota>_<YYYYMM>.csv`."""

from __future__ import annotations

import csv
import io
import json
import re
from pathlib import Path

from lintas.extract.contract import ContractError, Delivery, RowError, normalise_header, sha256_file

SOURCE = "dinsos_dtks"
FILE_PATTERN = re.compile(r"^DTKS_(?P<kabkota>\d{4})_(?P<year>\d{4})(?P<month>\d{2})\.csv$", re.IGNORECASE)

# Contract header -> raw column. Order here is the raw table's column order.
COLUMNS: dict[str, str] = {
    "IDDTKS": "iddtks",
    "NO_KK": "no_kk",
    "NIK": "nik",
    "NAMA": "nama",
    "JENIS_KELAMIN": "jenis_kelamin",
    "TEMPAT_LAHIR": "tempat_lahir",
    "TANGGAL_LAHIR": "tanggal_lahir",
    "HUBUNGAN_KELUARGA": "hubungan_keluarga",
    "NAMA_IBU_KANDUNG": "nama_ibu_kandung",
    "ALAMAT": "alamat",
    "RT": "rt",
    "RW": "rw",
    "KELURAHAN": "kelurahan",
    "KECAMATAN": "kecamatan",
    "DESIL": "desil",
    "PKH": "pkh",
    "BPNT": "bpnt",
    "PBI_JK": "pbi_jk",
    "PERIODE": "periode",
}
RAW_COLUMNS = ["_row_number", *COLUMNS.values(), "_extra"]
DELIMITERS = (";", "|")


def matches(path: Path) -> bool:
    return FILE_PATTERN.match(path.name) is not None


def _decode(data: bytes, name: str) -> str:
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        pass
    try:
        return data.decode("cp1252")
    except UnicodeDecodeError as exc:  # cp1252 leaves five bytes undefined
        raise ContractError(name, f"not UTF-8 or Windows-1252 (byte offset {exc.start})") from None


def _delimiter(header_line: str, name: str) -> str:
    found = [d for d in DELIMITERS if d in header_line]
    if len(found) != 1:
        raise ContractError(name, "header must be delimited by exactly one of ';' or '|'")
    return found[0]


def read(path: Path) -> Delivery:
    """Parse one DTKS file. Raises ContractError if the file as a whole breaks the contract."""
    name = path.name
    match = FILE_PATTERN.match(name)
    if not match:
        raise ContractError(name, "file name does not follow DTKS_<kode kab/kota>_<YYYYMM>.csv")
    month = int(match["month"])
    if not 1 <= month <= 12:
        raise ContractError(name, f"file name month {match['month']} is not 01-12")
    period = f"{match['year']}-{match['month']}"

    text = _decode(path.read_bytes(), name)
    lines = text.splitlines()
    if not lines or not lines[0].strip():
        raise ContractError(name, "empty file: no header row")
    delimiter = _delimiter(lines[0], name)
    reader = csv.reader(io.StringIO(text), delimiter=delimiter)
    header = [normalise_header(h) for h in next(reader)]

    duplicated = sorted({h for h in header if header.count(h) > 1})
    if duplicated:
        raise ContractError(name, f"duplicated header column(s): {', '.join(duplicated)}")
    missing = [c for c in COLUMNS if c not in header]
    if missing:
        raise ContractError(name, f"missing required column(s): {', '.join(missing)}")
    position = {h: i for i, h in enumerate(header)}
    extra = [h for h in header if h not in COLUMNS and h]

    delivery = Delivery(
        source=SOURCE,
        source_ref=name,
        checksum=sha256_file(path),
        period=period,
        columns=RAW_COLUMNS,
        extra_columns=extra,
    )
    seen_ids: set[str] = set()
    for fields in reader:
        row_number = reader.line_num  # physical line of the row's end; header is line 1
        if not any(f.strip() for f in fields):
            continue  # blank line, not a record
        raw_record = delimiter.join(fields)
        if len(fields) != len(header):
            delivery.errors.append(
                RowError(row_number, "*", "field_count",
                         f"expected {len(header)} fields, found {len(fields)}", raw_record)
            )
            continue
        values = {col: fields[position[h]].strip() or None for h, col in COLUMNS.items()}  # blank -> NULL
        error = _row_error(values, period, seen_ids)
        if error:
            field_name, rule, reason = error
            delivery.errors.append(RowError(row_number, field_name, rule, reason, raw_record,
                                            record_key=values["iddtks"]))
            continue
        seen_ids.add(values["iddtks"])
        extra_values = {h: fields[position[h]] for h in extra}
        delivery.rows.append(
            (row_number, *values.values(), json.dumps(extra_values) if extra_values else None)
        )
    return delivery


def _row_error(values: dict[str, str | None], period: str, seen_ids: set[str]) -> tuple[str, str, str] | None:
    """Row-level rules that make a row unusable as a register record. Data-quality issues in values
    (bad NIK, odd sex code) are not row errors: they are measured by the gate and handled downstream."""
    if not values["iddtks"]:
        return "IDDTKS", "required", "IDDTKS is blank"
    if values["iddtks"] in seen_ids:
        return "IDDTKS", "unique_in_file", "IDDTKS repeats an earlier row of this file"
    if not values["periode"]:
        return "PERIODE", "required", "PERIODE is blank"
    if values["periode"] != period:
        return "PERIODE", "matches_file_period", f"PERIODE differs from the file name's period {period}"
    return None
