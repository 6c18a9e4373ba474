"""The deterministic rules of identity resolution, beside the model: a valid, unconflicted NIK; a shared NIK
with names one person could have; a NIK one edit away with a witness; a shared business id (NIB); name + birth
date + mother; a similar name + birth date + home or mother; a permit run from home; and the veto of two NIKs that
say two people. Each returns record-key pairs (or groups) for `clusters`; the rules that join many records run in
DuckDB."""

from __future__ import annotations

from collections import defaultdict
from datetime import date
from functools import lru_cache

import pandas as pd
from psycopg import sql

from lintas.identity import names, nik
from lintas.identity.features import PERMITS
from lintas.identity.workspace import duckdb_connection

# two NIKs further apart than this are two people: typos, transpositions and Excel's lost digit stay within it
MAX_NIK_TYPO_EDITS = 2


def nik_groups(prepared: pd.DataFrame) -> list[list[str]]:
    """Records sharing a valid NIK that agree with each other (birth date, sex): one person each.

    A NIK shared by records that disagree (a No. KK typed as NIK, a clerk's copy-paste) is not trusted: its
    records are left to probabilistic matching. A record without a birth date (a permit: DPMPTSP records neither
    birth date nor sex) has nothing the group can check but its name and place: it joins only where its name
    is one a clerk could have written for a member's that does record a birth date (or, in a group without one,
    for another member's), or it is in that member's kelurahan. Otherwise its NIK is someone else's (a
    neighbour's serial after one typo, a relative's) and it is left to the rules and the model."""
    valid = prepared[prepared["nik_valid"].astype(bool)]
    stats = valid.groupby("nik").agg(n=("unique_id", "size"), dobs=("dob", "nunique"), sexes=("sex", "nunique"))
    agreeing = stats[(stats["n"] > 1) & (stats["dobs"] <= 1) & (stats["sexes"] <= 1)].index
    members = valid[valid["nik"].isin(agreeing)]
    dropped = _undated_without_witness(members[["unique_id", "nik", "name", "dob", "kelurahan"]])
    members = members[~members["unique_id"].isin(dropped)]
    return [list(keys) for _, keys in members.groupby("nik", sort=False)["unique_id"] if len(keys) > 1]


def _undated_without_witness(members: pd.DataFrame) -> set[str]:
    """Members of NIK groups without a birth date that no dated member of their group (or, in a group without
    one, no other member) witnesses: neither a name one person could have (`names.same_person_spelling`) nor the
    same kelurahan (a business at home, as the near-NIK rule's witness)."""
    undated = members[members["dob"].isna() & members["name"].notna()]
    if undated.empty:
        return set()
    has_dated = set(members.loc[members["dob"].notna(), "nik"])
    anchors = members[members["dob"].notna() | ~members["nik"].isin(has_dated)]
    pairs = undated.merge(anchors, on="nik", suffixes=("", "_o"))
    pairs = pairs[pairs["unique_id"] != pairs["unique_id_o"]]
    witnessed = pd.Series([isinstance(b, str) and _spelling(a, b) for a, b in zip(
        pairs["name"], pairs["name_o"], strict=True)], index=pairs.index, dtype=bool)
    witnessed |= (pairs["kelurahan"] == pairs["kelurahan_o"]).fillna(False).astype(bool)
    return set(pairs["unique_id"]) - set(pairs.loc[witnessed, "unique_id"])


@lru_cache(maxsize=1 << 16)
def _spelling(left: str, right: str) -> bool:
    return names.same_person_spelling(left, right)


def same_nik_pairs(prepared: pd.DataFrame) -> list[tuple[str, str]]:
    """Rule: records sharing a valid NIK that `nik_groups` left apart (their birth dates or sexes disagree) but
    whose names a clerk could have written for one person: a birth date mistyped or day and month swapped in one
    agency. A relative's NIK copied into a record (the reason a disputed NIK forms no group) comes with another
    name and stays apart."""
    valid = prepared.loc[prepared["nik_valid"].astype(bool) & prepared["name"].notna(), ["unique_id", "nik", "name"]]
    shared = valid[valid.duplicated("nik", keep=False)]
    pairs = shared.merge(shared, on="nik", suffixes=("_l", "_r"))
    pairs = pairs[pairs["unique_id_l"] < pairs["unique_id_r"]]
    pairs = pairs[_same_person_spelling(pairs["name_l"], pairs["name_r"])]
    return sorted(zip(pairs["unique_id_l"], pairs["unique_id_r"], strict=True))


def same_nib_pairs(prepared: pd.DataFrame) -> list[tuple[str, str]]:
    """Rule: a UMKM owner's row and a permit (or two of them) naming the same OSS business id (NIB), names a clerk
    could have written for one person, and nothing recorded that disagrees (sex, birth date, two NIKs that say two
    people). OSS issues one NIB per business actor and Diskopindag copies it from the owner's permit, so the NIB
    is the business's key across the two agencies; it carries no NIK, so a No. KK or a blank in the NIK column
    does not hide the owner. A NIB mistyped onto another business comes with another name and stays apart. Two
    NIKs that say two people keep them apart, unless one of them contradicts the other record's birth date or sex
    (the owner's No. KK or a relative's NIK in one agency's NIK column: the workbook records the birth date)."""
    columns = ["unique_id", "name", "nib", "nik", "nik_contradicted", "sex", "dob"]
    if "nib" not in prepared.columns:
        return []
    with_nib = prepared.loc[prepared["nib"].notna() & prepared["name"].notna(), columns]
    shared = with_nib[with_nib.duplicated("nib", keep=False)]
    if shared.empty:
        return []
    pairs = shared.merge(shared, on="nib", suffixes=("_l", "_r"))
    pairs = pairs[pairs["unique_id_l"] < pairs["unique_id_r"]]
    for column in ("sex", "dob"):
        left, right = pairs[f"{column}_l"], pairs[f"{column}_r"]
        pairs = pairs[left.isna() | right.isna() | (left == right)]
    usable_l = pairs["nik_l"].notna() & ~pairs["nik_contradicted_l"].fillna(False).astype(bool)
    usable_r = pairs["nik_r"].notna() & ~pairs["nik_contradicted_r"].fillna(False).astype(bool)
    apart = pd.Series([bool(ul and ur and two_people(a, b) and not _contradicts_other(a, sr, dr)
                            and not _contradicts_other(b, sl, dl))
                       for a, b, ul, ur, sl, sr, dl, dr in zip(
                           pairs["nik_l"], pairs["nik_r"], usable_l, usable_r, pairs["sex_l"], pairs["sex_r"],
                           pairs["dob_l"], pairs["dob_r"], strict=True)], index=pairs.index, dtype=bool)
    pairs = pairs[~apart]
    pairs = pairs[_same_person_spelling(pairs["name_l"], pairs["name_r"])]
    return sorted(zip(pairs["unique_id_l"], pairs["unique_id_r"], strict=True))


def _contradicts_other(value: str, sex, dob) -> bool:
    """A NIK whose date digits cannot be the other record's person (its recorded birth date and sex): a No. KK
    or a relative's NIK typed in the NIK column, no evidence of another person beside a shared NIB."""
    born = date.fromisoformat(dob) if isinstance(dob, str) else None
    return nik.contradicts_record(nik.check_nik(value), sex=sex if isinstance(sex, str) else None, birth_date=born)


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
    if int((prepared["nik"].notna() & prepared["name"].notna()).sum()) < 2:
        return []
    with duckdb_connection() as con:
        # the records with NIK and name copied into DuckDB (within its memory limit, spillable), not into a pandas
        # subset beside the features (at 5x city that copy held 400 MB through every step below)
        con.register("prepared_input", prepared[columns])
        con.execute("create temp table near_input as select * from prepared_input"
                    " where nik is not null and name is not null")
        con.unregister("prepared_input")
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
        found = con.execute(sql.SQL("""
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
                (l.source = $permits or r.source = $permits) as permit,
                (coalesce(l.nik_number_cell::boolean, false) or coalesce(r.nik_number_cell::boolean, false))
                    and substr(l.nik, 1, 15) = substr(r.nik, 1, 15) as lost_digit
            from near_pair
            inner join near_input as l on near_pair.nik_l = l.nik
            inner join near_input as r on near_pair.nik_r = r.nik
            where {same_sex} and {same_birth} and {similar_names}
        """).format(same_sex=_agree("sex"), same_birth=_agree("dob"), similar_names=_maybe_similar_names())
            .as_string(), {"permits": PERMITS}).df()
    found = found[_same_person_spelling(found["name_l"], found["name_r"])]
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
    found = _select(complete, "complete_input", sql.SQL("""
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
        where {same_sex}
    """).format(same_sex=_agree("sex")))
    return sorted(found.itertuples(index=False, name=None))


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
    found = _select(dated, "dated_input", sql.SQL("""
        with base as (
            select unique_id, name, dob, sex, mother, kelurahan, street, house_number,
                case when coalesce(nik_contradicted, false) then null else nik end as nik
            from dated_input
        )
        select l.unique_id as uid_l, r.unique_id as uid_r, l.name as name_l, r.name as name_r
        from base as l
        inner join base as r on l.dob = r.dob and l.unique_id < r.unique_id
        where ((l.kelurahan = r.kelurahan and l.street = r.street and {same_house_number})
               or l.mother = r.mother)
            and {same_sex}
            and (l.mother is null or r.mother is null or jaro_winkler_similarity(l.mother, r.mother) >= 0.8)
            and (l.nik is null or r.nik is null or damerau_levenshtein(l.nik, r.nik) <= $max_edits)
            and {similar_names}
    """).format(same_house_number=_agree("house_number"), same_sex=_agree("sex"),
                    similar_names=_maybe_similar_names()), {"max_edits": MAX_NIK_TYPO_EDITS})
    found = found[_same_person_spelling(found["name_l"], found["name_r"])]
    # a record that would join records whose NIKs say two people (a namesake born the same day in the same
    # street) cannot tell which one it is: none of its pairs
    partners: dict[str, set[str]] = defaultdict(set)
    for a, b in zip(found["uid_l"], found["uid_r"], strict=True):
        partners[a].add(b)
        partners[b].add(a)
    paired = dated.loc[dated["unique_id"].isin(list(partners))]  # the NIKs of these records only, not of all
    nik_of = {k: v for k, v, c in zip(paired["unique_id"], paired["nik"], paired["nik_contradicted"], strict=True)
              if isinstance(v, str) and not c}
    torn = set()
    for record, others in partners.items():
        niks = sorted({nik_of[k] for k in others | {record} if k in nik_of})
        if any(two_people(x, y) for i, x in enumerate(niks) for y in niks[i + 1:]):
            torn.add(record)
    return sorted((a, b) for a, b in zip(found["uid_l"], found["uid_r"], strict=True)
                  if a not in torn and b not in torn)


def home_business_pairs(prepared: pd.DataFrame, person_of: dict[str, str] | None = None) -> list[tuple[str, str]]:
    """Rule: a permit whose holder has the same canonical name, kelurahan, street and house number (where both
    record one: a common name has namesakes along a long street) as exactly one person in the other agencies'
    records (a business run from home), where one side has no usable NIK or the two NIKs are within the veto's
    bound (two typos: they do not say two people, and the near-NIK rule bridges only one). 'Exactly one' counts
    persons, not records: `person_of` (record -> person, from the links already made) joins a holder's DTKS and
    UMKM records into one; without it, records that carry the same NIK are one person. Someone recorded as
    younger than 17 (a pupil namesake) is no candidate: a permit needs a KTP, issued from 17."""
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
    found = _select(placed, "placed_input", sql.SQL("""
        with candidate as (
            select p.unique_id as permit_id, p.nik as permit_nik, o.unique_id as other_id, o.nik as other_nik,
                o.person as other_person
            from placed_input as p
            inner join placed_input as o
                on p.name = o.name and p.kelurahan = o.kelurahan and p.street = o.street
            where p.source = $permits and o.source <> $permits
                and (o.dob is null or o.dob <= $adult_born_by)
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
        where permit_id in (select permit_id from single)
            and (permit_nik is null or other_nik is null or damerau_levenshtein(permit_nik, other_nik) <= $max_edits)
    """), {"permits": PERMITS, "adult_born_by": adult_born_by, "max_edits": MAX_NIK_TYPO_EDITS})
    return sorted(found.itertuples(index=False, name=None))


def two_people(nik_l: str, nik_r: str) -> bool:
    """Two NIKs too far apart to be one person's NIK mistyped (siblings share mother, address and surname)."""
    return names.osa_distance(nik_l, nik_r, MAX_NIK_TYPO_EDITS) > MAX_NIK_TYPO_EDITS


def nik_veto(scored: pd.DataFrame, contradicted: set[str]) -> pd.Series:
    """Per scored pair: True where two NIKs more than two edits apart say two people. A record in `contradicted`
    (its NIK's date digits contradict its own birth date) carries no evidence and vetoes nothing."""
    vetoed = [isinstance(a, str) and isinstance(b, str) and left not in contradicted and right not in contradicted
              and two_people(a, b)
              for a, b, left, right in zip(scored["nik_l"], scored["nik_r"], scored["unique_id_l"],
                                           scored["unique_id_r"], strict=True)]
    return pd.Series(vetoed, index=scored.index, dtype=bool)


def _select(frame: pd.DataFrame, table: str, query: sql.Composable, params: dict | None = None) -> pd.DataFrame:
    """What `query` returns over `frame`, registered as `table` in a workspace of its own."""
    with duckdb_connection() as con:
        con.register(table, frame)
        return con.execute(query.as_string(), params).df()


def _agree(column: str) -> sql.Composed:
    """SQL: nothing recorded on both sides that disagrees."""
    return sql.SQL("({left} is null or {right} is null or {left} = {right})").format(
        left=sql.Identifier("l", column), right=sql.Identifier("r", column))


def _maybe_similar_names() -> sql.SQL:
    """SQL: a cheap superset of `names.same_person_spelling`; `_same_person_spelling` tests what is left."""
    return sql.SQL("(l.name = r.name or jaro_winkler_similarity(l.name, r.name) >= 0.8"
                   " or contains(l.name, r.name) or contains(r.name, l.name))")


def _same_person_spelling(left: pd.Series, right: pd.Series) -> pd.Series:
    """Per pair of canonical names: could a clerk have written both for one person (each distinct pair once)."""
    similar = lru_cache(maxsize=None)(names.same_person_spelling)
    return pd.Series([similar(a, b) for a, b in zip(left, right, strict=True)], index=left.index, dtype=bool)
