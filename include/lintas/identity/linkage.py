"""Link every source record to one person: a valid, unconflicted NIK first, then Splink on name, birth date,
sex, mother's name, NIK digits and address. Person ids stay stable across runs; merges and splits are recorded.

Data moves PostgreSQL -> pandas -> DuckDB (in process) -> PostgreSQL with psycopg; DuckDB needs no extension.
The trained model is versioned in the repo (`model/splink_model.json`); `train()` makes a new one.
"""

from __future__ import annotations

import json
import logging
import time
from collections import Counter, defaultdict
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from lintas import warehouse
from lintas.identity import address, names, nik

log = logging.getLogger(__name__)

MODEL_PATH = Path(__file__).parent / "model" / "splink_model.json"
MATCH_THRESHOLD = 0.999  # pairs at or above are the same person (bench: precision 0.9993, recall 0.9886)
REVIEW_THRESHOLD = 0.90  # pairs between this and MATCH_THRESHOLD go to analysts' review queue
MAX_CLUSTER_SIZE = 12  # a person with more records than this is suspicious (chaining): reported by the gate

FEATURES = ["unique_id", "source", "nik", "nik_valid", "name", "first_name", "last_name", "sex", "dob", "mother",
            "kelurahan", "street", "no_kk"]
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
    for r in records.itertuples(index=False):
        check = nik.check_nik(r.nik, from_number_cell=bool(r.nik_from_number_cell))
        digits = nik.clean(r.nik)
        if digits and digits == nik.clean(r.no_kk):
            digits, check = None, nik.NikCheck(None, ("is_no_kk",))  # the family card number typed as NIK
        name = names.normalise(r.nama)
        mother = names.normalise(r.nama_ibu_kandung)
        tokens = name.tokens if name else ()
        # first given name: skip a leading Muhammad/Ahmad/Abdul, which too many share to tell people apart
        given = [t for t in tokens if t not in {"muhammad", "ahmad", "abdul", "siti", "nur"}] or list(tokens)
        kelurahan = address.resolve_kelurahan(r.kode_wilayah or r.kelurahan, r.kecamatan) or (
            address.resolve_kelurahan(r.kelurahan, r.kecamatan) if r.kode_wilayah else None)
        out.append((
            r.record_key, r.record_source,
            digits if digits and len(digits) == 16 and digits.isdigit() and "placeholder" not in check.problems
            else None,
            check.is_valid,
            name.canonical if name else None,
            given[0] if given else None,
            tokens[-1] if len(tokens) > 1 else None,
            r.jenis_kelamin,
            r.tanggal_lahir.isoformat() if r.tanggal_lahir else None,
            mother.canonical if mother else None,
            kelurahan,
            address.standardise_street(r.alamat).name,
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


# Candidate pairs for the model. Each rule keeps its blocks small at any scale: a birth date alone would grow
# quadratically with the city. Part of the code, not of the trained model, so changing them needs no retraining.
BLOCKING = [
    'l."nik" = r."nik"',
    'l."dob" = r."dob" and l."kelurahan" = r."kelurahan"',
    'l."dob" = r."dob" and l."first_name" = r."first_name"',
    'l."first_name" = r."first_name" and l."kelurahan" = r."kelurahan"',
    'l."first_name" = r."first_name" and l."last_name" = r."last_name"',
]


def near_nik_pairs(prepared: pd.DataFrame) -> list[tuple[str, str]]:
    """Rule: the same canonical name, NIKs one edit apart (a typo, a transposition, Excel's lost 16th digit),
    the same kelurahan or birth date, and nothing recorded that disagrees (sex, birth date). Transparent, and
    it catches what the probabilistic model must not: a near NIK alone also fits a stranger born the same day."""
    columns = ["unique_id", "name", "nik", "sex", "dob", "kelurahan"]
    with_nik = prepared.loc[prepared["nik"].notna() & prepared["name"].notna(), columns].reset_index(drop=True)
    # Candidates share the name and a NIK with one position masked (a substitution) or one adjacent pair in
    # sorted order (a transposition): vectorised and linear, where comparing same-name records would be quadratic.
    nik_digits = with_nik["nik"].str
    keys = []
    for i in range(16):
        keys.append(with_nik["name"] + "|" + nik_digits.slice(0, i) + "*" + nik_digits.slice(i + 1) + f"~s{i}")
    for i in range(15):
        a, b = nik_digits.get(i), nik_digits.get(i + 1)
        low, high = a.where(a <= b, b), b.where(a <= b, a)
        keys.append(with_nik["name"] + "|" + nik_digits.slice(0, i) + low + high + nik_digits.slice(i + 2) + f"~t{i}")
    key = pd.concat(keys, ignore_index=False)
    key = key[key.duplicated(keep=False)]
    if key.empty:
        return []
    buckets = pd.DataFrame({"key": key.values, "row": key.index})
    pairs = buckets.merge(buckets, on="key")
    pairs = pairs[pairs["row_x"] < pairs["row_y"]].drop_duplicates(["row_x", "row_y"])
    left = with_nik.loc[pairs["row_x"]].reset_index(drop=True)
    right = with_nik.loc[pairs["row_y"]].reset_index(drop=True)

    def disagree(column: str) -> pd.Series:
        return left[column].notna() & right[column].notna() & (left[column] != right[column])

    same_place = left["kelurahan"].notna() & (left["kelurahan"] == right["kelurahan"])
    same_birth = left["dob"].notna() & (left["dob"] == right["dob"])
    keep = (left["nik"] != right["nik"]) & ~disagree("sex") & ~disagree("dob") & (same_place | same_birth)
    found = {tuple(sorted(pair)) for pair in zip(left.loc[keep, "unique_id"], right.loc[keep, "unique_id"],
                                                 strict=True)}
    return sorted(found)


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


def _linker(prepared: pd.DataFrame, settings):
    from splink import Linker
    from splink.backends.duckdb import DuckDBAPI

    db = DuckDBAPI()
    frame = prepared.drop(columns=["nik_valid", "no_kk"])
    return Linker(db.register(frame), settings)


def train(prepared: pd.DataFrame, path: Path = MODEL_PATH) -> Path:
    """Estimate the model on these records (u by random sampling, m by EM on two blockings) and save it."""
    from splink import block_on

    linker = _linker(prepared, _settings())
    linker.training.estimate_probability_two_random_records_match([block_on("nik", "dob")], recall=0.8)
    linker.training.estimate_u_using_random_sampling(max_pairs=2e6, seed=1)
    linker.training.estimate_parameters_using_expectation_maximisation(block_on("dob"))
    linker.training.estimate_parameters_using_expectation_maximisation(block_on("first_name", "kelurahan"))
    path.parent.mkdir(parents=True, exist_ok=True)
    linker.misc.save_model_to_json(str(path), overwrite=True)
    return path


def predict_pairs(prepared: pd.DataFrame, path: Path = MODEL_PATH) -> pd.DataFrame:
    """Scored candidate pairs at or above REVIEW_THRESHOLD: unique_id_l, unique_id_r, match_probability."""
    model = json.loads(path.read_text(encoding="utf-8"))
    model["retain_matching_columns"] = True  # the NIK veto reads nik_l / nik_r
    model["blocking_rules_to_generate_predictions"] = [{"blocking_rule": r, "sql_dialect": "duckdb"} for r in BLOCKING]
    linker = _linker(prepared, model)
    scored = linker.inference.predict(threshold_match_probability=REVIEW_THRESHOLD).as_pandas_dataframe()
    if scored.empty:
        return _no_pairs()
    # Veto: two NIKs present and more than two edits apart belong to two people, however alike the rest is
    # (siblings share mother, address and surname). Typos, transpositions and Excel's lost digit stay within two.
    # Only pairs that would be linked need the check.
    candidates = scored["match_probability"] >= MATCH_THRESHOLD
    vetoed = pd.Series(False, index=scored.index)
    vetoed[candidates] = [
        isinstance(a, str) and isinstance(b, str) and _osa_distance(a, b, 2) > 2
        for a, b in zip(scored.loc[candidates, "nik_l"], scored.loc[candidates, "nik_r"], strict=True)
    ]
    scored = scored.loc[~vetoed]
    return scored[["unique_id_l", "unique_id_r", "match_probability"]]


def _no_pairs() -> pd.DataFrame:
    return pd.DataFrame({"unique_id_l": pd.Series(dtype=object), "unique_id_r": pd.Series(dtype=object),
                         "match_probability": pd.Series(dtype=float)})


def _osa_distance(a: str, b: str, limit: int) -> int:
    """Edit distance counting an adjacent transposition as one edit; stops counting past `limit`."""
    if a == b:
        return 0
    if abs(len(a) - len(b)) > limit:
        return limit + 1
    previous2, previous = None, list(range(len(b) + 1))
    for i in range(1, len(a) + 1):
        current = [i] + [0] * len(b)
        for j in range(1, len(b) + 1):
            cost = a[i - 1] != b[j - 1]
            current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + cost)
            if previous2 is not None and i > 1 and j > 1 and a[i - 1] == b[j - 2] and a[i - 2] == b[j - 1]:
                current[j] = min(current[j], previous2[j - 2] + 1)
        if min(current) > limit:
            return limit + 1
        previous2, previous = previous, current
    return previous[-1]


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


def link(url: str | None = None, *, run_id: str | None = None, model: Path = MODEL_PATH) -> dict:
    """Link all source records in the warehouse and write identity.* in one transaction. Returns counts only."""
    started = time.perf_counter()
    phases: dict[str, float] = {}

    def phase(name: str, fn, *args):
        began = time.perf_counter()
        result = fn(*args)
        phases[name] = round(time.perf_counter() - began, 1)
        return result

    records = phase("read", read_source_records, url)
    prepared = phase("prepare", prepare, records)
    groups = phase("nik_groups", nik_groups, prepared)
    pairs = phase("splink", predict_pairs, prepared, model) if len(prepared) > 1 else _no_pairs()
    keys = list(prepared["unique_id"])
    near = phase("near_nik", near_nik_pairs, prepared)
    cluster_of = phase("cluster", clusters, keys, groups, pairs, near)
    writing_started = time.perf_counter()
    in_nik_group = {k for g in groups for k in g} | {k for pair in near for k in pair}
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
                method = ("nik+probabilistic" if key in in_nik_group and key in best else
                          "nik" if key in in_nik_group else "probabilistic" if key in best else "single")
                copy.write_row((key, source_of[key], ids.person_of[key], method, best.get(key), link_run_id))
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
    summary = {"link_run_id": link_run_id, "records": len(keys), "persons": persons, "nik_groups": len(groups),
               "review_pairs": len(review), "merges": len(ids.merges), "splits": len(ids.splits),
               "seconds": round(seconds, 1), "phases": phases}
    log.info("identity resolution: %s", summary)
    return summary


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
    import hashlib

    return hashlib.sha256(path.read_bytes()).hexdigest()[:12] if path.exists() else "untrained"
