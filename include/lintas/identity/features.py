"""The linkage input: every source record read from the warehouse and turned into the features the rules and
the model compare (validated NIK, canonical names, resolved kelurahan, standardised street)."""

from __future__ import annotations

from functools import lru_cache

import pandas as pd
from psycopg import sql

from lintas import warehouse
from lintas.identity import address, names, nik

PERMITS = "dpmptsp_izin_usaha"  # business permits: business address, no birth date, sex or mother
ADULT_SOURCES = {PERMITS, "diskopindag_umkm"}  # owners and holders: adults with a KTP
FEATURES = ["unique_id", "source", "nik", "nik_valid", "nik_contradicted", "nik_number_cell", "name", "first_name",
            "last_name", "sex", "dob", "mother", "kelurahan", "street", "house_number", "no_kk", "nib"]
FLAGS = {"nik_valid", "nik_contradicted", "nik_number_cell"}
SOURCE_COLUMNS = ["record_key", "record_source", "nik", "nik_from_number_cell", "no_kk", "nama", "jenis_kelamin",
                  "tanggal_lahir", "nama_ibu_kandung", "alamat", "kelurahan", "kecamatan", "kode_wilayah", "nib"]
# a first given name so many share that it tells no one apart: the next one is the record's first name
COMMON_FIRST_NAMES = {"muhammad", "ahmad", "abdul", "siti", "nur"}


def _source_records_query(*, by_key: bool = False) -> sql.Composed:
    """The linkage input's columns in record order; `by_key`: only the records of %(keys)s."""
    return sql.SQL("select {} from intermediate.int_identity__source_records{} order by record_key").format(
        sql.SQL(", ").join(map(sql.Identifier, SOURCE_COLUMNS)),
        sql.SQL(" where record_key = any(%(keys)s)" if by_key else ""))


def read_source_records(url: str, record_keys: list[str] | None = None) -> pd.DataFrame:
    """Every source record, or those of `record_keys` (a review pair)."""
    by_key = record_keys is not None
    with warehouse.connect(url) as conn:
        rows = conn.execute(_source_records_query(by_key=by_key), {"keys": record_keys} if by_key else None
                            ).fetchall()
    return pd.DataFrame(rows, columns=SOURCE_COLUMNS, dtype=object)  # object: None stays None, not NaN


def read_prepared(url: str, batch_rows: int = 50_000) -> pd.DataFrame:
    """`prepare(read_source_records(url))` without ever holding every raw record: the records are read through a
    server-side cursor a batch at a time and each batch prepared at once (at 5x city the raw records were the
    linkage stage's largest object). Every No. KK in the warehouse is read first, for the NIK check."""
    caches = _caches()
    parts = []
    with warehouse.connect(url) as conn:
        family_cards = {d for (v,) in conn.execute(
            "select distinct no_kk from intermediate.int_identity__source_records where no_kk is not null")
            if (d := nik.clean(v))}
        with conn.transaction(), conn.cursor(name="lintas_linkage_input") as cur:
            cur.execute(_source_records_query())
            while rows := cur.fetchmany(batch_rows):
                parts.append(prepare(pd.DataFrame(rows, columns=SOURCE_COLUMNS, dtype=object), family_cards,
                                     caches))
    if not parts:
        return prepare(pd.DataFrame(columns=SOURCE_COLUMNS, dtype=object))
    return pd.concat(parts, ignore_index=True)


def _caches() -> tuple:
    """The normalisers, each distinct spelling once (a city repeats names, mothers' names and streets); bounded,
    so the cache of a 5x city is not the stage's largest object."""
    return (lru_cache(maxsize=1 << 18)(names.normalise), lru_cache(maxsize=1 << 18)(address.standardise_street))


def _nib(value) -> str | None:
    """An OSS business id (NIB) of 13 digits, or None (blank, malformed)."""
    digits = nik.clean(value) if value is not None else None
    return digits if digits and len(digits) == 13 and digits.isdigit() and len(set(digits)) > 1 else None


def prepare(records: pd.DataFrame, family_cards: set[str] | None = None, caches: tuple | None = None) -> pd.DataFrame:
    """One row per record with the comparison features: validated NIK, canonical names, resolved kelurahan.
    `family_cards`: every No. KK the warehouse knows (default: those of `records`); `caches`: `_caches()` shared
    between batches."""
    out = []
    normalise, street = caches or _caches()
    # every family card number the warehouse knows: a UMKM or permit record has no No. KK of its own to compare
    if family_cards is None:
        family_cards = {d for d in map(nik.clean, records["no_kk"]) if d}
    for r in records.itertuples(index=False):
        recorded = r.nik
        if r.nik_from_number_cell and (digits := nik.clean(recorded)) and digits.isdigit() and len(digits) == 15:
            recorded = digits + "0"  # the 16th digit lost, not kept as a zero: the same corrupt number
        check = nik.check_nik(recorded, from_number_cell=bool(r.nik_from_number_cell))
        digits = nik.clean(recorded)
        contradicted = False
        if digits and digits in family_cards:
            digits, check = None, nik.NikCheck(None, ("is_no_kk",))  # a family card number typed as NIK
        elif nik.contradicts_record(check, sex=r.jenis_kelamin, birth_date=r.tanggal_lahir) or (
                r.record_source in ADULT_SOURCES and r.tanggal_lahir is None and nik.too_young_for_ktp(check)):
            # a No. KK from outside the warehouse, a relative's NIK: no key for NIK groups or the model, no veto
            contradicted = True
        name = normalise(r.nama)
        mother = normalise(r.nama_ibu_kandung)
        tokens = name.tokens if name else ()
        given = [t for t in tokens if t not in COMMON_FIRST_NAMES] or list(tokens)
        kelurahan = address.resolve_kelurahan(r.kode_wilayah or r.kelurahan, r.kecamatan) or (
            address.resolve_kelurahan(r.kelurahan, r.kecamatan) if r.kode_wilayah else None)
        out.append((
            r.record_key, r.record_source,
            digits if digits and len(digits) == 16 and digits.isdigit() and "placeholder" not in check.problems
            else None,
            check.is_valid and not contradicted,
            contradicted,
            bool(r.nik_from_number_cell),
            name.canonical if name else None,
            given[0] if given else None,
            tokens[-1] if len(tokens) > 1 else None,
            r.jenis_kelamin,
            r.tanggal_lahir.isoformat() if r.tanggal_lahir else None,
            mother.canonical if mother else None,
            kelurahan,
            street(r.alamat).name,
            street(r.alamat).house_number,
            r.no_kk,
            _nib(getattr(r, "nib", None)),
        ))
    frame = pd.DataFrame(out, columns=FEATURES, dtype=object)
    # fixed types, whatever a batch holds (a batch of DTKS records has no NIB): text as pandas' str, flags as bool
    return frame.astype({c: (bool if c in FLAGS else "str") for c in FEATURES})
