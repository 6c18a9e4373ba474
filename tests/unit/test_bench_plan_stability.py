"""bench/bench_plan_stability.py: its verdict per model over rounds (the bench itself needs a built warehouse and
is not run here)."""

from __future__ import annotations

import pytest

BENCH_SCRIPT = "bench_plan_stability.py"  # the `bench` fixture (tests/unit/conftest.py) imports it


def _round(seconds: dict[str, float], plans: dict[str, str]) -> dict:
    return {"seconds": seconds, "plans": plans, "wall_seconds": sum(seconds.values()), "load_before": 1.0,
            "load_after": 1.0}


def test_a_model_slower_than_twice_its_median_misses_and_a_changed_plan_shows(bench):
    rounds = [_round({"fct_big": 10.0, "stg_small": 0.3}, {"fct_big": "aaa"}),
              _round({"fct_big": 11.0, "stg_small": 0.2}, {"fct_big": "aaa"}),
              _round({"fct_big": 25.0, "stg_small": 0.4}, {"fct_big": "bbb"})]
    [row] = bench.evaluate(rounds, fresh=None)  # stg_small is below the big-model bar
    assert row["model"] == "fct_big" and row["median"] == 11.0
    assert row["worst_ratio"] == pytest.approx(25 / 11, abs=0.01) and not row["within_limit"]
    assert row["plans"] == 2
    assert "| `fct_big` | 10.0 | 11.0 | 25.0 | 11.0 | 2.27 | 2 | **no** |" in bench.render([row], rounds, None)


def test_the_fresh_database_is_one_more_sample(bench):
    rounds = [_round({"fct_big": 10.0}, {"fct_big": "aaa"}), _round({"fct_big": 12.0}, {"fct_big": "aaa"})]
    [row] = bench.evaluate(rounds, fresh={"fct_big": 4.0})
    assert row["samples"] == [10.0, 12.0, 4.0] and row["median"] == 10.0
    assert row["worst_ratio"] == 2.5 and not row["within_limit"]  # the fresh run was 2.5x faster than the median
    [steady] = bench.evaluate(rounds, fresh={"fct_big": 9.0})
    assert steady["within_limit"] and steady["plans"] == 1
