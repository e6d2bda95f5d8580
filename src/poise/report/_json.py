"""Plain-data views of results, for ``--json`` and the service."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

from poise.model import Plan, Reason, Trade

if TYPE_CHECKING:
    from collections.abc import Sequence
    from datetime import date

    from poise.allocate import FrontierPoint, GlidePathAllocation, Goal, RiskProfile
    from poise.app import (
        AttributionResult,
        BacktestOutcome,
        CompareOutcome,
        HarvestResult,
        OptimizeResult,
        RebalanceResult,
        StressResult,
    )
    from poise.risk import ShockResult

__all__ = [
    "attribution_to_dict",
    "backtest_to_dict",
    "compare_to_dict",
    "harvest_to_dict",
    "optimize_to_dict",
    "plan_to_dict",
    "profile_to_dict",
    "reason_to_dict",
    "rebalance_to_dict",
    "stress_to_dict",
    "trade_to_dict",
]


def _r(value: float, digits: int = 10) -> float:
    return round(float(value), digits) + 0.0


def reason_to_dict(reason: Reason | None) -> dict[str, Any] | None:
    """A trade's structured reason: ``kind``, ``action``, ``symbol``, ``weight`` and
    ``target`` (fractions before the plan, null when not sized by drift), ``band`` (half-width
    in weight points, null without one) and ``note``; None when the trade has none."""
    if reason is None:
        return None
    return {
        "kind": reason.kind.value,
        "action": reason.action,
        "symbol": reason.symbol,
        "weight": None if reason.weight is None else _r(reason.weight),
        "target": None if reason.target is None else _r(reason.target),
        "band": _r(reason.band) if reason.band is not None and reason.has_band else None,
        "note": reason.note,
    }


def trade_to_dict(trade: Trade) -> dict[str, Any]:
    return {
        "account": trade.account,
        "symbol": trade.symbol,
        "side": trade.side.value,
        "quantity": _r(trade.quantity),
        "price": _r(trade.price),
        "value": _r(trade.value),
        "cost": _r(trade.cost),
        "realized_short_term": _r(trade.realized_short_term),
        "realized_long_term": _r(trade.realized_long_term),
        "reason": trade.reason,
        "why": reason_to_dict(trade.why),
        "lots": [
            {
                "acquired": sale.lot.acquired.isoformat(),
                "quantity": _r(sale.quantity),
                "basis": _r(sale.basis),
                "proceeds": _r(sale.proceeds),
                "gain": _r(sale.gain),
                "term": "long" if sale.long_term else "short",
                "washed": _r(sale.washed),
            }
            for sale in trade.lot_sales
        ],
    }


def plan_to_dict(plan: Plan) -> dict[str, Any]:
    """The ``poise rebalance --json`` object (keys fixed by DESIGN.md, more may be added)."""
    return {
        "as_of": plan.as_of.isoformat(),
        "triggered": plan.triggered,
        "reasons": list(plan.reasons),
        "total_value": _r(plan.total_value),
        "targets": {k: _r(v) for k, v in plan.targets.items()},
        "weights_before": {k: _r(v) for k, v in plan.weights_before.items()},
        "weights_after": {k: _r(v) for k, v in plan.weights_after.items()},
        "trades": [trade_to_dict(t) for t in plan.trades],
        "total_cost": _r(plan.total_cost),
        "realized_short_term": _r(plan.realized_short_term),
        "realized_long_term": _r(plan.realized_long_term),
        "estimated_tax": _r(plan.estimated_tax),
        "cash_after": {k: _r(v) for k, v in plan.holdings_after.cash.items()},
        "warnings": list(plan.warnings),
    }


def rebalance_to_dict(result: RebalanceResult) -> dict[str, Any]:
    """The ``poise rebalance --json`` object with the household's name, its policy and the
    price-data warnings: what every door returns for a plan."""
    out = plan_to_dict(result.plan)
    out["household"] = result.household.name
    out["policy"] = result.household.policy.describe()
    out["data_warnings"] = list(result.data_warnings)
    return out


def harvest_to_dict(result: HarvestResult) -> dict[str, Any]:
    """The ``poise harvest --json`` object (keys fixed by DESIGN.md; more may be added)."""
    plan = result.plan
    return {
        "as_of": plan.as_of.isoformat(),
        "trades": [trade_to_dict(t) for t in plan.trades],
        "harvested_short_term": _r(plan.harvested_short_term),
        "harvested_long_term": _r(plan.harvested_long_term),
        "estimated_tax_saving": _r(plan.estimated_tax_saving),
        "blocked": [
            {
                "account": b.account,
                "symbol": b.symbol,
                "reason": b.reason,
                "loss": _r(b.loss),
                "until": b.until.isoformat() if b.until else None,
            }
            for b in plan.blocked
        ],
        "total_cost": _r(plan.total_cost),
        "cash_after": {k: _r(v) for k, v in plan.holdings_after.cash.items()},
        "warnings": list(plan.warnings),
        "household": result.household.name,
    }


def backtest_to_dict(outcome: BacktestOutcome) -> dict[str, Any]:
    """The ``poise backtest --json`` object (keys fixed by DESIGN.md; more may be added)."""
    from poise.report._results import backtest_result_to_dict

    return backtest_result_to_dict(outcome.result)


def compare_to_dict(outcome: CompareOutcome) -> dict[str, Any]:
    """Several backtests: the household and one object per rule, with its ``spec``."""
    from poise.report._results import backtest_result_to_dict

    return {
        "household": outcome.household.name,
        "policies": [
            {"spec": spec, **backtest_result_to_dict(r)} for spec, r in outcome.results.items()
        ],
    }


def attribution_to_dict(result: AttributionResult) -> dict[str, Any]:
    """The ``poise attribution --json`` object (keys fixed by DESIGN.md; more may be added)."""
    from poise.report._results import backtest_attribution_to_dict

    return backtest_attribution_to_dict(result.attribution)


def _shock_to_dict(s: ShockResult) -> dict[str, Any]:
    plan = s.plan
    return {
        "name": s.name,
        "shock": dict(s.shock),
        "value_before": s.value_before,
        "value_after": s.value_after,
        "change_value": s.change_value,
        "change": s.change,
        "groups": {k: float(v) for k, v in s.group_change_value.items()},
        "weights_after": {k: float(v) for k, v in s.weights_after.items()},
        "triggered": plan.triggered,
        "reasons": list(plan.reasons),
        "trades": [
            {
                "account": t.account,
                "symbol": t.symbol,
                "side": t.side.value,
                "quantity": t.quantity,
                "price": t.price,
                "value": t.value,
                "cost": t.cost,
            }
            for t in plan.trades
        ],
        "total_cost": plan.total_cost,
        "estimated_tax": plan.estimated_tax,
        "concentration": [b.message for b in s.breaches],
    }


def stress_to_dict(result: StressResult) -> dict[str, Any]:
    """The ``poise stress --json`` object: every section (a skipped one is empty or null)."""
    from poise.report._results import monte_carlo_to_dict, overlay_to_dict, replay_to_dict

    hh = result.household
    mc, overlay = result.montecarlo, result.overlay
    return {
        "household": hh.name,
        "policy": hh.policy.describe(),
        "as_of": result.as_of.isoformat(),
        "value": result.value,
        "weights": dict(result.weights),
        "data_quality": [
            {
                "issue": w.issue.value,
                "symbol": w.symbol,
                "date": w.day.isoformat() if w.day else None,
                "message": w.message,
            }
            for w in result.quality
        ],
        "concentration": list(result.concentration),
        "shocks": [_shock_to_dict(s) for s in result.shocks],
        "crises": [replay_to_dict(c) for c in result.crises],
        "crises_skipped": [{"name": w.name, "reason": why} for w, why in result.crises_skipped],
        "monte_carlo": monte_carlo_to_dict(mc) if mc is not None else None,
        "overlay": overlay_to_dict(overlay) if overlay is not None else None,
    }


def _finite(x: float | None) -> float | None:
    return x if x is not None and math.isfinite(x) else None


def _frontier_to_list(frontier: tuple[FrontierPoint, ...], rf: float) -> list[dict[str, Any]]:
    return [
        {
            "expected_return": p.expected_return,
            "volatility": p.volatility,
            "sharpe": (p.expected_return - rf) / p.volatility if p.volatility > 0 else None,
            "weights": p.weights,
        }
        for p in frontier
    ]


def optimize_to_dict(result: OptimizeResult, *, frontier: bool = False) -> dict[str, Any]:
    """The ``poise optimize --json`` object (``model`` and ``weights`` fixed by DESIGN.md);
    with ``frontier`` also the efficient frontier."""
    fit, spec = result.fit, result.spec
    c = spec.constraints
    out: dict[str, Any] = {
        "model": str(fit.model),
        "covariance": str(fit.covariance),
        "start": fit.start.isoformat(),
        "end": fit.end.isoformat(),
        "observations": fit.observations,
        "weights": fit.weights,
        "risk_contributions": {s: _finite(v) for s, v in fit.risk_contributions.items()},
        "expected_return": fit.expected_return,
        "volatility": fit.volatility,
        "sharpe": _finite(fit.sharpe),
        "risk_free_rate": spec.risk_free_rate,
        "constraints": {
            "min_weight": c.min_weight,
            "max_weight": c.max_weight,
            "asset_min": dict(c.asset_min),
            "asset_max": dict(c.asset_max),
            "groups": [
                {
                    "name": g.name,
                    "symbols": list(g.symbols),
                    "min": g.min_weight,
                    "max": g.max_weight,
                }
                for g in c.groups
            ],
            "target_volatility": c.target_volatility,
            "target_return": c.target_return,
        },
        "risk_budget": dict(spec.risk_budget),
        "views": [str(v) for v in spec.views],
        "notes": list(fit.notes),
    }
    if frontier:
        out["frontier"] = _frontier_to_list(result.frontier, spec.risk_free_rate)
    return out


def profile_to_dict(
    profile: RiskProfile,
    goals: Sequence[Goal] = (),
    glide_path: Sequence[tuple[date, float]] = (),
    allocation: GlidePathAllocation | None = None,
) -> dict[str, Any]:
    """The ``poise profile --json`` object: the questionnaire's score, band and split, the
    goals, and the glide path (``(day, growth share)`` steps), each step with its targets
    when the household's own glide-path ``allocation`` is given."""
    return {
        "score": profile.score,
        "band": profile.band,
        "growth_share": profile.growth_share,
        "defensive_share": profile.defensive_share,
        "answers": dict(profile.answers),
        "goals": [
            {
                "name": g.name,
                "kind": str(g.kind),
                "date": g.target_date.isoformat(),
                "target_amount": g.target_amount,
                "liquidity": g.liquidity,
            }
            for g in goals
        ],
        "glide_path": [
            {
                "date": d.isoformat(),
                "growth_share": share,
                **({"targets": allocation.targets_for(share)} if allocation is not None else {}),
            }
            for d, share in glide_path
        ],
    }
