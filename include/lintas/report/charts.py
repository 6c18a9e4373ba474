"""The run report's trend charts as inline SVG: rows loaded and NIK validity per batch of one source.

Built with `Markup.format`, which escapes every value it is given, so the template can place a chart as it is.
"""

from __future__ import annotations

import math

from markupsafe import Markup

from lintas.report.formatting import n
from lintas.report.trends import TrendPoint

_STATUS_COLOURS = {"accepted": "#2da44e", "rejected": "#cf222e", "loaded": "#bf8700"}
_OTHER_COLOUR = "#57606a"
_W, _H = 560, 240
_ML, _MR, _MT, _MB = 64, 16, 30, 52
_PW, _PH = _W - _ML - _MR, _H - _MT - _MB  # the plot area


def _count_axis(value: int) -> tuple[int, int]:
    """(top, step) of an axis for counts: a whole, round step (1, 2 or 5 x 10^k), about four of them."""
    if value <= 0:
        return 4, 1
    raw = value / 4
    magnitude = 10 ** math.floor(math.log10(raw)) if raw >= 1 else 1
    step = next(m * magnitude for m in (1, 2, 5, 10) if m * magnitude >= raw)
    return step * math.ceil(value / step), step


def _frame(title: str, y_title: str, top: float, step: float, unit: str, points: list[TrendPoint]) -> list[Markup]:
    """The opening <svg>, its title, grid lines with their values, the axes and the batch labels."""
    parts = [
        Markup('<svg xmlns="http://www.w3.org/2000/svg" class="chart" width="{w}" height="{h}" '
               'viewBox="0 0 {w} {h}" role="img" aria-label="{title}">').format(w=_W, h=_H, title=title),
        Markup("<title>{}</title>").format(title),
        Markup('<text x="{x:.1f}" y="16" text-anchor="middle" class="chart-title">{title}</text>').format(
            x=_W / 2, title=title),
    ]
    for i in range(round(top / step) + 1):
        value = step * i
        y = _MT + _PH - _PH * value / top
        parts.append(Markup('<line x1="{x1}" y1="{y:.1f}" x2="{x2}" y2="{y:.1f}" stroke="#d0d7de" '
                            'stroke-width="1"/>').format(x1=_ML, x2=_ML + _PW, y=y))
        parts.append(Markup('<text x="{x}" y="{y:.1f}" text-anchor="end" class="tick">{label}</text>').format(
            x=_ML - 6, y=y + 4, label=f"{value:,.0f}{unit}"))
    parts.append(Markup('<line x1="{x}" y1="{y1}" x2="{x}" y2="{y2}" stroke="#57606a" stroke-width="1"/>').format(
        x=_ML, y1=_MT, y2=_MT + _PH))
    parts.append(Markup('<line x1="{x1}" y1="{y}" x2="{x2}" y2="{y}" stroke="#57606a" stroke-width="1"/>').format(
        x1=_ML, x2=_ML + _PW, y=_MT + _PH))
    count = len(points)
    band = _PW / max(count, 1)
    every = max(1, math.ceil(count / 10))
    for i, p in enumerate(points):
        if i % every == 0 or i == count - 1:
            parts.append(Markup('<text x="{x:.1f}" y="{y}" text-anchor="middle" class="tick">{label}</text>').format(
                x=_ML + band * (i + 0.5), y=_MT + _PH + 16, label=f"#{p.batch_id}"))
    parts.append(Markup('<text x="{x:.1f}" y="{y}" text-anchor="middle" class="axis-title">{label}</text>').format(
        x=_ML + _PW / 2, y=_H - 8, label="batch (oldest → newest)"))
    parts.append(Markup('<text x="14" y="{y:.1f}" text-anchor="middle" class="axis-title" '
                        'transform="rotate(-90 14 {y:.1f})">{label}</text>').format(y=_MT + _PH / 2, label=y_title))
    return parts


def rows_chart(source: str, points: list[TrendPoint]) -> Markup:
    top, step = _count_axis(max((p.rows_loaded for p in points), default=0))
    parts = _frame(f"{source}: rows loaded per batch", "rows loaded", top, step, "", points)
    band = _PW / max(len(points), 1)
    width = max(1.5, band * 0.7)
    for i, p in enumerate(points):
        height = _PH * p.rows_loaded / top
        x = _ML + band * i + (band - width) / 2
        colour = _STATUS_COLOURS.get(p.status, _OTHER_COLOUR)
        tip = f"batch #{p.batch_id} {p.source_ref}: {p.rows_loaded:,} rows loaded, {p.status}"
        parts.append(Markup('<rect x="{x:.1f}" y="{y:.1f}" width="{width:.1f}" height="{height:.1f}" '
                            'fill="{colour}"><title>{tip}</title></rect>').format(
            x=x, y=_MT + _PH - height, width=width, height=height, colour=colour, tip=tip))
        if p.rows_loaded == 0:  # nothing loaded (e.g. rejected at delivery): a marker, so the batch is seen
            parts.append(Markup('<text x="{x:.1f}" y="{y:.1f}" text-anchor="middle" class="marker" '
                                'fill="{colour}">×<title>{tip}</title></text>').format(
                x=x + width / 2, y=_MT + _PH - 4, colour=colour, tip=tip))
    parts.append(Markup("</svg>"))
    return Markup("").join(parts)


def nik_chart(source: str, points: list[TrendPoint], threshold: float | None) -> Markup:
    parts = _frame(f"{source}: NIK validity per batch", "valid NIK (% of present)", 100, 25, "%", points)
    band = _PW / max(len(points), 1)

    def y(value: float) -> float:
        return _MT + _PH - _PH * max(0.0, min(100.0, value)) / 100

    if threshold is not None:
        parts.append(Markup('<line x1="{x1}" y1="{y:.1f}" x2="{x2}" y2="{y:.1f}" stroke="#cf222e" stroke-width="1" '
                            'stroke-dasharray="5 4"/>').format(x1=_ML, x2=_ML + _PW, y=y(threshold)))
        parts.append(Markup('<text x="{x}" y="{y:.1f}" text-anchor="end" class="tick">{label}</text>').format(
            x=_ML + _PW - 4, y=y(threshold) + 14, label=f"gate threshold {threshold:.0f}%"))
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
            parts.append(Markup('<polyline points="{}" fill="none" stroke="#0969da" stroke-width="2"/>').format(
                " ".join(seg)))
    for i, p in enumerate(points):
        if p.nik_valid_percent is None:
            continue
        colour = _STATUS_COLOURS.get(p.status, _OTHER_COLOUR)
        tip = (f"batch #{p.batch_id} {p.source_ref}: {p.nik_valid_percent:.2f}% valid "
               f"({n(p.nik_unexpected)} of {n(p.nik_checked)} unexpected), {p.status}")
        parts.append(Markup('<circle cx="{x:.1f}" cy="{y:.1f}" r="4" fill="{colour}" stroke="#ffffff" '
                            'stroke-width="1"><title>{tip}</title></circle>').format(
            x=_ML + band * (i + 0.5), y=y(p.nik_valid_percent), colour=colour, tip=tip))
    if all(p.nik_valid_percent is None for p in points):
        parts.append(Markup('<text x="{x:.1f}" y="{y:.1f}" text-anchor="middle" class="tick">{label}</text>').format(
            x=_ML + _PW / 2, y=_MT + _PH / 2, label="no NIK validity check recorded for these batches"))
    parts.append(Markup("</svg>"))
    return Markup("").join(parts)
