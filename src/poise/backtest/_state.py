"""The mutable state of one backtest run, and the few operations every step shares.

Timing: day *i*'s steps see prices up to and including the close of day *i* (never later);
trades fill at that close; the value recorded for day *i* is after everything done that day.

Prices missing on a day are handled so:

- before a symbol's first price (not yet listed) it cannot be held or bought; its target weight
  is spread over the other targets (cash included) in proportion to theirs, and the symbol
  joins the portfolio at the first rebalance or deposit after it lists (its listing day is a
  check day, when the targets change and a band policy can trigger);
- a gap after a symbol's first price is filled with its last close (a held position keeps its
  last value, as in a trading halt).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date

import numpy as np
import pandas as pd

from poise.backtest._screen import DayInfo
from poise.backtest._tax import TaxLedger
from poise.model import CASH, Holdings, Household, Lot, Plan, Side, Trade
from poise.plan import CashFlow
from poise.policy import Decision, Policy, PolicyContext

__all__ = ["BacktestState", "TradeKind"]

_EPOCH_ORDINAL = date(1970, 1, 1).toordinal()


class TradeKind:
    """What a trade was for (the ``kind`` column of ``BacktestResult.trades``)."""

    INITIAL = "initial"
    REBALANCE = "rebalance"
    CASH_FLOW = "cash_flow"
    TAX = "tax"


@dataclass(eq=False)
class BacktestState:
    """Everything a run knows at the current day; steps read and change it.

    ``prices`` covers the whole price table (history before the backtest's first day
    included, so that policies and models can look back); ``offset`` is the row of the first
    backtest day. Day indices ``i`` count from the backtest's first day.
    """

    household: Household
    policy: Policy
    universe: tuple[str, ...]
    prices: np.ndarray  # (rows, universe) closes, gaps carried forward, NaN before listing
    frame: pd.DataFrame  # the same table as given (for models fitted on prices)
    offset: int
    days: np.ndarray  # datetime64[D] of the backtest days
    holdings: Holdings
    base_targets: dict[str, float]
    ledger: TaxLedger
    info: DayInfo = field(init=False)
    targets: dict[str, float] = field(default_factory=dict)
    last_rebalanced: date | None = None
    last_fit: date | None = None
    # today
    i: int = 0
    flows_today: list[CashFlow] = field(default_factory=list)
    # the policy's view: symbols (CASH last), their price columns, targets, quantities
    names: tuple[str, ...] = ()
    cols: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    target_w: np.ndarray = field(default_factory=lambda: np.zeros(0))
    qty_names: np.ndarray = field(default_factory=lambda: np.zeros(0))
    cash_total: float = 0.0
    _history: np.ndarray | None = None
    # records
    segments: list[tuple[int, np.ndarray, float]] = field(default_factory=list)
    trade_batches: list[tuple[date, str, str | None, tuple[Trade, ...]]] = field(
        default_factory=list
    )
    rebalance_rows: list[tuple[object, ...]] = field(default_factory=list)
    flow_rows: list[tuple[date, str, float, float]] = field(default_factory=list)
    tax_rows: list[tuple[int, str, float, date | None]] = field(default_factory=list)
    target_rows: list[tuple[date, dict[str, float]]] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.info = DayInfo(self.days)
        self._col = {s: k for k, s in enumerate(self.universe)}
        finite = np.isfinite(self.prices)
        first = finite.argmax(axis=0) if finite.size else np.zeros(len(self.universe), int)
        never = ~finite.any(axis=0) if finite.size else np.ones(len(self.universe), bool)
        self._listed_from = np.where(never, np.iinfo(np.int64).max, first).astype(np.int64)
        self._zero_prices = np.where(finite, self.prices, 0.0)
        self._all_listed_from = int(self._listed_from.max(initial=0)) - self.offset
        self._non_taxable = frozenset(a.id for a in self.household.accounts if not a.taxable)
        self._ordinals = (self.days.astype(np.int64) + _EPOCH_ORDINAL).tolist()
        self._q = np.zeros(1)
        self._index: dict[str, int] = {}
        self._new_lots = 0
        self._last_trades: tuple[Trade, ...] = ()

    # ----- days -------------------------------------------------------------------------
    @property
    def n_days(self) -> int:
        return int(self.days.size)

    def day(self, i: int) -> date:
        return date.fromordinal(self._ordinals[i])

    @property
    def today(self) -> date:
        return self.day(self.i)

    @property
    def previous_day(self) -> date | None:
        return self.day(self.i - 1) if self.i > 0 else None

    def listed(self, symbol: str, i: int) -> bool:
        return bool(self._listed_from[self._col[symbol]] <= self.offset + i)

    def listing_days(self) -> np.ndarray:
        """Backtest days (after the first) on which a universe symbol gets its first price."""
        days = self._listed_from - self.offset
        return np.unique(days[(days > 0) & (days < self.n_days)])

    def price_map(self, i: int) -> dict[str, float]:
        """Closes of day ``i`` of every listed universe symbol."""
        row = self.prices[self.offset + i]
        if i >= self._all_listed_from:
            return dict(zip(self.universe, row.tolist(), strict=True))
        return {s: float(row[k]) for s, k in self._col.items() if np.isfinite(row[k])}

    def frame_until(self, i: int) -> pd.DataFrame:
        """The price table up to and including day ``i`` (for fitting models)."""
        return self.frame.iloc[: self.offset + i + 1]

    # ----- targets and the policy's view ------------------------------------------------
    def set_targets(self, targets: Mapping[str, float], i: int) -> None:
        """Use ``targets`` from day ``i``: unlisted symbols' weights are spread pro rata."""
        listed = {s: w for s, w in targets.items() if s == CASH or self.listed(s, i)}
        total = sum(listed.values())
        if len(listed) < len(targets) and total > 0:
            listed = {s: w / total for s, w in listed.items()}
        elif total <= 0:
            listed = {CASH: 1.0}
        if listed != self.targets:
            self.targets = listed
            day = self.day(i)
            if self.target_rows and self.target_rows[-1][0] == day:
                self.target_rows.pop()
            self.target_rows.append((day, dict(listed)))
            self.refresh_view()

    def refresh_view(self) -> None:
        """Recompute the policy's symbols, targets and quantities from the holdings."""
        held = self.holdings.symbols
        symbols = [s for s in self.targets if s != CASH]
        symbols += [s for s in held if s not in self.targets]
        names = (*symbols, CASH)
        if names != self.names:
            self.names = names
            self._index = {s: k for k, s in enumerate(symbols)}
            self.cols = np.array([self._col[s] for s in symbols], dtype=np.int64)
            self._history = None
        self.target_w = np.array([self.targets.get(s, 0.0) for s in names])
        self.refresh_quantities()

    def refresh_quantities(self) -> bool:
        """Quantities per symbol of the view from the holdings; False (and nothing changed)
        when a held symbol is not in the view."""
        index = self._index
        sums = [0.0] * len(self.names)  # a list: numpy's item access costs more per lot
        for lot in self.holdings.lots:
            k = index.get(lot.symbol)
            if k is None:
                return False
            sums[k] += lot.quantity
        self.cash_total = float(sum(self.holdings.cash.values()))
        qty = np.array(sums, dtype=float)
        qty[-1] = self.cash_total
        self._q = qty
        self.qty_names = qty[:-1]
        return True

    def weights(self, i: int) -> np.ndarray:
        """Weights (names order, CASH last) at the close of day ``i`` with today's holdings
        (the same arithmetic as a row of ``weights_block``, so that screens see exactly the
        same numbers)."""
        values = self._history_matrix()[self.offset + i] * self._q
        total = values.sum()
        if total <= 0:
            values[:] = 0.0
        else:
            values /= total
        return values

    def weights_block(self, lo: int, hi: int) -> np.ndarray:
        """Weights on days ``[lo, hi)`` if the holdings stayed as they are (one row per day).

        Every symbol of ``names`` is listed from the current day on (unlisted ones are never
        in ``names``), so the rows hold no missing price."""
        values = self._history_matrix()[self.offset + lo : self.offset + hi] * self._q
        total = values.sum(axis=1)
        if total.min(initial=np.inf) > 0:  # the usual case: no empty day to guard against
            values /= total[:, None]
            return values
        with np.errstate(divide="ignore", invalid="ignore"):
            values /= total[:, None]
        empty = total <= 0
        if empty.any():
            values[empty] = 0.0
        return values

    def _history_matrix(self) -> np.ndarray:
        if self._history is None:
            hist = np.ones((self.prices.shape[0], len(self.names)))
            hist[:, :-1] = self.prices[:, self.cols]
            self._history = hist
        return self._history

    def history(self, i: int) -> np.ndarray:
        """Prices of ``names`` up to and including day ``i`` (a cash column of 1.0 last)."""
        return self._history_matrix()[: self.offset + i + 1]

    def context(self, i: int) -> PolicyContext:
        """What the policy sees at the close of day ``i``, before that day's trades (a held
        harvest substitute counted in its primary, see ``poise.plan._taxaware.group_context``)."""
        context = PolicyContext(
            self.day(i),
            self.names,
            self.weights(i),
            self.target_w,
            self.last_rebalanced,
            self.day(i - 1) if i > 0 else None,
            self.history(i),
        )
        if self.household.harvest.substitutes:
            from poise.plan._taxaware import group_context

            context = group_context(context, self.household, self.targets)
        return context

    # ----- moving holdings forward --------------------------------------------------------
    def account_value(self, account: str, i: int) -> float:
        row = self._zero_prices[self.offset + i]
        value = float(self.holdings.cash.get(account, 0.0))
        for lot in self.holdings.lots:
            if lot.account == account:
                value += lot.quantity * row[self._col[lot.symbol]]
        return value

    def apply(self, plan: Plan, kind: str, reason: str | None = None) -> None:
        """Take ``plan``'s holdings as the new state and record its trades and gains."""
        day = plan.as_of
        self._last_trades = plan.trades
        self.holdings = self._compact(plan.holdings_after)
        self.record_trades(day, plan.trades, kind, reason)
        self.ledger.record(day.year, plan.trades)
        if not self.refresh_quantities():  # a held symbol the view does not show yet
            self.refresh_view()
        for warning in plan.warnings:
            self.warnings.append(f"{day}: {warning}")

    def set_cash(self, account: str, amount: float) -> None:
        cash = dict(self.holdings.cash)
        cash[account] = amount
        self.holdings = Holdings(self.holdings.lots, cash)
        self.refresh_quantities()

    def record_trades(
        self, day: date, trades: Sequence[Trade], kind: str, reason: str | None = None
    ) -> None:
        """Keep ``trades`` for ``BacktestResult.trades`` (``reason`` replaces theirs)."""
        if trades:
            self.trade_batches.append((day, kind, reason, tuple(trades)))

    def trade_columns(self, reasons: bool = True) -> dict[str, object]:
        """All recorded trades, column by column (``TRADE_COLUMNS`` order; the reasons are
        cheap here, ``reasons`` is for ``ArrayState``'s sake)."""
        trades = [t for *_, batch in self.trade_batches for t in batch]
        sizes = [len(batch) for *_, batch in self.trade_batches]
        worded = [
            t.reason if r is None else r for _, _, r, batch in self.trade_batches for t in batch
        ]
        quantity = [t.quantity for t in trades]
        price = [t.price for t in trades]
        return {
            "date": np.repeat(
                np.array([d for d, *_ in self.trade_batches], dtype="datetime64[D]"), sizes
            ),
            "account": [t.account for t in trades],
            "symbol": [t.symbol for t in trades],
            "side": [t.side.value for t in trades],
            "quantity": quantity,
            "price": price,
            "value": (np.array(quantity) * np.array(price)).tolist(),
            "cost": [t.cost for t in trades],
            "realized_short_term": [t.realized_short_term for t in trades],
            "realized_long_term": [t.realized_long_term for t in trades],
            "reason": worded,
            "kind": np.repeat(np.array([k for _, k, *_ in self.trade_batches]), sizes),
        }

    def _compact(self, holdings: Holdings) -> Holdings:
        """Merge the lots of each (account, symbol) in accounts where lot identity has no
        tax meaning (tax-deferred and tax-free): keeps the state small over long runs. Done
        only once lots pile up (it changes no figure: gains there are never taxed)."""
        if not self._non_taxable:
            return holdings
        # each buy opens a lot; merge once there may be more than two per symbol
        self._new_lots += sum(
            1 for t in self._last_trades if t.side is Side.BUY and t.account in self._non_taxable
        )
        if self._new_lots <= len(self.universe) + 8:
            return holdings
        self._new_lots = 0
        merged: dict[tuple[str, str], Lot] = {}
        keep: list[Lot] = []
        changed = False
        for lot in holdings.lots:
            if lot.account not in self._non_taxable:
                keep.append(lot)
                continue
            key = (lot.account, lot.symbol)
            prior = merged.get(key)
            if prior is None:
                merged[key] = lot
            else:
                changed = True
                merged[key] = Lot(
                    lot.account,
                    lot.symbol,
                    prior.quantity + lot.quantity,
                    prior.cost_basis + lot.cost_basis,
                    min(prior.acquired, lot.acquired),
                )
        if not changed:
            return holdings
        return Holdings((*keep, *merged.values()), holdings.cash)

    def end_day(self, i: int) -> None:
        """Record the holdings that day ``i`` closes with (they last until the next event)."""
        qty = np.zeros(len(self.universe))
        qty[self.cols] = self.qty_names
        self.segments.append((i, qty, self.cash_total))

    def decide(self, i: int) -> Decision:
        return self.policy.decide(self.context(i))
