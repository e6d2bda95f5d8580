"""How the dashboard writes numbers: money, weights, weight points, quantities (Jinja filters)."""

from __future__ import annotations

import math
from datetime import date, datetime

__all__ = ["FILTERS", "bps", "millis", "money", "pct", "points", "quantity", "when"]


def money(value: float | None, digits: int = 2) -> str:
    """``12,345.67``; a minus sign for negatives; an en dash for no value."""
    if value is None or not math.isfinite(value):
        return "–"
    text = f"{abs(value):,.{digits}f}"
    return f"−{text}" if value < 0 and text.strip("0.,") else text


def pct(weight: float | None, digits: int = 1) -> str:
    """A weight as a percentage: ``0.1234`` → ``12.3%``."""
    if weight is None or not math.isfinite(weight):
        return "–"
    text = f"{abs(weight) * 100:.{digits}f}%"
    return f"−{text}" if weight < 0 and text.strip("0.%") else text


def points(weight: float | None, digits: int = 1) -> str:
    """A signed difference of weights in percentage points: ``0.032`` → ``+3.2 pp``."""
    if weight is None or not math.isfinite(weight):
        return "–"
    text = f"{abs(weight) * 100:.{digits}f}"
    if not text.strip("0."):
        return f"{text} pp"
    return f"{'+' if weight > 0 else '−'}{text} pp"


def quantity(value: float) -> str:
    """Shares: whole numbers without decimals, fractions with up to four."""
    if float(value).is_integer():
        return f"{value:,.0f}"
    return f"{value:,.4f}".rstrip("0").rstrip(".")


def bps(value: float | None, digits: int = 1) -> str:
    """Basis points: ``12.34`` → ``12.3 bps``; never ``-0.0``; an en dash for no value."""
    if value is None or not math.isfinite(value):
        return "–"
    text = f"{abs(value):.{digits}f}"
    return f"−{text} bps" if value < 0 and text.strip("0.") else f"{text} bps"


def millis(value: float | None) -> str:
    """Milliseconds, whole: ``12.6`` → ``13 ms``; an en dash for no value."""
    if value is None or not math.isfinite(value):
        return "–"
    return f"{value:,.0f} ms"


def when(value: date | datetime | str | None) -> str:
    """An ISO date, or a UTC timestamp to the second."""
    if value is None:
        return "–"
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M:%S")
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


FILTERS = {
    "bps": bps,
    "millis": millis,
    "money": money,
    "pct": pct,
    "points": points,
    "quantity": quantity,
    "when": when,
}
"""The filters the templates use, by name."""
