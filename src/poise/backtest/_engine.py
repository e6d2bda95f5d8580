"""The backtest: the live loop (policy → plan → fills) replayed over a price history.

Timing, as everywhere in poise: on day *t* the policy decides at the close with data up to
and including *t*, and trades fill at that close; the first day invests the initial amount
to target; calendar rules fire on the first trading day of each new period; scheduled cash
flows land at the close of the first trading day of their period and are placed cash-flow
first by the plan; a year's taxes are paid on the first trading day of the next year.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import date

import numpy as np
import pandas as pd

from poise._errors import InputError
from poise._numbers import check_number
from poise._progress import ProgressCallback, Throttled
from poise.backtest._build import build_result
from poise.backtest._compiled import CompiledStretch, advance, stretch_for
from poise.backtest._fast import ArrayState, array_steps, uses_arrays
from poise.backtest._flows import ScheduledFlow
from poise.backtest._result import BacktestResult
from poise.backtest._state import BacktestState
from poise.backtest._steps import PayTaxes, Step, default_steps
from poise.backtest._tax import TaxLedger
from poise.io import case_note
from poise.model import CASH, Holdings, Household
from poise.policy import Policy

__all__ = ["run_backtest"]

_FIRST_BLOCK = 32
_MAX_BLOCK = 4096


def _universe(household: Household, columns: pd.Index) -> tuple[list[str], list[str]]:
    """The symbols a backtest prices: targets and model symbols (they must have prices),
    then the harvest substitutes that have a price column. Returns them and the substitutes
    left out for want of prices (never bought, as ``poise rebalance`` and ``harvest`` do)."""
    symbols = [s for s in household.targets if s != CASH]
    extra = getattr(household.allocation, "symbols", None) if household.allocation else None
    for sym in extra or ():
        if sym not in symbols and sym != CASH:
            symbols.append(sym)
    unpriced: list[str] = []
    if household.harvest.enabled:  # harvesting buys declared substitutes: they need prices
        for alternates in household.harvest.substitutes.values():
            for sym in alternates:
                if sym in symbols or sym in unpriced:
                    continue
                (symbols if sym in columns else unpriced).append(sym)
    return symbols, unpriced


def _check_prices(prices: pd.DataFrame, symbols: Sequence[str]) -> pd.DataFrame:
    if not isinstance(prices, pd.DataFrame) or not isinstance(prices.index, pd.DatetimeIndex):
        raise InputError(
            "prices must be a wide table indexed by date (use poise.io.read_prices)",
            field="prices",
        )
    missing = [s for s in symbols if s not in prices.columns]
    if missing:
        raise InputError(
            f"no price column for {', '.join(missing)}; add their prices or remove them from "
            "the targets" + case_note(missing[0], prices.columns),
            field="prices",
        )
    if not prices.index.is_monotonic_increasing or prices.index.has_duplicates:
        raise InputError("dates must be strictly ascending", field="prices")
    return prices


def _closes(frame: pd.DataFrame, universe: list[str]) -> np.ndarray:
    """The closes of ``universe`` as a new array, each gap filled with the last close before
    it (``DataFrame.ffill``; NaN before a symbol's first price)."""
    if list(frame.columns) == universe:
        table = frame.to_numpy(dtype=float, copy=True)
    else:
        table = frame[universe].to_numpy(dtype=float, copy=True)
    missing = np.isnan(table)
    if missing.any():
        rows = np.where(missing, 0, np.arange(table.shape[0])[:, None])
        np.maximum.accumulate(rows, axis=0, out=rows)
        table = table[rows, np.arange(table.shape[1])]
    return table


def _window(index: pd.DatetimeIndex, start: date | None, end: date | None) -> tuple[int, int]:
    lo = 0 if start is None else int(index.searchsorted(pd.Timestamp(start), side="left"))
    hi = len(index) if end is None else int(index.searchsorted(pd.Timestamp(end), side="right"))
    if lo >= hi:
        first, last = index[0].date(), index[-1].date()
        raise InputError(
            f"no trading days between {start or first} and {end or last} (prices cover "
            f"{first} to {last}); choose `start` and `end` inside that range",
            field="start" if start is not None else "end",
        )
    return lo, hi


def run_backtest(
    household: Household,
    prices: pd.DataFrame,
    *,
    start: date | None = None,
    end: date | None = None,
    initial: float = 100_000.0,
    flows: Sequence[ScheduledFlow] = (),
    policy: Policy | None = None,
    progress: ProgressCallback | None = None,
    risk_free: float = 0.0,
    screen: bool = True,
    steps: Sequence[Step] | None = None,
    reinvest_tax_savings: bool = False,
) -> BacktestResult:
    """Replay ``household``'s policy and plan over ``prices``.

    The run starts with ``initial`` in cash in the household's first account, invests it to
    target at the first day's close, then on each day asks the policy and, on trigger days and
    cash-flow days, plans and fills through ``poise.plan.plan_rebalance`` (costs, whole or
    fractional shares, lots and realized gains as the household's rules say).

    Parameters
    ----------
    household : Household
        Accounts, targets, trading and tax rules.
    prices : DataFrame
        Adjusted closes, one row per trading day, one column per symbol (extra columns are
        ignored). Rows before ``start`` are history the policy and models may look back on.
    start, end : date, optional
        First and last day of the backtest (default: the whole table).
    initial : float
        Cash in the first account before the first day.
    flows : sequence of ScheduledFlow
        Recurring contributions and withdrawals.
    policy : Policy, optional
        The rule to replay instead of ``household.policy``.
    progress : ProgressCallback, optional
        Told ``(label, days done, days)`` as the replay advances (see ``poise._progress``).
    risk_free : float
        Annual risk-free rate for Sharpe and Sortino.
    screen : bool
        Skip days on which a built-in policy provably cannot trigger (same result, faster;
        see ``poise.backtest._screen``). False asks the policy every day.
    steps : sequence of Step, optional
        Replace the daily loop's steps (default ``default_steps``); for extensions.
    reinvest_tax_savings : bool
        Credit the value of each year's net capital loss deducted against ordinary income
        (up to 3,000 at ``ordinary_income_rate``) to the first taxable account when the year's
        taxes are paid, as if the tax it saves on other income were invested (the convention
        of robo-advisors' harvesting figures). Off: the saving is only reported.

    Returns
    -------
    BacktestResult

    Raises
    ------
    InputError
        Missing price columns, an empty date window, a bad amount or an unknown account.
    """
    if not isinstance(initial, int | float) or not math.isfinite(initial) or initial <= 0:
        raise InputError(f"must be a positive amount, got {initial!r}", field="initial")
    check_number(initial, field="initial")
    if not math.isfinite(risk_free) or abs(risk_free) >= 1:
        raise InputError(
            f"is an annual rate as a fraction (0.02 for 2%), got {risk_free:g}",
            field="risk_free",
        )
    accounts = household.account_ids
    for flow in flows:
        if flow.account is not None and flow.account not in accounts:
            raise InputError(
                f"unknown account {flow.account!r}; the household has {', '.join(accounts)}",
                field="account",
            )
    policy = policy if policy is not None else household.policy
    if not isinstance(prices, pd.DataFrame):
        _check_prices(prices, ())
    universe, unpriced = _universe(household, prices.columns)
    frame = _check_prices(prices, universe)
    lo, hi = _window(pd.DatetimeIndex(frame.index), start, end)
    table = _closes(frame, universe)
    days = frame.index[lo:hi].to_numpy().astype("datetime64[D]")
    cash = {a: 0.0 for a in accounts}
    cash[accounts[0]] = float(initial)
    arrays = uses_arrays(household, steps)  # one tax-advantaged account: see _fast.py
    state = (ArrayState if arrays else BacktestState)(
        household=household,
        policy=policy,
        universe=tuple(universe),
        prices=table,
        frame=frame,
        offset=lo,
        days=days,
        holdings=Holdings((), cash),
        base_targets=dict(household.targets),
        ledger=TaxLedger(
            household.tax,
            [a.id for a in household.accounts if a.taxable],
            credit_savings=reinvest_tax_savings,
        ),
    )
    state.set_targets(state.base_targets, 0)
    state.warnings.extend(
        f"no prices for harvest substitute {sym}: it is never bought" for sym in unpriced
    )
    if steps is not None:
        loop = list(steps)
    else:
        loop = (array_steps if arrays else default_steps)(state, flows, screen)
    fast = stretch_for(state, policy, screen) if arrays and steps is None else None
    _run(state, loop, progress, fast)
    return _result(state, policy, float(initial), risk_free)


def _run(
    state: BacktestState,
    steps: Sequence[Step],
    progress: ProgressCallback | None,
    fast: CompiledStretch | None = None,
) -> None:
    """The event loop: find the next day on which some step must run (a scheduled day, or a
    day a step's screen flags), run every step on it, repeat. With ``fast`` the days between
    scheduled days run in compiled code (``_compiled.py``), and year starts are not scheduled
    (a household without a taxable account pays no tax)."""
    n = state.n_days
    parts = [s.schedule(state) for s in steps if fast is None or not isinstance(s, PayTaxes)]
    scheduled = np.unique(np.concatenate([[0], *parts]))
    scheduled = scheduled[scheduled < n].tolist()
    bar = Throttled(progress, f"backtest {state.policy.describe()}", n) if progress else None
    i, k, block = 0, 0, _FIRST_BLOCK
    try:
        while i < n:
            while k < len(scheduled) and scheduled[k] < i:
                k += 1
            nxt = scheduled[k] if k < len(scheduled) else n
            j = nxt
            if fast is not None and nxt > i:
                j = advance(state, fast, i, nxt)
                if j == nxt:
                    i = nxt
                    if bar is not None:
                        bar.advance(i)
                    continue
            elif nxt > i:
                hi = min(nxt, i + block)
                for step in steps:
                    mask = step.due(state, i, j if j < hi else hi)
                    if mask is not None and mask.any():
                        j = min(j, i + int(mask.argmax()))
                if j >= hi and hi < nxt:  # nothing in this block: look further
                    i, block = hi, min(2 * block, _MAX_BLOCK)
                    continue
                if j >= n:
                    break
            state.i = j
            for step in steps:
                step.run(state, j)
            state.end_day(j)
            i, block = j + 1, _FIRST_BLOCK
            if bar is not None:
                bar.advance(i)
    finally:
        if bar is not None:
            bar.finish()


def _result(
    state: BacktestState, policy: Policy, initial: float, risk_free: float
) -> BacktestResult:
    """The finished run's result (``_build.py``: the values now, the rest on first use)."""
    return build_result(state, policy, initial, risk_free)
