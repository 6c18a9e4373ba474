"""Where Splink on DuckDB and on Spark disagree, on a dump of the linkage input (`bench_linkage.py --dump DIR`).

    .venv/bin/python bench/engine_parity.py DIR

Scores the dump's pairs on both engines (`scoring.predict_pairs`, the NIK veto included) and counts the pairs whose
band differs (linked at MATCH_THRESHOLD, review at REVIEW_THRESHOLD, neither) and how far the probabilities differ.
For every pair that is linked on one engine only it then asks which Jaro-Winkler comparison of the model gave two
different values (DuckDB's `jaro_winkler_similarity` against the Splink jar's `jaro_winkler` on Spark) and whether
that difference crosses one of the comparison's level boundaries. Prints counts only, never a record's values.
The scored pairs are kept in DIR (personal data: delete DIR after).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import time
from collections import Counter
from pathlib import Path

import pandas as pd

from lintas import settings
from lintas.identity import features, scoring, spark_backend, workspace

_JW_LEVEL = re.compile(r'jaro_winkler_similarity\("(\w+)_l", "\w+_r"\) >= ([0-9.]+)')


def jaro_winkler_levels(model: dict) -> dict[str, list[float]]:
    """Column -> the thresholds of its Jaro-Winkler levels in the model, e.g. {"name": [0.97, 0.9, 0.8]}."""
    levels: dict[str, list[float]] = {}
    for comparison in model["comparisons"]:
        for level in comparison["comparison_levels"]:
            for column, threshold in _JW_LEVEL.findall(level["sql_condition"]):
                levels.setdefault(column, []).append(float(threshold))
    return levels


def band(p: float | None) -> str:
    if p is None or pd.isna(p):
        return "below review"
    return "linked" if p >= scoring.MATCH_THRESHOLD else "review"


def scored_on(backend: str, prepared: pd.DataFrame, dump: Path) -> tuple[pd.DataFrame, float]:
    """The engine's scored pairs and seconds; kept in the dump folder, so a second look costs no scoring."""
    cache = dump / f"pairs_{backend}_{scoring.model_version()}.pkl"
    if cache.exists():
        return pd.read_pickle(cache), float("nan")
    os.environ["LINTAS_LINKAGE_BACKEND"] = backend
    settings.reload()
    started = time.perf_counter()
    pairs = scoring.predict_pairs(prepared)
    seconds = time.perf_counter() - started
    pairs.to_pickle(cache)
    return pairs, seconds


def both_orders(pairs: pd.DataFrame) -> pd.DataFrame:
    """Each pair once, with its smaller key on the left, whichever engine put it first."""
    left = pairs[["unique_id_l", "unique_id_r"]].min(axis=1)
    right = pairs[["unique_id_l", "unique_id_r"]].max(axis=1)
    return pd.DataFrame({"a": left, "b": right, "p": pairs["match_probability"]})


def compare(duck: pd.DataFrame, spark: pd.DataFrame) -> pd.DataFrame:
    merged = both_orders(duck).merge(both_orders(spark), on=["a", "b"], how="outer", suffixes=("_duckdb", "_spark"))
    merged["band_duckdb"] = merged["p_duckdb"].map(band)
    merged["band_spark"] = merged["p_spark"].map(band)
    return merged


def jaro_winkler_both(prepared: pd.DataFrame, pairs: pd.DataFrame, columns: list[str]) -> pd.DataFrame:
    """For each pair (a, b) and column: the model's feature values' Jaro-Winkler on DuckDB and on Spark."""
    from splink.backends.spark import SparkAPI

    with workspace.duckdb_connection() as con:
        scoring.create_linkage_features(con, prepared)
        con.register("pairs", pairs[["a", "b"]])
        selects = ", ".join(f'l."{c}" as "{c}_l", r."{c}" as "{c}_r", jaro_winkler_similarity(l."{c}", r."{c}")'
                            f' as "{c}_duckdb"' for c in columns)
        # the columns are the model's own (word-character names from its JSON), not input
        values = con.execute(f"select p.a, p.b, {selects} from pairs p"  # noqa: S608
                             " join linkage_features l on l.unique_id = p.a"
                             " join linkage_features r on r.unique_id = p.b").df()
    with spark_backend.spark_session() as spark:
        SparkAPI(spark_session=spark)  # registers the jar's similarity functions, as the linkage does
        strings = values.drop(columns=[f"{c}_duckdb" for c in columns]).astype(object)
        spark.createDataFrame(strings.where(strings.notna(), None)).createOrReplaceTempView("pair_values")
        jaro_winkler = ", ".join(f"jaro_winkler({c}_l, {c}_r) as {c}_spark" for c in columns)
        on_spark = spark.sql(f"select a, b, {jaro_winkler} from pair_values").toPandas()  # noqa: S608
    return values.merge(on_spark, on=["a", "b"])


def crossed(duckdb_value, spark_value, thresholds: list[float]) -> bool:
    """Whether a level boundary lies between the two engines' values."""
    if pd.isna(duckdb_value) or pd.isna(spark_value):
        return False
    low, high = sorted((duckdb_value, spark_value))
    return any(low < t <= high for t in thresholds)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("dump", type=Path)
    args = parser.parse_args()
    prepared = features.prepare(pd.read_pickle(args.dump / "records.pkl"))
    print(f"records {len(prepared):,}")
    duck, duck_s = scored_on("duckdb", prepared, args.dump)
    spark, spark_s = scored_on("spark", prepared, args.dump)
    took = {name: "kept from an earlier run" if pd.isna(s) else f"{s:.1f} s" for name, s in (("duckdb", duck_s),
                                                                                               ("spark", spark_s))}
    print(f"scored pairs >= REVIEW_THRESHOLD: duckdb {len(duck):,} ({took['duckdb']}), spark {len(spark):,}"
          f" ({took['spark']})")
    merged = compare(duck, spark)
    both = merged.dropna(subset=["p_duckdb", "p_spark"])
    delta = (both["p_duckdb"] - both["p_spark"]).abs()
    print(f"pairs on both engines {len(both):,}: probabilities differ by more than 1e-9 in {(delta > 1e-9).sum():,},"
          f" at most {delta.max():.2e}")
    moved = merged[merged["band_duckdb"] != merged["band_spark"]]
    print("pairs in a different band (duckdb -> spark):")
    for (d, s), n in sorted(Counter(zip(moved["band_duckdb"], moved["band_spark"], strict=True)).items()):
        print(f"  {d} -> {s}: {n:,}")
    true = pd.read_pickle(args.dump / "truth.pkl").to_dict()  # record key -> the generator's person
    same_person = [true.get(a) is not None and true.get(a) == true.get(b) for a, b in zip(moved["a"], moved["b"],
                                                                                            strict=True)]
    true_moves = Counter((d, s) for d, s, same in zip(moved["band_duckdb"], moved["band_spark"], same_person,
                                                      strict=True) if same)
    print("  of them the same person in truth: "
          + (", ".join(f"{d} -> {s}: {n:,}" for (d, s), n in sorted(true_moves.items())) or "none"))
    linked_once = moved[(moved["band_duckdb"] == "linked") | (moved["band_spark"] == "linked")]
    if linked_once.empty:
        return
    levels = jaro_winkler_levels(json.loads(scoring.model_path().read_text()))
    values = jaro_winkler_both(prepared, linked_once, sorted(levels))
    print(f"the {len(linked_once):,} pairs linked on one engine only, per Jaro-Winkler comparison:")
    for column, thresholds in sorted(levels.items()):
        differ = (values[f"{column}_duckdb"] - values[f"{column}_spark"]).abs() > 1e-9
        crosses = [crossed(d, s, thresholds) for d, s in zip(values[f"{column}_duckdb"], values[f"{column}_spark"],
                                                              strict=True)]
        higher = (values[f"{column}_duckdb"] > values[f"{column}_spark"] + 1e-9).sum()
        print(f"  {column}: values differ in {differ.sum():,} (duckdb higher in {higher:,}), a level boundary"
              f" {thresholds} lies between them in {sum(crosses):,}")
    explained = sum(any(crossed(row[f"{c}_duckdb"], row[f"{c}_spark"], t) for c, t in levels.items())
                    for _, row in values.iterrows())
    print(f"  pairs a Jaro-Winkler level boundary explains: {explained:,} of {len(values):,}")


if __name__ == "__main__":
    main()
