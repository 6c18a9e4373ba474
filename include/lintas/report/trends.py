"""What the run report's trend charts show: each source's recent batches, with the rows they loaded and the
share of valid NIKs the gate found (counts and rates from the audit tables, no row values)."""

from __future__ import annotations

import json
from dataclasses import dataclass

from lintas.quality import gate

TREND_BATCHES = 30  # batches per source in the trend charts
NIK_COLUMNS = ("nik", "nik_penanggung_jawab")
NIK_EXPECTATION = "expect_column_values_to_match_regex"


@dataclass
class TrendPoint:
    batch_id: int
    source_ref: str
    status: str
    rows_loaded: int
    nik_valid_percent: float | None
    nik_checked: int | None
    nik_unexpected: int | None


def recent_batches(conn) -> dict[str, list[TrendPoint]]:
    """The last TREND_BATCHES batches of each source, oldest first."""
    trend_rows = conn.execute(
        "select source, batch_id, source_ref, status, rows_loaded from ("
        " select source, batch_id, source_ref, status, rows_loaded,"
        " row_number() over (partition by source order by batch_id desc) as recent from audit.load_batch"
        ") t where recent <= %s order by source, batch_id",
        (TREND_BATCHES,),
    ).fetchall()
    # NIK validity = 100 - unexpected percent of the NIK format check (its latest validation per batch)
    nik = {row[0]: row[1:] for row in conn.execute(
        "select distinct on (batch_id) batch_id, 100 - unexpected_percent, element_count, unexpected_count"
        " from audit.gate_result where batch_id = any(%s) and expectation = %s and column_name = any(%s)"
        " order by batch_id, validated_at desc, gate_result_id desc",
        ([r[1] for r in trend_rows], NIK_EXPECTATION, list(NIK_COLUMNS)),
    )}
    points: dict[str, list[TrendPoint]] = {}
    for source, batch_id, ref, status, loaded in trend_rows:
        valid, checked, unexpected = nik.get(batch_id, (None, None, None))
        points.setdefault(source, []).append(TrendPoint(
            batch_id, ref, status, loaded, None if valid is None else float(valid), checked, unexpected))
    return points


def nik_thresholds(sources) -> dict[str, float]:
    """The gate's bar for NIK validity of each source (its raw suite's NIK regex expectation's `mostly`), from the
    reviewed suites."""
    thresholds = {}
    for source in sources:
        try:
            suite = json.loads(gate.suite_path(f"raw_{source}").read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        for exp in suite.get("expectations", []):
            kwargs = exp.get("kwargs", {})
            if exp.get("type") == NIK_EXPECTATION and kwargs.get("column") in NIK_COLUMNS:
                thresholds[source] = 100 * float(kwargs.get("mostly", 1.0))
    return thresholds
