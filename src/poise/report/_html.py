"""A self-contained HTML report of one or more backtests (plotly, works offline).

Sections: the metrics table; value curves (log scale) with rebalance markers; drawdowns of the
time-weighted index; for each rule, the weights over time against their target bands; costs
and taxes by year; the assumptions. plotly.js is embedded once, so the file opens anywhere
without a network.
"""

from __future__ import annotations

import base64
import html
import importlib.util
import json
import math
import uuid
from collections.abc import Mapping, Sequence
from pathlib import Path
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
    drawdowns, so that no trough is lost).

    pandas' ``resample(...).last()`` / ``.min()`` on W-FRI, ME, QE bins, computed with numpy
    (the same rows and values; pandas itself for a table with missing values)."""
    if len(frame) <= max_points:
        return frame
    values = frame.to_numpy()
    if values.dtype.kind != "f" or np.isnan(values).any():
        return _thin_pandas(frame, max_points, how)
    days = pd.DatetimeIndex(frame.index).to_numpy().astype("datetime64[D]")
    for rule in ("W-FRI", "ME", "QE"):
        labels, bins = _bin_labels(days, rule)
        if bins <= max_points or rule == "QE":
            break
    ends = np.flatnonzero(np.r_[labels[1:] != labels[:-1], True])
    if how == "min":
        starts = np.r_[0, ends[:-1] + 1]
        kept = np.minimum.reduceat(values, starts, axis=0)
    else:
        kept = values[ends]
    index = pd.DatetimeIndex(labels[ends].astype("datetime64[ns]"))
    if isinstance(frame, pd.Series):
        return pd.Series(kept, index=index, name=frame.name)
    return pd.DataFrame(kept, index=index, columns=frame.columns)


def _bin_labels(days: np.ndarray, rule: str) -> tuple[np.ndarray, int]:
    """Each day's bin label (its week's Friday, month end or quarter end) and the number of
    bins from the first day's to the last's (empty ones included, as ``resample`` counts)."""
    if rule == "W-FRI":
        weekday = (days.astype(np.int64) + 3) % 7  # 1970-01-01 was a Thursday (3)
        labels = days + ((4 - weekday) % 7)
        return labels, int((labels[-1] - labels[0]).astype(np.int64)) // 7 + 1
    months = days.astype("datetime64[M]")
    if rule == "QE":
        number = months.astype(np.int64)
        months = (number + (2 - number % 3)).astype("datetime64[M]")
        step = 3
    else:
        step = 1
    labels = (months + 1).astype("datetime64[D]") - 1
    return labels, int((months[-1] - months[0]).astype(np.int64)) // step + 1


def _thin_pandas(frame: Any, max_points: int, how: str) -> Any:
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
    days = pd.DatetimeIndex(index).to_numpy().astype("datetime64[D]")
    return [str(d) for d in np.datetime_as_string(days)]


def _array(values: Any) -> dict[str, str]:
    """A float array as plotly.js's typed-array JSON (what plotly.py writes for numpy)."""
    data = np.ascontiguousarray(values, dtype="<f8")
    return {"dtype": "f8", "bdata": base64.b64encode(data.tobytes()).decode("ascii")}


def _scatter(**fields: Any) -> dict[str, Any]:
    """A scatter trace as plotly.js reads it (``y`` a float array)."""
    return {"type": "scatter", **fields, "y": _array(fields["y"])}


def _figure(data: list[dict[str, Any]], **layout: Any) -> dict[str, Any]:
    """A figure as plotly.js reads it, with plotly.py's default template (what
    ``go.Figure`` would write, without validating every point again)."""
    return {"data": data, "layout": {**layout, "template": _template()}}


def _template() -> dict[str, Any]:
    """plotly.py's default template ("plotly"), as its package stores it."""
    if not _TEMPLATE:
        text = _package_data("templates/plotly.json")
        _TEMPLATE.append(json.loads(text))
    return _TEMPLATE[0]


def _package_data(name: str) -> str:
    """A file of plotly.py's ``package_data`` (read without importing plotly)."""
    spec = importlib.util.find_spec("plotly")
    if spec is None or spec.origin is None:
        raise ModuleNotFoundError("plotly is needed for the HTML report (pip install plotly)")
    return (Path(spec.origin).parent / "package_data" / name).read_text(encoding="utf-8")


_TEMPLATE: list[dict[str, Any]] = []


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


def _rebalance_marks(r: BacktestResult) -> tuple[pd.DatetimeIndex, list[str]]:
    """Rebalance days and their reasons (hover text, cut at 300 characters)."""
    if r.rebalances.empty:
        return pd.DatetimeIndex([]), []
    dates = pd.DatetimeIndex(r.rebalances["date"])
    return dates, [str(x)[:300] for x in r.rebalances["reasons"]]


def _value_figure(results: Mapping[str, BacktestResult]) -> dict[str, Any]:
    data: list[dict[str, Any]] = []
    for i, (name, r) in enumerate(results.items()):
        values = _thin(r.values)
        data.append(
            _scatter(
                legendgroup=name,
                line={"color": _color(i), "width": 1.5},
                name=name,
                x=_x(values.index),
                y=values.to_numpy(),
            )
        )
        dates, reasons = _rebalance_marks(r)
        if len(dates):
            data.append(
                _scatter(
                    hoverinfo="x+text",
                    hovertext=reasons,
                    legendgroup=name,
                    marker={"color": _color(i), "size": 5, "symbol": "triangle-up"},
                    mode="markers",
                    name=f"{name}: rebalances",
                    showlegend=False,
                    x=_x(dates),
                    y=r.values.reindex(dates).to_numpy(),
                )
            )
    return _figure(
        data,
        height=480,
        legend={"orientation": "h"},
        margin={"b": 40, "l": 60, "r": 20, "t": 50},
        title={"text": "Total value (log scale; ▲ = rebalance)"},
        yaxis={"title": {"text": "value"}, "type": "log"},
    )


def _drawdown_figure(results: Mapping[str, BacktestResult]) -> dict[str, Any]:
    data: list[dict[str, Any]] = []
    for i, (name, r) in enumerate(results.items()):
        dd = _thin(r.drawdowns(), how="min")
        data.append(
            _scatter(
                line={"color": _color(i), "width": 1.2},
                name=name,
                x=_x(dd.index),
                y=dd.to_numpy(),
            )
        )
    return _figure(
        data,
        height=360,
        legend={"orientation": "h"},
        margin={"b": 40, "l": 60, "r": 20, "t": 50},
        title={"text": "Drawdown of the time-weighted index (cash flows excluded)"},
        yaxis={"tickformat": ".0%"},
    )


def _weights_figure(name: str, r: BacktestResult) -> dict[str, Any]:
    weights = _thin(r.weights, _MAX_WEIGHT_POINTS)
    end = r.values.index[-1]
    targets = _steps(r.targets.reindex(columns=r.weights.columns, fill_value=0.0), end)
    bands = None
    if r.bands is not None:
        bands = _steps(r.bands.reindex(columns=r.weights.columns, fill_value=np.inf), end)
    data: list[dict[str, Any]] = []
    held = r.weights.abs().max().to_numpy() > 0
    wanted = targets.max().to_numpy() > 0
    symbols = [s for k, s in enumerate(r.weights.columns) if held[k] or wanted[k]]
    target_x = _x(targets.index)
    weight_x = _x(weights.index)
    for i, sym in enumerate(symbols):
        color = _color(i)
        t = targets[sym].to_numpy()
        if bands is not None:
            half = np.minimum(bands[sym].to_numpy(), 1.0)
            for y, fill in ((np.clip(t - half, 0, 1), None), (np.clip(t + half, 0, 1), "tonexty")):
                trace = _scatter(
                    fillcolor=_rgba(color, 0.12),
                    hoverinfo="skip",
                    legendgroup=sym,
                    line={"shape": "hv", "width": 0},
                    showlegend=False,
                    x=target_x,
                    y=y,
                )
                if fill is not None:
                    trace["fill"] = fill
                data.append(trace)
        else:
            data.append(
                _scatter(
                    hoverinfo="skip",
                    legendgroup=sym,
                    line={"color": color, "dash": "dot", "shape": "hv", "width": 1},
                    showlegend=False,
                    x=target_x,
                    y=t,
                )
            )
        data.append(
            _scatter(
                legendgroup=sym,
                line={"color": color, "width": 1.2},
                name=sym if sym != CASH else "cash",
                x=weight_x,
                y=weights[sym].to_numpy(),
            )
        )
    dates, reasons = _rebalance_marks(r)
    if len(dates):
        data.append(
            _scatter(
                hoverinfo="x+text",
                hovertext=reasons,
                marker={"color": "black", "size": 6, "symbol": "triangle-up"},
                mode="markers",
                name="rebalance",
                x=_x(dates),
                y=np.zeros(len(dates)),
            )
        )
    what = "shaded: target ± band" if bands is not None else "dotted: target (no bands)"
    step = "" if len(weights) == len(r.weights) else ", month-end points"
    return _figure(
        data,
        height=460,
        margin={"b": 40, "l": 60, "r": 20, "t": 50},
        title={"text": f"{name}: weights over time ({what}; ▲ = rebalance{step})"},
        yaxis={"tickformat": ".0%"},
    )


def _costs_taxes_figure(results: Mapping[str, BacktestResult]) -> dict[str, Any]:
    """Costs (top) and taxes (bottom) by year, grouped bars sharing the x axis (the layout
    ``plotly.subplots.make_subplots(rows=2, shared_xaxes=True)`` draws)."""
    data: list[dict[str, Any]] = []
    for i, (name, r) in enumerate(results.items()):
        for by_year, axes, legend in ((r.costs_by_year, "", True), (r.taxes_by_year, "2", False)):
            trace: dict[str, Any] = {
                "type": "bar",
                "legendgroup": name,
                "marker": {"color": _color(i)},
                "name": name,
                "x": by_year.index.tolist(),
                "xaxis": f"x{axes}",
                "y": _array(by_year.to_numpy()),
                "yaxis": f"y{axes}",
            }
            if not legend:
                trace["showlegend"] = False
            data.append(trace)
    title: dict[str, Any] = {
        "font": {"size": 16},
        "showarrow": False,
        "x": 0.5,
        "xanchor": "center",
    }
    return _figure(
        data,
        annotations=[
            {
                **title,
                "text": "Trading costs by year",
                "xref": "paper",
                "y": 1.0,
                "yanchor": "bottom",
                "yref": "paper",
            },
            {
                **title,
                "text": "Tax owed on each year's realized gains",
                "xref": "paper",
                "y": 0.44,
                "yanchor": "bottom",
                "yref": "paper",
            },
        ],
        barmode="group",
        height=560,
        margin={"b": 40, "l": 60, "r": 20, "t": 60},
        xaxis={"anchor": "y", "domain": [0.0, 1.0], "matches": "x2", "showticklabels": False},
        xaxis2={"anchor": "y2", "domain": [0.0, 1.0]},
        yaxis={"anchor": "x", "domain": [0.56, 1.0]},
        yaxis2={"anchor": "x2", "domain": [0.0, 0.44]},
    )


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
    """The figure's ``<div>`` and script: a plotly figure through ``plotly.io.to_html``, or
    a figure's JSON dict (as ``_figure`` builds it) written as ``to_html`` writes one."""
    if not isinstance(fig, dict):
        import plotly.io as pio

        return str(pio.to_html(fig, full_html=False, include_plotlyjs=include_js, config=_CONFIG))
    div_id = str(uuid.uuid4())
    height = fig["layout"].get("height")
    load = ""
    if include_js:
        load = (
            "<script>window.PlotlyConfig = {MathJaxConfig: 'local'};</script>\n"
            f"<script>{_package_data('plotly.min.js')}</script>"
        )
    return (
        f'<div style="height:{f"{height}px" if height else "100%"}; width:100%;">{load}'
        f'<div id="{div_id}" class="plotly-graph-div" style="height:100%; width:100%;"></div>'
        "<script>window.PLOTLYENV=window.PLOTLYENV || {};"
        f'if (document.getElementById("{div_id}")) {{Plotly.newPlot("{div_id}", '
        f"{_json(fig['data'])}, {_json(fig['layout'])}, {json.dumps(_CONFIG)})}};"
        "</script></div>"
    )


_CONFIG = {"displaylogo": False, "responsive": True}


def _json(value: Any) -> str:
    """JSON safe inside ``<script>`` (as plotly.py escapes it)."""
    text = json.dumps(value, separators=(",", ":"), allow_nan=False, ensure_ascii=False)
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("/", "\\u002f")


def _plain(text: str) -> str:
    """Drop rich markup like ``[bold]`` … ``[/]``."""
    import re

    return re.sub(r"\[/?[a-z ]*\]", "", text)
