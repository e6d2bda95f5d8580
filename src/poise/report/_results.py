"""Plain-data views of the replay and risk results (backtests, their metrics, attribution,
crisis replays, the Monte Carlo, the drawdown overlay): the JSON of ``poise backtest``,
``compare``, ``attribution`` and ``stress`` and of the HTML reports' figures.

The result objects keep ``to_dict()`` as deprecated delegates onto these functions.
"""

from __future__ import annotations

import math
from dataclasses import asdict
from datetime import date
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from poise.analytics import Metrics
    from poise.backtest import BacktestResult
    from poise.risk import (
        BacktestAttribution,
        MonteCarloResult,
        OverlayComparison,
        ReplayOutcome,
        ReplayResult,
    )

__all__ = [
    "backtest_attribution_to_dict",
    "backtest_result_to_dict",
    "metrics_to_dict",
    "monte_carlo_to_dict",
    "overlay_to_dict",
    "replay_outcome_to_dict",
    "replay_to_dict",
]


def _rounded(value: float, digits: int = 10) -> float | None:
    """A figure rounded to ``digits`` places (``-0.0`` becomes ``0.0``); None if not finite."""
    if not math.isfinite(value):
        return None
    return round(float(value), digits) + 0.0


def _finite(value: float) -> float | None:
    """A figure for JSON: None where it is not a finite number (e.g. CAGR below a year)."""
    value = float(value)
    return value if math.isfinite(value) else None


def _iso(day: date | None) -> str | None:
    return day.isoformat() if day is not None else None


def metrics_to_dict(metrics: Metrics) -> dict[str, float | int | str | None]:
    """A backtest's figures as plain JSON-ready values: dates as ISO text, nan as None."""
    out: dict[str, float | int | str | None] = {}
    for key, value in asdict(metrics).items():
        if isinstance(value, date):
            out[key] = value.isoformat()
        elif isinstance(value, float) and not math.isfinite(value):
            out[key] = None
        else:
            out[key] = value
    return out


def backtest_result_to_dict(result: BacktestResult) -> dict[str, Any]:
    """The ``poise backtest --json`` object (keys fixed by DESIGN.md, more added); figures
    rounded to 10 decimals, nan as None."""
    r = _rounded
    m = result.metrics
    final_weights = result.weights.iloc[-1]
    taxes = result.taxes
    return {
        "household": result.household,
        "policy": result.policy,
        "start": result.start.isoformat(),
        "end": result.end.isoformat(),
        "days": len(result.values),
        "initial_value": r(result.initial_value),
        "final_value": r(result.final_value),
        "total_contributions": r(result.total_contributions),
        "total_withdrawals": r(result.total_withdrawals),
        "withdrawal_shortfall": r(result.withdrawal_shortfall),
        "period_return": r(m.period_return),
        "cagr": r(m.cagr),
        "irr": r(m.irr),
        "volatility": r(m.volatility),
        "sharpe": r(m.sharpe),
        "sortino": r(m.sortino),
        "max_drawdown": r(m.max_drawdown),
        "max_drawdown_peak": _iso(m.max_drawdown_peak),
        "max_drawdown_trough": _iso(m.max_drawdown_trough),
        "max_drawdown_recovery": _iso(m.max_drawdown_recovery),
        "calmar": r(m.calmar),
        "turnover": r(m.turnover),
        "rebalances": int(m.rebalances),
        "trades": len(result.trades),
        "total_cost": r(result.total_cost),
        "taxes_paid": r(result.taxes_paid),
        "taxes_due": r(result.taxes_due),
        "after_tax_value": (
            r(result.after_tax_value) if result.after_tax_value is not None else None
        ),
        "after_tax_liquidated": (
            r(result.after_tax_liquidated) if result.after_tax_liquidated is not None else None
        ),
        "losses_harvested": r(float(taxes["harvested"].sum())) if "harvested" in taxes else 0.0,
        "mean_drift": r(m.mean_drift),
        "max_drift": r(m.max_drift),
        "inside_bands": r(m.inside_bands),
        "risk_free": m.risk_free,
        "final_weights": {str(k): r(float(v)) for k, v in final_weights.items()},
        "taxes_by_year": {
            str(year): r(float(tax)) for year, tax in result.taxes_by_year.items() if tax
        },
        "rebalance_dates": result.rebalance_dates(),
        "warnings": list(result.warnings),
    }


def backtest_attribution_to_dict(attribution: BacktestAttribution) -> dict[str, Any]:
    """The attribution of a backtest (CAPM, Brinson-Fachler by group and year, contributions,
    rebalancing effect, cost and tax drag): the ``poise attribution --json`` object."""
    f = _finite
    c = attribution.capm
    b = attribution.brinson
    r = attribution.result
    hold = attribution.buy_and_hold
    groups = {
        str(g): {
            "allocation": float(b.linked_allocation[g]),
            "selection": float(b.linked_selection[g]),
            "interaction": float(b.linked_interaction[g]),
        }
        for g in b.linked_allocation.index
    }
    by_year = {
        str(period): {k: float(v) for k, v in row.items()}
        for period, row in b.by_period("YE").iterrows()
    }
    return {
        "household": r.household,
        "policy": r.policy,
        "benchmark": attribution.benchmark_name,
        "start": r.start.isoformat(),
        "end": r.end.isoformat(),
        "observations": c.observations,
        "alpha": f(c.alpha),
        "beta": f(c.beta),
        "alpha_t": f(c.alpha_t),
        "beta_t": f(c.beta_t),
        "alpha_stderr": f(c.alpha_stderr),
        "beta_stderr": f(c.beta_stderr),
        "r_squared": f(c.r_squared),
        "tracking_error": f(c.tracking_error),
        "information_ratio": f(c.information_ratio),
        "residual_volatility": f(c.residual_volatility),
        "cagr": f(r.metrics.cagr),
        "benchmark_cagr": f(attribution.benchmark_cagr),
        "brinson": {
            "benchmark": "the household's targets, held every day",
            "linking": b.linking.value,
            "periods": len(b.portfolio_returns),
            "portfolio_return": f(b.portfolio_total),
            "benchmark_return": f(b.benchmark_total),
            "active_return": f(b.active_return),
            **{k: f(v) for k, v in b.totals().items()},
            "groups": groups,
            "by_year": by_year,
        },
        "contributions": {str(k): f(v) for k, v in attribution.contributions.items()},
        "holdings_return": f(attribution.holdings_return),
        "actual_return": f(attribution.actual_return),
        "residual": f(attribution.actual_return - attribution.holdings_return),
        "rebalancing_effect": {
            "cagr_rule": f(r.metrics.cagr),
            "cagr_buy_and_hold": f(hold.metrics.cagr),
            "effect": f(attribution.rebalancing_effect),
            "final_value_rule": f(r.final_value),
            "final_value_buy_and_hold": f(hold.final_value),
            "max_drawdown_rule": f(r.metrics.max_drawdown),
            "max_drawdown_buy_and_hold": f(hold.metrics.max_drawdown),
        },
        "cost_drag": f(attribution.cost_drag),
        "tax_drag": f(attribution.tax_drag),
        "total_cost": f(r.total_cost),
        "taxes_paid": f(r.taxes_paid),
        "notes": list(attribution.notes),
    }


def replay_outcome_to_dict(outcome: ReplayOutcome) -> dict[str, Any]:
    """One rule through one crisis window."""
    return {
        "policy": outcome.policy,
        "loss": float(outcome.loss),
        "max_drawdown": float(outcome.max_drawdown),
        "worst_day": outcome.worst_day.isoformat(),
        "worst_day_return": float(outcome.worst_day_return),
        "recovered_on": outcome.recovered_on.isoformat() if outcome.recovered_on else None,
        "days_to_recover": outcome.days_to_recover,
        "rebalances_in_window": outcome.rebalances,
        "cost_in_window": float(outcome.total_cost),
    }


def replay_to_dict(replay: ReplayResult) -> dict[str, Any]:
    """A crisis window replayed with the household's rule and as buy-and-hold."""
    return {
        "name": replay.window.name,
        "label": replay.window.label,
        "start": replay.start.isoformat(),
        "end": replay.end.isoformat(),
        "with_rule": replay_outcome_to_dict(replay.rule),
        "buy_and_hold": replay_outcome_to_dict(replay.buy_and_hold),
    }


def monte_carlo_to_dict(result: MonteCarloResult) -> dict[str, Any]:
    """A Monte Carlo's summary: percentiles of terminal value, annualised return and
    drawdown, the probabilities of loss and depletion, VaR/CVaR per level (over 12 months
    and the whole horizon) and each goal's odds."""
    s = result.settings
    terminal = result.terminal
    q = (5, 25, 50, 75, 95)
    pct = np.percentile(terminal, q)
    cagr = np.percentile(result.annualised_returns(), q)
    dd = np.percentile(result.max_drawdown, q)
    years = s.years
    var: list[dict[str, Any]] = []
    goals: list[dict[str, Any]] = []
    out: dict[str, Any] = {
        "paths": s.paths,
        "years": years,
        "block_months": s.block_months,
        "seed": s.seed,
        "start": result.step_dates[0].isoformat(),
        "end": result.step_dates[-1].isoformat(),
        "history": [result.history[0].isoformat(), result.history[1].isoformat()],
        "policy": result.policy,
        "initial_value": float(result.values[0, 0]),
        "monthly_contribution": s.contribution,
        "total_invested": float(result.invested[-1]),
        "terminal_value": {
            "mean": float(terminal.mean()),
            **{f"p{k}": float(v) for k, v in zip(q, pct, strict=True)},
        },
        "annualised_return": {f"p{k}": float(v) for k, v in zip(q, cagr, strict=True)},
        "max_drawdown": {f"p{k}": float(v) for k, v in zip(q, dd, strict=True)},
        "probability_of_loss": float((terminal < result.invested[-1]).mean()),
        "probability_depleted": float(result.depleted.mean()),
        "rebalances_per_year": float(result.rebalances.mean() / years),
        "mean_total_cost": float(result.costs.mean()),
        "var": var,
        "goals": goals,
        "notes": list(result.notes),
    }
    for level in s.levels:
        for months in (12, None):
            if months is not None and months > len(result.step_dates) - 1:
                continue
            tail = result.tail(level, months)
            var.append(
                {
                    "level": level,
                    "months": tail.months,
                    "var": tail.var,
                    "cvar": tail.cvar,
                    "var_fraction": tail.var_fraction,
                    "cvar_fraction": tail.cvar_fraction,
                }
            )
    for goal in s.goals:
        o = result.goal(goal)
        goals.append(
            {
                "amount": goal.amount,
                "date": goal.when.isoformat(),
                "probability": o.probability,
                "probability_touched": o.probability_touched,
                "median_value": o.median_value,
            }
        )
    return out


def _overlay_side(result: Any) -> dict[str, Any]:
    m = result.metrics
    return {
        "final_value": float(result.final_value),
        "cagr": _finite(m.cagr),
        "volatility": _finite(m.volatility),
        "max_drawdown": _finite(m.max_drawdown),
        "rebalances": int(m.rebalances),
        "total_cost": float(result.total_cost),
        "taxes_paid": float(result.taxes_paid),
    }


def overlay_to_dict(comparison: OverlayComparison) -> dict[str, Any]:
    """The household with and without its drawdown overlay, and the overlay's switches."""
    return {
        "overlay": comparison.rules.describe(),
        "kind": comparison.rules.kind.value,
        "without": _overlay_side(comparison.without),
        "with_overlay": _overlay_side(comparison.with_overlay),
        "drawdown_saved": comparison.drawdown_saved,
        "return_given_up": _finite(comparison.return_given_up),
        "switches": [{"date": d.isoformat(), "reason": why} for d, why in comparison.switches],
    }
