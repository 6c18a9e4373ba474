"""The auditors' run report: one static, self-contained HTML file built from the audit tables only.

What arrived (audit.load_batch), what was checked and what failed (audit.gate_result), what was held back
(quarantine.row_error, counted per field and rule), what the warehouse build did (audit.dbt_run_result), whether
its marts passed the mart gate and were published to analysts (audit.publish_event), trends per source as inline
SVG charts, a reconciliation table and a link to the GX Data Docs. Inline CSS, no JavaScript, nothing fetched: it
opens in any browser, from a file share or an e-mail attachment.

No personal data: `collect` reads counts, rates, statuses, and names of files, columns, rules and dbt nodes; an
expectation's observed value is shown only when it is a number. The template (templates/run_report.html.j2) is
rendered with autoescape on, so every text from the audit tables is HTML-escaped.
"""

from __future__ import annotations

import os
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import quote

import jinja2

from lintas import settings, sources, warehouse
from lintas.quality import gate
from lintas.report import build_health, charts, collect, formatting, trends

# The one place the report names its sources.
MAX_FAILED_NODES = 50  # dbt node ids listed per invocation
FRESHNESS_BADGES = {"pass": ("FRESH", "ok"), "warn": ("LATE", "warn"), "error": ("STALE", "bad"),
                    "no data": ("NO ACCEPTED DELIVERY", "pending")}

_ENV = jinja2.Environment(
    loader=jinja2.PackageLoader("lintas.report", "templates"),
    autoescape=True,
    undefined=jinja2.StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
)
_ENV.filters.update(n=formatting.n, pct=formatting.pct, ts=formatting.ts, deliveries=formatting.deliveries,
                    tally=formatting.tally, observed=formatting.observed)
_ENV.globals.update(
    freshness_badges=FRESHNESS_BADGES, max_failed_nodes=MAX_FAILED_NODES,
    trend_batches=trends.TREND_BATCHES, slowest_models=build_health.SLOWEST_MODELS,
    trend_builds=build_health.TREND_BUILDS, rows_chart=charts.rows_chart, nik_chart=charts.nik_chart,
)


def source_labels() -> dict[str, str]:
    """Each raw source as the registry names it for people (the agencies' own words, then English)."""
    return {t.name: f"{t.label.id} · {t.label.en}" for t in sources.raw_tables()}


def _data_docs(out: Path) -> dict:
    """Where the GX Data Docs index is, relative to the report (None: not built yet)."""
    index = gate.data_docs_index()
    if not index.exists():
        return {"index": str(index), "relative": None, "href": None}
    relative = Path(os.path.relpath(index, out.resolve().parent)).as_posix()
    return {"index": str(index), "relative": relative, "href": quote(relative)}


def to_html(data: collect.ReportData, *, out: Path, warehouse_label: str, generated_at: datetime, runs: int) -> str:
    return _ENV.get_template("run_report.html.j2").render(
        source_labels=source_labels(),
        data=data, data_docs=_data_docs(out), warehouse_label=warehouse_label, generated_at=generated_at, runs=runs)


def render(url: str, out: Path | None = None, runs: int = 20) -> Path:
    """Write the report (default: reports_dir()/index.html) and return its path."""
    out = Path(out) if out is not None else settings.reports_dir() / "index.html"
    data = collect.report_data(url, runs=runs)
    text = to_html(data, out=out, warehouse_label=warehouse.redact(url), generated_at=datetime.now(UTC),
                   runs=runs)
    out.parent.mkdir(parents=True, exist_ok=True)
    partial = out.with_name(f".{out.name}.partial")
    partial.write_text(text, encoding="utf-8")
    os.replace(partial, out)  # whoever has the report open never sees half of it
    return out
