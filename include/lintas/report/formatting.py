"""How the run report writes numbers, times and tallies (the template's filters, and the charts' tooltips)."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from markupsafe import Markup

_NUMBER = re.compile(r"^-?\d+(\.\d+)?([eE][-+]?\d+)?$")
_NOT_A_NUMBER = Markup('<span class="muted">(not a number: not shown)</span>')

try:
    _WIB = ZoneInfo("Asia/Jakarta")
    _TZ_LABEL = "WIB"
except ZoneInfoNotFoundError:  # no tz database: fall back to UTC, say so
    _WIB = UTC
    _TZ_LABEL = "UTC"


def n(value) -> str:
    return "—" if value is None else f"{value:,}"


def pct(value) -> str:
    return "—" if value is None else f"{value:.2f}%"


def ts(value: datetime | None) -> str:
    return "—" if value is None else value.astimezone(_WIB).strftime(f"%Y-%m-%d %H:%M:%S {_TZ_LABEL}")


def deliveries(count: int) -> str:
    return f"{count} deliver{'y' if count == 1 else 'ies'}"


def tally(values: Iterable[str] | Mapping[str, int]) -> str:
    """'2 accepted, 1 rejected': how often each value occurs (or the counts given), values in order."""
    counts = values if isinstance(values, Mapping) else Counter(values)
    return ", ".join(f"{count} {value}" for value, count in sorted(counts.items()))


def observed(value: str | None) -> str:
    """Observed values are aggregates (counts, rates); anything that is not a number is not shown."""
    if value is None:
        return "—"
    text = value.strip()
    if not _NUMBER.match(text):
        return _NOT_A_NUMBER
    number = float(text)
    if number.is_integer() and abs(number) < 1e15:
        return f"{int(number):,}"
    return f"{number:.4g}" if abs(number) < 1 else f"{number:,.2f}"
