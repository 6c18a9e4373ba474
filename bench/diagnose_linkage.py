"""Diagnose identity resolution on a dump of the linkage input (`bench_linkage.py --dump DIR`), in process.

    .venv/bin/python bench/diagnose_linkage.py DIR [--model PATH] [--fresh] [--blocking]

Runs the linkage phases (no warehouse), prints seconds and peak memory after each phase, the scores against the
truth, and why missed / wrong cross-agency pairs were missed: counts per reason only, never a record's values.
`--blocking` only counts the candidate pairs each blocking rule adds (how blocking scales with the records).
"""

from __future__ import annotations

import argparse
import sys
import time
from collections import Counter
from itertools import combinations
from pathlib import Path

import pandas as pd

sys.path.insert(0, str(Path(__file__).parent))
from bench_linkage import own_peak_mb, print_quality  # noqa: E402

from lintas.identity import features, linkage, names, nik, scoring, workspace  # noqa: E402


def peak_mb() -> float:
    return own_peak_mb()


def _nik_relation(a, b) -> str:
    if not isinstance(a, str) or not isinstance(b, str):
        return "nik missing"
    distance = names.osa_distance(a, b, 2)
    return {0: "nik equal", 1: "nik 1 edit", 2: "nik 2 edits"}.get(distance, "nik far")


def count_blocked_pairs(prepared: pd.DataFrame, rules: list[str] = scoring.BLOCKING) -> int:
    """Candidate pairs the model will score, per blocking rule: the pairs a rule adds to the earlier rules' (as
    Splink dedupes them). Counts only; a rule whose count grows with the square of the records shows here."""
    total = 0
    with workspace.duckdb_connection() as con:
        scoring.create_linkage_features(con, prepared)
        for i, rule in enumerate(rules):
            began = time.perf_counter()
            earlier = " or ".join(f"coalesce({r}, false)" for r in rules[:i]) or "false"
            # the model's own blocking rules are SQL expressions (DuckDB), not identifiers or values
            n = con.execute(f"select count(*) from linkage_features as l inner join linkage_features as r"  # noqa: S608
                            f" on {rule} and l.unique_id < r.unique_id"
                            f" where not ({earlier})").fetchone()[0]
            total += n
            print(f"  {n:>12,} pairs ({time.perf_counter() - began:.1f} s): {rule}", flush=True)
    print(f"  {total:>12,} pairs to score in all; peak {peak_mb():,.0f} MB")
    return total


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("dump", type=Path)
    parser.add_argument("--model", type=Path, default=scoring.MODEL_PATH)
    parser.add_argument("--fresh", action="store_true", help="score the pairs again, not from the cache")
    parser.add_argument("--blocking", action="store_true", help="only count the candidate pairs per blocking rule")
    args = parser.parse_args()
    records = pd.read_pickle(args.dump / "records.pkl")
    if args.blocking:
        count_blocked_pairs(features.prepare(records))
        return
    true = pd.read_pickle(args.dump / "truth.pkl").to_dict()
    print(f"records {len(records):,}; peak after read {peak_mb():,.0f} MB")
    timings = {}

    def phase(name, fn, *a):
        began = time.perf_counter()
        out = fn(*a)
        timings[name] = round(time.perf_counter() - began, 1)
        print(f"  {name}: {timings[name]} s, peak {peak_mb():,.0f} MB", flush=True)
        return out

    prepared = phase("prepare", features.prepare, records)
    why_no_nik = {}
    for key, raw, cell, kk in zip(records["record_key"], records["nik"], records["nik_from_number_cell"],
                                  records["no_kk"], strict=True):
        check = nik.check_nik(raw, from_number_cell=bool(cell))
        why_no_nik[key] = ",".join(check.problems) or ("is_no_kk" if nik.clean(raw) == nik.clean(kk) else "ok")
    del records
    cache = args.dump / f"pairs_{scoring.model_version(args.model)}.pkl"  # the model's pairs, when unchanged

    def predict(prepared: pd.DataFrame, model: Path) -> pd.DataFrame:
        if cache.exists() and not args.fresh:
            return pd.read_pickle(cache)
        pairs = scoring.predict_pairs(prepared, model)
        pairs.to_pickle(cache)
        return pairs

    resolved = linkage.resolve(prepared, args.model, phase=phase, predict=predict)
    groups, pairs, near = resolved.groups, resolved.pairs, resolved.nik_rule_pairs
    others, cluster_of = resolved.other_rule_pairs, resolved.cluster_of
    print(f"total {sum(timings.values()):.1f} s; persons {len(set(cluster_of.values())):,}")

    print_quality(cluster_of, true)

    # reasons for misses and wrong links, cross-agency pairs only
    feats = prepared.set_index("unique_id")
    feats["dob_year"] = feats["dob"].str[:4]
    prob = {}
    for a, b, p in zip(pairs["unique_id_l"], pairs["unique_id_r"], pairs["match_probability"], strict=True):
        prob[(a, b)] = prob[(b, a)] = p
    grouped = {k for g in groups for k in g}
    near_set = {tuple(sorted(p)) for p in near}
    other_set = {tuple(sorted(p)) for p in others}

    name_count = prepared["name"].value_counts()

    def describe(a: str, b: str) -> tuple:
        fa, fb = feats.loc[a], feats.loc[b]
        n = name_count.get(fa["name"], 0)
        freq = "namefreq " + ("1-2" if n <= 2 else "3-5" if n <= 5 else "6-20" if n <= 20 else ">20")
        nik_state = _nik_relation(fa["nik"], fb["nik"])
        if nik_state == "nik missing":
            nik_state += "(" + "/".join(why_no_nik[k] for k in (a, b) if not isinstance(feats.loc[k, "nik"], str)) + ")"
        elif nik_state == "nik 1 edit":
            diff = [i for i in range(16) if fa["nik"][i] != fb["nik"][i]]
            nik_state += " @" + ("region" if diff[0] < 6 else "date" if diff[0] < 12 else "serial")
        sources = " x ".join(sorted((a.split(":")[0], b.split(":")[0])))
        blocked = []
        for name, cols in (("nik", ["nik"]), ("dob+kel", ["dob", "kelurahan"]), ("dob+first", ["dob", "first_name"]),
                           ("first+kel+street", ["first_name", "kelurahan", "street"]),
                           ("first+last+kel", ["first_name", "last_name", "kelurahan"]),
                           ("first+last+year", ["first_name", "last_name", "dob_year"])):
            if all(isinstance(fa[c], str) and fa[c] == fb[c] for c in cols):
                blocked.append(name)
        p = prob.get((a, b))
        return (sources, nik_state, freq,
                "dob equal" if isinstance(fa["dob"], str) and fa["dob"] == fb["dob"] else "dob -",
                "mother equal" if isinstance(fa["mother"], str) and fa["mother"] == fb["mother"] else "mother -",
                "street equal" if isinstance(fa["street"], str) and fa["street"] == fb["street"] else "street -",
                "name equal" if fa["name"] == fb["name"] else "name differs",
                "kel equal" if isinstance(fa["kelurahan"], str) and fa["kelurahan"] == fb["kelurahan"] else
                ("kel missing" if not isinstance(fa["kelurahan"], str) or not isinstance(fb["kelurahan"], str)
                 else "kel differs"),
                "blocked:" + ("+".join(blocked) or "none"),
                "score<0.9" if p is None else f"score {p:.3f}"[:10],
                f"grouped {int(a in grouped)}{int(b in grouped)}")

    by_true: dict[int, list[str]] = {}
    for k in cluster_of:
        if k in true:
            by_true.setdefault(true[k], []).append(k)
    misses = Counter()
    for members in by_true.values():
        for a, b in combinations(members, 2):
            if a.split(":")[0] != b.split(":")[0] and cluster_of[a] != cluster_of[b]:
                misses[describe(a, b)] += 1
    print(f"\nmissed cross-agency pairs: {sum(misses.values()):,}; top reasons:")
    for reason, n in misses.most_common(40):
        print(f"  {n:>6} {' | '.join(reason)}")
    by_cluster: dict[str, list[str]] = {}
    for k, c in cluster_of.items():
        by_cluster.setdefault(c, []).append(k)
    wrong = Counter()
    for members in by_cluster.values():
        if len(members) > 40:
            wrong[("giant cluster", str(len(members)))] += 1
            continue
        for a, b in combinations(members, 2):
            if a.split(":")[0] != b.split(":")[0] and a in true and b in true and true[a] != true[b]:
                how = ("near" if tuple(sorted((a, b))) in near_set else "") + (
                    "rule" if tuple(sorted((a, b))) in other_set else "") + (
                    "model" if prob.get((a, b), 0) >= scoring.MATCH_THRESHOLD else "")
                wrong[(*describe(a, b), "direct:" + (how or "chain"))] += 1
    near_kinds = Counter()
    for a, b in near:
        if a in true and b in true:
            near_kinds[(*describe(a, b), "correct" if true[a] == true[b] else "WRONG")] += 1
    print(f"\nnear-NIK rule pairs: {sum(near_kinds.values()):,}")
    for reason, n in near_kinds.most_common(40):
        print(f"  {n:>6} {' | '.join(reason)}")
    print(f"\nwrong cross-agency pairs: {sum(wrong.values()):,}; top reasons:")
    for reason, n in wrong.most_common(30):
        print(f"  {n:>6} {' | '.join(reason)}")


if __name__ == "__main__":
    main()
