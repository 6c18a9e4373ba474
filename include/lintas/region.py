"""The region this warehouse serves: one kab/kota, several, or a whole province (LINTAS_REGION_CODES, read in
lintas.settings), expanded to kab/kota codes and checked against the Kemendagri reference seeds.

Everything region-specific follows from here: the kelurahan/desa known to address resolution (identity.address),
the DTKS file names accepted (extract.dtks), the dbt var `lintas_region_kabkota` (dim_wilayah, the kelurahan
lookup, the need marts; passed by transform.dbt) and the region-dependent bounds of the GX gates.

Kelurahan and desa come from `kode_wilayah_jawa_timur_35.csv` (all of Jawa Timur, Kemendagri 2025); kab/kota and
kecamatan of all Indonesia from `kode_wilayah_indonesia_prov_kabkota_kec.csv`, enough to check NIK prefixes
anywhere. A region outside Jawa Timur needs its province's kelurahan seed first: configuring one is refused.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from lintas import settings

# Kelurahan/desa seeds in dbt_project/seeds/reference: province code -> seed name (dbt ref) of its level-4 rows
KELURAHAN_SEEDS = {"35": "kode_wilayah_jawa_timur_35"}
INDONESIA_SEED = "kode_wilayah_indonesia_prov_kabkota_kec"
# Kab/kota whose kecamatan and kelurahan have a BPS crosswalk seed (crosswalk_kemendagri_bps_kota_malang)
BPS_CROSSWALK_KABKOTA = ("35.73",)
DBT_VAR = "lintas_region_kabkota"
DBT_ENV = "LINTAS_DBT_REGION_KABKOTA"  # how transform.dbt hands the expanded codes to dbt_project.yml's var


@dataclass(frozen=True)
class Wilayah:
    kode: str  # dotted Kemendagri code: 35.73.05.1003
    level: int  # 1 province, 2 kab/kota, 3 kecamatan, 4 kelurahan/desa
    jenis: str  # provinsi, kabupaten, kota, kecamatan, kelurahan, desa
    nama: str
    kode_induk: str


def _seed(name: str) -> Path:
    return settings.dbt_project_dir() / "seeds" / "reference" / f"{name}.csv"


@lru_cache(maxsize=4)
def _read(name: str) -> tuple[Wilayah, ...]:
    with _seed(name).open(encoding="utf-8") as fh:
        return tuple(Wilayah(r["kode"], int(r["level"]), r["jenis"], r["nama"], r["kode_induk"])
                     for r in csv.DictReader(fh))


@lru_cache(maxsize=8)
def _kabkota_of(codes: tuple[str, ...]) -> tuple[str, ...]:
    indonesia = _read(INDONESIA_SEED)
    known = {w.kode: w for w in indonesia if w.level <= 2}
    out: list[str] = []
    for code in codes:
        if code not in known:
            raise settings.ConfigurationError(
                f"LINTAS_REGION_CODES: {code!r} is not a Kemendagri province or kab/kota code (e.g. 35.73, 35)")
        wanted = [w.kode for w in indonesia if w.level == 2 and (w.kode == code or w.kode_induk == code)]
        for kabkota in wanted:
            if kabkota[:2] not in KELURAHAN_SEEDS:
                raise settings.ConfigurationError(
                    f"LINTAS_REGION_CODES: {code} has no kelurahan reference seed yet (only provinces "
                    f"{', '.join(sorted(KELURAHAN_SEEDS))}); add its kode_wilayah seed to lintas.region")
            if kabkota not in out:
                out.append(kabkota)
    if not out:
        raise settings.ConfigurationError("LINTAS_REGION_CODES names no region")
    return tuple(sorted(out))


def kabkota_codes() -> tuple[str, ...]:
    """Dotted kab/kota codes served, sorted: ('35.73',) by default; a province expands to all its kab/kota."""
    return _kabkota_of(settings.region_codes())


def kabkota_digits() -> tuple[str, ...]:
    """The same without dots ('3573'), as DTKS file names and NIK/No. KK prefixes write them."""
    return tuple(code.replace(".", "") for code in kabkota_codes())


def wilayah() -> tuple[Wilayah, ...]:
    """The region's rows, province down to kelurahan/desa (as dim_wilayah holds them)."""
    return _wilayah_of(kabkota_codes())


@lru_cache(maxsize=8)
def _wilayah_of(kabkota: tuple[str, ...]) -> tuple[Wilayah, ...]:
    provinces = {code[:2] for code in kabkota}
    rows: list[Wilayah] = []
    for province in sorted(provinces):
        for w in _read(KELURAHAN_SEEDS[province]):
            if w.level == 1 or w.kode[:5] in kabkota:
                rows.append(w)
    return tuple(rows)


def kelurahan() -> tuple[Wilayah, ...]:
    """The region's kelurahan and desa (level 4)."""
    return tuple(w for w in wilayah() if w.level == 4)


def kecamatan() -> tuple[Wilayah, ...]:
    return tuple(w for w in wilayah() if w.level == 3)


def dbt_env() -> dict[str, str]:
    """Environment for dbt: the expanded kab/kota codes, read by dbt_project.yml into the var
    `lintas_region_kabkota` (models filter the reference seeds with the `in_region` macro)."""
    return {DBT_ENV: ",".join(kabkota_codes())}


def gate_parameters() -> dict[str, str]:
    """Region-dependent text the GX suites name as `{region_...}` placeholders (lintas.quality.gate fills them)."""
    kabkota = kabkota_codes()
    with_bps = [code for code in kabkota if code in BPS_CROSSWALK_KABKOTA]
    return {
        "{region_kabkota_count}": str(len(kabkota)),
        "{region_kecamatan_count}": str(len(kecamatan())),
        "{region_kelurahan_count}": str(len(kelurahan())),
        "{region_kabkota_sql}": "(" + ", ".join(f"'{c}'" for c in kabkota) + ")",
        "{region_kabkota_bps_sql}": "(" + ", ".join(f"'{c}'" for c in with_bps or ["-"]) + ")",
        "{region_kabkota_regex}": "(" + "|".join(kabkota_digits()) + ")",
    }
