"""Link every source record to one person: a valid, unconflicted NIK first, then transparent rules (a NIK one
edit away with a witness; name + birth date + mother; a permit run from home), then Splink on name, birth date,
sex, mother's name, NIK and address. Person ids stay stable across runs; merges and splits are recorded.

Data moves PostgreSQL -> pandas (`features`) -> DuckDB (in process, `workspace`: memory-limited, spilling to a
temporary folder; `rules`, `scoring`) -> PostgreSQL with psycopg (here, after `clusters`); DuckDB needs no
extension. `bench/bench_linkage.py` measures quality against the generator's truth, seconds and peak memory.
"""

from __future__ import annotations

import logging
import time
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
from psycopg import sql

from lintas import settings, warehouse
from lintas.identity import clusters, constraints, features, rules, scoring, workspace

log = logging.getLogger(__name__)

IDENTITY_TABLES = ["person_record", "link_pair", "review_pair", "person_event", "link_run",
                   "review_decision"]  # in schema identity


@dataclass
class Resolution:
    """Who is who, before it is written: the evidence and the clusters it makes."""
    groups: list[list[str]]  # records sharing a valid NIK that agree (`rules.nik_groups`)
    pairs: pd.DataFrame  # the model's pairs at or above REVIEW_THRESHOLD, after the NIK veto
    nik_rule_pairs: list[tuple[str, str]]  # a NIK one edit away, a shared NIK with one person's names
    other_rule_pairs: list[tuple[str, str]]  # without NIK: name + birth date + mother or home, NIB, home business
    cluster_of: dict[str, str]  # record key -> cluster representative
    pairs_by_rule: dict[str, list[tuple[str, str]]] = field(default_factory=dict)  # rule name -> its pairs
    constraints: constraints.Constraints = constraints.NONE  # reviewers' decisions the clusters honour


def _run(name: str, fn: Callable, *args):
    return fn(*args)


def resolve(prepared: pd.DataFrame, model: Path, *, phase: Callable = _run,
            predict: Callable[[pd.DataFrame, Path], pd.DataFrame] = scoring.predict_pairs,
            decided: constraints.Constraints = constraints.NONE) -> Resolution:
    """Every rule and the model on the prepared records, then the clusters within the reviewers' decisions.
    `phase(name, fn, *args)` runs each step (to time it); `predict` scores the model's pairs
    (bench/diagnose_linkage.py reuses a cached scoring)."""
    groups = phase("nik_groups", rules.nik_groups, prepared)
    pairs = phase("splink", predict, prepared, model) if len(prepared) > 1 else scoring.no_pairs()
    keys = list(prepared["unique_id"])
    by_rule = {name: phase(name, rule, prepared) for name, rule in (
        ("near_nik", rules.near_nik_pairs), ("same_nik", rules.same_nik_pairs),
        ("name_birth_mother", rules.name_birth_mother_pairs), ("similar_name_birth", rules.similar_name_birth_pairs),
        ("same_nib", rules.same_nib_pairs))}
    near = by_rule["near_nik"] + by_rule["same_nik"]
    # the home-business rule counts persons: the links so far tell which records are one person
    birth_mother = by_rule["name_birth_mother"] + by_rule["similar_name_birth"] + by_rule["same_nib"]
    so_far = phase("cluster_before_home_business", clusters.components, keys, groups, pairs, near + birth_mother,
                   decided)
    by_rule["home_business"] = phase("home_business", rules.home_business_pairs, prepared, so_far)
    other_rules = sorted(set(birth_mother) | set(by_rule["home_business"]))
    del so_far
    cluster_of = phase("cluster", clusters.components, keys, groups, pairs, near + other_rules, decided)
    return Resolution(groups, pairs, near, other_rules, cluster_of, by_rule, decided)


def link(url: str, *, run_id: str | None = None, model: Path | None = None) -> dict:
    """Link all source records in the warehouse and write identity.* in one transaction. Returns counts only."""
    model = model or scoring.model_path()
    if not model.exists():
        raise settings.ConfigurationError("linkage model not found: check LINTAS_LINKAGE_MODEL")
    started = time.perf_counter()
    phases: dict[str, float] = {}

    def phase(name: str, fn, *args):
        log.debug("linkage phase %s", name)  # bench/linkage_memory.py attributes memory to phases by it
        began = time.perf_counter()
        result = fn(*args)
        workspace.release_memory()  # what the step freed, before the next step's peak
        phases[name] = round(time.perf_counter() - began, 1)
        return result

    # read and prepared a batch at a time: the raw records never all in memory
    prepared = phase("read_and_prepare", features.read_prepared, url)
    with warehouse.connect(url) as conn:
        decided = constraints.read(conn)
    resolved = resolve(prepared, model, phase=phase, decided=decided)
    log.debug("linkage phase %s", "ids_and_write")
    writing_started = time.perf_counter()
    # only the two columns the write needs (Arrow strings, not a dict of Python strings); the features freed
    record_sources = prepared[["unique_id", "source"]].copy()
    del prepared
    workspace.release_memory()
    pairs = resolved.pairs
    review = pairs[(pairs["match_probability"] < scoring.MATCH_THRESHOLD)]
    apart = [resolved.cluster_of[a] != resolved.cluster_of[b]
             for a, b in zip(review["unique_id_l"], review["unique_id_r"], strict=True)]
    review = review.loc[pd.Series(apart, index=review.index, dtype=bool)]
    with warehouse.connect(url) as conn, conn.transaction():
        link_run_id = conn.execute(
            "insert into identity.link_run (airflow_run_id, model_version, match_threshold, review_threshold)"
            " values (%s, %s, %s, %s) returning link_run_id",
            (run_id, scoring.model_version(model), scoring.MATCH_THRESHOLD, scoring.REVIEW_THRESHOLD),
        ).fetchone()[0]
        ids = _write_persons(conn, link_run_id, record_sources, resolved)
        _write_link_pairs(conn, link_run_id, resolved)
        _write_review(conn, link_run_id, review)
        persons = len(set(ids.person_of.values()))
        phases["ids_and_write"] = round(time.perf_counter() - writing_started, 1)
        seconds = time.perf_counter() - started
        conn.execute(
            "update identity.link_run set records = %s, persons = %s, linked_pairs = %s, review_pairs = %s,"
            " seconds = %s, finished_at = now() where link_run_id = %s",
            (len(record_sources), persons, int((pairs["match_probability"] >= scoring.MATCH_THRESHOLD).sum()),
             len(review), seconds, link_run_id),
        )
    # planner statistics now, not when autovacuum gets round to it: the dbt models that join these tables
    # follow at once, and without statistics a city build plans badly (outside the transaction: committed rows)
    log.debug("linkage phase %s", "analyze")
    began = time.perf_counter()
    with warehouse.connect(url) as conn:
        conn.execute(sql.SQL("analyze {}").format(
            sql.SQL(", ").join(sql.Identifier("identity", table) for table in IDENTITY_TABLES)))
    phases["analyze"] = round(time.perf_counter() - began, 1)
    summary = {"link_run_id": link_run_id, "records": len(record_sources), "persons": persons,
               "nik_groups": len(resolved.groups), "review_pairs": len(review), "merges": len(ids.merges),
               "splits": len(ids.splits), "seconds": round(seconds, 1), "phases": phases}
    log.info("identity resolution: %s", summary)
    return summary


def match_method(key: str, in_nik_group: set[str], best: dict[str, float], by_rule: set[str],
                 by_review: set[str] = frozenset()) -> str:
    """How a record was linked, strongest evidence first (the vocabulary of identity.person_record, 006, 015):
    'nik' (a shared valid NIK or the near-NIK rule), 'nik+probabilistic' (and a model link), 'probabilistic' (a
    model link only), 'rule' (only a rule without NIK: name + birth date + mother, home business; no
    probability), 'review' (only a reviewer's match decision), 'single' (linked to no other record)."""
    if key in in_nik_group:
        return "nik+probabilistic" if key in best else "nik"
    if key in best:
        return "probabilistic"
    if key in by_rule:
        return "rule"
    return "review" if key in by_review else "single"


def _write_persons(conn, link_run_id: int, record_sources: pd.DataFrame, resolved: Resolution
                   ) -> clusters.StableIds:
    """identity.person_record (every record, its person and how it was linked) and identity.person_event (the
    merges and splits since the last run, with the reviewers' decisions that may have caused them)."""
    in_nik_group = {k for g in resolved.groups for k in g} | {k for pair in resolved.nik_rule_pairs for k in pair}
    by_rule = {k for pair in resolved.other_rule_pairs for k in pair}
    by_review = {k for d in resolved.constraints.must_links for k in (d.record_key_l, d.record_key_r)
                 if resolved.cluster_of.get(d.record_key_l) == resolved.cluster_of.get(d.record_key_r) is not None}
    best = defaultdict(float)  # record key -> its best model link
    pairs = resolved.pairs
    for left, right, p in zip(pairs["unique_id_l"], pairs["unique_id_r"], pairs["match_probability"], strict=True):
        if p >= scoring.MATCH_THRESHOLD:
            best[left], best[right] = max(best[left], p), max(best[right], p)
    previous = dict(conn.execute("select record_key, person_id from identity.person_record").fetchall())
    ids = clusters.assign_person_ids(resolved.cluster_of, previous, _id_allocator(conn))
    conn.execute("delete from identity.person_record")
    with conn.cursor() as cur, cur.copy(
        "copy identity.person_record (record_key, source, person_id, match_method, match_probability,"
        " link_run_id) from stdin"
    ) as copy:
        for key, source in zip(record_sources["unique_id"], record_sources["source"], strict=True):
            copy.write_row((key, source, ids.person_of[key], match_method(key, in_nik_group, best, by_rule, by_review),
                            best.get(key), link_run_id))
    with conn.cursor() as cur:
        cur.executemany(
            "insert into identity.person_event (link_run_id, event, person_id, other_person_ids, review_decision_ids)"
            " values (%s, %s, %s, %s, %s)",
            [(link_run_id, event, p, others,
              resolved.constraints.causes(event, {p, *others}, ids.person_of, previous) or None)
             for event, changes in (("merge", ids.merges), ("split", ids.splits)) for p, others in changes],
        )
    return ids


def link_pairs(resolved: Resolution) -> list[tuple[str, str, str, float | None]]:
    """The evidence that joined each person's records (record_key_l, record_key_r, rule, probability): a NIK
    group as a star from its first record, every rule's pairs, the model's linked pairs, the reviewers' matches.
    Only pairs whose records ended in one person: the explanation of a person (`identity.explain`), not the
    candidates."""
    same = resolved.cluster_of
    edges = [(group[0], other, "nik_group", None) for group in resolved.groups for other in group[1:]]
    edges += [(left, right, rule, None) for rule, pairs in resolved.pairs_by_rule.items() for left, right in pairs]
    linked = resolved.pairs[resolved.pairs["match_probability"] >= scoring.MATCH_THRESHOLD]
    edges += [(left, right, "model", float(p)) for left, right, p in zip(
        linked["unique_id_l"], linked["unique_id_r"], linked["match_probability"], strict=True)]
    edges += [(d.record_key_l, d.record_key_r, "review", None) for d in resolved.constraints.must_links]
    return [(min(a, b), max(a, b), rule, p) for a, b, rule, p in edges
            if a in same and b in same and same[a] == same[b]]


def _write_link_pairs(conn, link_run_id: int, resolved: Resolution) -> None:
    """identity.link_pair: the current run's evidence only (like person_record, replaced every run)."""
    conn.execute("delete from identity.link_pair")
    with conn.cursor() as cur, cur.copy(
        "copy identity.link_pair (link_run_id, record_key_l, record_key_r, rule, match_probability) from stdin"
    ) as copy:
        for left, right, rule, probability in link_pairs(resolved):
            copy.write_row((link_run_id, left, right, rule, probability))


def _write_review(conn, link_run_id: int, review: pd.DataFrame) -> None:
    """identity.review_pair: model pairs below MATCH_THRESHOLD whose records ended in two clusters."""
    with conn.cursor() as cur, cur.copy(
        "copy identity.review_pair (link_run_id, record_key_l, record_key_r, match_probability) from stdin"
    ) as copy:
        for left, right, p in zip(review["unique_id_l"], review["unique_id_r"], review["match_probability"],
                                  strict=True):
            copy.write_row((link_run_id, left, right, float(p)))


def _id_allocator(conn, block: int = 10_000) -> Callable[[], int]:
    """New person ids from the sequence, fetched a block at a time (one round trip per id is minutes at city
    scale); ids of a block left unused are a harmless gap."""
    pending: list[int] = []

    def next_id() -> int:
        if not pending:
            pending.extend(r[0] for r in conn.execute(
                "select nextval('identity.person_id_seq') from generate_series(1, %s)", (block,)))
        return pending.pop(0)

    return next_id
