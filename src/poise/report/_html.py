"""A self-contained HTML report of one or more backtests (plotly, works offline).

Sections: the metrics table; value curves (log scale) with rebalance markers; drawdowns of the
time-weighted index; for each rule, the weights over time against their target bands; costs
and taxes by year; the assumptions. plotly.js is embedded once, so the file opens anywhere
without a network.
"""

from __future__ import annotations

import html
import math
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from poise.model import CASH

if TYPE_CHECKING:
    from poise.backtest import BacktestResult

__all__ = ["METRIC_ROWS", "backtest_report", "format_metric"]

METRIC_ROWS: tuple[tuple[str, str], ...] = (
    ("final value", "final_value"),
    ("return over the period", "period_return"),
    ("CAGR (time-weighted)", "cagr"),
    ("IRR (money-weighted)", "irr"),
    ("volatility", "volatility"),
    ("Sharpe", "sharpe"),
    ("Sortino", "sortino"),
    ("max drawdown", "max_drawdown"),
    ("Calmar", "calmar"),
    ("turnover / year", "turnover"),
    ("rebalances", "rebalances"),
    ("total cost", "total_cost"),
    ("taxes paid", "taxes_paid"),
    ("taxes due", "taxes_due"),
    ("mean drift", "mean_drift"),
    ("days inside bands", "inside_bands"),
)
"""Rows of the metric tables (terminal and HTML): (label, key of ``backtest_result_to_dict``)."""

_PERCENT = {
    "period_return",
    "cagr",
    "irr",
    "volatility",
    "max_drawdown",
    "turnover",
    "mean_drift",
    "inside_bands",
}
_RATIO = {"sharpe", "sortino", "calmar"}
_COLORS = (
    # D3's ten, then sixteen more from plotly's Dark24, Alphabet and Light24, each picked to be
    # as far as possible (redmean colour distance) from those before it and none pale on white:
    # 26 series stay distinguishable (a household of 25 symbols and cash)
    "#1f77b4",
    "#ff7f0e",
    "#2ca02c",
    "#d62728",
    "#9467bd",
    "#8c564b",
    "#e377c2",
    "#7f7f7f",
    "#bcbd22",
    "#17becf",
    "#fe00fa",
    "#0d2a63",
    "#511cfb",
    "#00fe35",
    "#b10da1",
    "#620042",
    "#22ffa7",
    "#0df9ff",
    "#aa0dfe",
    "#fc0080",
    "#3283fe",
    "#eea6fb",
    "#e48f72",
    "#b68100",
    "#1616a7",
    "#862a16",
)
_MAX_POINTS = 2000
_MAX_WEIGHT_POINTS = 450


def format_metric(key: str, value: object) -> str:
    """A metric as the tables show it (percentages, ratios, money, counts); blank where there
    is no figure (e.g. CAGR below a year, which is not annualised)."""
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return ""
    number = float(value)  # type: ignore[arg-type]
    if key in _PERCENT:
        return f"{number * 100:.2f}%"
    if key in _RATIO:
        return f"{number:.2f}"
    if key == "rebalances":
        return str(int(number))
    return f"{number:,.2f}"


def _color(i: int) -> str:
    return _COLORS[i % len(_COLORS)]


def _rgba(hex_color: str, alpha: float) -> str:
    r, g, b = (int(hex_color[k : k + 2], 16) for k in (1, 3, 5))
    return f"rgba({r},{g},{b},{alpha})"


def _thin(frame: Any, max_points: int = _MAX_POINTS, how: str = "last") -> Any:
    """Fewer points for long series (keeps the file small): weekly, then month-end values,
    whichever first fits in ``max_points``. ``how="min"`` keeps each period's minimum (for
    drawdowns, so that no trough is lost)."""
    if len(frame) <= max_points:
        return frame
    for rule in ("W-FRI", "ME", "QE"):
        grouped = frame.resample(rule)
        out = grouped.min() if how == "min" else grouped.last()
        if len(out) <= max_points:
            return out.dropna(how="all")
    return out.dropna(how="all")


def _steps(frame: pd.DataFrame, end: pd.Timestamp) -> pd.DataFrame:
    """Rows where values change, plus the last day, for step lines (``line_shape="hv"``)."""
    out = frame.copy()
    if len(out) and out.index[-1] < end:
        out.loc[end] = out.iloc[-1]
    return out


def _x(index: Any) -> list[str]:
    """Dates as ``YYYY-MM-DD`` text (plotly would write nanosecond timestamps)."""
    return [str(d) for d in pd.DatetimeIndex(index).strftime("%Y-%m-%d")]


def _metrics_html(results: Mapping[str, BacktestResult]) -> str:
    from poise.report._results import backtest_result_to_dict

    dicts = {name: backtest_result_to_dict(r) for name, r in results.items()}
    head = "".join(f"<th>{html.escape(name)}</th>" for name in results)
    rows = []
    for label, key in METRIC_ROWS:
        cells = "".join(f"<td>{format_metric(key, d[key])}</td>" for d in dicts.values())
        rows.append(f"<tr><th>{html.escape(label)}</th>{cells}</tr>")
    return (
        f"<table class='metrics'><thead><tr><th>metric</th>{head}</tr></thead>"
        f"<tbody>{''.join(rows)}</tbody></table>"
    )


def _value_figure(results: Mapping[str, BacktestResult]) -> Any:
    import plotly.graph_objects as go

    fig = go.Figure()
    for i, (name, r) in enumerate(results.items()):
        values = _thin(r.values)
        fig.add_trace(
            go.Scatter(
                x=_x(values.index),
                y=values.to_numpy(),
                name=name,
                legendgroup=name,
                line={"color": _color(i), "width": 1.5},
            )
        )
        dates = pd.DatetimeIndex(r.rebalances["date"]) if not r.rebalances.empty else None
        if dates is not None and len(dates):
            fig.add_trace(
                go.Scatter(
                    x=_x(dates),
                    y=r.values.reindex(dates).to_numpy(),
                    mode="markers",
                    name=f"{name}: rebalances",
                    legendgroup=name,
                    showlegend=False,
                    marker={"color": _color(i), "size": 5, "symbol": "triangle-up"},
                    hovertext=[str(x)[:300] for x in r.rebalances["reasons"]],
                    hoverinfo="x+text",
                )
            )
    fig.update_layout(
        title="Total value (log scale; ▲ = rebalance)",
        yaxis_type="log",
        yaxis_title="value",
        height=480,
        margin={"t": 50, "l": 60, "r": 20, "b": 40},
        legend={"orientation": "h"},
    )
    return fig


def _drawdown_figure(results: Mapping[str, BacktestResult]) -> Any:
    import plotly.graph_objects as go

    fig = go.Figure()
    for i, (name, r) in enumerate(results.items()):
        dd = _thin(r.drawdowns(), how="min")
        fig.add_trace(
            go.Scatter(
                x=_x(dd.index),
                y=dd.to_numpy(),
                name=name,
                line={"color": _color(i), "width": 1.2},
            )
        )
    fig.update_layout(
        title="Drawdown of the time-weighted index (cash flows excluded)",
        yaxis_tickformat=".0%",
        height=360,
        margin={"t": 50, "l": 60, "r": 20, "b": 40},
        legend={"orientation": "h"},
    )
    return fig


def _weights_figure(name: str, r: BacktestResult) -> Any:
    import plotly.graph_objects as go

    weights = _thin(r.weights, _MAX_WEIGHT_POINTS)
    end = r.values.index[-1]
    targets = _steps(r.targets.reindex(columns=r.weights.columns, fill_value=0.0), end)
    bands = None
    if r.bands is not None:
        bands = _steps(r.bands.reindex(columns=r.weights.columns, fill_value=np.inf), end)
    fig = go.Figure()
    symbols = [s for s in r.weights.columns if r.weights[s].abs().max() > 0 or targets[s].max() > 0]
    for i, sym in enumerate(symbols):
        color = _color(i)
        t = targets[sym].to_numpy()
        if bands is not None:
            half = np.minimum(bands[sym].to_numpy(), 1.0)
            for y, fill in ((np.clip(t - half, 0, 1), None), (np.clip(t + half, 0, 1), "tonexty")):
                fig.add_trace(
                    go.Scatter(
                        x=_x(targets.index),
                        y=y,
                        legendgroup=sym,
                        showlegend=False,
                        line={"width": 0, "shape": "hv"},
                        fill=fill,
                        fillcolor=_rgba(color, 0.12),
                        hoverinfo="skip",
                    )
                )
        else:
            fig.add_trace(
                go.Scatter(
                    x=_x(targets.index),
                    y=t,
                    legendgroup=sym,
                    showlegend=False,
                    line={"color": color, "width": 1, "dash": "dot", "shape": "hv"},
                    hoverinfo="skip",
                )
            )
        fig.add_trace(
            go.Scatter(
                x=_x(weights.index),
                y=weights[sym].to_numpy(),
                name=sym if sym != CASH else "cash",
                legendgroup=sym,
                line={"color": color, "width": 1.2},
            )
        )
    dates = pd.DatetimeIndex(r.rebalances["date"])
    if len(dates):
        fig.add_trace(
            go.Scatter(
                x=_x(dates),
                y=np.zeros(len(dates)),
                mode="markers",
                name="rebalance",
                marker={"color": "black", "size": 6, "symbol": "triangle-up"},
                hovertext=[str(x)[:300] for x in r.rebalances["reasons"]],
                hoverinfo="x+text",
            )
        )
    what = "shaded: target ± band" if bands is not None else "dotted: target (no bands)"
    step = "" if len(weights) == len(r.weights) else ", month-end points"
    fig.update_layout(
        title=f"{name}: weights over time ({what}; ▲ = rebalance{step})",
        yaxis_tickformat=".0%",
        height=460,
        margin={"t": 50, "l": 60, "r": 20, "b": 40},
    )
    return fig


def _costs_taxes_figure(results: Mapping[str, BacktestResult]) -> Any:
    import plotly.graph_objects as go
    from plotly.subplots import make_subplots

    fig = make_subplots(
        rows=2,
        cols=1,
        shared_xaxes=True,
        subplot_titles=("Trading costs by year", "Tax owed on each year's realized gains"),
        vertical_spacing=0.12,
    )
    for i, (name, r) in enumerate(results.items()):
        costs = r.costs_by_year
        taxes = r.taxes_by_year
        fig.add_trace(
            go.Bar(
                x=list(costs.index),
                y=costs.to_numpy(),
                name=name,
                legendgroup=name,
                marker_color=_color(i),
            ),
            row=1,
            col=1,
        )
        fig.add_trace(
            go.Bar(
                x=list(taxes.index),
                y=taxes.to_numpy(),
                name=name,
                legendgroup=name,
                showlegend=False,
                marker_color=_color(i),
            ),
            row=2,
            col=1,
        )
    fig.update_layout(barmode="group", height=560, margin={"t": 60, "l": 60, "r": 20, "b": 40})
    return fig


_CSS = """
body { font-family: -apple-system, BlinkMacSystemFont, "Segoe UI", Roboto, sans-serif;
       margin: 2em auto; max-width: 1200px; color: #222; padding: 0 1em; }
h1 { font-size: 1.6em; margin-bottom: 0.2em; }
.sub { color: #555; margin-top: 0; }
table.metrics { border-collapse: collapse; margin: 1em 0; font-size: 0.92em; }
table.metrics th, table.metrics td { border-bottom: 1px solid #ddd; padding: 4px 10px; }
table.metrics td { text-align: right; font-variant-numeric: tabular-nums; }
table.metrics thead th { border-bottom: 2px solid #888; }
table.metrics tbody th { text-align: left; font-weight: normal; color: #444; }
details { margin: 0.5em 0; }
summary { cursor: pointer; font-weight: 600; }
.notes { color: #444; font-size: 0.9em; }
"""

_NOTES = """
<ul>
<li>Each day the rule decides at the close with prices up to that close only, and trades fill at
that close; the first day invests to target; calendar rules fire on the first trading day of
each period.</li>
<li>Trades come from poise's planning engine, as in <code>poise rebalance</code>: cash flows
first, rebalancing sells in tax-advantaged accounts first, lot selection, whole or fractional
shares, commissions and spread paid from cash.</li>
<li>Gains realized in taxable accounts are taxed per calendar year (short-term against
long-term netting; a net loss owes nothing); the tax is paid from the account's cash on the
first trading day of the next year, selling if cash is short. The last year's tax is shown as
<em>taxes due</em>.</li>
<li>CAGR, volatility, Sharpe, Sortino and drawdowns use the time-weighted index from the
money put in (the first day's trading costs count; a deposit enters its day's base, a
withdrawal leaves at the close); IRR is money-weighted. Volatility and ratios annualise with
252 trading days. Over less than a year CAGR, IRR and Calmar are left blank (not annualised,
as GIPS asks): the return over the period is shown instead.</li>
<li>Drift figures measure drift as the policy does: a harvest substitute held in a target's
place counts toward that target.</li>
</ul>
"""


def backtest_report(
    results: Mapping[str, BacktestResult] | BacktestResult,
    *,
    title: str = "poise backtest",
    subtitle: str = "",
    sections: Sequence[tuple[str, Any]] = (),
) -> str:
    """The HTML text of a report on one or more backtests (self-contained, offline).

    Parameters
    ----------
    results : BacktestResult or mapping of name to BacktestResult
        The backtests to show side by side (same household and dates, different rules).
    title, subtitle : str
        Heading and the line below it (rich markup such as ``[bold]`` is removed).
    sections : sequence of (heading, block)
        More sections after the costs and taxes (e.g. attribution, Monte Carlo): each block
        is a plotly figure or an HTML fragment; an empty heading continues the section above.
    """
    if not isinstance(results, Mapping):
        results = {results.policy: results}
    if not results:
        raise ValueError("backtest_report needs at least one result")
    figures = [
        ("Value", _value_figure(results)),
        ("Drawdowns", _drawdown_figure(results)),
    ]
    parts = [
        "<!DOCTYPE html><html><head><meta charset='utf-8'>",
        f"<title>{html.escape(title)}</title><style>{_CSS}</style></head><body>",
        f"<h1>{html.escape(title)}</h1>",
        f"<p class='sub'>{html.escape(_plain(subtitle))}</p>",
        "<h2>Metrics</h2>",
        _metrics_html(results),
    ]
    first = True
    for heading, fig in figures:
        parts.append(f"<h2>{heading}</h2>")
        parts.append(_div(fig, first))
        first = False
    parts.append("<h2>Weights against their bands</h2>")
    for k, (name, r) in enumerate(results.items()):
        opened = " open" if k == 0 else ""
        parts.append(f"<details{opened}><summary>{html.escape(name)}</summary>")
        parts.append(_div(_weights_figure(name, r), False))
        parts.append("</details>")
    parts.append("<h2>Costs and taxes by year</h2>")
    parts.append(_div(_costs_taxes_figure(results), False))
    for heading, block in sections:
        if heading:
            parts.append(f"<h2>{html.escape(heading)}</h2>")
        parts.append(block if isinstance(block, str) else _div(block, False))
    parts.append(f"<h2>How these figures are made</h2><div class='notes'>{_NOTES}</div>")
    parts.append("</body></html>")
    return "\n".join(parts)


def _div(fig: Any, include_js: bool) -> str:
    return str(
        fig.to_html(
            full_html=False,
            include_plotlyjs=include_js,
            config={"displaylogo": False, "responsive": True},
        )
    )


def _plain(text: str) -> str:
    """Drop rich markup like ``[bold]`` … ``[/]``."""
    import re

    return re.sub(r"\[/?[a-z ]*\]", "", text)
