"""Tax-loss harvesting in a backtest, and the after-tax view of a run.

``Harvest`` is a step of the daily loop (see ``_steps.py``): on its own schedule (every
trading day by default, or every n-th) it runs ``poise.plan.plan_harvest`` on the day's
holdings and fills the trades at that day's close, exactly as ``poise harvest`` would have
proposed them. The wash-sale calendar sees the run's own trades of the last 61 days
(``recent_transactions``); the rebalancing step sees them too while harvesting is on, so that
no rebalance buys back a harvested symbol inside its window.

Days are screened: a day is a harvest day only when some taxable lot of a symbol with a
declared substitute is at a loss passing ``min_loss``, ``min_loss_fraction`` and (at the
higher of the two rates, an upper bound) ``min_net_benefit``. Screening never changes a result.
"""

from __future__ import annotations

from datetime import timedelta
from weakref import WeakKeyDictionary

import numpy as np

from poise.backtest._state import BacktestState
from poise.model import Side
from poise.plan import plan_harvest
from poise.tax import Transaction, annual_tax, is_long_term

__all__ = ["HARVEST", "Harvest", "after_tax_values", "harvested_by_year", "recent_transactions"]

HARVEST = "harvest"
"""``kind`` of harvesting trades in ``BacktestResult.trades``."""


# Transactions of each recorded trade batch, per run (batches are only ever appended).
_BATCHES: WeakKeyDictionary[BacktestState, dict[int, list[Transaction]]] = WeakKeyDictionary()


def recent_transactions(state: BacktestState, days: int = 61) -> list[Transaction]:
    """The run's trades of the last ``days`` calendar days (for the wash-sale rule)."""
    since = state.today - timedelta(days=days)
    cache = _BATCHES.setdefault(state, {})
    out: list[list[Transaction]] = []
    for n in range(len(state.trade_batches) - 1, -1, -1):
        day, _kind, _reason, trades = state.trade_batches[n]
        if day < since:
            break
        if n not in cache:
            cache[n] = [Transaction.from_trade(t, day) for t in trades]
        out.append(cache[n])
    return [t for batch in reversed(out) for t in batch]


class Harvest:
    """Harvest tax losses on every ``every``-th trading day (1 = daily checks)."""

    def __init__(self, state: BacktestState, every: int = 1) -> None:
        if every < 1:
            raise ValueError("every must be a positive number of trading days")
        self.every = every
        hh = state.household
        subs = hh.harvest.substitutes
        self.symbols = {s for s in subs if subs[s]}
        self.cols = {s: k for k, s in enumerate(state.universe)}
        self.taxable = frozenset(a.id for a in hh.accounts if a.taxable)
        self.rate = max(hh.tax.short_term_rate, hh.tax.long_term_rate)

    def schedule(self, state: BacktestState) -> np.ndarray:
        return np.zeros(0, dtype=np.int64)

    def due(self, state: BacktestState, lo: int, hi: int) -> np.ndarray | None:
        """Days of ``[lo, hi)`` on which some taxable lot could be harvested."""
        rules = state.household.harvest
        lots = [
            lot
            for lot in state.holdings.lots
            if lot.account in self.taxable
            and lot.symbol in self.symbols
            and lot.symbol in self.cols
        ]
        if not lots or not rules.enabled:
            return None
        cols = np.array([self.cols[lot.symbol] for lot in lots])
        quantity = np.array([lot.quantity for lot in lots])
        basis = np.array([lot.cost_basis for lot in lots])
        block = state.prices[state.offset + lo : state.offset + hi][:, cols]
        value = np.nan_to_num(block, nan=np.inf) * quantity
        loss = basis - value
        cost = 2 * state.household.trading.costs.costs(value)  # sell and buy back
        ok = (
            (loss > max(rules.min_loss, 1e-9))
            & (loss >= rules.min_loss_fraction * basis)
            & (loss * self.rate - cost >= rules.min_net_benefit)
        )
        mask = ok.any(axis=1)
        if self.every > 1:
            mask &= (np.arange(lo, hi) % self.every) == 0
        return mask

    def run(self, state: BacktestState, i: int) -> None:
        if i == 0 or (self.every > 1 and i % self.every):
            return
        mask = self.due(state, i, i + 1)
        if mask is None or not mask[0]:
            return
        plan = plan_harvest(
            state.household,
            state.holdings,
            state.price_map(i),
            state.today,
            transactions=recent_transactions(state),
        )
        if plan.trades:
            state.apply(plan.as_plan(), HARVEST)


def after_tax_values(state: BacktestState, final_value: float) -> tuple[float, float]:
    """After-tax final value (without, with) liquidation at the last close.

    Without liquidation: the final value less the last year's tax still due (and plus its
    deduction's saving when savings are reinvested). With liquidation: every taxable lot is
    also sold at the last close (spread and commission charged), its gains added to the last
    year's, and that year's tax worked out with the losses carried in.
    """
    ledger = state.ledger
    last = state.day(state.n_days - 1)
    hh = state.household
    ledger.close_year(last.year)
    year = ledger.years[last.year]
    credit = getattr(ledger, "credit_savings", False)
    due = year.capital_gains_tax - (year.ordinary_tax_saving if credit else 0.0)
    without = final_value - due
    row = state.price_map(state.n_days - 1)
    st, lt, costs = year.realized_short_term, year.realized_long_term, 0.0
    taxable = {a.id for a in hh.accounts if a.taxable}
    for lot in state.holdings.lots if taxable else ():
        if lot.account not in taxable:
            continue
        value = lot.quantity * row[lot.symbol]
        cost = hh.trading.cost(value)
        costs += cost
        gain = value - cost - lot.cost_basis
        if is_long_term(lot.acquired, last):
            lt += gain
        else:
            st += gain
    liquidated = annual_tax(st, lt, hh.tax, year.carried_in, last.year)
    tax = liquidated.capital_gains_tax - (liquidated.ordinary_tax_saving if credit else 0.0)
    return without, final_value - costs - tax


def harvested_by_year(state: BacktestState) -> dict[int, float]:
    """Losses harvested per year (negative): the losses recognised by harvesting sells
    (a swap-back that realises a gain counts as zero)."""
    out: dict[int, float] = {}
    for day, kind, _reason, trades in state.trade_batches:
        if kind != HARVEST:
            continue
        for t in trades:
            if t.side is Side.SELL:
                loss = min(t.realized_short_term + t.realized_long_term, 0.0)
                out[day.year] = out.get(day.year, 0.0) + loss
    return out
