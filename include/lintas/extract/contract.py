"""What every extract produces: rows in the raw table's column order, row errors, and file-level rejections."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path


class ContractError(ValueError):
    """A delivery breaks the agency contract and is rejected whole. The message never carries row values."""

    def __init__(self, source_ref: str, reason: str):
        super().__init__(f"{source_ref}: {reason}")
        self.source_ref = source_ref
        self.reason = reason


@dataclass(frozen=True)
class RowError:
    row_number: int
    field: str
    rule: str
    reason: str
    raw_record: str
    location: str | None = None  # sheet name or API page, when the row number alone is ambiguous
    # the record's own key (e.g. IDDTKS) when the row split by the header and the key was readable; None otherwise
    record_key: str | None = None

    def describe(self, source_ref: str) -> str:
        where = f" {self.location}" if self.location else ""
        return f"{source_ref}{where} row {self.row_number} field {self.field}: {self.reason}"


@dataclass
class Delivery:
    """One parsed delivery (a file, or a set of API pages), ready for the raw loader."""

    source: str
    source_ref: str
    checksum: str
    period: str | None
    columns: list[str]  # raw table columns, in the order of each row tuple (lineage columns start with "_")
    rows: list[tuple] = field(default_factory=list)  # values in `columns` order, all text or None
    errors: list[RowError] = field(default_factory=list)
    extra_columns: list[str] = field(default_factory=list)
    # Incremental sources (API, database) re-send record versions through overlapping pulls. With key_columns
    # set, the loader keeps a row only if no earlier non-rejected batch holds the same key with the same values.
    key_columns: tuple[str, ...] = ()
    # Highest source timestamp in this delivery: where the next incremental pull starts (minus the overlap).
    watermark: datetime | None = None
    # Dotted kode kab/kota of a delivery that covers one kab/kota of the region (a DTKS file): its batches replace
    # only that kab/kota's earlier ones, and the gates compare it with that kab/kota's previous batch.
    kode_kabkota: str | None = None

    @property
    def rows_extracted(self) -> int:
        return len(self.rows) + len(self.errors)


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def normalise_header(name: str) -> str:
    """Headers match case-insensitively, ignoring surrounding spaces (and a stray BOM)."""
    return " ".join(name.replace("\ufeff", "").strip().upper().split())


# Files in an outbox that are not deliveries (yet): hidden files and partial uploads (`.x.partial`), office and
# editor lock or swap files, downloads and copies still in progress. They are ignored quietly; every other file
# is a delivery and is read, or rejected with a reason (a name outside the contract included).
_IN_PROGRESS_SUFFIXES = (".tmp", ".temp", ".part", ".partial", ".crdownload", ".swp", ".lock", "~")


def is_not_a_delivery(path: Path) -> bool:
    name = path.name
    return name.startswith((".", "~$")) or name.lower().endswith(_IN_PROGRESS_SUFFIXES)
