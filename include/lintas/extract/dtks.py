"""Welfare (Dinas Sosial) DTKS/DTSEN monthly snapshot CSVs: `DTKS_<kode kab/kota>_<YYYYMM>.csv`.

A file is rejected whole (a `ContractError`, recorded as a rejected batch naming line and field) when it cannot be
read as the contract says:
- the name breaks `DTKS_<kode>_<YYYYMM>.csv`, or its kode kab/kota is not one of this warehouse's region
  (`region.kabkota_digits()`: LINTAS_REGION_CODES, 3573 for Kota Malang); each kab/kota delivers its own file a
  month, kept apart by `audit.load_batch.kode_kabkota`;
- the encoding is not UTF-8 (with or without BOM) or Windows-1252: UTF-16/UTF-32 are named as such;
- a NUL byte anywhere (line and byte offset named): text exports never hold one, and PostgreSQL text cannot;
- a field longer than `MAX_FIELD_CHARS` (line and column named): no contract field comes near it, so a longer
  one means broken quoting or a corrupt export, and the whole snapshot is suspect;
- truncation: a snapshot is complete only if its last record has the header's field count, no open quote, and
  a line break after it. **Newline rule:** the file must end with a line break. A cut that falls inside the last
  field leaves the right field count with a shortened value, so a last line without a line break cannot be told
  from a cut export; it is rejected as truncated rather than publishing a short register (false exits).
Line breaks may be CRLF, LF or CR alone (old Mac exports); the newline rule holds for each.
A bad row *before* the last one (wrong field count, blank or repeated IDDTKS, wrong PERIODE) is quarantined.
"""

from __future__ import annotations

import csv
import io
import json
import re
import sys
from contextlib import contextmanager
from pathlib import Path

from lintas import region
from lintas.extract.contract import ContractError, Delivery, RowError, normalise_header, sha256_file

SOURCE = "dinsos_dtks"
FILE_PATTERN = re.compile(r"^DTKS_(?P<kabkota>\d{4})_(?P<year>\d{4})(?P<month>\d{2})\.csv$", re.IGNORECASE)
NAME_CONTRACT = "DTKS_<kode kab/kota>_<YYYYMM>.csv"

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
# Longest accepted field, in characters, for every column (extra columns too). Real values are far shorter
# (ALAMAT, the longest, stays under ~200); 4 KB leaves room for any honest value and stops a runaway field.
MAX_FIELD_CHARS = 4096
ACCEPTED_ENCODINGS = "UTF-8 or Windows-1252"


def matches(path: Path) -> bool:
    return FILE_PATTERN.match(path.name) is not None


def _check_bytes(data: bytes, name: str) -> None:
    """Encodings the contract does not allow, and NUL bytes, before any decoding is attempted."""
    if data.startswith((b"\xff\xfe\x00\x00", b"\x00\x00\xfe\xff")):
        raise ContractError(name, f"UTF-32 is not an accepted encoding ({ACCEPTED_ENCODINGS})")
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise ContractError(name, f"UTF-16 is not an accepted encoding ({ACCEPTED_ENCODINGS})")
    nul = data.find(b"\x00")
    if nul < 0:
        return
    head = data[:64]
    if len(head) >= 4 and (head[1::2].count(0) == len(head[1::2]) or head[0::2].count(0) == len(head[0::2])):
        raise ContractError(name, f"UTF-16 (without BOM) is not an accepted encoding ({ACCEPTED_ENCODINGS})")
    line = data.count(b"\n", 0, nul) + 1
    raise ContractError(name, f"NUL byte at line {line} (byte offset {nul}): not a text export")


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
        raise ContractError(name, f"not {ACCEPTED_ENCODINGS} (byte offset {exc.start})") from None


def _delimiter(header_line: str, name: str) -> str:
    found = [d for d in DELIMITERS if d in header_line]
    if len(found) != 1:
        raise ContractError(name, "header must be delimited by exactly one of ';' or '|'")
    return found[0]


@contextmanager
def _no_csv_field_limit():
    """The csv module's own limit (128 KiB) raises a bare csv.Error without the column; fields are measured
    against MAX_FIELD_CHARS here instead, where line and column can be named."""
    previous = csv.field_size_limit(sys.maxsize)
    try:
        yield
    finally:
        csv.field_size_limit(previous)


def period_of(name: str) -> str:
    """The snapshot month of a file name; raises ContractError if the name breaks the contract."""
    match = FILE_PATTERN.match(name)
    if not match:
        raise ContractError(name, f"name does not match the contract {NAME_CONTRACT}")
    served = region.kabkota_digits()
    if match["kabkota"] not in served:
        raise ContractError(name, f"kode kab/kota {match['kabkota']} in the file name is not this warehouse's "
                                  f"region {', '.join(served)}")
    if not 1 <= int(match["month"]) <= 12:
        raise ContractError(name, f"file name month {match['month']} is not 01-12")
    return f"{match['year']}-{match['month']}"


def kode_kabkota_of(name: str) -> str:
    """Dotted kode kab/kota of a DTKS file name that passed `period_of`: DTKS_3573_202610.csv -> 35.73."""
    digits = FILE_PATTERN.match(name)["kabkota"]
    return f"{digits[:2]}.{digits[2:]}"


def read(path: Path) -> Delivery:
    """Parse one DTKS file. Raises ContractError if the file as a whole breaks the contract."""
    name = path.name
    period = period_of(name)
    data = path.read_bytes()
    _check_bytes(data, name)
    text = _decode(data, name)
    del data
    if "\n" not in text and "\r" in text:
        text = text.replace("\r", "\n")  # CR-only line breaks (old Mac "CSV (Macintosh)" exports)
    end = text.find("\n")
    header_line = text if end < 0 else text[:end]
    if not header_line.strip():
        raise ContractError(name, "empty file: no header row")
    delimiter = _delimiter(header_line, name)
    with _no_csv_field_limit():
        return _parse(text, name, period, delimiter, sha256_file(path))


def _parse(text: str, name: str, period: str, delimiter: str, checksum: str) -> Delivery:
    reader = csv.reader(io.StringIO(text), delimiter=delimiter)
    try:
        header = [normalise_header(h) for h in next(reader)]
    except csv.Error as exc:
        raise ContractError(name, f"line 1 (header): not readable as CSV ({exc})") from None
    duplicated = sorted({h for h in header if header.count(h) > 1})
    if duplicated:
        raise ContractError(name, f"duplicated header column(s): {', '.join(duplicated)}")
    missing = [c for c in COLUMNS if c not in header]
    if missing:
        raise ContractError(name, f"missing required column(s): {', '.join(missing)}")
    position = {h: i for i, h in enumerate(header)}
    extra = [h for h in header if h not in COLUMNS and h]

    delivery = Delivery(source=SOURCE, source_ref=name, checksum=checksum, period=period, columns=RAW_COLUMNS,
                        extra_columns=extra, kode_kabkota=kode_kabkota_of(name))
    seen_ids: set[str] = set()
    last_start, last_count = None, len(header)  # the last record: where it starts, how many fields
    previous_end = reader.line_num
    try:
        for fields in reader:
            row_number = reader.line_num  # physical line of the row's end; header is line 1
            start, previous_end = previous_end + 1, row_number
            if not any(f.strip() for f in fields):
                continue  # blank line, not a record
            last_start, last_count = start, len(fields)
            raw_record = delimiter.join(fields)
            if len(raw_record) > MAX_FIELD_CHARS:  # only then can a field be over the limit
                _check_lengths(fields, header, row_number, name)
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
    except csv.Error as exc:  # the module's messages name the rule broken, never a value
        raise ContractError(name, f"line {reader.line_num}: not readable as CSV ({exc})") from None
    _check_complete(text, name, delimiter, header, last_start, last_count)
    return delivery


def _check_lengths(fields: list[str], header: list[str], line: int, name: str) -> None:
    if max(map(len, fields), default=0) <= MAX_FIELD_CHARS:
        return
    index = next(i for i, f in enumerate(fields) if len(f) > MAX_FIELD_CHARS)
    column = header[index] if index < len(header) else f"#{index + 1} (beyond the header)"
    raise ContractError(name, f"line {line} field {column}: longer than the {MAX_FIELD_CHARS}-character limit "
                              f"({len(fields[index])} characters; an unterminated quote swallows later lines)")


def _check_complete(text: str, name: str, delimiter: str, header: list[str], last_start: int | None,
                    last_count: int) -> None:
    """A snapshot cut short must not pass for a smaller register: the last record must be whole."""
    if last_start is None:
        return  # header only: an empty register is the gate's concern, not truncation
    where = f"truncated: last record at line {last_start} is incomplete"
    offset = 0
    for _ in range(last_start - 1):  # the csv reader counts lines by "\n"
        offset = text.index("\n", offset) + 1
    try:
        list(csv.reader(io.StringIO(text[offset:]), delimiter=delimiter, strict=True))
    except csv.Error as exc:
        if "unexpected end of data" in str(exc):
            raise ContractError(name, f"{where} (a quoted field is never closed)") from None
    if last_count < len(header):
        raise ContractError(name, f"{where} ({last_count} of {len(header)} fields)")
    if not text.endswith(("\n", "\r")):
        raise ContractError(name, f"{where} (no line break after it: the file must end with one)")


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
