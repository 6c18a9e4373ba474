"""Link every source record to one person: a valid, unconflicted NIK first, then transparent rules (a NIK one
edit away with a witness; name + birth date + mother; a permit run from home), then Splink on name, birth date,
sex, mother's name, NIK and address. Person ids stay stable across runs; merges and splits are recorded.

Data moves PostgreSQL -> pandas -> DuckDB (in process, memory-limited, spilling to a temporary folder) ->
PostgreSQL with psycopg; DuckDB needs no extension. The reviewed model is versioned in the repo
(`model/splink_model.json`); LINTAS_LINKAGE_MODEL selects another one; `train()` / `training.retrain()` make new
ones. `bench/bench_linkage.py` measures quality against the generator's truth, seconds and peak memory.
"""

from __future__ import annotations

import json
import logging
import tempfile
import time
from collections import Counter, defaultdict
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import lru_cache
from pathlib import Path

import pandas as pd

from lintas import settings, warehouse
from lintas.identity import address, names, nik

log = logging.getLogger(__name__)

MODEL_PATH = Path(__file__).parent / "model" / "splink_model.json"
MATCH_THRESHOLD = 0.999  # pairs at or above are the same person (quality: bench/README.md)
REVIEW_THRESHOLD = 0.90  # pairs between this and MATCH_THRESHOLD go to analysts' review queue
MAX_CLUSTER_SIZE = 12  # a person with more records than this is suspicious (chaining): reported by the gate

MODEL_COLUMNS = ["unique_id", "source", "nik", "name", "first_name", "last_name", "sex", "dob", "mother",
                 "kelurahan", "street"]
PERMITS = "dpmptsp_izin_usaha"  # business permits: business address, no birth date, sex or mother
ADULT_SOURCES = {PERMITS, "diskopindag_umkm"}  # owners and holders: adults with a KTP
FEATURES = ["unique_id", "source", "nik", "nik_valid", "nik_contradicted", "nik_number_cell", "name", "first_name",
            "last_name", "sex", "dob", "mother", "kelurahan", "street", "house_number", "no_kk"]
SOURCE_COLUMNS = ["record_key", "record_source", "nik", "nik_from_number_cell", "no_kk", "nama", "jenis_kelamin",
                  "tanggal_lahir", "nama_ibu_kandung", "alamat", "kelurahan", "kecamatan", "kode_wilayah"]


def read_source_records(url: str | None = None) -> pd.DataFrame:
    with warehouse.connect(url) as conn:
        rows = conn.execute(
            f"select {', '.join(SOURCE_COLUMNS)} from intermediate.int_identity__source_records order by record_key"
        ).fetchall()
    return pd.DataFrame(rows, columns=SOURCE_COLUMNS, dtype=object)  # object: None stays None, not NaN


def prepare(records: pd.DataFrame) -> pd.DataFrame:
    """One row per record with the comparison features: validated NIK, canonical names, resolved kelurahan."""
    out = []
    # a city repeats names, mothers' names and streets: normalise each distinct spelling once
    normalise = lru_cache(maxsize=None)(names.normalise)
    street = lru_cache(maxsize=None)(address.standardise_street)
    # every family card number the warehouse knows: a UMKM or permit record has no No. KK of its own to compare
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
        # first given name: skip a leading Muhammad/Ahmad/Abdul, which too many share to tell people apart
        given = [t for t in tokens if t not in {"muhammad", "ahmad", "abdul", "siti", "nur"}] or list(tokens)
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
        ))
    return pd.DataFrame(out, columns=FEATURES)


def nik_groups(prepared: pd.DataFrame) -> list[list[str]]:
    """Records sharing a valid NIK that agree with each other (birth date, sex): one person each.

    A NIK shared by records that disagree (a No. KK typed as NIK, a clerk's copy-paste) is not trusted: its
    records are left to probabilistic matching."""
    valid = prepared[prepared["nik_valid"].astype(bool)]
    stats = valid.groupby("nik").agg(n=("unique_id", "size"), dobs=("dob", "nunique"), sexes=("sex", "nunique"))
    agreeing = stats[(stats["n"] > 1) & (stats["dobs"] <= 1) & (stats["sexes"] <= 1)].index
    members = valid[valid["nik"].isin(agreeing)]
    return [list(keys) for _, keys in members.groupby("nik", sort=False)["unique_id"]]


def same_nik_pairs(prepared: pd.DataFrame) -> list[tuple[str, str]]:
    """Rule: records sharing a valid NIK that `nik_groups` left apart (their birth dates or sexes disagree) but
    whose names a clerk could have written for one person: a birth date mistyped or day and month swapped in one
    agency. A relative's NIK copied into a record (the reason a disputed NIK forms no group) comes with another
    name and stays apart."""
    valid = prepared.loc[prepared["nik_valid"].astype(bool) & prepared["name"].notna(), ["unique_id", "nik", "name"]]
    shared = valid[valid.duplicated("nik", keep=False)]
    pairs = shared.merge(shared, on="nik", suffixes=("_l", "_r"))
    pairs = pairs[pairs["unique_id_l"] < pairs["unique_id_r"]]
    similar = lru_cache(maxsize=None)(names.same_person_spelling)
    return sorted((a, b) for a, b, x, y in zip(pairs["unique_id_l"], pairs["unique_id_r"], pairs["name_l"],
                                               pairs["name_r"], strict=True) if similar(x, y))


# Candidate pairs for the model. Each rule keeps its blocks small at any scale: a birth date alone, or a given
# name with only the kelurahan or only the surname, grows with the square of the city (a city repeats its common
# names; at 5x city those two rules spilled > 70 GB, bench/README.md). What each rule is for:
#   NIK; birth date + kelurahan / + given name: the records that carry a birth date (DTKS, Dapodik, most UMKM);
#   given name + kelurahan + street: a record without birth date (a permit, some UMKM rows) at the same address;
#   given name + surname + kelurahan: one without birth date in the same kelurahan, another street spelling;
#   given name + surname + birth year: a birth-date typo, someone who moved house.
# The three name rules also skip a block of more than MAX_BLOCK_RECORDS records (a very common name: the model
# could not tell them apart without a birth date or NIK anyway): at most 99 candidates per record and rule, so
# beyond that block size the pairs grow linearly with the records. (City, seed 1: 29.7 M pairs before, 1.09 M
# now, largest name block 31 records; 5x: 26.2 M.) Part of the code, not of the trained model: changing them
# needs no retraining.
MAX_BLOCK_RECORDS = 100
BLOCK_SIZES = {  # column of linkage_features: the size of the record's block under a name rule
    "n_first_street": 'first_name, kelurahan, street',
    "n_first_last_place": 'first_name, last_name, kelurahan',
    "n_first_last_year": 'first_name, last_name, substr(dob, 1, 4)',
}
BLOCKING = [
    'l."nik" = r."nik"',
    'l."dob" = r."dob" and l."kelurahan" = r."kelurahan"',
    'l."dob" = r."dob" and l."first_name" = r."first_name"',
    'l."first_name" = r."first_name" and l."kelurahan" = r."kelurahan" and l."street" = r."street"'
    f' and l."n_first_street" <= {MAX_BLOCK_RECORDS}',
    'l."first_name" = r."first_name" and l."last_name" = r."last_name" and l."kelurahan" = r."kelurahan"'
    f' and l."n_first_last_place" <= {MAX_BLOCK_RECORDS}',
    'l."first_name" = r."first_name" and l."last_name" = r."last_name"'
    ' and substr(l."dob", 1, 4) = substr(r."dob", 1, 4)'
    f' and l."n_first_last_year" <= {MAX_BLOCK_RECORDS}',
]


def near_nik_pairs(prepared: pd.DataFrame) -> list[tuple[str, str]]:
    """Rule: names a clerk could have written for one person (`names.same_person_spelling`: equal, one typo, an
    initial, a title the dictionary lacks), NIKs one edit apart (a typo, a transposition, Excel's lost 16th
    digit), nothing recorded that disagrees (sex, birth date) and a witness the NIK does not already carry: the
    same kelurahan, the same mother's name, or the same birth date where the two NIKs differ in their birth-date
    digits. A same birth date alone is no witness: it is written in the NIK, and a stranger of the same (common)
    name born the same day and registered in the same kecamatan has a NIK one serial digit away.

    A permit (DPMPTSP) records the business address and neither birth date, sex nor mother, so it can have no
    witness: a permit holder joins a record of that name with a NIK one edit away outside the birth-date digits
    (serials restart at 0001 for every date, so same-name people born days apart in one kecamatan differ there)
    unless one of the NIKs also has a near neighbour of such a name (then the model and review decide)."""
    columns = ["unique_id", "source", "name", "nik", "nik_number_cell", "sex", "dob", "mother", "kelurahan"]
    with_nik = prepared.loc[prepared["nik"].notna() & prepared["name"].notna(), columns]
    if len(with_nik) < 2:
        return []
    with duckdb_connection() as con:
        con.register("near_input", with_nik)
        # Candidates are NIKs one position masked apart (a substitution) or one adjacent pair in sorted order (a
        # transposition): hashed keys of the distinct NIKs joined in DuckDB, linear and within its memory limit.
        # The name is compared afterwards, so a typo or a title left in the name does not hide the pair.
        con.execute("create temp table near_nik as select row_number() over () as nid, nik"
                    " from (select distinct nik from near_input)")
        con.execute("""
            create temp table near_key as
            select nid, hash('s' || i || '|' || substr(nik, 1, i) || substr(nik, i + 2)) as k
            from near_nik, range(16) as t (i)
            union all
            select nid, hash('t' || i || '|' || substr(nik, 1, i)
                             || least(substr(nik, i + 1, 1), substr(nik, i + 2, 1))
                             || greatest(substr(nik, i + 1, 1), substr(nik, i + 2, 1)) || substr(nik, i + 3))
            from near_nik, range(15) as t (i)
        """)
        con.execute("""
            create temp table near_pair as
            select a.nik as nik_l, b.nik as nik_r
            from (select distinct a.nid as nid_l, b.nid as nid_r
                  from near_key as a inner join near_key as b on a.k = b.k and a.nid < b.nid) as c
            inner join near_nik as a on c.nid_l = a.nid
            inner join near_nik as b on c.nid_r = b.nid
            where damerau_levenshtein(a.nik, b.nik) = 1
        """)
        # a number-cell NIK's 16th digit is lost, so one more typo puts it two edits from the true NIK: compare its
        # first 15 digits (substitution keys from the number cells only, so the join stays small)
        con.execute("""
            create temp table near_key15 as
            select nid, hash('e' || i || '|' || substr(nik, 1, i) || substr(nik, i + 2, 14 - i)) as k
            from near_nik, range(15) as t (i)
        """)
        con.execute("""
            insert into near_pair
            select distinct least(a.nik, b.nik), greatest(a.nik, b.nik)
            from (select * from near_key15 where nid in (
                    select near_nik.nid from near_nik semi join near_input
                        on near_nik.nik = near_input.nik and coalesce(near_input.nik_number_cell::boolean, false)
                 )) as c
            inner join near_key15 as o on c.k = o.k and c.nid <> o.nid
            inner join near_nik as a on c.nid = a.nid
            inner join near_nik as b on o.nid = b.nid
            where damerau_levenshtein(a.nik, b.nik) > 1
                and damerau_levenshtein(substr(a.nik, 1, 15), substr(b.nik, 1, 15)) = 1
        """)
        # a cheap superset of `names.same_person_spelling` in SQL; the exact test runs on what is left
        found = con.execute(f"""
            select
                l.unique_id as uid_l,
                r.unique_id as uid_r,
                l.nik as nik_l,
                r.nik as nik_r,
                l.name as name_l,
                r.name as name_r,
                coalesce(l.kelurahan = r.kelurahan, false) as same_place,
                coalesce(l.mother = r.mother, false) as same_mother,
                coalesce(l.dob = r.dob, false) as same_birth,
                substr(l.nik, 7, 6) <> substr(r.nik, 7, 6) as date_digits_differ,
                (l.source = '{PERMITS}' or r.source = '{PERMITS}') as permit,
                (coalesce(l.nik_number_cell::boolean, false) or coalesce(r.nik_number_cell::boolean, false))
                    and substr(l.nik, 1, 15) = substr(r.nik, 1, 15) as lost_digit
            from near_pair
            inner join near_input as l on near_pair.nik_l = l.nik
            inner join near_input as r on near_pair.nik_r = r.nik
            where {_agree("sex")} and {_agree("dob")}
                and (l.name = r.name or jaro_winkler_similarity(l.name, r.name) >= 0.8
                     or contains(l.name, r.name) or contains(r.name, l.name))
        """).df()
    if found.empty:
        return []
    similar = lru_cache(maxsize=None)(names.same_person_spelling)
    found = found[[similar(a, b) for a, b in zip(found["name_l"], found["name_r"], strict=True)]]
    if found.empty:
        return []
    witnessed = found["same_place"] | found["same_mother"] | (found["same_birth"] & found["date_digits_differ"])
    # a business-address record: the only evidence is name + near NIK, so it must be unambiguous on both sides
    # (a NIK whose near neighbours of such a name carry more than one other NIK)
    sides = pd.concat([found[["nik_l", "nik_r"]].set_axis(["nik", "other"], axis=1),
                       found[["nik_r", "nik_l"]].set_axis(["nik", "other"], axis=1)])
    neighbours = sides.drop_duplicates().groupby("nik")["other"].size()
    unambiguous = (found["nik_l"].map(neighbours) == 1) & (found["nik_r"].map(neighbours) == 1)
    # Excel's lost 16th digit is a known cause, not a stranger's serial: like a permit, unambiguous suffices
    keep = witnessed | ((found["permit"] | found["lost_digit"]) & ~found["date_digits_differ"] & unambiguous)
    return sorted({(min(a, b), max(a, b)) for a, b in zip(found.loc[keep, "uid_l"], found.loc[keep, "uid_r"],
                                                          strict=True)})


def name_birth_mother_pairs(prepared: pd.DataFrame) -> list[tuple[str, str]]:
    """Rule: the same canonical name, birth date and mother's name, sex not disagreeing, where those records carry
    at most one NIK between them (two NIKs: the NIK groups, near-NIK rule and model decide). Twins share the birth
    date and mother, never the name; a child who moved house still has all three."""
    columns = ["unique_id", "name", "dob", "mother", "sex", "nik"]
    complete = prepared.loc[prepared["name"].notna() & prepared["dob"].notna() & prepared["mother"].notna(), columns]
    if len(complete) < 2:
        return []
    with duckdb_connection() as con:
        con.register("complete_input", complete)
        found = con.execute(f"""
            with one_nik as (
                select name, dob, mother
                from complete_input
                group by name, dob, mother
                having count(*) > 1 and count(distinct nik) <= 1
            ),
            member as (
                select complete_input.*
                from complete_input
                semi join one_nik using (name, dob, mother)
            )
            select l.unique_id, r.unique_id
            from member as l
            inner join member as r
                on l.name = r.name and l.dob = r.dob and l.mother = r.mother and l.unique_id < r.unique_id
            where {_agree("sex")}
        """).fetchall()
    return sorted(found)


def similar_name_birth_pairs(prepared: pd.DataFrame) -> list[tuple[str, str]]:
    """Rule: the same birth date and a home or mother in common (the same kelurahan and street, or the same
    mother's name), names a clerk could have written for one person (`names.same_person_spelling`), sex and
    mother not disagreeing, and no two NIKs that say two people: one side without a usable NIK, or NIKs at most
    two edits apart (the veto's bound). Catches a typo or initial in the name where the model's score falls
    short and one NIK is blank, a No. KK, or typed as an Excel number with a typo. Twins share date, home and
    mother but not the name."""
    columns = ["unique_id", "name", "dob", "sex", "mother", "kelurahan", "street", "house_number", "nik",
               "nik_contradicted"]
    dated = prepared.loc[prepared["name"].notna() & prepared["dob"].notna(), columns]
    if len(dated) < 2:
        return []
    with duckdb_connection() as con:
        con.register("dated_input", dated)
        found = con.execute(f"""
            with base as (
                select unique_id, name, dob, sex, mother, kelurahan, street, house_number,
                    case when coalesce(nik_contradicted, false) then null else nik end as nik
                from dated_input
            )
            select l.unique_id as uid_l, r.unique_id as uid_r, l.name as name_l, r.name as name_r
            from base as l
            inner join base as r on l.dob = r.dob and l.unique_id < r.unique_id
            where ((l.kelurahan = r.kelurahan and l.street = r.street and {_agree("house_number")})
                   or l.mother = r.mother)
                and {_agree("sex")}
                and (l.mother is null or r.mother is null or jaro_winkler_similarity(l.mother, r.mother) >= 0.8)
                and (l.nik is null or r.nik is null or damerau_levenshtein(l.nik, r.nik) <= 2)
                and (l.name = r.name or jaro_winkler_similarity(l.name, r.name) >= 0.8
                     or contains(l.name, r.name) or contains(r.name, l.name))
        """).df()
    if found.empty:
        return []
    similar = lru_cache(maxsize=None)(names.same_person_spelling)
    found = found[[similar(x, y) for x, y in zip(found["name_l"], found["name_r"], strict=True)]]
    # a record that would join records whose NIKs say two people (a namesake born the same day in the same
    # street) cannot tell which one it is: none of its pairs
    nik_of = {k: v for k, v, c in zip(dated["unique_id"], dated["nik"], dated["nik_contradicted"], strict=True)
              if isinstance(v, str) and not c}
    partners: dict[str, set[str]] = defaultdict(set)
    for a, b in zip(found["uid_l"], found["uid_r"], strict=True):
        partners[a].add(b)
        partners[b].add(a)
    torn = set()
    for record, others in partners.items():
        niks = sorted({nik_of[k] for k in others | {record} if k in nik_of})
        if any(names.osa_distance(x, y, 2) > 2 for i, x in enumerate(niks) for y in niks[i + 1:]):
            torn.add(record)
    return sorted((a, b) for a, b in zip(found["uid_l"], found["uid_r"], strict=True)
                  if a not in torn and b not in torn)


def home_business_pairs(prepared: pd.DataFrame, person_of: dict[str, str] | None = None) -> list[tuple[str, str]]:
    """Rule: a permit whose holder has the same canonical name, kelurahan, street and house number (where both
    record one: a common name has namesakes along a long street) as exactly one person in
    the other agencies' records (a business run from home), where one side has no usable NIK (otherwise the NIK
    decides). 'Exactly one' counts persons, not records: `person_of` (record -> person, from the links already
    made) joins a holder's DTKS and UMKM records into one; without it, records that carry the same NIK are one
    person. Someone recorded as younger than 17 (a pupil namesake) is no candidate: a permit needs a KTP,
    issued from 17."""
    columns = ["unique_id", "source", "name", "kelurahan", "street", "house_number", "nik", "dob"]
    placed = prepared.loc[prepared["name"].notna() & prepared["kelurahan"].notna() & prepared["street"].notna(),
                          columns].copy()
    # a NIK that contradicts its record (a No. KK on a permit) is no NIK here either
    placed.loc[prepared.loc[placed.index, "nik_contradicted"].fillna(False).astype(bool), "nik"] = None
    adult_born_by = nik.REFERENCE_DATE.replace(year=nik.REFERENCE_DATE.year - 17).isoformat()
    if len(placed) < 2:
        return []
    placed = placed.assign(person=[
        (person_of or {}).get(uid) or (f"nik:{n}" if isinstance(n, str) else uid)
        for uid, n in zip(placed["unique_id"], placed["nik"], strict=True)])
    with duckdb_connection() as con:
        con.register("placed_input", placed)
        found = con.execute(f"""
            with candidate as (
                select p.unique_id as permit_id, p.nik as permit_nik, o.unique_id as other_id, o.nik as other_nik,
                    o.person as other_person
                from placed_input as p
                inner join placed_input as o
                    on p.name = o.name and p.kelurahan = o.kelurahan and p.street = o.street
                where p.source = '{PERMITS}' and o.source <> '{PERMITS}'
                    and (o.dob is null or o.dob <= '{adult_born_by}')
                    and (p.house_number is null or o.house_number is null or p.house_number = o.house_number)
            ),
            single as (
                select permit_id
                from candidate
                group by permit_id
                having count(distinct other_person) = 1
            )
            select least(permit_id, other_id), greatest(permit_id, other_id)
            from candidate
            where permit_id in (select permit_id from single) and (permit_nik is null or other_nik is null)
        """).fetchall()
    return sorted(found)


def other_rule_pairs(prepared: pd.DataFrame, person_of: dict[str, str] | None = None) -> list[tuple[str, str]]:
    """The deterministic rules that need no NIK: name + birth date + mother, a similar name + birth date + home
    or mother, home business (which counts the persons of `person_of`, the links made before it)."""
    return sorted(set(name_birth_mother_pairs(prepared)) | set(similar_name_birth_pairs(prepared))
                  | set(home_business_pairs(prepared, person_of)))


def _agree(column: str) -> str:
    """SQL: nothing recorded on both sides that disagrees."""
    return f"(l.{column} is null or r.{column} is null or l.{column} = r.{column})"


# DuckDB runs in the Airflow worker's process: bound its memory (it spills to disk beyond) and threads, so the
# linkage stage stays within a few GB at any scale instead of DuckDB's default of 80 % of the machine's RAM.
DUCKDB_MEMORY_LIMIT = "1GB"
DUCKDB_THREADS = 2
# and its spill: past this DuckDB fails with an out-of-space error for its temporary folder, the disk stays usable
DUCKDB_MAX_TEMP_SIZE = "20GB"


@contextmanager
def duckdb_connection():
    import duckdb

    with tempfile.TemporaryDirectory(prefix="lintas-duckdb-") as spill:
        con = duckdb.connect(config={"memory_limit": DUCKDB_MEMORY_LIMIT, "threads": DUCKDB_THREADS,
                                     "temp_directory": spill, "max_temp_directory_size": DUCKDB_MAX_TEMP_SIZE,
                                     "preserve_insertion_order": False})
        try:
            yield con
        finally:
            con.close()


def _settings():
    import splink.comparison_library as cl
    from splink import SettingsCreator

    return SettingsCreator(
        link_type="dedupe_only",
        unique_id_column_name="unique_id",
        comparisons=[
            # only an exact NIK is evidence here: people born on the same day in the same or a neighbouring
            # kecamatan have NIKs one digit apart (typos are caught by `near_nik_pairs` with the name as witness)
            cl.ExactMatch("nik"),
            cl.JaroWinklerAtThresholds("name", [0.97, 0.9, 0.8]),
            # exact, one typo, within a month, a year, ten years: siblings differ by years, typos by a digit
            cl.DateOfBirthComparison("dob", input_is_string=True, datetime_format="%Y-%m-%d"),
            cl.ExactMatch("sex"),
            cl.JaroWinklerAtThresholds("mother", [0.95, 0.8]),
            cl.ExactMatch("kelurahan"),
            cl.JaroWinklerAtThresholds("street", [0.9]),
        ],
        blocking_rules_to_generate_predictions=[{"blocking_rule": r, "sql_dialect": "duckdb"} for r in BLOCKING],
        retain_intermediate_calculation_columns=False,
        retain_matching_columns=True,  # the NIK veto reads nik_l / nik_r
    )


def _linker(prepared: pd.DataFrame, settings, con):
    from splink import Linker
    from splink.backends.duckdb import DuckDBAPI

    db = DuckDBAPI(connection=con)
    create_linkage_features(con, prepared)
    return Linker(db.register("linkage_features"), settings)


def create_linkage_features(con, prepared: pd.DataFrame) -> None:
    """DuckDB table linkage_features: the model's columns and the block sizes the blocking rules cap."""
    con.register("linkage_input", prepared)
    sizes = ", ".join(f"count(*) over (partition by {keys}) as {column}" for column, keys in BLOCK_SIZES.items())
    # a NIK contradicting its record is not this person's: the model sees it as missing, not as a disagreement
    columns = ", ".join("case when nik_contradicted then null else nik end as nik" if c == "nik" else c
                        for c in MODEL_COLUMNS)
    con.execute(f"create table linkage_features as select {columns}, {sizes} from linkage_input")
    con.unregister("linkage_input")


def train(prepared: pd.DataFrame, path: Path = MODEL_PATH, *, version: int | None = None,
          start_from: Path | None = None) -> Path:
    """Estimate the model on these records (u by random sampling, m by EM on two blockings) and save it with
    its version (`version`, else one more than the model at `path`) and what it was trained on (counts only).

    `start_from`: re-estimate a saved model rather than the code's untrained settings; a level the data never
    shows (a small city has no name one typo apart) keeps that model's value instead of having none."""
    from splink import block_on

    if version is None:
        version = model_metadata(path).get("version", 0) + 1 if path.exists() else 1
    settings_ = _settings() if start_from is None else load_model(start_from)
    with duckdb_connection() as con:
        linker = _linker(prepared, settings_, con)
        linker.training.estimate_probability_two_random_records_match([block_on("nik", "dob")], recall=0.8)
        linker.training.estimate_u_using_random_sampling(max_pairs=2e6, seed=1)
        linker.training.estimate_parameters_using_expectation_maximisation(block_on("dob"))
        linker.training.estimate_parameters_using_expectation_maximisation(block_on("first_name", "kelurahan"))
        model = linker.misc.save_model_to_json(overwrite=True)
    model.pop("linker_uid", None)  # random per run: two trainings on the same data give the same file
    model[METADATA_KEY] = {"version": version, "trained_at": datetime.now(UTC).isoformat(timespec="seconds"),
                           "records": len(prepared), "records_per_source": prepared["source"].value_counts()
                           .sort_index().to_dict()}
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(model, indent=4) + "\n", encoding="utf-8")
    tmp.replace(path)
    return path


METADATA_KEY = "lintas_model"  # our own block in the model JSON; Splink does not read it


def model_metadata(path: Path = MODEL_PATH) -> dict:
    return json.loads(path.read_text(encoding="utf-8")).get(METADATA_KEY, {})


def load_model(path: Path = MODEL_PATH) -> dict:
    """The Splink settings of a saved model, with our blocking rules for prediction."""
    model = json.loads(path.read_text(encoding="utf-8"))
    model.pop(METADATA_KEY, None)
    model["retain_matching_columns"] = True  # the NIK veto reads nik_l / nik_r
    model["retain_intermediate_calculation_columns"] = False
    model["blocking_rules_to_generate_predictions"] = [{"blocking_rule": r, "sql_dialect": "duckdb"} for r in BLOCKING]
    return model


def predict_pairs(prepared: pd.DataFrame, path: Path = MODEL_PATH) -> pd.DataFrame:
    """Scored candidate pairs at or above REVIEW_THRESHOLD: unique_id_l, unique_id_r, match_probability."""
    with duckdb_connection() as con:
        linker = _linker(prepared, load_model(path), con)
        predicted = linker.inference.predict(threshold_match_probability=REVIEW_THRESHOLD, warning_mode="never")
        # only what the veto and clustering need leaves DuckDB, not every retained column of every pair
        scored = con.execute(
            f"select unique_id_l, unique_id_r, match_probability,"
            f" case when match_probability >= {MATCH_THRESHOLD} then nik_l end as nik_l,"
            f" case when match_probability >= {MATCH_THRESHOLD} then nik_r end as nik_r"
            f" from {predicted.physical_name}"
        ).df()
    if scored.empty:
        return _no_pairs()
    # Veto: two NIKs present and more than two edits apart belong to two people, however alike the rest is
    # (siblings share mother, address and surname). Typos, transpositions and Excel's lost digit stay within two.
    # Only pairs that would be linked need the check. A NIK whose date digits contradict its record's birth date
    # is no evidence either way: it vetoes nothing.
    contradicted = set(prepared.loc[prepared["nik_contradicted"].fillna(False).astype(bool), "unique_id"])
    scored = scored.loc[~nik_veto(scored, contradicted)]
    return scored[["unique_id_l", "unique_id_r", "match_probability"]].reset_index(drop=True)


def nik_veto(scored: pd.DataFrame, contradicted: set[str]) -> pd.Series:
    """Per scored pair: True where two NIKs more than two edits apart say two people. A record in `contradicted`
    (its NIK's date digits contradict its own birth date) carries no evidence and vetoes nothing."""
    vetoed = [isinstance(a, str) and isinstance(b, str) and left not in contradicted and right not in contradicted
              and names.osa_distance(a, b, 2) > 2
              for a, b, left, right in zip(scored["nik_l"], scored["nik_r"], scored["unique_id_l"],
                                           scored["unique_id_r"], strict=True)]
    return pd.Series(vetoed, index=scored.index, dtype=bool)


def _no_pairs() -> pd.DataFrame:
    return pd.DataFrame({"unique_id_l": pd.Series(dtype=object), "unique_id_r": pd.Series(dtype=object),
                         "match_probability": pd.Series(dtype=float)})


def clusters(record_keys: list[str], groups: list[list[str]], pairs: pd.DataFrame,
             rule_pairs: list[tuple[str, str]] = ()) -> dict[str, str]:
    """Union-find over NIK groups, rule pairs and linked pairs: record key -> cluster representative."""
    parent = {k: k for k in record_keys}

    def find(k: str) -> str:
        while parent[k] != k:
            parent[k] = parent[parent[k]]
            k = parent[k]
        return k

    def union(a: str, b: str) -> None:
        ra, rb = find(a), find(b)
        if ra != rb:
            parent[max(ra, rb)] = min(ra, rb)

    for group in groups:
        for other in group[1:]:
            union(group[0], other)
    for left, right in rule_pairs:
        union(left, right)
    linked = pairs[pairs["match_probability"] >= MATCH_THRESHOLD]
    for left, right in zip(linked["unique_id_l"], linked["unique_id_r"], strict=True):
        union(left, right)
    return {k: find(k) for k in record_keys}


@dataclass
class StableIds:
    person_of: dict[str, int]  # record key -> person id
    merges: list[tuple[int, list[int]]]
    splits: list[tuple[int, list[int]]]


def assign_person_ids(cluster_of: dict[str, str], previous: dict[str, int], new_id) -> StableIds:
    """Keep the id most of a cluster's records had; a cluster with no (free) previous id gets a new one."""
    members: dict[str, list[str]] = defaultdict(list)
    for key, cluster in cluster_of.items():
        members[cluster].append(key)
    taken: set[int] = set()
    person_of: dict[str, int] = {}
    merges, chosen_by_prior = [], defaultdict(list)
    # biggest clusters choose first, so a split keeps the id with the larger part
    for cluster in sorted(members, key=lambda c: (-len(members[c]), c)):
        keys = members[cluster]
        prior = Counter(previous[k] for k in keys if k in previous)
        candidates = [pid for pid, _ in sorted(prior.items(), key=lambda x: (-x[1], x[0])) if pid not in taken]
        person_id = candidates[0] if candidates else new_id()
        taken.add(person_id)
        if len(prior) > 1:
            merges.append((person_id, sorted(p for p in prior if p != person_id)))
        for pid in prior:
            if pid != person_id:
                chosen_by_prior[pid].append(person_id)
        for key in keys:
            person_of[key] = person_id
    splits = [(pid, sorted(set(ids))) for pid, ids in chosen_by_prior.items() if pid in taken]
    return StableIds(person_of, merges, splits)


def model_path() -> Path:
    """The model linkage uses: the configured one (LINTAS_LINKAGE_MODEL, e.g. a retrained model an engineer has
    reviewed), else the reviewed model versioned in the repository."""
    return settings.linkage_model_path() or MODEL_PATH


def link(url: str | None = None, *, run_id: str | None = None, model: Path | None = None) -> dict:
    """Link all source records in the warehouse and write identity.* in one transaction. Returns counts only."""
    model = model or model_path()
    if not model.exists():
        raise settings.ConfigurationError("linkage model not found: check LINTAS_LINKAGE_MODEL")
    started = time.perf_counter()
    phases: dict[str, float] = {}

    def phase(name: str, fn, *args):
        began = time.perf_counter()
        result = fn(*args)
        phases[name] = round(time.perf_counter() - began, 1)
        return result

    # the raw records are dropped as soon as their features exist
    prepared = phase("prepare", prepare, phase("read", read_source_records, url))
    groups = phase("nik_groups", nik_groups, prepared)
    pairs = phase("splink", predict_pairs, prepared, model) if len(prepared) > 1 else _no_pairs()
    keys = list(prepared["unique_id"])
    near = phase("near_nik", near_nik_pairs, prepared) + phase("same_nik", same_nik_pairs, prepared)
    # the home-business rule counts persons: the links so far tell which records are one person
    birth_mother = phase("name_birth_mother", name_birth_mother_pairs, prepared) + phase(
        "similar_name_birth", similar_name_birth_pairs, prepared)
    so_far = phase("cluster_before_home_business", clusters, keys, groups, pairs, near + birth_mother)
    other_rules = sorted(set(birth_mother) | set(phase("home_business", home_business_pairs, prepared, so_far)))
    del so_far
    # no longer needed: free them before writing
    del prepared["no_kk"], prepared["mother"], prepared["street"], prepared["house_number"]
    cluster_of = phase("cluster", clusters, keys, groups, pairs, near + other_rules)
    writing_started = time.perf_counter()
    in_nik_group = {k for g in groups for k in g} | {k for pair in near for k in pair}
    by_rule = {k for pair in other_rules for k in pair}  # name + birth date + mother, home business
    best = defaultdict(float)
    for left, right, p in zip(pairs["unique_id_l"], pairs["unique_id_r"], pairs["match_probability"], strict=True):
        if p >= MATCH_THRESHOLD:
            best[left], best[right] = max(best[left], p), max(best[right], p)
    review = pairs[(pairs["match_probability"] < MATCH_THRESHOLD)]
    apart = [cluster_of[a] != cluster_of[b] for a, b in zip(review["unique_id_l"], review["unique_id_r"], strict=True)]
    review = review.loc[pd.Series(apart, index=review.index, dtype=bool)]
    source_of = dict(zip(prepared["unique_id"], prepared["source"], strict=True))
    with warehouse.connect(url) as conn, conn.transaction():
        link_run_id = conn.execute(
            "insert into identity.link_run (airflow_run_id, model_version, match_threshold, review_threshold)"
            " values (%s, %s, %s, %s) returning link_run_id",
            (run_id, model_version(model), MATCH_THRESHOLD, REVIEW_THRESHOLD),
        ).fetchone()[0]
        previous = dict(conn.execute("select record_key, person_id from identity.person_record").fetchall())
        ids = assign_person_ids(cluster_of, previous, _id_allocator(conn))
        conn.execute("delete from identity.person_record")
        with conn.cursor() as cur, cur.copy(
            "copy identity.person_record (record_key, source, person_id, match_method, match_probability,"
            " link_run_id) from stdin"
        ) as copy:
            for key in keys:
                copy.write_row((key, source_of[key], ids.person_of[key], match_method(key, in_nik_group, best, by_rule),
                                best.get(key), link_run_id))
        with conn.cursor() as cur:
            cur.executemany(
                "insert into identity.person_event (link_run_id, event, person_id, other_person_ids)"
                " values (%s, %s, %s, %s)",
                [(link_run_id, "merge", p, others) for p, others in ids.merges]
                + [(link_run_id, "split", p, others) for p, others in ids.splits],
            )
            with cur.copy("copy identity.review_pair (link_run_id, record_key_l, record_key_r, match_probability)"
                          " from stdin") as copy:
                for left, right, p in zip(review["unique_id_l"], review["unique_id_r"], review["match_probability"],
                                          strict=True):
                    copy.write_row((link_run_id, left, right, float(p)))
        persons = len(set(ids.person_of.values()))
        phases["ids_and_write"] = round(time.perf_counter() - writing_started, 1)
        seconds = time.perf_counter() - started
        conn.execute(
            "update identity.link_run set records = %s, persons = %s, linked_pairs = %s, review_pairs = %s,"
            " seconds = %s, finished_at = now() where link_run_id = %s",
            (len(keys), persons, int((pairs["match_probability"] >= MATCH_THRESHOLD).sum()), len(review), seconds,
             link_run_id),
        )
    # planner statistics now, not when autovacuum gets round to it: the dbt models that join these tables
    # follow at once, and without statistics a city build plans badly (outside the transaction: committed rows)
    began = time.perf_counter()
    with warehouse.connect(url) as conn:
        conn.execute(f"analyze {', '.join(IDENTITY_TABLES)}")
    phases["analyze"] = round(time.perf_counter() - began, 1)
    summary = {"link_run_id": link_run_id, "records": len(keys), "persons": persons, "nik_groups": len(groups),
               "review_pairs": len(review), "merges": len(ids.merges), "splits": len(ids.splits),
               "seconds": round(seconds, 1), "phases": phases}
    log.info("identity resolution: %s", summary)
    return summary


IDENTITY_TABLES = ["identity.person_record", "identity.review_pair", "identity.person_event", "identity.link_run"]


def match_method(key: str, in_nik_group: set[str], best: dict[str, float], by_rule: set[str]) -> str:
    """How a record was linked, strongest evidence first (the vocabulary of identity.person_record, 006):
    'nik' (a shared valid NIK or the near-NIK rule), 'nik+probabilistic' (and a model link), 'probabilistic' (a
    model link only), 'rule' (only a rule without NIK: name + birth date + mother, home business; no
    probability), 'single' (linked to no other record)."""
    if key in in_nik_group:
        return "nik+probabilistic" if key in best else "nik"
    if key in best:
        return "probabilistic"
    return "rule" if key in by_rule else "single"


def _id_allocator(conn, block: int = 10_000):
    """New person ids from the sequence, fetched a block at a time (one round trip per id is minutes at city
    scale); ids of a block left unused are a harmless gap."""
    pending: list[int] = []

    def next_id() -> int:
        if not pending:
            pending.extend(r[0] for r in conn.execute(
                "select nextval('identity.person_id_seq') from generate_series(1, %s)", (block,)))
        return pending.pop(0)

    return next_id


def model_version(path: Path = MODEL_PATH) -> str:
    """'v3-1a2b3c4d5e6f': the model's version and the hash of its file (a hand edit changes the hash)."""
    import hashlib

    if not path.exists():
        return "untrained"
    version = model_metadata(path).get("version")
    digest = hashlib.sha256(path.read_bytes()).hexdigest()[:12]
    return f"v{version}-{digest}" if version else digest
