"""bench/bench_pipeline.py: its arguments, and its report writer on a result recorded from a real small run
(tests/fixtures/bench_pipeline_small.json, trimmed to a few tasks). The bench itself is not run here."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest

RECORDED = Path(__file__).parents[1] / "fixtures" / "bench_pipeline_small.json"


BENCH_SCRIPT = "bench_pipeline.py"  # the `bench` fixture (tests/unit/conftest.py) imports it


@pytest.fixture
def recorded() -> dict:
    return json.loads(RECORDED.read_text(encoding="utf-8"))


def _scaled(result: dict, scale: str, factor: float) -> dict:
    """The recorded run as if at another scale: every DAG's seconds and rows times factor."""
    other = copy.deepcopy(result)
    other["meta"]["scale"] = scale
    for phase in other["phases"].values():
        if "wall_seconds" in phase:
            phase["wall_seconds"] = round(phase["wall_seconds"] * factor, 1)
        for run in phase["dags"]:
            run["seconds"] = round(run["seconds"] * factor, 1)
        for channel in phase["channels"]:
            channel["rows_extracted"] = round(channel["rows_extracted"] * factor)
    return other


def _target(targets: list[dict], name: str, scale: str) -> dict:
    [found] = [t for t in targets if t["target"] == name and t["scale"] == scale]
    return found


def test_arguments(bench):
    args = bench.parse_args([])
    assert (args.scale, args.seed, args.phases) == ("small", 1, ["first", "unchanged", "next_month"])
    assert bench.parse_args(["--scale", "5", "--phases", "first,unchanged"]).phases == ["first", "unchanged"]
    for wrong in (["--scale", "town"], ["--scale", "-1"], ["--phases", "unchanged"], ["--phases", "first,next_month"]):
        with pytest.raises(SystemExit):
            bench.parse_args(wrong)


def test_report_of_a_recorded_small_run(bench, recorded, tmp_path):
    json_path, md_path = bench.write_report(recorded, tmp_path)
    assert json.loads(json_path.read_text(encoding="utf-8")) == recorded
    markdown = md_path.read_text(encoding="utf-8")
    first = recorded["phases"]["first"]
    for run in first["dags"]:
        assert f"| {run['dag_id']} | {run['seconds']} s" in markdown
    for channel in first["channels"]:
        assert f"| first run | {channel['source']} | {channel['channel']} |" in markdown
    for run in first["dags"]:
        for task in run["tasks"]:
            if task["seconds"] >= 1:  # the table lists the tasks of 1 s or more, by Airflow's duration
                assert f"| {run['dag_id']} | {task['task_id']} | {task['state']} | {task['seconds']} |" in markdown
    assert "no new batch in the unchanged re-run" in markdown
    targets = bench.evaluate_targets({"small": recorded})
    unchanged = _target(targets, "unchanged re-run over first run", "small")
    share = bench.phase_seconds(recorded["phases"]["unchanged"]) / bench.phase_seconds(first)
    assert unchanged["measured"] == f"{share:.0%}"
    assert unchanged["status"] == ("met" if share <= bench.UNCHANGED_SHARE else "**missed**")
    extracts_only = _target(
        targets, "unchanged re-run over first run, extract DAGs only (no new batch: the schedule starts no build)",
        "small")
    extract_seconds = sum(run["seconds"] for run in recorded["phases"]["unchanged"]["dags"]
                          if run["dag_id"] != bench.BUILD_DAG)
    assert extracts_only["measured"] == f"{extract_seconds / bench.phase_seconds(first):.0%}"
    assert _target(targets, "city end to end (first run)", "city")["status"] == "not measured"
    assert "Growth between scales" not in markdown


def test_growth_and_targets_over_scales(bench, recorded, tmp_path):
    city = _scaled(recorded, "city", 0.5)  # city within 180 s
    five = _scaled(recorded, "5", 3.5)  # 7x the city's time
    for result in (recorded, city, five):
        bench.write_report(result, tmp_path)
    markdown = (tmp_path / "bench.md").read_text(encoding="utf-8")
    assert "Growth between scales" in markdown
    assert "| 5 |" in markdown and "| 7.0× |" in markdown
    targets = bench.evaluate_targets({"small": recorded, "city": city, "5": five})
    assert bench.phase_seconds(city["phases"]["first"]) <= bench.CITY_SECONDS
    assert _target(targets, "city end to end (first run)", "city")["status"] == "met"
    assert _target(targets, "5× city time over city time", "5") == {
        "target": "5× city time over city time", "scale": "5", "measured": "7.00×", "limit": "≤ 5.5×",
        "status": "**missed**"}


def test_a_stalled_build_is_reported_with_its_plan_and_misses_its_targets(bench, recorded, tmp_path):
    city = _scaled(recorded, "city", 0.5)
    build = next(run for run in city["phases"]["first"]["dags"] if run["dag_id"] == bench.BUILD_DAG)
    build["stall"] = {"after_seconds": 1200, "running_tasks": ["marts.dbt_producer_watcher"],
                      "queries": [{"model": "fct_programme_participation", "seconds": 1100,
                                   "explain": "Nested Loop  (cost=0.85..16.90 rows=2 width=64)"}]}
    for later in ("unchanged", "next_month"):
        del city["phases"][later]
    bench.write_report(city, tmp_path)
    markdown = (tmp_path / "bench.md").read_text(encoding="utf-8")
    assert "**stalled** (stopped after 1200 s)" in markdown
    assert "Query of model `fct_programme_participation`" in markdown and "rows=2" in markdown
    targets = bench.evaluate_targets({"city": city})
    end_to_end = _target(targets, "city end to end (first run)", "city")
    assert end_to_end["status"] == "**missed**"
    assert end_to_end["measured"] == f"> {bench.phase_seconds(city['phases']['first'])} s (did not finish)"
    five = copy.deepcopy(city)
    five["meta"]["scale"] = "5"
    peak = _target(bench.evaluate_targets({"5": five}), "peak memory at 5×", "5")
    assert bench.phase_peak(five["phases"]["first"]) <= bench.FIVE_X_PEAK_MB
    assert peak["status"] == "not measured", "below the limit until the stall says nothing of what did not run"
    assert _target(targets, "unchanged re-run over first run", "city")["status"] == "not measured"


def test_a_phase_run_in_one_process_counts_its_wall_time(bench, recorded, tmp_path):
    """Recorded with one `dags test` process per phase: the phase's time is the process's wall time (its start
    and every DAG), not the sum of the DAGs; older recordings (one process per DAG) keep the sum."""
    first = recorded["phases"]["first"]
    summed = round(sum(run["seconds"] for run in first["dags"]), 1)
    assert bench.phase_seconds(first) == summed
    first["wall_seconds"], first["startup_seconds"] = summed + 12.5, 12.5
    assert bench.phase_seconds(first) == summed + 12.5
    bench.write_report(recorded, tmp_path)
    markdown = (tmp_path / "bench.md").read_text(encoding="utf-8")
    assert "run in one process" in markdown and "first run 12.5 s" in markdown
