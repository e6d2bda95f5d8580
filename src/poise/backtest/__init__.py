"""How a rule would have done: the live loop (policy → plan → fills) replayed over history,
with scheduled cash flows, costs, lots and annual taxes."""

from poise.backtest._engine import run_backtest
from poise.backtest._flows import Every, ScheduledFlow, flow_days
from poise.backtest._harvest import Harvest, after_tax_values, recent_transactions
from poise.backtest._result import TRADE_COLUMNS, BacktestResult
from poise.backtest._state import BacktestState, TradeKind
from poise.backtest._steps import PayTaxes, Rebalance, Step, UpdateTargets, default_steps
from poise.backtest._tax import RealizedGains, TaxLedger, tax_by_account

__all__ = [
    "TRADE_COLUMNS",
    "BacktestResult",
    "BacktestState",
    "Every",
    "Harvest",
    "PayTaxes",
    "RealizedGains",
    "Rebalance",
    "ScheduledFlow",
    "Step",
    "TaxLedger",
    "TradeKind",
    "UpdateTargets",
    "after_tax_values",
    "default_steps",
    "flow_days",
    "recent_transactions",
    "run_backtest",
    "tax_by_account",
]
