"""Household, accounts, lots, trades and plans: immutable value objects."""

from poise.model._fill import Fill
from poise.model._holdings import Holdings, Lot
from poise.model._household import (
    CASH,
    MAX_SPREAD_BPS,
    Account,
    AccountKind,
    HarvestRules,
    Household,
    LotMethod,
    OptimizeRules,
    PlanMethod,
    TaxEfficiency,
    TaxRules,
    TradingRules,
)
from poise.model._reason import Reason, ReasonKind
from poise.model._trade import LotSale, Plan, Side, Trade

__all__ = [
    "CASH",
    "MAX_SPREAD_BPS",
    "Account",
    "AccountKind",
    "Fill",
    "HarvestRules",
    "Holdings",
    "Household",
    "Lot",
    "LotMethod",
    "LotSale",
    "OptimizeRules",
    "Plan",
    "PlanMethod",
    "Reason",
    "ReasonKind",
    "Side",
    "TaxEfficiency",
    "TaxRules",
    "Trade",
    "TradingRules",
]
