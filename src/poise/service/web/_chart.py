"""The weights chart: an inline SVG drawn on the server, one horizontal bar per asset (its
current weight) over its band (shaded, target ± half-band) with the target marked.

No script and no style attribute: colours come from classes in ``poise.css`` (the content
security policy allows only same-origin style sheets), and every row carries a ``<title>``
that screen readers and hovering read. The page shows the same numbers in a table beside it.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from markupsafe import Markup, escape

from poise.service.web._format import pct
from poise.service.web._views import WeightRow

__all__ = ["weights_chart"]

WIDTH = 400
LABEL_WIDTH = 56
VALUE_WIDTH = 70
ROW_HEIGHT = 26
TOP = 6
AXIS_HEIGHT = 22


def _scale_max(rows: Sequence[WeightRow]) -> float:
    """The axis end: the largest weight, target or band edge, rounded up to a tick."""
    top = max(
        [0.05]
        + [r.weight for r in rows]
        + [r.target_weight for r in rows]
        + [r.upper for r in rows if r.upper is not None]
    )
    step = _tick_step(top)
    return min(math.ceil(top * 1.02 / step - 1e-9) * step, 1.0) if top < 1.0 else 1.0


def _tick_step(top: float) -> float:
    if top <= 0.25:
        return 0.05
    if top <= 0.5:
        return 0.1
    return 0.2


def _f(value: float) -> str:
    return f"{value:.2f}".rstrip("0").rstrip(".")


def _row_title(row: WeightRow) -> str:
    text = f"{row.symbol}: {pct(row.weight)} now, target {pct(row.target_weight)}"
    if row.lower is not None and row.upper is not None:
        text += f", band {pct(row.lower, 2)} to {pct(row.upper, 2)}"
    return f"{text} ({row.status})"


def weights_chart(rows: Sequence[WeightRow], *, title: str = "Weights against targets") -> Markup:
    """Draw ``rows`` as an SVG bar chart (markup safe to place in a page).

    Parameters
    ----------
    rows : sequence of WeightRow
        One per asset, drawn top to bottom in this order.
    title : str
        The chart's accessible name.
    """
    plot_left = LABEL_WIDTH
    plot_width = WIDTH - LABEL_WIDTH - VALUE_WIDTH
    top = _scale_max(rows) if rows else 0.05

    def x(weight: float) -> float:
        return plot_left + plot_width * min(max(weight, 0.0), top) / top

    height = TOP + ROW_HEIGHT * len(rows) + AXIS_HEIGHT
    parts = [
        f'<svg class="chart" viewBox="0 0 {WIDTH} {height}" role="img" '
        f'aria-labelledby="chart-title chart-desc" xmlns="http://www.w3.org/2000/svg">',
        f'<title id="chart-title">{escape(title)}</title>',
        '<desc id="chart-desc">Each bar is an asset\'s current weight; the shaded box is its '
        "band and the dark mark its target. Bars outside their band are drawn in the alert "
        "colour with an arrow.</desc>",
    ]
    step = _tick_step(top)
    ticks = round(top / step)
    axis_y = TOP + ROW_HEIGHT * len(rows)
    for i in range(ticks + 1):
        tick = i * step
        tx = _f(x(tick))
        parts.append(
            f'<line class="grid" x1="{tx}" y1="{TOP}" x2="{tx}" y2="{axis_y}"/>'
            f'<text class="tick" x="{tx}" y="{axis_y + 16}" text-anchor="middle">'
            f"{tick * 100:.0f}%</text>"
        )
    for i, row in enumerate(rows):
        y = TOP + i * ROW_HEIGHT
        mid = y + ROW_HEIGHT / 2
        status = row.status
        out = status in ("above", "below")
        parts.append(
            f'<g class="row {status.replace(" ", "-")}"><title>{escape(_row_title(row))}</title>'
        )
        parts.append(
            f'<text class="label" x="{LABEL_WIDTH - 6}" y="{_f(mid + 5)}" '
            f'text-anchor="end">{escape(row.symbol)}</text>'
        )
        if row.lower is not None and row.upper is not None:
            left, right = x(row.lower), x(row.upper)
            parts.append(
                f'<rect class="band" x="{_f(left)}" y="{_f(y + 3)}" '
                f'width="{_f(max(right - left, 1.0))}" height="{ROW_HEIGHT - 6}"/>'
            )
        parts.append(
            f'<rect class="bar{" out" if out else ""}" x="{plot_left}" y="{_f(mid - 5)}" '
            f'width="{_f(max(x(row.weight) - plot_left, 0.0))}" height="10"/>'
        )
        tx = _f(x(row.target_weight))
        parts.append(
            f'<line class="target" x1="{tx}" y1="{_f(y + 2)}" '
            f'x2="{tx}" y2="{_f(y + ROW_HEIGHT - 2)}"/>'
        )
        arrow = {"above": " ▲", "below": " ▼"}.get(status, "")
        parts.append(
            f'<text class="value{" out" if out else ""}" x="{WIDTH - 4}" y="{_f(mid + 5)}" '
            f'text-anchor="end">{pct(row.weight)}{arrow}</text></g>'
        )
    parts.append("</svg>")
    return Markup("".join(parts))
