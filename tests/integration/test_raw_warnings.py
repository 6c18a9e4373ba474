"""Every warning of the raw suites, calibrated on the generator's data (bench/bench_warnings.py, bench/README.md):
a delivery at the highest rate seen on normal data (small and city, both noise profiles, rounded up) stays
quiet; the same delivery with a planted anomaly beyond the threshold fires that warning, and only that one. A
warning never blocks: both batches are accepted.

The deliveries are hand-made (tests/fixtures), 100 rows each, so a count of rows is a percentage.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import timedelta

import pytest
import sqlalchemy as sa

from lintas import pipeline, settings
from lintas.load.raw import RunContext
from lintas.quality import gate
from lintas_sandbox.standins.dapodik import DapodikServer
from tests.fixtures import izin_db
from tests.fixtures.dapodik_records import TOKEN, student
from tests.fixtures.dtks_files import member, write
from tests.fixtures.umkm_workbooks import owner, write_workbook

ROWS = 100


@dataclass(frozen=True)
class Warning:
    source: str
    expectation: str
    column: str
    field: str  # the delivery's field the anomaly is planted in
    value: object  # what `quiet` rows, then `planted` rows, get in that field
    quiet: int  # rows at the normal rate (highest observed on the generator's data, rounded up)
    planted: int  # rows of the planted anomaly

    @property
    def id(self) -> str:
        return f"{self.source}-{self.expectation.removeprefix('expect_column_')}-{self.column}"


NOT_NULL, REGEX, IN_SET = ("expect_column_values_to_not_be_null", "expect_column_values_to_match_regex",
                           "expect_column_values_to_be_in_set")
UNIQUE_SHARE = "expect_column_proportion_of_unique_values_to_be_between"
SAME_NIK = object()  # the planted rows carry the first row's NIK (a placeholder or copied NIK)

WARNINGS = [
    # DTKS: NIK blank up to 8.5% observed (bar 13%), unique share >= 0.999 (bar 0.97), dates and kecamatan all fine
    Warning("dinsos_dtks", NOT_NULL, "nik", "NIK", "", quiet=9, planted=14),
    Warning("dinsos_dtks", UNIQUE_SHARE, "nik", "NIK", SAME_NIK, quiet=1, planted=5),
    Warning("dinsos_dtks", REGEX, "tanggal_lahir", "TANGGAL_LAHIR", "15.01.1980", quiet=1, planted=3),
    Warning("dinsos_dtks", NOT_NULL, "kecamatan", "KECAMATAN", "", quiet=1, planted=2),
    # Dapodik: NIK missing 4.9-5.4% observed (bar 10%)
    Warning("disdik_peserta_didik", NOT_NULL, "nik", "nik", None, quiet=6, planted=11),
    Warning("disdik_peserta_didik", REGEX, "nisn", "nisn", "12345", quiet=1, planted=3),
    Warning("disdik_peserta_didik", REGEX, "tanggal_lahir", "tanggal_lahir", "17-05-2012", quiet=1, planted=3),
    Warning("disdik_peserta_didik", NOT_NULL, "kelurahan", "kelurahan", None, quiet=1, planted=3),
    # UMKM: NIK blank 0-2.1% per workbook observed (bar 10%)
    Warning("diskopindag_umkm", NOT_NULL, "nik", "NIK", None, quiet=3, planted=11),
    Warning("diskopindag_umkm", IN_SET, "jenis_kelamin", "JENIS KELAMIN", "X", quiet=1, planted=3),
    Warning("diskopindag_umkm", NOT_NULL, "kelurahan", "KELURAHAN", None, quiet=1, planted=3),
    # permits: every kode_wilayah in the city observed (bar 95%); a Kabupaten Malang (3507) code planted
    Warning("dpmptsp_izin_usaha", REGEX, "kode_wilayah", "kode_wilayah", "3507051003", quiet=2, planted=6),
]


def _with(rows: list[dict], warning: Warning, count: int) -> list[dict]:
    """The rows, the first `count` of them given the warning's value (or the first row's NIK)."""
    for i in range(count):
        key = 1 + i if warning.value is SAME_NIK else i
        rows[key] = rows[key] | {warning.field: rows[0][warning.field] if warning.value is SAME_NIK
                                 else warning.value}
    return rows


def _deliver_dtks(warning, counts, tmp_path, monkeypatch) -> list[int]:
    outbox = tmp_path / "dinsos"
    outbox.mkdir()
    monkeypatch.setenv("LINTAS_OUTBOX_DINSOS", str(outbox))
    settings.reload()
    batches = []
    for period, count in zip(("2026-09", "2026-10"), counts, strict=True):
        write(outbox, f"DTKS_3573_{period.replace('-', '')}.csv",
              _with([member(i, period) for i in range(ROWS)], warning, count))
        batches += pipeline.extract_files("dinsos_dtks", RunContext("test", period))["loaded"]
    return batches


def _deliver_dapodik(warning, counts, tmp_path, monkeypatch) -> list[int]:
    batches = []
    for n, count in enumerate(counts):  # the second pull: students changed after the first
        records = _with([student(n * ROWS + i) for i in range(ROWS)], warning, count)
        with DapodikServer(records, token=TOKEN) as api:
            batches += pipeline.extract_dapodik(RunContext("test", f"pull-{n}"), base_url=api.base_url,
                                                token=TOKEN)["loaded"]
    return batches


def _deliver_umkm(warning, counts, tmp_path, monkeypatch) -> list[int]:
    outbox = tmp_path / "diskopindag"
    outbox.mkdir()
    monkeypatch.setenv("LINTAS_OUTBOX_DISKOPINDAG", str(outbox))
    settings.reload()
    batches = []
    for year, count in zip((2025, 2026), counts, strict=True):
        rows = _with([owner(i) for i in range(ROWS)], warning, count)
        write_workbook(outbox / f"UMKM_BINAAN_{year}.xlsx", {"LOWOKWARU": rows}, year=year)
        batches += pipeline.extract_files("diskopindag_umkm", RunContext("test", str(year)))["loaded"]
    return batches


def _deliver_izin(warning, counts, tmp_path, monkeypatch) -> list[int]:
    url = f"sqlite:///{tmp_path / 'dpmptsp.sqlite'}"
    engine = sa.create_engine(url)
    izin_db.create(engine)
    batches = []
    for n, count in enumerate(counts):  # the second pull: permits issued a day after the first
        at = izin_db.T0 + timedelta(days=n)
        izin_db.insert(engine, "izin_usaha", _with([izin_db.permit(n * ROWS + i, at) for i in range(ROWS)],
                                                   warning, count))
        batches += pipeline.extract_izin(RunContext("test", f"pull-{n}"), url=url)["dpmptsp_izin_usaha"]["loaded"]
    engine.dispose()
    return batches


DELIVER = {"dinsos_dtks": _deliver_dtks, "disdik_peserta_didik": _deliver_dapodik,
           "diskopindag_umkm": _deliver_umkm, "dpmptsp_izin_usaha": _deliver_izin}


def test_every_raw_warning_is_covered_here():
    suites = {}
    for source in DELIVER:
        suite = json.loads(gate.suite_path(f"raw_{source}").read_text(encoding="utf-8"))
        suites[source] = sorted((e["type"], e["kwargs"]["column"]) for e in suite["expectations"]
                                if e.get("severity") == "warning")
    assert suites == {source: sorted((w.expectation, w.column) for w in WARNINGS if w.source == source)
                      for source in DELIVER}
    # the permits' KBLI rows carry no warning
    kbli = json.loads(gate.suite_path("raw_dpmptsp_izin_usaha_kbli").read_text(encoding="utf-8"))
    assert not [e for e in kbli["expectations"] if e.get("severity") == "warning"]


@pytest.mark.parametrize("warning", WARNINGS, ids=lambda w: w.id)
def test_raw_warning_is_quiet_at_the_normal_rate_and_fires_on_a_planted_anomaly(warning, warehouse_url, tmp_path,
                                                                                 monkeypatch):
    quiet_batch, planted_batch = DELIVER[warning.source](warning, (warning.quiet, warning.planted), tmp_path,
                                                         monkeypatch)
    checkpoint = f"raw_{warning.source}"
    quiet = gate.run_gate(checkpoint, quiet_batch, url=warehouse_url, run_id="quiet")
    planted = gate.run_gate(checkpoint, planted_batch, url=warehouse_url, run_id="planted")
    assert quiet.passed and quiet.warnings == [], quiet.summary()
    assert planted.passed, planted.summary()  # a warning never blocks the batch
    assert [(w.expectation, w.column) for w in planted.warnings] == [(warning.expectation, warning.column)], \
        planted.summary()
