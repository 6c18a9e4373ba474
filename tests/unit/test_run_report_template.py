"""The run report's template escapes every text it is given, wherever it lands: tables, headings, and the titles
and tooltips of the SVG charts. Hostile text in every field of a hand-built report, no warehouse needed."""

from __future__ import annotations

from datetime import UTC, datetime

from markupsafe import escape

from lintas.quality.gate import CheckResult
from lintas.report import build_health, collect, run_report
from lintas.report.trends import TrendPoint

EVIL = "<i x='1' y=\"2\">&amp;</i>"  # a tag, both quotes and an entity, as text


def _check(success: bool, column: str | None) -> CheckResult:
    return CheckResult(f"expect{EVIL}", column, "critical", success, 10, 2, 20.0, "12", f">= {EVIL}", EVIL)


def _report() -> collect.ReportData:
    at = datetime(2026, 10, 1, tzinfo=UTC)
    batch = collect.Batch(7, f"src{EVIL}", f"ref{EVIL}", f"per{EVIL}", "accepted", 3, 3, 0, 0, [f"col{EVIL}"],
                          f"why{EVIL}", f"dag{EVIL}", f"run{EVIL}", at, at,
                          checks=[_check(False, f"nik{EVIL}"), _check(False, None)], gate_runs={f"gate{EVIL}"},
                          quarantine=[(f"field{EVIL}", f"rule{EVIL}", 1)])
    dbt_run = collect.DbtInvocation(f"dag{EVIL}", f"run{EVIL}", f"inv{EVIL}", at, {f"status{EVIL}": 1, "error": 1},
                                    [(f"test.node{EVIL}", "error")])
    publish = collect.Publish(f"dag{EVIL}", f"run{EVIL}", at, "held_back", {}, None, None, f"reason{EVIL}", 1,
                              [(f"suite{EVIL}", _check(False, None))])
    published = collect.Publish(None, None, at, "published", {f"table{EVIL}": 5}, 5, 0.1, None)
    return collect.ReportData(
        runs=[collect.Run(f"dag{EVIL}", f"run{EVIL}", at, [batch], [dbt_run])],
        latest=[collect.SourceVerdict(f"src{EVIL}", f"dag{EVIL}", f"run{EVIL}", at, [batch])],
        latest_build=dbt_run,
        trends={f"src{EVIL}": [TrendPoint(7, f"ref{EVIL}", "accepted", 3, 90.0, 10, 1)]},
        nik_thresholds={},
        publishes=[publish, published],
        freshness=[build_health.FreshnessVerdict(f"src{EVIL}", f"status{EVIL}", at, 1.0, f"warn{EVIL}",
                                                 f"error{EVIL}", at)],
        model_timings=[build_health.ModelTiming(f"model.lintas.m{EVIL}", f"status{EVIL}", 1.0, None, 0)],
    )


def test_every_text_is_escaped(tmp_path):
    text = run_report.to_html(_report(), out=tmp_path / "index.html", warehouse_label=f"wh{EVIL}",
                              generated_at=datetime(2026, 10, 2, tzinfo=UTC), runs=5)
    assert "<i" not in text and "</i>" not in text and "x='1'" not in text and 'y="2"' not in text
    prefixes = ["wh", "src", "ref", "per", "col", "why", "dag", "run", "gate", "field", "rule", "inv", "status",
                "test.node", "reason", "suite", "table", "warn", "error", "m", "expect", "nik", ">= "]
    for prefix in prefixes:  # every field is shown, escaped
        assert str(escape(prefix + EVIL)) in text, prefix
    assert text.count("<svg") == 2 and f"<title>{escape('src' + EVIL)}: rows loaded" in text  # in the charts too
