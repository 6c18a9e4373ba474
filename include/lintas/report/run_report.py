"""The auditors' run report: one static, self-contained HTML file built from the audit tables only.

What arrived (audit.load_batch), what was checked and what failed (audit.gate_result), what was held back
(quarantine.row_error, counted per field and rule), what the warehouse build did (audit.dbt_run_result), whether
its marts passed the mart gate and were published to analysts (audit.publish_event), trends
per source as inline SVG charts, a reconciliation table and a link to the GX Data Docs. Inline CSS, no JavaScript,
nothing fetched: it opens in any browser, from a file share or an e-mail attachment.

No personal data: the report reads counts, rates, statuses, and names of files, columns, rules and dbt nodes.
It never selects a raw row or quarantine.row_error.raw_record, shows an expectation's observed value only when
it is a number, and HTML-escapes every text it writes.
"""

from __future__ import annotations

import html
import json
import math
import os
import re
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import quote
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from lintas import settings, warehouse
from lintas.quality import gate
from lintas.report import build_health

TREND_BATCHES = 30  # batches per source in the trend charts
MAX_FAILED_NODES = 50  # dbt node ids listed per invocation
NIK_COLUMNS = ("nik", "nik_penanggung_jawab")
NIK_EXPECTATION = "expect_column_values_to_match_regex"
DBT_FAILED = ("error", "fail", "runtime error")

SOURCE_LABELS = {
    "dinsos_dtks": "Dinas Sosial: DTKS/DTSEN snapshot",
    "disdik_peserta_didik": "Dinas Pendidikan: Dapodik students",
    "diskopindag_umkm": "Diskopindag: UMKM workbooks",
    "dpmptsp_izin_usaha": "DPMPTSP: business permits",
    "dpmptsp_izin_usaha_kbli": "DPMPTSP: permit KBLI lines",
}

_NUMBER = re.compile(r"^-?\d+(\.\d+)?([eE][-+]?\d+)?$")

try:
    _WIB = ZoneInfo("Asia/Jakarta")
    _TZ_LABEL = "WIB"
except ZoneInfoNotFoundError:  # no tz database: fall back to UTC, say so
    _WIB = UTC
    _TZ_LABEL = "UTC"


# --------------------------------------------------------------------------------------------------- data


@dataclass(frozen=True)
class Check:
    expectation: str
    column: str | None
    severity: str
    success: bool
    element_count: int | None
    unexpected_count: int | None
    unexpected_percent: float | None
    observed_value: str | None
    run_id: str | None
    expected: str | None = None
    description: str | None = None


@dataclass
class Batch:
    batch_id: int
    source: str
    source_ref: str
    period: str | None
    status: str
    rows_extracted: int
    rows_loaded: int
    rows_duplicate: int
    rows_quarantined: int
    extra_columns: list[str]
    rejection_reason: str | None
    dag_id: str | None
    run_id: str | None
    loaded_at: datetime
    gated_at: datetime | None
    checks: list[Check] = field(default_factory=list)
    quarantine: list[tuple[str, str, int]] = field(default_factory=list)  # field, rule, rows

    @property
    def reconciles(self) -> bool:
        return self.rows_extracted == self.rows_loaded + self.rows_quarantined + self.rows_duplicate

    @property
    def failed_checks(self) -> list[Check]:
        return [c for c in self.checks if not c.success]

    @property
    def verdict(self) -> tuple[str, str]:
        """(label, css class) of this delivery."""
        if self.status == "accepted":
            warnings = len(self.failed_checks)
            return ("ACCEPTED" + (f", {warnings} warning(s)" if warnings else ""), "warn" if warnings else "ok")
        if self.status == "rejected":
            return ("REJECTED by the gate", "bad") if self.checks else ("REJECTED at delivery", "bad")
        return ("NOT YET GATED", "pending")


@dataclass
class DbtInvocation:
    dag_id: str | None
    run_id: str | None
    invocation_id: str
    started: datetime
    counts: dict[str, int] = field(default_factory=dict)
    problems: list[tuple[str, str]] = field(default_factory=list)  # unique_id, status (failed or warned)

    @property
    def failed(self) -> int:
        return sum(n for status, n in self.counts.items() if status in DBT_FAILED)


@dataclass
class Run:
    dag_id: str | None
    run_id: str | None
    started: datetime
    batches: list[Batch] = field(default_factory=list)
    dbt: list[DbtInvocation] = field(default_factory=list)


@dataclass
class TrendPoint:
    batch_id: int
    source_ref: str
    status: str
    rows_loaded: int
    nik_valid_percent: float | None
    nik_checked: int | None
    nik_unexpected: int | None


@dataclass
class SourceVerdict:
    source: str
    dag_id: str | None
    run_id: str | None
    started: datetime
    batches: list[Batch]

    @property
    def verdict(self) -> tuple[str, str]:
        statuses = Counter(b.status for b in self.batches)
        if statuses["rejected"]:
            return "FAILED", "bad"
        if statuses["loaded"]:
            return "NOT YET GATED", "pending"
        warnings = sum(len(b.failed_checks) for b in self.batches)
        return ("PASSED" + (f" with {warnings} warning(s)" if warnings else ""), "warn" if warnings else "ok")


@dataclass
class Publish:
    """One attempt to publish a build's marts: published, or held back by a dbt test or the mart gate."""

    dag_id: str | None
    run_id: str | None
    at: datetime
    outcome: str
    tables: dict
    row_count: int | None
    swap_seconds: float | None
    reason: str | None
    mart_checks: int = 0
    failed_checks: list[tuple[str, Check]] = field(default_factory=list)  # (suite, check) of the mart gate


@dataclass
class ReportData:
    runs: list[Run]
    latest: list[SourceVerdict]
    latest_build: DbtInvocation | None
    trends: dict[str, list[TrendPoint]]
    nik_thresholds: dict[str, float]
    publishes: list[Publish] = field(default_factory=list)
    freshness: list[build_health.FreshnessVerdict] = field(default_factory=list)
    model_timings: list[build_health.ModelTiming] = field(default_factory=list)


_BATCH_COLUMNS = (
    "b.batch_id, b.source, b.source_ref, b.period, b.status, b.rows_extracted, b.rows_loaded, b.rows_duplicate,"
    " b.rows_quarantined, b.extra_columns, b.rejection_reason, b.airflow_dag_id, b.airflow_run_id, b.loaded_at,"
    " b.gated_at"
)


def _batches(conn, where: str, params: tuple) -> list[Batch]:
    rows = conn.execute(f"select {_BATCH_COLUMNS} from audit.load_batch b {where}", params).fetchall()
    batches = [Batch(*row[:9], list(row[9] or []), *row[10:]) for row in rows]
    _attach_details(conn, batches)
    return batches


def _attach_details(conn, batches: list[Batch]) -> None:
    """Each batch's latest gate validation and its quarantine counts (never raw_record)."""
    by_id = {b.batch_id: b for b in batches}
    ids = list(by_id)
    if not ids:
        return
    checks = conn.execute(
        """
        select g.batch_id, g.expectation, g.column_name, g.severity, g.success, g.element_count,
               g.unexpected_count, g.unexpected_percent, g.observed_value, g.airflow_run_id, g.expected,
               g.description
        from (
            select *, max(validated_at) over (partition by batch_id) as latest
            from audit.gate_result where batch_id = any(%s)
        ) g
        where g.validated_at = g.latest
        order by g.batch_id, g.gate_result_id
        """,
        (ids,),
    )
    for batch_id, *values in checks:
        percent = values[6]
        values[6] = None if percent is None else float(percent)
        by_id[batch_id].checks.append(Check(*values))
    held = conn.execute(
        "select batch_id, field, rule, count(*) from quarantine.row_error where batch_id = any(%s)"
        " group by 1, 2, 3 order by 1, 4 desc, 2, 3",
        (ids,),
    )
    for batch_id, field_name, rule, rows in held:
        by_id[batch_id].quarantine.append((field_name, rule, rows))


def _dbt_invocations(conn, where: str, params: tuple) -> list[DbtInvocation]:
    invocations: dict[tuple, DbtInvocation] = {}
    rows = conn.execute(
        "select airflow_dag_id, airflow_run_id, invocation_id, status, count(*), min(recorded_at)"
        f" from audit.dbt_run_result d {where} group by 1, 2, 3, 4",
        params,
    )
    for dag_id, run_id, invocation_id, status, count, started in rows:
        key = (dag_id, run_id, invocation_id)
        inv = invocations.setdefault(key, DbtInvocation(dag_id, run_id, invocation_id, started))
        inv.counts[status] = count
        inv.started = min(inv.started, started)
    problems = conn.execute(
        "select airflow_dag_id, airflow_run_id, invocation_id, unique_id, status from audit.dbt_run_result d"
        f" {where} {'and' if where else 'where'} status = any(%s) order by status, unique_id",
        (*params, [*DBT_FAILED, "warn"]),
    )
    for dag_id, run_id, invocation_id, unique_id, status in problems:
        invocations[(dag_id, run_id, invocation_id)].problems.append((unique_id, status))
    return sorted(invocations.values(), key=lambda i: i.started, reverse=True)


def _nik_thresholds() -> dict[str, float]:
    """The gate's bar for NIK validity per source (the regex expectation's `mostly`), from the reviewed suites."""
    thresholds = {}
    for source in SOURCE_LABELS:
        try:
            suite = json.loads(gate.suite_path(f"raw_{source}").read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        for exp in suite.get("expectations", []):
            kwargs = exp.get("kwargs", {})
            if exp.get("type") == NIK_EXPECTATION and kwargs.get("column") in NIK_COLUMNS:
                thresholds[source] = 100 * float(kwargs.get("mostly", 1.0))
    return thresholds


def collect(url: str | None = None, runs: int = 20) -> ReportData:
    """Everything the report shows, read from the audit tables."""
    if runs < 1:
        raise ValueError("runs must be at least 1")
    with warehouse.connect(url) as conn:
        run_rows = conn.execute(
            """
            with r as (
                select airflow_dag_id as dag_id, airflow_run_id as run_id, min(loaded_at) as started
                from audit.load_batch group by 1, 2
                union all
                select airflow_dag_id, airflow_run_id, min(recorded_at) from audit.dbt_run_result group by 1, 2
            )
            select dag_id, run_id, min(started) as started from r
            group by 1, 2 order by started desc, run_id desc limit %s
            """,
            (runs,),
        ).fetchall()
        keys = ([r[0] for r in run_rows], [r[1] for r in run_rows])
        in_runs = ("join unnest(%s::text[], %s::text[]) as r(dag_id, run_id)"
                   " on {t}.airflow_dag_id is not distinct from r.dag_id"
                   " and {t}.airflow_run_id is not distinct from r.run_id")
        batches = _batches(conn, in_runs.format(t="b") + " order by b.batch_id desc", keys)
        invocations = _dbt_invocations(conn, in_runs.format(t="d"), keys) if run_rows else []

        latest_rows = conn.execute(
            "select distinct on (source) source, airflow_dag_id, airflow_run_id from audit.load_batch"
            " order by source, loaded_at desc, batch_id desc"
        ).fetchall()
        latest = []
        for source, dag_id, run_id in latest_rows:
            of_run = _batches(
                conn,
                "where b.source = %s and b.airflow_dag_id is not distinct from %s"
                " and b.airflow_run_id is not distinct from %s order by b.batch_id",
                (source, dag_id, run_id),
            )
            latest.append(SourceVerdict(source, dag_id, run_id, min(b.loaded_at for b in of_run), of_run))

        last_build = conn.execute(
            "select airflow_dag_id, airflow_run_id from audit.dbt_run_result order by recorded_at desc,"
            " dbt_run_result_id desc limit 1"
        ).fetchone()
        latest_build = None
        if last_build:
            builds = _dbt_invocations(
                conn, "where d.airflow_dag_id is not distinct from %s and d.airflow_run_id is not distinct from %s",
                tuple(last_build))
            if builds:  # one verdict for the whole run, over all its dbt invocations
                latest_build = DbtInvocation(last_build[0], last_build[1], f"{len(builds)} dbt invocation(s)",
                                             min(b.started for b in builds))
                for b in builds:
                    for status, n in b.counts.items():
                        latest_build.counts[status] = latest_build.counts.get(status, 0) + n
                    latest_build.problems += b.problems

        trends: dict[str, list[TrendPoint]] = {}
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
        for source, batch_id, ref, status, loaded in trend_rows:
            valid, checked, unexpected = nik.get(batch_id, (None, None, None))
            trends.setdefault(source, []).append(TrendPoint(
                batch_id, ref, status, loaded, None if valid is None else float(valid), checked, unexpected))

        publishes = _publishes_of(conn, runs)
        freshness = build_health.freshness(conn)
        timings = build_health.model_timings(conn)

    grouped = {(r[0], r[1]): Run(r[0], r[1], r[2]) for r in run_rows}
    for b in batches:
        grouped[(b.dag_id, b.run_id)].batches.append(b)
    for inv in invocations:
        grouped[(inv.dag_id, inv.run_id)].dbt.append(inv)
    return ReportData(runs=list(grouped.values()), latest=latest, latest_build=latest_build, trends=trends,
                      nik_thresholds=_nik_thresholds(), publishes=publishes, freshness=freshness,
                      model_timings=timings)


def _publishes_of(conn, limit: int) -> list[Publish]:
    """The latest publish attempts, each with its run's mart gate checks (failed ones in full)."""
    publishes = [Publish(*row[:4], row[4] or {}, row[5], None if row[6] is None else float(row[6]), row[7])
                 for row in conn.execute(
                     "select airflow_dag_id, airflow_run_id, published_at, outcome, tables, row_count, swap_seconds,"
                     " reason from audit.publish_event order by publish_event_id desc limit %s", (limit,))]
    run_ids = sorted({p.run_id for p in publishes if p.run_id})
    checks = conn.execute(
        """
        select airflow_run_id, suite, expectation, column_name, severity, success, element_count, unexpected_count,
               unexpected_percent, observed_value, expected, description
        from audit.gate_result where batch_id is null and airflow_run_id = any(%s)
        order by gate_result_id
        """,
        (run_ids,),
    ).fetchall()
    for p in publishes:
        of_run = [c for c in checks if c[0] == p.run_id]
        p.mart_checks = len(of_run)
        for run_id, suite, exp, column, severity, success, elements, unexpected, percent, observed, expected, \
                description in of_run:
            if not success:
                p.failed_checks.append((suite, Check(exp, column, severity, success, elements, unexpected,
                                                     None if percent is None else float(percent), observed, run_id,
                                                     expected, description)))
    return publishes


# --------------------------------------------------------------------------------------------------- formatting


def e(value) -> str:
    """HTML-escape anything (quotes too, so it is safe in attributes)."""
    return html.escape("" if value is None else str(value), quote=True)


def _n(value) -> str:
    return "—" if value is None else f"{value:,}"


def _deliveries(count: int) -> str:
    return f"{count} deliver{'y' if count == 1 else 'ies'}"


def _pct(value) -> str:
    return "—" if value is None else f"{value:.2f}%"


def _ts(value: datetime | None) -> str:
    return "—" if value is None else value.astimezone(_WIB).strftime(f"%Y-%m-%d %H:%M:%S {_TZ_LABEL}")


def _observed(value: str | None) -> str:
    """Observed values are aggregates (counts, rates); anything that is not a number is not shown."""
    if value is None:
        return "—"
    text = value.strip()
    if not _NUMBER.match(text):
        return '<span class="muted">(not a number: not shown)</span>'
    number = float(text)
    if number.is_integer() and abs(number) < 1e15:
        return e(f"{int(number):,}")
    return e(f"{number:.4g}" if abs(number) < 1 else f"{number:,.2f}")


def _source(source: str) -> str:
    label = SOURCE_LABELS.get(source)
    return f"<code>{e(source)}</code>" + (f' <span class="muted">{e(label)}</span>' if label else "")


def _run_label(dag_id: str | None, run_id: str | None) -> str:
    if dag_id is None and run_id is None:
        return '<span class="muted">outside Airflow</span>'
    return f"<code>{e(dag_id or '?')}</code> / <code>{e(run_id or '?')}</code>"


def _badge(label: str, css: str) -> str:
    return f'<span class="badge {e(css)}">{e(label)}</span>'


def _table(headers: list[str], rows: list[list[str]], css: str = "") -> str:
    """Cells are already-escaped HTML; headers are plain text. A header ending in '#' is right-aligned."""
    head = "".join(f'<th class="num">{e(h[:-1])}</th>' if h.endswith("#") else f"<th>{e(h)}</th>" for h in headers)
    numeric = [h.endswith("#") for h in headers]
    body = "".join(
        "<tr>" + "".join(f'<td class="num">{c}</td>' if num else f"<td>{c}</td>" for c, num in zip(
            row, numeric, strict=True)) + "</tr>"
        for row in rows
    )
    return f'<table class="{e(css)}"><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>'


# --------------------------------------------------------------------------------------------------- charts

_STATUS_COLOURS = {"accepted": "#2da44e", "rejected": "#cf222e", "loaded": "#bf8700"}
_W, _H = 560, 240
_ML, _MR, _MT, _MB = 64, 16, 30, 52


def _count_axis(value: int) -> tuple[int, int]:
    """(top, step) of an axis for counts: a whole, round step (1, 2 or 5 x 10^k), about four of them."""
    if value <= 0:
        return 4, 1
    raw = value / 4
    magnitude = 10 ** math.floor(math.log10(raw)) if raw >= 1 else 1
    step = next(m * magnitude for m in (1, 2, 5, 10) if m * magnitude >= raw)
    return step * math.ceil(value / step), step


def _svg_frame(title: str, y_title: str, top: float, step: float, unit: str, count: int,
               labels: list[str]) -> list[str]:
    pw, ph = _W - _ML - _MR, _H - _MT - _MB
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" width="{_W}" height="{_H}" '
        f'viewBox="0 0 {_W} {_H}" role="img" aria-label="{e(title)}">',
        f"<title>{e(title)}</title>",
        f'<text x="{_W / 2:.1f}" y="16" text-anchor="middle" class="chart-title">{e(title)}</text>',
    ]
    for i in range(round(top / step) + 1):
        value = step * i
        y = _MT + ph - ph * value / top
        parts.append(f'<line x1="{_ML}" y1="{y:.1f}" x2="{_ML + pw}" y2="{y:.1f}" stroke="#d0d7de" '
                     f'stroke-width="1"/>')
        parts.append(f'<text x="{_ML - 6}" y="{y + 4:.1f}" text-anchor="end" class="tick">'
                     f"{e(f'{value:,.0f}{unit}')}</text>")
    parts.append(f'<line x1="{_ML}" y1="{_MT}" x2="{_ML}" y2="{_MT + ph}" stroke="#57606a" stroke-width="1"/>')
    parts.append(f'<line x1="{_ML}" y1="{_MT + ph}" x2="{_ML + pw}" y2="{_MT + ph}" stroke="#57606a" '
                 f'stroke-width="1"/>')
    band = pw / max(count, 1)
    every = max(1, math.ceil(count / 10))
    for i, label in enumerate(labels):
        if i % every == 0 or i == count - 1:
            x = _ML + band * (i + 0.5)
            parts.append(f'<text x="{x:.1f}" y="{_MT + ph + 16}" text-anchor="middle" class="tick">{e(label)}</text>')
    parts.append(f'<text x="{_ML + pw / 2:.1f}" y="{_H - 8}" text-anchor="middle" class="axis-title">'
                 f"{e('batch (oldest → newest)')}</text>")
    parts.append(f'<text x="14" y="{_MT + ph / 2:.1f}" text-anchor="middle" class="axis-title" '
                 f'transform="rotate(-90 14 {_MT + ph / 2:.1f})">{e(y_title)}</text>')
    return parts


def rows_chart(source: str, points: list[TrendPoint]) -> str:
    title = f"{source}: rows loaded per batch"
    top, step = _count_axis(max((p.rows_loaded for p in points), default=0))
    parts = _svg_frame(title, "rows loaded", top, step, "", len(points), [f"#{p.batch_id}" for p in points])
    pw, ph = _W - _ML - _MR, _H - _MT - _MB
    band = pw / max(len(points), 1)
    width = max(1.5, band * 0.7)
    for i, p in enumerate(points):
        height = ph * p.rows_loaded / top
        x = _ML + band * i + (band - width) / 2
        colour = _STATUS_COLOURS.get(p.status, "#57606a")
        tip = f"batch #{p.batch_id} {p.source_ref}: {p.rows_loaded:,} rows loaded, {p.status}"
        parts.append(f'<rect x="{x:.1f}" y="{_MT + ph - height:.1f}" width="{width:.1f}" height="{height:.1f}" '
                     f'fill="{colour}"><title>{e(tip)}</title></rect>')
        if p.rows_loaded == 0:  # nothing loaded (e.g. rejected at delivery): a marker, so the batch is seen
            parts.append(f'<text x="{x + width / 2:.1f}" y="{_MT + ph - 4:.1f}" text-anchor="middle" '
                         f'class="marker" fill="{colour}">×<title>{e(tip)}</title></text>')
    parts.append("</svg>")
    return "".join(parts)


def nik_chart(source: str, points: list[TrendPoint], threshold: float | None) -> str:
    title = f"{source}: NIK validity per batch"
    parts = _svg_frame(title, "valid NIK (% of present)", 100, 25, "%", len(points),
                       [f"#{p.batch_id}" for p in points])
    pw, ph = _W - _ML - _MR, _H - _MT - _MB
    band = pw / max(len(points), 1)

    def y(value: float) -> float:
        return _MT + ph - ph * max(0.0, min(100.0, value)) / 100

    if threshold is not None:
        parts.append(f'<line x1="{_ML}" y1="{y(threshold):.1f}" x2="{_ML + pw}" y2="{y(threshold):.1f}" '
                     f'stroke="#cf222e" stroke-width="1" stroke-dasharray="5 4"/>')
        parts.append(f'<text x="{_ML + pw - 4}" y="{y(threshold) + 14:.1f}" text-anchor="end" class="tick">'
                     f"{e(f'gate threshold {threshold:.0f}%')}</text>")
    segment: list[str] = []
    segments = [segment]
    for i, p in enumerate(points):
        if p.nik_valid_percent is None:
            segment = []
            segments.append(segment)
            continue
        segment.append(f"{_ML + band * (i + 0.5):.1f},{y(p.nik_valid_percent):.1f}")
    for seg in segments:
        if len(seg) > 1:
            parts.append(f'<polyline points="{" ".join(seg)}" fill="none" stroke="#0969da" stroke-width="2"/>')
    for i, p in enumerate(points):
        if p.nik_valid_percent is None:
            continue
        colour = _STATUS_COLOURS.get(p.status, "#57606a")
        tip = (f"batch #{p.batch_id} {p.source_ref}: {p.nik_valid_percent:.2f}% valid "
               f"({_n(p.nik_unexpected)} of {_n(p.nik_checked)} unexpected), {p.status}")
        parts.append(f'<circle cx="{_ML + band * (i + 0.5):.1f}" cy="{y(p.nik_valid_percent):.1f}" r="4" '
                     f'fill="{colour}" stroke="#ffffff" stroke-width="1"><title>{e(tip)}</title></circle>')
    if all(p.nik_valid_percent is None for p in points):
        parts.append(f'<text x="{_ML + pw / 2:.1f}" y="{_MT + ph / 2:.1f}" text-anchor="middle" class="tick">'
                     f"{e('no NIK validity check recorded for these batches')}</text>")
    parts.append("</svg>")
    return "".join(parts)


# --------------------------------------------------------------------------------------------------- html

_CSS = """
:root { color-scheme: light; }
body { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, "Noto Sans", sans-serif; color: #1f2328;
       margin: 0; background: #f6f8fa; }
header { background: #0b3d5c; color: #fff; padding: 18px 32px; }
header h1 { margin: 0 0 6px; font-size: 22px; }
header p { margin: 2px 0; }
header code { color: #fff; }
nav { padding: 8px 32px; background: #e7eef4; border-bottom: 1px solid #d0d7de; }
nav a { margin-right: 18px; color: #0b3d5c; }
main { padding: 8px 32px 40px; max-width: 1400px; }
section { background: #fff; border: 1px solid #d0d7de; border-radius: 6px; padding: 12px 20px; margin: 16px 0; }
h2 { font-size: 18px; margin: 4px 0 12px; }
h3 { font-size: 16px; margin: 18px 0 6px; }
h4 { font-size: 14px; margin: 14px 0 6px; }
h5 { font-size: 13px; margin: 10px 0 4px; }
table { border-collapse: collapse; margin: 6px 0 10px; font-size: 13px; }
th, td { border: 1px solid #d0d7de; padding: 3px 8px; text-align: left; vertical-align: top; }
th { background: #f0f3f6; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; }
code { font: 12px ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; }
.muted { color: #57606a; }
.badge { display: inline-block; padding: 1px 8px; border-radius: 10px; font-weight: 600; font-size: 12px; }
.ok { background: #dafbe1; color: #116329; }
.warn { background: #fff8c5; color: #7d4e00; }
.bad { background: #ffebe9; color: #a40e26; }
.pending { background: #eaeef2; color: #424a53; }
.run { border-top: 2px solid #d0d7de; margin-top: 18px; }
.batch { margin-left: 16px; padding-left: 12px; border-left: 3px solid #d0d7de; }
.charts { display: flex; flex-wrap: wrap; gap: 12px; }
svg.chart { background: #fff; border: 1px solid #d0d7de; border-radius: 4px; }
svg .chart-title { font: 600 13px system-ui, sans-serif; fill: #1f2328; }
svg .tick { font: 11px system-ui, sans-serif; fill: #57606a; }
svg .axis-title { font: 12px system-ui, sans-serif; fill: #1f2328; }
svg .marker { font: 700 14px system-ui, sans-serif; }
.badge, table.deliveries td:nth-child(3) { white-space: nowrap; }
footer { color: #57606a; font-size: 12px; padding: 0 32px 24px; }
@media print { nav { display: none; } section { break-inside: avoid-page; } }
"""


def _header(data: ReportData, warehouse_label: str, generated_at: datetime) -> str:
    problems = [v for v in data.latest if v.verdict[1] in ("bad", "pending")]
    build_failed = data.latest_build is not None and data.latest_build.failed > 0
    build_failed = build_failed or bool(data.publishes and data.publishes[0].outcome != "published")
    if not data.latest and data.latest_build is None:
        overall = _badge("NO RUNS RECORDED", "pending")
    elif problems or build_failed:
        overall = _badge("ATTENTION NEEDED", "bad")
    else:
        overall = _badge("ALL PASSED", "ok")
    return (
        "<header><h1>Lintas: data-quality run report</h1>"
        f"<p>Generated {e(_ts(generated_at))} · warehouse <code>{e(warehouse_label)}</code></p>"
        f"<p>Overall, latest run per source: {overall}</p></header>"
        '<nav><a href="#verdicts">Latest verdicts</a><a href="#publishes">Mart publishes</a>'
        '<a href="#freshness">Freshness</a><a href="#trends">Trends</a><a href="#model-timings">dbt timings</a>'
        '<a href="#runs">Runs</a>'
        '<a href="#reconciliation">Reconciliation</a><a href="#data-docs">Data Docs</a></nav>'
    )


def _verdicts(data: ReportData) -> str:
    rows = []
    for v in data.latest:
        statuses = Counter(b.status for b in v.batches)
        detail = ", ".join(f"{n} {s}" for s, n in sorted(statuses.items()))
        rows.append([_source(v.source), _run_label(v.dag_id, v.run_id), e(_ts(v.started)), _badge(*v.verdict),
                     e(f"{_deliveries(len(v.batches))}: {detail}")])
    if data.latest_build is not None:
        b = data.latest_build
        label = ("FAILED", "bad") if b.failed else ("SUCCEEDED", "ok")
        detail = ", ".join(f"{n} {s}" for s, n in sorted(b.counts.items())) + f" ({b.invocation_id})"
        rows.append(['<span>warehouse build (dbt)</span>', _run_label(b.dag_id, b.run_id), e(_ts(b.started)),
                     _badge(*label), e(detail)])
    if data.publishes:
        p = data.publishes[0]
        rows.append(['<span>marts published to analysts</span>', _run_label(p.dag_id, p.run_id), e(_ts(p.at)),
                     _publish_badge(p), e(_publish_detail(p))])
    body = _table(["Source", "Latest run (DAG / run id)", "Started", "Verdict", "Detail"], rows) if rows else (
        '<p class="muted">No deliveries or warehouse builds recorded yet.</p>')
    return f'<section id="verdicts"><h2>Latest verdict per source</h2>{body}</section>'


def _publish_badge(p: Publish) -> str:
    return _badge("PUBLISHED", "ok") if p.outcome == "published" else _badge("HELD BACK", "bad")


def _publish_detail(p: Publish) -> str:
    if p.outcome == "published":
        return (f"{len(p.tables)} mart table(s), {_n(p.row_count)} rows; {p.mart_checks} mart gate checks; "
                f"swap {p.swap_seconds if p.swap_seconds is not None else '—'}s")
    return "analysts keep the last published marts: " + (p.reason or "")


def _publishes(data: ReportData) -> str:
    parts = ['<section id="publishes"><h2>Mart publishes (write, audit, publish)</h2>',
             "<p>Each build writes the marts into <code>marts_build</code>; the mart gate checks every table against "
             "its reviewed suite; only then is the build swapped into <code>marts</code> in one transaction. A "
             "failed dbt test or mart gate holds the whole build back and analysts keep the last published "
             "version.</p>"]
    if not data.publishes:
        parts.append('<p class="muted">No publish recorded yet.</p></section>')
        return "".join(parts)
    rows = [[_run_label(p.dag_id, p.run_id), e(_ts(p.at)), _publish_badge(p), e(_publish_detail(p))]
            for p in data.publishes]
    parts.append(_table(["Build run (DAG / run id)", "At", "Outcome", "Detail"], rows, "publishes"))
    for p in data.publishes:
        if p.outcome == "published" and p.tables:
            rows = [[f"<code>{e(t)}</code>", e(_n(n))] for t, n in sorted(p.tables.items())
                    if isinstance(n, int)]
            parts.append(f"<h4>Published by {_run_label(p.dag_id, p.run_id)}</h4>"
                         + _table(["Mart table", "Rows#"], rows, "published"))
            break  # the version analysts see now
    for p in data.publishes:
        if p.failed_checks:
            rows = [[f"<code>{e(suite)}</code>", _check_name(c),
                     _badge(c.severity, "bad" if c.severity == "critical" else "warn"), _observed(c.observed_value),
                     e(c.expected or "—")]
                    for suite, c in p.failed_checks]
            parts.append(f"<h4>Mart gate checks that failed in {_run_label(p.dag_id, p.run_id)}</h4>"
                         + _table(["Suite", "Check", "Severity", "Observed#", "Expected"], rows, "failed"))
    parts.append("</section>")
    return "".join(parts)


def _check_name(c: Check) -> str:
    name = f"<code>{e(c.expectation)}</code>"
    if c.column:
        return f"{name} <code>{e(c.column)}</code>"
    return name + (f' <span class="muted">{e(c.description)}</span>' if c.description else "")


def _trends(data: ReportData) -> str:
    if not data.trends:
        return '<section id="trends"><h2>Trends</h2><p class="muted">No batches recorded yet.</p></section>'
    parts = ['<section id="trends"><h2>Trends over recent batches</h2>',
             f'<p class="muted">Last {TREND_BATCHES} batches per source. Bars and points: green accepted, red '
             "rejected, amber not yet gated. NIK validity is 100 − the unexpected percent of the gate's NIK format "
             "check (16 digits), over the NIKs present.</p>"]
    for source, points in sorted(data.trends.items()):
        parts.append(f"<h3>{_source(source)}</h3>")
        parts.append('<div class="charts">' + rows_chart(source, points)
                     + nik_chart(source, points, data.nik_thresholds.get(source)) + "</div>")
    parts.append("</section>")
    return "".join(parts)


def _batch_detail(b: Batch, run_id: str | None) -> str:
    parts = [f'<div class="batch"><h5>Batch #{e(b.batch_id)} · <code>{e(b.source_ref)}</code> '
             f"{_badge(*b.verdict)}</h5>"]
    if b.checks:
        severities = Counter(c.severity for c in b.checks)
        failed = Counter(c.severity for c in b.failed_checks)
        per_severity = ", ".join(f"{n} {s}" for s, n in sorted(severities.items()))
        failed_text = ", ".join(f"{n} {s}" for s, n in sorted(failed.items())) or "none"
        gate_runs = {c.run_id for c in b.checks}
        elsewhere = ""
        if gate_runs != {run_id}:
            elsewhere = " (gated in run " + ", ".join(f"<code>{e(r)}</code>" for r in sorted(map(str, gate_runs))) + ")"
        parts.append(f"<p>Checked: {len(b.checks)} expectations ({e(per_severity)}); "
                     f"{len(b.checks) - len(b.failed_checks)} passed; failed: {e(failed_text)}{elsewhere}.</p>")
        if b.failed_checks:
            rows = [[_check_name(c) if not c.column else f"<code>{e(c.expectation)}</code>",
                     f"<code>{e(c.column)}</code>" if c.column else "—",
                     _badge(c.severity, "bad" if c.severity == "critical" else "warn"), e(_n(c.element_count)),
                     e(_n(c.unexpected_count)), e(_pct(c.unexpected_percent)), _observed(c.observed_value),
                     e(c.expected or "—")]
                    for c in b.failed_checks]
            parts.append(_table(["Failed expectation", "Column", "Severity", "Rows checked#", "Unexpected#",
                                 "Unexpected %#", "Observed value#", "Expected"], rows, "failed"))
    elif b.status == "rejected":
        parts.append('<p>Not checked: the delivery broke the contract and was rejected before loading.</p>')
    else:
        parts.append('<p class="muted">Not checked yet.</p>')
    if b.quarantine:
        rows = [[f"<code>{e(f)}</code>", f"<code>{e(r)}</code>", e(_n(n))] for f, r, n in b.quarantine]
        parts.append("<p>Quarantined rows, counted per field and rule (the rows themselves stay in "
                     "quarantine.row_error, inside the warehouse):</p>")
        parts.append(_table(["Field", "Rule", "Rows#"], rows, "quarantine"))
    if b.extra_columns:
        parts.append("<p>Extra columns kept in <code>_extra</code>: "
                     + ", ".join(f"<code>{e(c)}</code>" for c in b.extra_columns) + "</p>")
    parts.append("</div>")
    return "".join(parts)


def _dbt_detail(inv: DbtInvocation) -> str:
    label = ("FAILED", "bad") if inv.failed else ("SUCCEEDED", "ok")
    rows = [[e(status), e(_n(n))] for status, n in sorted(inv.counts.items())]
    parts = [f"<h5>dbt invocation <code>{e(inv.invocation_id)}</code> · {e(_ts(inv.started))} "
             f"{_badge(*label)}</h5>", _table(["Status", "Nodes#"], rows, "dbt")]
    if inv.problems:
        shown = inv.problems[:MAX_FAILED_NODES]
        items = "".join(f"<li><code>{e(uid)}</code> {_badge(st, 'warn' if st == 'warn' else 'bad')}</li>"
                        for uid, st in shown)
        more = len(inv.problems) - len(shown)
        parts.append(f"<p>Failed or warned nodes:</p><ul>{items}</ul>"
                     + (f'<p class="muted">and {more:,} more</p>' if more else ""))
    return "".join(parts)


def _runs(data: ReportData, limit: int) -> str:
    parts = [f'<section id="runs"><h2>Runs (newest first, last {e(limit)})</h2>']
    if not data.runs:
        parts.append('<p class="muted">No runs recorded yet.</p>')
    for i, run in enumerate(data.runs, 1):
        statuses = Counter(b.status for b in run.batches)
        summary = ", ".join(f"{n} {s}" for s, n in sorted(statuses.items()))
        parts.append(f'<div class="run" id="run-{i}"><h3>{_run_label(run.dag_id, run.run_id)}</h3>'
                     f'<p class="muted">started {e(_ts(run.started))}'
                     + (f" · {e(_deliveries(len(run.batches)))}: {e(summary)}" if run.batches else "") + "</p>")
        by_source: dict[str, list[Batch]] = {}
        for b in run.batches:
            by_source.setdefault(b.source, []).append(b)
        for source, batches in sorted(by_source.items()):
            parts.append(f"<h4>{_source(source)}: what arrived</h4>")
            rows = [[e(f"#{b.batch_id}"), f"<code>{e(b.source_ref)}</code>", e(b.period or "—"), _badge(*b.verdict),
                     e(_n(b.rows_extracted)), e(_n(b.rows_loaded)), e(_n(b.rows_duplicate)),
                     e(_n(b.rows_quarantined)), e(b.rejection_reason or "")]
                    for b in batches]
            parts.append(_table(["Batch", "Delivery", "Period", "Status", "Extracted#", "Loaded#",
                                 "Already held#", "Quarantined#", "Rejection reason"], rows, "deliveries"))
            parts.append("<h4>What was checked, what failed, what was quarantined</h4>")
            parts.extend(_batch_detail(b, run.run_id) for b in batches)
        if run.dbt:
            parts.append("<h4>Warehouse build (dbt)</h4>")
            parts.extend(_dbt_detail(inv) for inv in run.dbt)
        parts.append("</div>")
    parts.append("</section>")
    return "".join(parts)


_FRESHNESS_BADGES = {"pass": ("FRESH", "ok"), "warn": ("LATE", "warn"), "error": ("STALE", "bad"),
                     "no data": ("NO ACCEPTED DELIVERY", "pending")}


def _freshness(data: ReportData) -> str:
    parts = ['<section id="freshness"><h2>Source freshness</h2>',
             "<p>When each agency last gave us accepted data, against the cadence its contract implies (dbt source "
             "freshness, checked by every warehouse build). A late source never holds back the others.</p>"]
    if not data.freshness:
        parts.append('<p class="muted">No freshness check recorded yet: it runs with the warehouse build.</p>')
    else:
        rows = [[_source(f.source), _badge(*_FRESHNESS_BADGES.get(f.status, (f.status.upper(), "bad"))),
                 e(_ts(f.max_loaded_at) if f.max_loaded_at else "never"),
                 e("—" if f.age_days is None else f"{f.age_days:.1f}"), e(f.warn_after or "—"),
                 e(f.error_after or "—"), e(_ts(f.checked_at))] for f in data.freshness]
        parts.append(_table(["Source", "Verdict", "Newest accepted delivery", "Age (days)#", "Late after",
                             "Stale after", "Checked"], rows, "freshness"))
    return "".join(parts) + "</section>"


def _model_timings(data: ReportData) -> str:
    parts = ['<section id="model-timings"><h2>dbt model timings, latest build</h2>',
             f"<p>The {build_health.SLOWEST_MODELS} slowest models of the latest build, each against its median over "
             f"the previous {build_health.TREND_BUILDS} builds: a model twice as slow as usual is flagged.</p>"]
    if not data.model_timings:
        parts.append('<p class="muted">No dbt model has run yet.</p>')
    else:
        rows = [[f"<code>{e(t.model.removeprefix('model.lintas.'))}</code>", e(t.status), e(f"{t.seconds:.1f}"),
                 e("—" if t.median_seconds is None else f"{t.median_seconds:.1f}"), e(_n(t.builds)),
                 _badge("SLOWER THAN USUAL", "warn") if t.slower_than_usual else ""]
                for t in data.model_timings]
        parts.append(_table(["Model", "Status", "Seconds#", "Median before#", "Builds#", ""], rows, "timings"))
    return "".join(parts) + "</section>"


def _reconciliation(data: ReportData) -> str:
    batches = sorted((b for r in data.runs for b in r.batches), key=lambda b: b.batch_id, reverse=True)
    parts = ['<section id="reconciliation"><h2>Reconciliation per batch</h2>',
             "<p>Every row read is accounted for: extracted = loaded + quarantined + already held "
             "(re-sent rows stored by an earlier batch). A delivery rejected before loading read nothing.</p>"]
    if not batches:
        parts.append('<p class="muted">No batches in the runs shown.</p>')
    else:
        rows = []
        for b in batches:
            total = b.rows_loaded + b.rows_quarantined + b.rows_duplicate
            rows.append([e(f"#{b.batch_id}"), f"<code>{e(b.source)}</code>", f"<code>{e(b.source_ref)}</code>",
                         e(b.status), e(_n(b.rows_extracted)), e(_n(b.rows_loaded)), e(_n(b.rows_quarantined)),
                         e(_n(b.rows_duplicate)), e(_n(total)),
                         _badge("OK", "ok") if b.reconciles else _badge("BROKEN", "bad")])
        parts.append(_table(["Batch", "Source", "Delivery", "Status", "Extracted#", "Loaded#", "Quarantined#",
                             "Already held#", "Sum#", "Check"], rows, "reconciliation"))
    parts.append("</section>")
    return "".join(parts)


def _data_docs(out: Path) -> str:
    index = gate.data_docs_index()
    if index.exists():
        relative = Path(os.path.relpath(index, out.resolve().parent)).as_posix()
        body = (f'<p><a href="{e(quote(relative))}">Open the Great Expectations Data Docs</a> '
                f"(<code>{e(relative)}</code>): every validation run with its expectations, counts and rates.</p>")
    else:
        body = (f'<p class="muted">No Data Docs have been built yet (expected at <code>{e(index)}</code>); '
                "they appear after the first gate run.</p>")
    return f'<section id="data-docs"><h2>GX Data Docs</h2>{body}</section>'


def to_html(data: ReportData, *, out: Path, warehouse_label: str, generated_at: datetime, runs: int) -> str:
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        "<title>Lintas data-quality run report</title>"
        f"<style>{_CSS}</style></head><body>"
        + _header(data, warehouse_label, generated_at)
        + "<main>"
        + _verdicts(data)
        + _publishes(data)
        + _freshness(data)
        + _trends(data)
        + _model_timings(data)
        + _runs(data, runs)
        + _reconciliation(data)
        + _data_docs(out)
        + "</main>"
        "<footer><p>Built from audit.load_batch, audit.gate_result, quarantine.row_error (counts only), "
        "audit.dbt_run_result, audit.source_freshness and audit.publish_event. It holds counts, rates, statuses "
        "and names of files, columns, rules and dbt nodes: no NIK, name, birth date, address or any other row "
        "value.</p></footer>"
        "</body></html>\n"
    )


def render(url: str | None = None, out: Path | None = None, runs: int = 20) -> Path:
    """Write the report (default: reports_dir()/index.html) and return its path."""
    url = url or warehouse.warehouse_url()
    out = Path(out) if out is not None else settings.reports_dir() / "index.html"
    data = collect(url, runs=runs)
    text = to_html(data, out=out, warehouse_label=warehouse.redact(url), generated_at=datetime.now(UTC),
                   runs=runs)
    out.parent.mkdir(parents=True, exist_ok=True)
    partial = out.with_name(f".{out.name}.partial")
    partial.write_text(text, encoding="utf-8")
    os.replace(partial, out)  # whoever has the report open never sees half of it
    return out
