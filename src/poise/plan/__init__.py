"""What to trade: the cash-flow-first, lot-level rebalancing plan for a whole household."""

from poise.plan._apply import apply_trades
from poise.plan._engine import plan_rebalance
from poise.plan._flows import CashFlow, waterfill
from poise.plan._harvest import Blocked, HarvestPlan, plan_harvest

__all__ = [
    "Blocked",
    "CashFlow",
    "HarvestPlan",
    "apply_trades",
    "plan_harvest",
    "plan_rebalance",
    "waterfill",
]
