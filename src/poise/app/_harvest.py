"""The harvest use case: household, holdings and prices in; today's tax-loss harvest out."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

import pandas as pd

from poise.app._rebalance import optional_prices
from poise.io import check_acquired_by, check_transactions_by, prices_on
from poise.model import Holdings, Household
from poise.plan import HarvestPlan, plan_harvest
from poise.tax import Transaction

__all__ = ["HarvestRequest", "HarvestResult", "harvest"]


@dataclass(frozen=True, slots=True, kw_only=True)
class HarvestRequest:
    """Everything one harvest decision needs.

    Parameters
    ----------
    household : Household
        Accounts, rules and ``[harvest]`` settings (substitutes, minimum loss).
    holdings : Holdings
        Lots and cash before any trade.
    prices : DataFrame
        Adjusted closes, one row per trading day (DatetimeIndex), one column per symbol.
    as_of : date, optional
        Decision day; the last day of ``prices`` when omitted.
    transactions : sequence of Transaction
        Recent trades (at least the last 31 days) for the wash-sale rule; none may be dated
        after the decision day (``field`` ``transactions``).
    prices_source, holdings_source, transactions_source : str
        Names of the inputs, used in error messages.
    """

    household: Household
    holdings: Holdings
    prices: pd.DataFrame
    as_of: date | None = None
    transactions: Sequence[Transaction] = ()
    prices_source: str = "prices"
    holdings_source: str = "holdings"
    transactions_source: str = "transactions"


@dataclass(frozen=True, slots=True)
class HarvestResult:
    """The day's harvest, with the household it was made for."""

    household: Household
    plan: HarvestPlan


def harvest(request: HarvestRequest) -> HarvestResult:
    """Find the losses to harvest on the decision day, the substitutes to buy, and the wash
    sales that block others. Trades fill at the decision day's close.

    Raises
    ------
    InputError
        A held symbol without a price, a lot acquired after the decision day, or a transaction
        dated after it (the transactions source is named).
    """
    hh, lots, table = request.household, request.holdings, request.prices
    on, price_map = prices_on(
        table, request.as_of, list(lots.symbols), source=request.prices_source
    )
    check_acquired_by(lots, on, source=request.holdings_source, prices_source=request.prices_source)
    check_transactions_by(request.transactions, on, source=request.transactions_source)
    price_map.update(optional_prices(table, on, hh, price_map))
    plan = plan_harvest(hh, lots, price_map, on, transactions=request.transactions)
    return HarvestResult(hh, plan)
