"""The comparison of a retrained linkage model with the reviewed one: every level, its weights, the largest moves."""

from __future__ import annotations

import json
import math

from lintas.identity import model_report, scoring


def _candidate(tmp_path, m_exact_dob: float):
    model = json.loads(scoring.MODEL_PATH.read_text(encoding="utf-8"))
    dob = next(c for c in model["comparisons"] if c["output_column_name"] == "dob")
    exact = next(lv for lv in dob["comparison_levels"] if lv["label_for_charts"] == "Exact match on date of birth")
    exact["m_probability"] = m_exact_dob
    path = tmp_path / "splink_model_v9.json"
    path.write_text(json.dumps(model), encoding="utf-8")
    return path, exact["u_probability"]


def test_every_level_is_listed_with_its_weights_and_the_largest_move_is_flagged_first(tmp_path):
    candidate, u = _candidate(tmp_path, 0.9)
    report = model_report.compare(candidate, scoring.MODEL_PATH)
    levels = report["levels"]
    reviewed = json.loads(scoring.MODEL_PATH.read_text(encoding="utf-8"))
    assert len(levels) == sum(1 for c in reviewed["comparisons"] for lv in c["comparison_levels"]
                              if not lv.get("is_null_level"))
    moved = [r for r in levels if r["weight_change"]]
    assert [(r["comparison"], r["level"]) for r in moved] == [("dob", "Exact match on date of birth")]
    assert moved[0]["weight_after"] == math.log2(0.9 / u) and moved[0]["largest_move"]
    assert sum(r["largest_move"] for r in levels) == 1  # a level that did not move is no move

    markdown = model_report.render_markdown(report)
    assert markdown.index("**dob**, Exact match on date of birth") < markdown.index("## Every comparison level")
    assert "bench/bench_linkage.py" in markdown  # no bench here: the report says how to get one
    written = model_report.write(report)
    assert sorted(p.name for p in tmp_path.glob("splink_model_v*.json")) == ["splink_model_v9.json"]
    assert json.loads(open(written["json"], encoding="utf-8").read())["levels"] == levels
