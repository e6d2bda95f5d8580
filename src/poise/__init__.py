"""poise: algorithmic portfolio rebalancing for households.

The engine runs policy → plan: a policy decides *when* to rebalance, the plan decides *what*
to trade, per account and lot, with costs and taxes. Every door (CLI, backtest, service) calls
the same engine.

The names below load on first use (``poise._lazy``), so that ``import poise`` (and the
command line's start-up) does not import pandas.
"""

from typing import TYPE_CHECKING

from poise._errors import BrokerError, DataError, InputError, PlanningError, PoiseError
from poise._lazy import attach

if TYPE_CHECKING:
    from poise.io import read_holdings, read_household, read_prices
    from poise.model import CASH, Holdings, Household, Lot, Plan, Trade
    from poise.plan import CashFlow, apply_trades, plan_rebalance

__getattr__, __dir__ = attach(
    __name__,
    {
        "poise.io": ["read_holdings", "read_household", "read_prices"],
        "poise.model": ["CASH", "Holdings", "Household", "Lot", "Plan", "Trade"],
        "poise.plan": ["CashFlow", "apply_trades", "plan_rebalance"],
    },
)

__all__ = [
    "CASH",
    "BrokerError",
    "CashFlow",
    "DataError",
    "Holdings",
    "Household",
    "InputError",
    "Lot",
    "Plan",
    "PlanningError",
    "PoiseError",
    "Trade",
    "apply_trades",
    "plan_rebalance",
    "read_holdings",
    "read_household",
    "read_prices",
]

__version__ = "0.1.0"
