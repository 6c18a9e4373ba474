"""Cooperatives and SMEs (Diskopindag): UMKM binaan XLSX workbooks `UMKM_BINAAN_<YYYY>*.xlsx`.

Every sheet is read (often one per kecamatan). A sheet may open with title rows; its header row is found by
matching contract column names, and may span two rows with merged cells (a label merged vertically over both rows,
or a group label such as `KOPERASI` merged horizontally over `NAMA KOPERASI` / `NOMOR INDUK KOPERASI`). Data ends
at the `JUMLAH` / `TOTAL` row. Cell values become text as delivered but readable (see `_text`); a NIK stored as a
number cell is marked `_nik_cell_type = 'number'`: Excel kept only 15 significant digits, so it is corrupt.

A workbook is rejected whole (recorded as a rejected batch naming file, sheet, row and column where known) when it
is not a readable XLSX container, a sheet has no contract header, or a data cell of a read column holds a NUL
character or is longer than `MAX_CELL_CHARS`: no contract value comes near that, so such a cell means a corrupt
or mis-pasted workbook. Excel lock files (`~$...`) are not deliveries.
"""

from __future__ import annotations

import json
import logging
import math
import re
import zipfile
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time
from pathlib import Path

from lintas.extract.contract import ContractError, Delivery, RowError, normalise_header, sha256_file

log = logging.getLogger(__name__)

SOURCE = "diskopindag_umkm"
FILE_PATTERN = re.compile(r"^UMKM_BINAAN_(?P<year>\d{4}).*\.xlsx$", re.IGNORECASE)
NAME_CONTRACT = "UMKM_BINAAN_<YYYY>*.xlsx"

# Contract header -> raw column. Order here is the raw table's column order.
COLUMNS: dict[str, str] = {
    "NO": "no",
    "NAMA PEMILIK": "nama_pemilik",
    "NIK": "nik",
    "JENIS KELAMIN": "jenis_kelamin",
    "TANGGAL LAHIR": "tanggal_lahir",
    "ALAMAT": "alamat",
    "RT/RW": "rt_rw",
    "KELURAHAN": "kelurahan",
    "KECAMATAN": "kecamatan",
    "NAMA USAHA": "nama_usaha",
    "SEKTOR": "sektor",
    "NIB": "nib",
    "NAMA KOPERASI": "nama_koperasi",
    "NOMOR INDUK KOPERASI": "nomor_induk_koperasi",
    "JENIS PELATIHAN": "jenis_pelatihan",
    "TANGGAL PELATIHAN": "tanggal_pelatihan",
    "PINJAMAN MODAL BPR": "pinjaman_modal_bpr",
    "NILAI PINJAMAN (Rp)": "nilai_pinjaman",
}
RAW_COLUMNS = ["_sheet", "_row_number", *COLUMNS.values(), "_nik_cell_type", "_extra"]
REQUIRED = tuple(COLUMNS)  # every contract column must be present in every sheet
_NIK_SLOT = list(COLUMNS).index("NIK")
_NAMA_SLOT = list(COLUMNS).index("NAMA PEMILIK")

# Longest accepted text cell, in characters (Excel itself allows 32,767). The longest contract values (ALAMAT,
# NAMA USAHA) stay far below; 4 KB leaves room for any honest value and stops a pasted document.
MAX_CELL_CHARS = 4096
HEADER_SCAN_ROWS = 30  # the header row (its upper row, when it spans two) lies within the first rows
IDENTIFIER_COLUMNS = ("NIB", "NOMOR INDUK KOPERASI")
DATE_COLUMNS = ("TANGGAL LAHIR", "TANGGAL PELATIHAN")
AMOUNT_COLUMN = "NILAI PINJAMAN (Rp)"
TOTAL_ROW = re.compile(r"^\s*(JUMLAH|TOTAL)\b", re.IGNORECASE)
APOSTROPHES = "'\u2018\u2019`"


def _canon(text: str) -> str:
    """Header key: case, spacing, underscores, spaces around ( ) /, and a trailing '.' or ':' do not matter."""
    key = " ".join(normalise_header(text).replace("_", " ").split())
    key = re.sub(r"\s*([()/])\s*", r"\1", key)
    return key.rstrip(".:").strip()


HEADER_ALIASES = {"NILAI PINJAMAN": AMOUNT_COLUMN, "NILAI PINJAMAN (RUPIAH)": AMOUNT_COLUMN, "NO URUT": "NO"}
_LOOKUP = {_canon(h): h for h in COLUMNS} | {_canon(a): h for a, h in HEADER_ALIASES.items()}


def _words(text: str) -> tuple[str, ...]:
    """The label's words in any order, punctuation aside ('RT/RW' stays one word: its order means something)."""
    return tuple(sorted(re.findall(r"[A-Z0-9/]+", _canon(text))))


_BY_WORDS = {_words(h): _LOOKUP[_canon(h)] for h in [*COLUMNS, *HEADER_ALIASES]}


def _lookup(label: str) -> str | None:
    """The contract column a header label names: exactly (as `_canon` sees it), else by its words in any order,
    as a two-row header spells them ('PINJAMAN' over 'NILAI (Rp)'; 'Nilai Pinjaman Rp.')."""
    return _LOOKUP.get(_canon(label)) or _BY_WORDS.get(_words(label))


PERSON_COLUMNS = {"NAMA PEMILIK", "NIK"}  # a data sheet names at least one of them


class NotADataSheet(ContractError):
    """A summary (REKAP: no owner column, at most two other contract columns) or a notes sheet (no header, no more
    rows than were searched for one): skipped and reported beside data sheets; the workbook's rejection if no
    sheet holds data."""


def matches(path: Path) -> bool:
    return not path.name.startswith("~$") and FILE_PATTERN.match(path.name) is not None


# --- cell values -> text -------------------------------------------------------------------------------------------

def _number_text(value: int | float) -> str:
    if isinstance(value, float):
        if math.isfinite(value) and value.is_integer():
            return str(int(value))
        return str(value)
    return str(value)


def _text(value: object) -> str | None:
    """Any cell as text: strings stripped (blank -> None), integral numbers without '.0', dates as ISO."""
    if value is None:
        return None
    if isinstance(value, str):
        return value.strip() or None
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, int | float):
        return _number_text(value)
    if isinstance(value, datetime):
        return value.date().isoformat() if value.time() == time(0) else value.isoformat(sep=" ")
    if isinstance(value, date | time):
        return value.isoformat()
    return str(value).strip() or None


def _identifier(value: object) -> str | None:
    """NIB, NOMOR INDUK KOPERASI: a number cell gives its integer digits; a text cell loses a leading apostrophe."""
    if isinstance(value, str):
        return value.strip().lstrip(APOSTROPHES).strip() or None
    return _text(value)


NIB_DIGITS = 13


def _nib(value: object) -> str | None:
    """NIB: as `_identifier`; a number cell also gets back the leading zeros Excel dropped (a NIB has 13 digits,
    within Excel's 15 significant ones, so nothing else is lost)."""
    text = _identifier(value)
    if isinstance(value, int | float) and not isinstance(value, bool) and text and text.isdigit():
        return text.zfill(NIB_DIGITS)
    return text


def _date(value: object) -> str | None:
    """Date cells -> YYYY-MM-DD; an Excel serial number -> its day number as text (staging converts)."""
    if isinstance(value, datetime):
        return value.date().isoformat()
    if isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value):
        return str(math.floor(value))
    return _text(value)


def _amount(value: object) -> str | None:
    """Rupiah: a number cell -> whole rupiah as text; text ('Rp 5.000.000') as delivered."""
    if isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value):
        return str(round(value))
    return _text(value)


def _nik(value: object) -> tuple[str | None, str | None]:
    """(NIK text, cell type). A number cell held only 15 significant digits in Excel: type 'number' = corrupt."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        return _number_text(value), "number"
    text = _identifier(value)
    return text, ("text" if text is not None else None)


_CONVERTERS: dict[str, Callable[[object], str | None]] = {
    **{h: _text for h in COLUMNS},
    **{h: _identifier for h in IDENTIFIER_COLUMNS},
    "NIB": _nib,
    **{h: _date for h in DATE_COLUMNS},
    AMOUNT_COLUMN: _amount,
}


# --- header --------------------------------------------------------------------------------------------------------

@dataclass
class _Header:
    row: int  # Excel row of the (upper) header row
    height: int  # 1 or 2 rows
    names: list[str | None]  # per sheet column: contract header, extra header name, or None (unnamed)

    @property
    def data_start(self) -> int:
        return self.row + self.height

    def position(self, header: str) -> int:
        return self.names.index(header)


def _label(value: object) -> str | None:
    if value is None:
        return None
    text = str(value).strip()
    return text or None


def _single_row(upper: Sequence[object]) -> tuple[list[str | None], int]:
    names: list[str | None] = []
    for value in upper:
        label = _label(value)
        names.append(None if label is None else _lookup(label) or normalise_header(label))
    return names, len({n for n in names if n in COLUMNS})


def _two_rows(upper: Sequence[object], lower: Sequence[object],
              groups: dict[int, str]) -> tuple[list[str | None], int, bool, bool]:
    """Names from an upper and a lower header row: the lower label, the upper label (a vertical merge keeps its
    value in the upper cell), or the upper (group) label combined with the lower one. Also reports whether the
    upper and the lower row each helped to name a contract column."""
    names: list[str | None] = []
    upper_used = lower_used = False
    for col, (top_value, low_value) in enumerate(zip(upper, lower, strict=True)):
        top, low = _label(top_value), _label(low_value)
        group = groups.get(col) or top
        found = None
        if low:
            found = _lookup(low)
            if found:
                lower_used = True
            elif group:
                found = _lookup(f"{group} {low}")
                if found:
                    upper_used = lower_used = True
        if not found and top:
            found = _lookup(top)
            if found:
                upper_used = True
        if found:
            names.append(found)
        elif low:
            names.append(normalise_header(f"{group} {low}" if group else low))
        else:
            names.append(normalise_header(top) if top else None)
    return names, len({n for n in names if n in COLUMNS}), upper_used, lower_used


def _find_header(ws, width: int) -> _Header | None:
    """The header row is the one (within the first rows) naming the most contract columns. A two-row reading wins
    when both rows help to name columns (or a label is merged down over both) and it names at least as many."""
    rows = [tuple(r) for r in ws.iter_rows(min_row=1, max_row=HEADER_SCAN_ROWS + 1, max_col=width,
                                            values_only=True)]
    rows += [(None,) * width] * (HEADER_SCAN_ROWS + 1 - len(rows))
    merged = list(ws.merged_cells.ranges)
    best: _Header | None = None
    best_score = 0
    for index in range(HEADER_SCAN_ROWS):
        row = index + 1
        names, score = _single_row(rows[index])
        candidate = _Header(row, 1, names)
        groups: dict[int, str] = {}
        merged_down = False
        for rng in merged:
            if rng.min_row != row or rng.min_col > width:
                continue
            merged_down = merged_down or rng.max_row > row
            label = _label(rows[index][rng.min_col - 1])
            if label and rng.max_col > rng.min_col:
                for col in range(rng.min_col, min(rng.max_col, width) + 1):
                    groups[col - 1] = label
        names2, score2, upper_used, lower_used = _two_rows(rows[index], rows[index + 1], groups)
        if upper_used and (lower_used or merged_down) and score2 >= score:
            candidate, score = _Header(row, 2, names2), score2
        if score > best_score:
            best, best_score = candidate, score
    return best


# --- rows ----------------------------------------------------------------------------------------------------------

def _is_numbering_row(values: Sequence[object], columns: Sequence[int]) -> bool:
    """A row of column numbers under the header ('1 2 3 ...' or '(1) (2) ...'), as government templates have."""
    numbers = []
    for col in columns:
        value = values[col]
        if _blank(value):
            continue
        text = _text(value) or ""
        match = re.fullmatch(r"\(?(\d{1,3})\)?", text)
        if not match:
            return False
        numbers.append(int(match[1]))
    return len(numbers) >= 3 and all(b == a + 1 for a, b in zip(numbers, numbers[1:], strict=False))


def _is_total_row(values: Sequence[object], label_cols: Sequence[int], own_label_cols: set[int],
                  nama_at: int) -> bool:
    """The JUMLAH / TOTAL row: labelled in one of the first columns (or under NO / NAMA PEMILIK). A label in
    another column counts only when the owner's name is blank, so a business named "TOTAL JAYA" stays data."""
    for i in label_cols:
        value = values[i]
        if isinstance(value, str) and TOTAL_ROW.match(value) and (i in own_label_cols or _blank(values[nama_at])):
            return True
    return False


def _blank(value: object) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def _read_sheet(ws, name: str, delivery: Delivery, extra_names: set[str]) -> bool:
    """Append the sheet's rows and row errors to the delivery; False if the sheet is entirely empty."""
    title = ws.title
    width = ws.max_column
    if all(_blank(v) for row in ws.iter_rows(values_only=True) for v in row):
        log.info("%s: sheet %r is empty, skipped", name, title)
        return False
    header = _find_header(ws, width)
    if header is None:
        # all of a short sheet was searched for a header: notes; a longer one may be data under a header not found
        content_rows = sum(not all(_blank(v) for v in row) for row in ws.iter_rows(values_only=True))
        problem = NotADataSheet if content_rows <= HEADER_SCAN_ROWS else ContractError
        raise problem(name, f"sheet {title!r}: no header row with contract column names in the first "
                            f"{HEADER_SCAN_ROWS} rows")
    named = [h for h in header.names if h]
    duplicated = sorted(h for h, n in Counter(named).items() if n > 1)
    if duplicated:
        raise ContractError(name, f"sheet {title!r}: duplicated header column(s): {', '.join(duplicated)}")
    missing = [c for c in REQUIRED if c not in named]
    if missing:
        # a sheet naming no owner column and hardly any other is a summary (REKAP) or notes sheet; one naming
        # more is a data sheet whose header broke, and rejects the workbook
        contract = set(named) & set(COLUMNS)
        problem = NotADataSheet if len(contract) <= 2 and not PERSON_COLUMNS & contract else ContractError
        raise problem(name, f"sheet {title!r}: header (row {header.row}) is missing required column(s): "
                            f"{', '.join(missing)}")

    position = {h: header.position(h) for h in COLUMNS}
    converters = [(position[h], _CONVERTERS[h]) for h in COLUMNS if h != "NIK"]
    nik_at = position["NIK"]
    extras = [(i, h) for i, h in enumerate(header.names) if h and h not in COLUMNS]
    extra_names.update(h for _, h in extras)
    named_cols = [i for i, h in enumerate(header.names) if h]
    content_cols = [i for i in named_cols if i != position["NO"]]  # a row holding only its number is blank
    nama_at = position["NAMA PEMILIK"]
    own_label_cols = {position["NO"], nama_at}
    data_width = max(named_cols) + 1  # cells right of the last named column are not read (nor a styled tail)
    label_cols = sorted(set(range(min(3, data_width))) | own_label_cols)

    total_at = None
    ignored_after_total = 0
    for offset, values in enumerate(ws.iter_rows(min_row=header.data_start, max_col=data_width, values_only=True)):
        row_number = header.data_start + offset
        if total_at is not None:
            ignored_after_total += not all(_blank(values[i]) for i in named_cols)
            continue
        if _is_total_row(values, label_cols, own_label_cols, nama_at):
            total_at = row_number
            continue
        if all(_blank(values[i]) for i in content_cols):
            continue
        if offset == 0 and _is_numbering_row(values, named_cols):
            continue
        _check_cells(values, named_cols, header.names, name, title, row_number)
        texts = [convert(values[i]) for i, convert in converters]
        nik, nik_type = _nik(values[nik_at])
        texts.insert(_NIK_SLOT, nik)
        if texts[_NAMA_SLOT] is None:
            raw_record = "|".join(_text(values[i]) or "" for i in named_cols)
            delivery.errors.append(RowError(row_number, "NAMA PEMILIK", "required", "NAMA PEMILIK is blank",
                                            raw_record, location=title))
            continue
        extra = json.dumps({h: _text(values[i]) for i, h in extras}) if extras else None
        delivery.rows.append((title, row_number, *texts, nik_type, extra))
    if ignored_after_total:
        log.warning("%s: sheet %r: %d non-blank row(s) after the total row %d were ignored", name, title,
                    ignored_after_total, total_at)
    return True


def _check_cells(values: Sequence[object], columns: Sequence[int], names: Sequence[str | None], name: str,
                 title: str, row_number: int) -> None:
    """A NUL character (PostgreSQL text cannot hold one) or an over-long cell rejects the workbook, named."""
    for i in columns:
        value = values[i]
        if not isinstance(value, str):
            continue
        where = f"sheet {title!r} row {row_number} column {names[i]}"
        if "\x00" in value:
            raise ContractError(name, f"{where}: NUL character in the cell")
        if len(value) > MAX_CELL_CHARS:
            raise ContractError(name, f"{where}: longer than the {MAX_CELL_CHARS}-character limit "
                                      f"({len(value)} characters)")


def _open(path: Path, name: str):
    import openpyxl  # here, not at the top: it pulls in numpy (~0.5 s) into every extract DAG file's parse

    if not zipfile.is_zipfile(path):
        raise ContractError(name, "not an XLSX workbook (not a zip container)")
    try:
        return openpyxl.load_workbook(path, data_only=True)
    except Exception as exc:  # any failure to parse the container is a broken delivery
        raise ContractError(name, f"not a readable XLSX workbook ({type(exc).__name__})") from None


def read(path: Path) -> Delivery:
    """Parse one UMKM workbook. Raises ContractError if the workbook as a whole breaks the contract."""
    name = path.name
    match = FILE_PATTERN.match(name)
    if not match or name.startswith("~$"):
        raise ContractError(name, f"name does not match the contract {NAME_CONTRACT}")
    workbook = _open(path, name)
    delivery = Delivery(
        source=SOURCE,
        source_ref=name,
        checksum=sha256_file(path),
        period=match["year"],
        columns=RAW_COLUMNS,
    )
    extra_names: set[str] = set()
    read_sheets = 0
    other_sheets: list[NotADataSheet] = []
    try:
        for ws in workbook.worksheets:
            try:
                read_sheets += _read_sheet(ws, name, delivery, extra_names)
            except NotADataSheet as sheet:
                other_sheets.append(sheet)
    finally:
        workbook.close()
    if not read_sheets and other_sheets:
        raise ContractError(name, other_sheets[0].reason)  # no data sheet at all: the first sheet's reason
    if not read_sheets:
        raise ContractError(name, "workbook is empty: no worksheet holds a header and data")
    for sheet in other_sheets:  # beside data sheets: a summary or notes sheet, reported and skipped
        log.warning("%s: skipped, not a data sheet (%s)", name, sheet.reason)
    delivery.extra_columns = sorted(extra_names)
    return delivery
