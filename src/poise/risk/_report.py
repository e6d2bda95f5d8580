"""HTML reports for ``poise stress`` and ``poise attribution``: one self-contained file each
(plotly embedded, works offline), and the figures on their own for other reports.

Figures: the Monte Carlo fan chart (``fan_chart``), crisis drawdown curves
(``crisis_figure``), shock bars (``shock_figure``), the overlay's value and drawdown
(``overlay_figure``), Brinson and contribution bars (``brinson_figure``,
``contribution_figure``) and the CAPM scatter (``capm_figure``).
"""

from __future__ import annotations

import html
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

__all__ = [
    "attribution_report",
    "brinson_figure",
    "capm_figure",
    "contribution_figure",
    "crisis_figure",
    "fan_chart",
    "overlay_figure",
    "shock_figure",
    "stress_report",
]

_CSS = """
body { font-family: system-ui, sans-serif; margin: 2rem auto; max-width: 1100px; color: #222; }
h1 { margin-bottom: 0.2rem; } .sub { color: #666; margin-top: 0; }
table { border-collapse: collapse; margin: 0.5rem 0 1rem; font-size: 0.9rem; }
th, td { border-bottom: 1px solid #ddd; padding: 0.25rem 0.6rem; text-align: right; }
th:first-child, td:first-child { text-align: left; }
.warn { color: #8a5a00; } .notes { color: #555; font-size: 0.9rem; }
"""

_BLUE, _ORANGE, _GREEN, _RED, _GREY = "#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#7f7f7f"


def _go() -> Any:
    import plotly.graph_objects as go

    return go


def _x(index: Any) -> list[str]:
    return [pd.Timestamp(d).strftime("%Y-%m-%d") for d in index]


def _thin(series: pd.Series | pd.DataFrame, points: int = 2500) -> Any:
    step = max(1, len(series) // points)
    return series.iloc[::step] if step > 1 else series


def fan_chart(result: Any, sample_paths: int = 25) -> Any:
    """Percentile bands of the Monte Carlo paths' total value, a few paths, and what was put
    in."""
    go = _go()
    pct = result.percentiles((5, 25, 50, 75, 95))
    x = _x(pct.index)
    fig = go.Figure()
    for lo, hi, alpha, name in ((5, 95, 0.15, "5–95%"), (25, 75, 0.3, "25–75%")):
        fig.add_trace(go.Scatter(x=x, y=pct[hi], line={"width": 0}, showlegend=False))
        fig.add_trace(
            go.Scatter(
                x=x,
                y=pct[lo],
                fill="tonexty",
                fillcolor=f"rgba(31,119,180,{alpha})",
                line={"width": 0},
                name=name,
            )
        )
    for k in range(min(sample_paths, result.values.shape[0])):
        fig.add_trace(
            go.Scatter(
                x=x,
                y=result.values[k],
                line={"width": 0.6, "color": "rgba(100,100,100,0.35)"},
                showlegend=k == 0,
                name="sample paths",
                hoverinfo="skip",
            )
        )
    fig.add_trace(go.Scatter(x=x, y=pct[50], line={"color": _BLUE, "width": 2.5}, name="median"))
    fig.add_trace(
        go.Scatter(x=x, y=result.invested, line={"color": _GREY, "dash": "dash"}, name="put in")
    )
    for goal in result.settings.goals:
        fig.add_trace(
            go.Scatter(
                x=[goal.when.isoformat()],
                y=[goal.amount],
                mode="markers",
                marker={"symbol": "star", "size": 14, "color": _RED},
                name=f"goal {goal}",
            )
        )
    fig.update_layout(
        yaxis={"title": "total value", "type": "log"},
        height=480,
        margin={"t": 30},
        legend={"orientation": "h"},
    )
    return fig


def crisis_figure(replay: Any) -> Any:
    """Drawdown from the window's first close, with the rule and as buy-and-hold, from the
    window's start to a year after its end (or the recovery, if later)."""
    go = _go()
    fig = go.Figure()
    start = pd.Timestamp(replay.start)
    stop = pd.Timestamp(replay.end) + pd.Timedelta(days=365)
    for outcome in (replay.rule, replay.buy_and_hold):
        if outcome.recovered_on is not None:
            stop = max(stop, pd.Timestamp(outcome.recovered_on))
    for outcome, color in ((replay.rule, _BLUE), (replay.buy_and_hold, _ORANGE)):
        index = outcome.index.loc[start:stop]
        dd = index / index.cummax() - 1.0
        fig.add_trace(
            go.Scatter(x=_x(dd.index), y=dd.to_numpy(), name=outcome.policy, line={"color": color})
        )
    fig.add_vrect(
        x0=replay.start.isoformat(),
        x1=replay.end.isoformat(),
        fillcolor="rgba(200,0,0,0.07)",
        line_width=0,
    )
    fig.update_layout(
        title=str(replay.window),
        yaxis={"title": "drawdown", "tickformat": ".0%"},
        height=360,
        margin={"t": 40},
    )
    return fig


def shock_figure(shocks: Sequence[Any]) -> Any:
    """Change in value per group, one bar group per shock."""
    go = _go()
    fig = go.Figure()
    groups = list(dict.fromkeys(g for s in shocks for g in s.group_change_value))
    for s in shocks:
        fig.add_trace(
            go.Bar(x=groups, y=[s.group_change_value.get(g, 0.0) for g in groups], name=s.name)
        )
    fig.update_layout(yaxis={"title": "change in value"}, barmode="group", height=380)
    return fig


def overlay_figure(comparison: Any) -> Any:
    """Value index and drawdown with and without the overlay, its switches marked."""
    from plotly.subplots import make_subplots

    go = _go()
    fig = make_subplots(rows=2, cols=1, shared_xaxes=True, row_heights=[0.6, 0.4])
    for result, name, color in (
        (comparison.without, "without overlay", _ORANGE),
        (comparison.with_overlay, "with overlay", _BLUE),
    ):
        index = _thin(result.growth_index())
        dd = _thin(result.drawdowns())
        fig.add_trace(
            go.Scatter(x=_x(index.index), y=index.to_numpy(), name=name, line={"color": color}),
            row=1,
            col=1,
        )
        fig.add_trace(
            go.Scatter(x=_x(dd.index), y=dd.to_numpy(), showlegend=False, line={"color": color}),
            row=2,
            col=1,
        )
    for day, why in comparison.switches[:200]:
        fig.add_vline(x=day.isoformat(), line={"color": "rgba(0,0,0,0.15)", "width": 1})
        del why
    fig.update_yaxes(title_text="growth of 1", type="log", row=1, col=1)
    fig.update_yaxes(title_text="drawdown", tickformat=".0%", row=2, col=1)
    fig.update_layout(height=560, margin={"t": 30})
    return fig


def brinson_figure(brinson: Any) -> Any:
    """Linked allocation, selection and interaction per group (stacked bars)."""
    go = _go()
    groups = [str(g) for g in brinson.linked_allocation.index]
    fig = go.Figure()
    for series, name, color in (
        (brinson.linked_allocation, "allocation", _BLUE),
        (brinson.linked_selection, "selection", _GREEN),
        (brinson.linked_interaction, "interaction", _GREY),
    ):
        fig.add_trace(go.Bar(x=groups, y=series.to_numpy(), name=name, marker_color=color))
    fig.update_layout(
        barmode="relative",
        yaxis={"title": "share of the active return", "tickformat": ".1%"},
        height=400,
    )
    return fig


def contribution_figure(by_year: pd.DataFrame) -> Any:
    """Contribution to return per asset and year (stacked bars)."""
    go = _go()
    fig = go.Figure()
    x = [str(p) for p in by_year.index]
    for column in by_year.columns:
        values = by_year[column].to_numpy()
        if np.allclose(values, 0.0):
            continue
        fig.add_trace(go.Bar(x=x, y=values, name=str(column)))
    fig.update_layout(
        barmode="relative",
        yaxis={"title": "contribution to the cumulative return", "tickformat": ".0%"},
        height=420,
    )
    return fig


def capm_figure(returns: pd.Series, benchmark: pd.Series, capm: Any) -> Any:
    """Daily returns against the benchmark's, with the fitted line."""
    go = _go()
    joined = pd.concat([returns.rename("p"), benchmark.rename("b")], axis=1, sort=True).dropna()
    shown = _thin(joined, 4000)
    fig = go.Figure()
    fig.add_trace(
        go.Scatter(
            x=shown["b"],
            y=shown["p"],
            mode="markers",
            marker={"size": 3, "opacity": 0.4},
            name="days",
        )
    )
    lo, hi = float(joined["b"].min()), float(joined["b"].max())
    alpha_daily = capm.alpha / capm.periods_per_year
    fig.add_trace(
        go.Scatter(
            x=[lo, hi],
            y=[alpha_daily + capm.beta * lo, alpha_daily + capm.beta * hi],
            name=f"β = {capm.beta:.2f}, α = {capm.alpha:.2%}/yr",
            line={"color": _RED},
        )
    )
    fig.update_layout(
        xaxis={"title": "benchmark daily return", "tickformat": ".0%"},
        yaxis={"title": "household daily return", "tickformat": ".0%"},
        height=420,
    )
    return fig


def _div(fig: Any, include_js: bool) -> str:
    return str(
        fig.to_html(
            full_html=False,
            include_plotlyjs=include_js,
            config={"displaylogo": False, "responsive": True},
        )
    )


def _table(rows: Sequence[Sequence[Any]], header: Sequence[str]) -> str:
    head = "".join(f"<th>{html.escape(str(h))}</th>" for h in header)
    body = "".join(
        "<tr>" + "".join(f"<td>{html.escape(str(c))}</td>" for c in row) + "</tr>" for row in rows
    )
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _page(title: str, subtitle: str, blocks: Sequence[tuple[str, Any]]) -> str:
    parts = [
        "<!DOCTYPE html><html><head><meta charset='utf-8'>",
        f"<title>{html.escape(title)}</title><style>{_CSS}</style></head><body>",
        f"<h1>{html.escape(title)}</h1><p class='sub'>{html.escape(subtitle)}</p>",
    ]
    first = True
    for heading, block in blocks:
        if heading:
            parts.append(f"<h2>{html.escape(heading)}</h2>")
        if isinstance(block, str):
            parts.append(block)
        else:
            parts.append(_div(block, first))
            first = False
    parts.append("</body></html>")
    return "\n".join(parts)


def _pct(x: float | None) -> str:
    return "" if x is None or not np.isfinite(x) else f"{x:.1%}"


def montecarlo_blocks(montecarlo: Any) -> list[tuple[str, Any]]:
    """Report blocks for a Monte Carlo result: a summary table, the fan chart, the notes."""
    from poise.report import monte_carlo_to_dict

    d = monte_carlo_to_dict(montecarlo)
    tv = d["terminal_value"]
    rows = [
        ["paths × months", f"{d['paths']:,} × {12 * d['years']}"],
        ["terminal value, median", f"{tv['p50']:,.0f}"],
        ["terminal value, 5% worst", f"{tv['p5']:,.0f}"],
        ["put in", f"{d['total_invested']:,.0f}"],
        ["probability of ending below what was put in", _pct(d["probability_of_loss"])],
    ]
    rows += [
        [
            f"VaR / CVaR {v['level']:.0%}, {v['months']} months",
            f"{v['var']:,.0f} / {v['cvar']:,.0f}",
        ]
        for v in d["var"]
    ]
    rows += [
        [f"goal {g['amount']:,.0f} by {g['date']}", _pct(g["probability"])] for g in d["goals"]
    ]
    notes = "".join(f"<li>{html.escape(n)}</li>" for n in d["notes"])
    return [
        ("Monte Carlo", _table(rows, ["", ""])),
        ("", fan_chart(montecarlo)),
        ("", f"<ul class='notes'>{notes}</ul>"),
    ]


def attribution_blocks(attribution: Any) -> list[tuple[str, Any]]:
    """Report blocks for a backtest's attribution: CAPM table and scatter, Brinson-Fachler
    bars by group, contribution per asset and year."""
    from poise.analytics import daily_returns
    from poise.report import backtest_attribution_to_dict

    d = backtest_attribution_to_dict(attribution)
    rows = [
        ["alpha (annualised)", _pct(d["alpha"]), f"t = {d['alpha_t']:.2f}"],
        ["beta", f"{d['beta']:.3f}", f"t = {d['beta_t']:.2f}"],
        ["R²", f"{d['r_squared']:.3f}", ""],
        ["tracking error", _pct(d["tracking_error"]), ""],
        ["information ratio", f"{d['information_ratio']:.2f}", ""],
        ["CAGR / benchmark CAGR", _pct(d["cagr"]), _pct(d["benchmark_cagr"])],
        ["rebalancing effect (CAGR vs buy-and-hold)", _pct(d["rebalancing_effect"]["effect"]), ""],
        ["cost drag / tax drag (CAGR)", _pct(d["cost_drag"]), _pct(d["tax_drag"])],
    ]
    result = attribution.result
    returns = daily_returns(result.values, result.cash_flows)  # as the regression: after day one
    return [
        (
            f"Against {d['benchmark']}",
            _table(rows, ["", "", ""])
            + "".join(f"<p><em>Note:</em> {html.escape(n)}</p>" for n in d["notes"]),
        ),
        ("", capm_figure(returns, attribution.benchmark_returns, attribution.capm)),
        (
            "Brinson-Fachler against the targets, by group (linked)",
            brinson_figure(attribution.brinson),
        ),
        (
            "Contribution to return per asset and year",
            contribution_figure(attribution.contributions_by_year),
        ),
    ]


def stress_report(
    *,
    title: str,
    subtitle: str,
    quality: Sequence[Any] = (),
    breaches: Sequence[str] = (),
    shocks: Sequence[Any] = (),
    crises: Sequence[Any] = (),
    montecarlo: Any = None,
    overlay: Any = None,
) -> str:
    """The ``poise stress --report`` page (self-contained HTML)."""
    blocks: list[tuple[str, Any]] = []
    if quality or breaches:
        items = [f"<li class='warn'>{html.escape(str(w))}</li>" for w in (*quality, *breaches)]
        blocks.append(("Data quality and concentration", f"<ul>{''.join(items)}</ul>"))
    if montecarlo is not None:
        blocks += montecarlo_blocks(montecarlo)
    if crises:
        rows = [
            [
                str(c.window),
                o.policy,
                _pct(o.loss),
                _pct(o.max_drawdown),
                f"{o.worst_day} ({o.worst_day_return:.1%})",
                "not yet" if o.days_to_recover is None else f"{o.days_to_recover} days",
            ]
            for c in crises
            for o in (c.rule, c.buy_and_hold)
        ]
        header = ["window", "rule", "loss", "max drawdown", "worst day", "recovery"]
        blocks.append(("Crisis replay", _table(rows, header)))
        blocks.extend(("", crisis_figure(c)) for c in crises)
    if shocks:
        rows = [
            [
                s.name,
                f"{s.value_before:,.0f}",
                f"{s.value_after:,.0f}",
                _pct(s.change),
                "rebalance" if s.plan.triggered else "no rebalance",
                str(len(s.plan.trades)),
            ]
            for s in shocks
        ]
        header = ["shock", "before", "after", "change", "rule", "trades"]
        blocks.append(("Hypothetical shocks", _table(rows, header)))
        blocks.append(("", shock_figure(shocks)))
    if overlay is not None:
        from poise.report import overlay_to_dict

        d = overlay_to_dict(overlay)
        rows = [
            [name, _pct(side["cagr"]), _pct(side["max_drawdown"]), f"{side['final_value']:,.0f}"]
            for name, side in (("without", d["without"]), ("with overlay", d["with_overlay"]))
        ]
        blocks.append(
            (
                f"Drawdown overlay: {d['overlay']}",
                _table(rows, ["", "CAGR", "max drawdown", "final value"])
                + f"<p>Drawdown saved {_pct(d['drawdown_saved'])}, return given up "
                f"{_pct(d['return_given_up'])} a year, {len(d['switches'])} switches.</p>",
            )
        )
        blocks.append(("", overlay_figure(overlay)))
    return _page(title, subtitle, blocks)


def attribution_report(attribution: Any, *, title: str, subtitle: str = "") -> str:
    """The ``poise attribution --report`` page (self-contained HTML)."""
    return _page(title, subtitle, attribution_blocks(attribution))
