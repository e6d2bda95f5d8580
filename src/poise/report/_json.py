"""Plain-data views of results, for ``--json`` and the service."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from poise.model import Plan, Trade

if TYPE_CHECKING:
    from poise.app import RebalanceResult

__all__ = ["plan_to_dict", "rebalance_to_dict", "trade_to_dict"]


def _r(value: float, digits: int = 10) -> float:
    return round(float(value), digits) + 0.0


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
