"""bench/engine_parity.py: how it sorts the two engines' pairs into bands and which Jaro-Winkler differences it
blames (the bench itself needs a dump and Spark and is not run here)."""

from __future__ import annotations

import json

import pandas as pd

from lintas.identity import scoring

BENCH_SCRIPT = "engine_parity.py"  # the `bench` fixture (tests/unit/conftest.py) imports it


def _pairs(rows: list[tuple[str, str, float]]) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=["unique_id_l", "unique_id_r", "match_probability"])


def test_pairs_meet_whichever_order_each_engine_gave_and_a_missing_pair_is_below_review(bench):
    duck = _pairs([("a", "b", 0.9995), ("c", "d", 0.95), ("e", "f", 0.999)])
    spark = _pairs([("b", "a", 0.9990), ("d", "c", 0.95)])  # e-f fell below REVIEW_THRESHOLD on Spark
    merged = bench.compare(duck, spark).set_index(["a", "b"])
    assert merged.loc[("a", "b"), ["band_duckdb", "band_spark"]].tolist() == ["linked", "linked"]
    assert merged.loc[("c", "d"), ["band_duckdb", "band_spark"]].tolist() == ["review", "review"]
    assert merged.loc[("e", "f"), ["band_duckdb", "band_spark"]].tolist() == ["linked", "below review"]


def test_a_difference_is_blamed_only_where_a_level_boundary_lies_between_the_values(bench):
    assert bench.crossed(0.972, 0.961, [0.97, 0.9, 0.8])
    assert not bench.crossed(0.96, 0.91, [0.97, 0.9, 0.8])  # same level on both engines
    assert not bench.crossed(0.95, None, [0.97])  # no value: the comparison's null level on both


def test_the_jaro_winkler_levels_are_read_from_the_model_in_use(bench):
    levels = bench.jaro_winkler_levels(json.loads(scoring.model_path().read_text()))
    assert levels["name"] == sorted(levels["name"], reverse=True) and len(levels["name"]) >= 2
    assert all(0 < t < 1 for thresholds in levels.values() for t in thresholds)
