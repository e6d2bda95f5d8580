"""A self-contained HTML page (plotly) for a fitted allocation and its efficient frontier."""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from poise.allocate._fit import FitResult, FrontierPoint
from poise.allocate._types import TRADING_DAYS

__all__ = ["allocation_html"]


def allocation_html(
    fit: FitResult, frontier: Sequence[FrontierPoint], title: str = "poise optimize"
) -> str:
    """Frontier (with each asset and the chosen portfolio) and the weights / risk contributions.

    The page embeds plotly.js, so it works offline.
    """
    import plotly.graph_objects as go
    from plotly.subplots import make_subplots

    symbols = list(fit.weights)
    fig = make_subplots(
        rows=1,
        cols=2,
        column_widths=[0.58, 0.42],
        subplot_titles=("Efficient frontier (annual)", "Weights and risk contributions"),
    )
    if frontier:
        fig.add_trace(
            go.Scatter(
                x=[p.volatility for p in frontier],
                y=[p.expected_return for p in frontier],
                mode="lines+markers",
                name="efficient frontier",
                marker={"size": 5},
                hovertemplate="volatility %{x:.2%}<br>return %{y:.2%}<extra></extra>",
            ),
            row=1,
            col=1,
        )
    if fit.mu.size:
        asset_vol = np.sqrt(np.clip(np.diag(fit.cov), 0, None) * TRADING_DAYS)
        fig.add_trace(
            go.Scatter(
                x=asset_vol,
                y=fit.mu * TRADING_DAYS,
                mode="markers+text",
                text=symbols,
                textposition="top center",
                name="assets",
                marker={"size": 7, "color": "grey"},
                hovertemplate="%{text}<br>volatility %{x:.2%}<br>return %{y:.2%}<extra></extra>",
            ),
            row=1,
            col=1,
        )
    fig.add_trace(
        go.Scatter(
            x=[fit.volatility],
            y=[fit.expected_return],
            mode="markers",
            name=f"{fit.model} portfolio",
            marker={"size": 16, "symbol": "star", "color": "crimson"},
            hovertemplate="volatility %{x:.2%}<br>return %{y:.2%}<extra></extra>",
        ),
        row=1,
        col=1,
    )
    fig.add_trace(
        go.Bar(x=symbols, y=[fit.weights[s] for s in symbols], name="weight"),
        row=1,
        col=2,
    )
    fig.add_trace(
        go.Bar(
            x=symbols,
            y=[fit.risk_contributions[s] for s in symbols],
            name="risk contribution",
        ),
        row=1,
        col=2,
    )
    fig.update_xaxes(title_text="volatility", tickformat=".0%", row=1, col=1)
    fig.update_yaxes(title_text="expected return", tickformat=".0%", row=1, col=1)
    fig.update_yaxes(tickformat=".0%", row=1, col=2)
    sharpe = "n/a" if fit.sharpe is None or not math.isfinite(fit.sharpe) else f"{fit.sharpe:.2f}"
    fig.update_layout(
        title=(
            f"{title}: {fit.model}, {fit.covariance} covariance, {fit.start} to {fit.end} "
            f"({fit.observations} days) · return {fit.expected_return:.2%}, "
            f"volatility {fit.volatility:.2%}, Sharpe {sharpe}"
        ),
        barmode="group",
        template="plotly_white",
        height=620,
    )
    return str(fig.to_html(include_plotlyjs=True, full_html=True))
