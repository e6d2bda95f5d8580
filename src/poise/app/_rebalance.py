"""The rebalance use case: household, holdings and prices in; the day's plan out.

Every door (``poise rebalance``, the service's ``POST /households/{id}/plans``, batch runs)
builds a :class:`RebalanceRequest` and calls :func:`rebalance`; none keeps its own copy of the
steps below. Errors name request fields (``withdraw.amount``), never command-line flags.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import cast

import pandas as pd

from poise._errors import InputError
from poise._numbers import check_number
from poise.allocate import resolve_targets
from poise.app._priceday import QUALITY_LOOKBACK_DAYS, PriceDay
from poise.data import DEFAULT_MAX_PRICE_AGE_DAYS, carry_recent_prices
from poise.io import check_acquired_by, check_transactions_by, prices_on
from poise.model import CASH, Holdings, Household, Plan
from poise.plan import CashFlow, plan_rebalance
from poise.tax import Transaction

__all__ = [
    "QUALITY_LOOKBACK_DAYS",
    "PriceDay",
    "RebalanceRequest",
    "RebalanceResult",
    "cash_flows",
    "optional_prices",
    "rebalance",
]


@dataclass(frozen=True, slots=True, kw_only=True)
class RebalanceRequest:
    """Everything one rebalance decision needs.

    Parameters
    ----------
    household : Household
        Accounts, targets, policy and rules.
    holdings : Holdings
        Lots and cash before any trade.
    prices : DataFrame or PriceDay
        Adjusted closes, one row per trading day (DatetimeIndex), one column per symbol; or
        a :class:`PriceDay` prepared once for many requests (the same plan, faster).
    as_of : date, optional
        Decision day; the last day of ``prices`` when omitted. It must be a trading day (with
        a :class:`PriceDay`: its day, or omitted).
    flows : sequence of CashFlow
        Deposits and withdrawals on the decision day (see :func:`cash_flows`).
    force : bool
        Rebalance to target whatever the policy says.
    last_rebalanced : date, optional
        Day of the last rebalance (calendar policies).
    transactions : sequence of Transaction, optional
        Recent trades, for the wash-sale rule; one dated after the decision day is refused.
    prices_source, holdings_source, transactions_source : str
        Names of the inputs, used in error messages (a :class:`PriceDay` names its prices
        itself: its ``source``).
    max_price_age_days : int
        Calendar days a held or targeted symbol's last price may be older than the decision
        day (DESIGN "Prices from outside", default 5): within it, the last price is carried
        to the decision day; beyond it the request is refused, naming the symbol and its last
        date. Measured from the decision day, not from today.
    """

    household: Household
    holdings: Holdings
    prices: pd.DataFrame | PriceDay
    as_of: date | None = None
    flows: Sequence[CashFlow] = ()
    force: bool = False
    last_rebalanced: date | None = None
    transactions: Sequence[Transaction] | None = None
    prices_source: str = "prices"
    holdings_source: str = "holdings"
    transactions_source: str = "transactions"
    max_price_age_days: int = DEFAULT_MAX_PRICE_AGE_DAYS


@dataclass(frozen=True, slots=True)
class RebalanceResult:
    """The plan, with the household it was made for and warnings about the price data."""

    household: Household
    plan: Plan
    data_warnings: tuple[str, ...] = field(default=())


def cash_flows(
    accounts: Sequence[str],
    *,
    deposit: float | None = None,
    withdraw: float | None = None,
    account: str | None = None,
) -> list[CashFlow]:
    """Turn a deposit and/or a withdrawal into :class:`CashFlow` objects.

    Raises
    ------
    InputError
        ``field`` is ``account``, ``deposit.amount`` or ``withdraw.amount``: an account is
        missing or unknown, or an amount is not positive.
    """
    if deposit is None and withdraw is None:
        if account is not None:
            raise InputError("an account goes with a deposit or a withdrawal", field="account")
        return []
    if account is None:
        if len(accounts) > 1:
            raise InputError(
                f"say which account the cash flow is for: {' | '.join(accounts)}",
                field="account",
            )
        account = accounts[0]
    if account not in accounts:
        raise InputError(
            f"unknown account {account!r}; the household has {', '.join(accounts)}",
            field="account",
        )
    flows = []
    for amount, name, sign in ((deposit, "deposit", 1.0), (withdraw, "withdraw", -1.0)):
        if amount is None:
            continue
        if not amount > 0:
            raise InputError(f"must be a positive amount, got {amount:g}", field=f"{name}.amount")
        check_number(amount, field=f"{name}.amount")
        flows.append(CashFlow(account, sign * amount))
    return flows


def rebalance(request: RebalanceRequest) -> RebalanceResult:
    """Decide whether the household rebalances on the decision day and plan the trades.

    Timing: the decision sees prices up to and including the close of the decision day and
    every trade fills at that close.

    Raises
    ------
    InputError
        Bad request: a held symbol without a price (or whose last price is older than
        ``max_price_age_days`` on the decision day), a lot or a transaction dated after the
        decision day, a last rebalance after it (``field`` ``last_rebalanced``), or a
        withdrawal the account cannot meet (``field`` ``withdraw.amount``).
    """
    hh, lots = request.household, request.holdings
    day = _price_day(request)
    table = day.history if day is not None else cast(pd.DataFrame, request.prices)
    source = day.source if day is not None else request.prices_source
    targets_symbols = [s for s in hh.targets if s != CASH]
    needed = list(dict.fromkeys([*targets_symbols, *lots.symbols]))
    if hh.allocation is not None:
        needed = list(dict.fromkeys([*needed, *hh.allocation.symbols]))
    # the decision day's closes may carry a recent last close forward; the policy's history,
    # the targets' fit and the data-quality warnings read the prices as given
    closes = table
    if day is None:
        closes = carry_recent_prices(
            table, request.as_of, needed, max_age_days=request.max_price_age_days, source=source
        )
        on, price_map = prices_on(closes, request.as_of, needed, source=source)
    else:
        on, price_map = day.as_of, day.prices_of(needed, max_age_days=request.max_price_age_days)
    check_acquired_by(lots, on, source=request.holdings_source, prices_source=source)
    if request.last_rebalanced is not None and request.last_rebalanced > on:
        raise InputError(
            f"the last rebalance ({request.last_rebalanced}) is after the decision day {on}; "
            "give the date it really happened, on or before the decision day",
            field="last_rebalanced",
        )
    targets = resolve_targets(hh, table, on)
    txs = None
    if request.transactions is not None:
        check_transactions_by(request.transactions, on, source=request.transactions_source)
        txs = list(request.transactions)
        if day is None:
            price_map.update(optional_prices(closes, on, hh, price_map))
        else:
            price_map.update(day.optional_prices(hh, price_map))
    plan = plan_rebalance(
        hh,
        lots,
        price_map,
        on,
        targets=targets,
        flows=request.flows,
        force=request.force,
        last_rebalanced=request.last_rebalanced,
        history=table.loc[: pd.Timestamp(on)] if day is None else day,
        transactions=txs,
    )
    for acc_id, short in plan.unmet_withdrawals.items():
        raise InputError(
            f"the withdrawal from {acc_id} cannot be met: short by {short:,.2f} after selling "
            "what the account holds; withdraw less or from another account",
            field="withdraw.amount",
        )
    if day is None:
        from poise.risk._quality import check_prices

        recent = table.loc[: str(on)].tail(QUALITY_LOOKBACK_DAYS)
        warnings = check_prices(recent, symbols=needed, as_of=on, source=source)
    else:
        warnings = day.warnings_for(needed)
    return RebalanceResult(hh, plan, tuple(str(w) for w in warnings))


def _price_day(request: RebalanceRequest) -> PriceDay | None:
    """The request's prepared prices (None for a plain table); its day must be the
    request's."""
    day = request.prices
    if not isinstance(day, PriceDay):
        return None
    if request.as_of is not None and request.as_of != day.as_of:
        raise InputError(
            f"the prepared prices are for {day.as_of}, not {request.as_of}; prepare them for "
            "the decision day or leave `as_of` out",
            field="as_of",
        )
    return day


def optional_prices(
    table: pd.DataFrame, on: date, household: Household, known: dict[str, float]
) -> dict[str, float]:
    """Closes of the targets and substitutes that the prices table has on ``on`` (buying a
    substitute needs its price; a missing one just makes that substitute unavailable)."""
    import math
    from typing import cast

    wanted = [
        *household.targets,
        *(a for alts in household.harvest.substitutes.values() for a in alts),
    ]
    row = table.loc[pd.Timestamp(on)]
    out = {}
    for sym in wanted:
        if sym in known or sym not in table.columns:
            continue
        value = float(cast(float, row[sym]))
        if math.isfinite(value):
            out[sym] = value
    return out
