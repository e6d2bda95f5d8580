"""The backtest's array path, for households whose plans cannot depend on lots or taxes.

For a household that ``poise.plan._kernel.kernel_eligible`` accepts (one tax-deferred or
tax-free account, the heuristic plan, no harvesting, no ``[risk]`` limits, no tax-aware lot
or location choices) and the default steps, ``run_backtest`` keeps the holdings as arrays
(``ArrayState``: shares per universe symbol and the account's cash) and on event days calls
the plan's kernel (``plan_kernel``) directly (``ArrayRebalance``) instead of going through
``plan_rebalance``, which hands such households to the same kernel: there is one engine.
Trades are recorded as numbers; their reasons are worded once, at the end, exactly as the
engine words them.

Everything else is the object path's: the loop and its timing, the policy asked on the days
the screens flag, the targets, the flows, the results (tested: the same values, trades and
rebalances). Only the bookkeeping differs: one quantity per symbol instead of one lot per
buy (in a tax-advantaged account lots carry no tax meaning), so quantities can differ from
the object path's sums of lots in the last bits.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from itertools import chain
from typing import Any

import numpy as np

from poise.backtest._compiled import CompiledPlans
from poise.backtest._flows import ScheduledFlow
from poise.backtest._state import BacktestState
from poise.backtest._steps import PayTaxes, Rebalance, Step, UpdateTargets
from poise.model import CASH, Holdings, Household, Lot, Plan, Side, Trade
from poise.plan._kernel import (
    Action,
    KernelPlan,
    action_text,
    kernel_eligible,
    plan_kernel,
    reason_texts,
)
from poise.policy import Decision

__all__ = ["ArrayRebalance", "ArrayState", "array_steps", "uses_arrays"]

_USE_ARRAYS = True  # False forces the object path (tests compare the two)

_ACTION_TEXT: dict[int, str] = {a: action_text(a) for a in Action if a != Action.WITHDRAWAL}


def uses_arrays(household: Household, steps: Sequence[Step] | None) -> bool:
    """Whether ``run_backtest`` takes the array path: an eligible household, default steps."""
    return _USE_ARRAYS and steps is None and kernel_eligible(household)


class ArrayState(BacktestState):
    """``BacktestState`` whose holdings are arrays: ``quantity`` (shares per universe symbol)
    and ``cash`` (of the household's one account).

    ``holdings`` is built on demand from them (one lot per position at its average cost,
    acquired when the position was last opened); setting it loads the arrays.
    """

    def __post_init__(self) -> None:
        super().__post_init__()
        self.account = self.household.accounts[0].id
        self.quantity = np.zeros(len(self.universe))
        self.cash = 0.0
        self._opened: dict[int, None] = {}  # held positions (universe columns), opening order
        # One entry per plan with trades: (day, kind, KernelPlan, names, names' columns,
        # prices, shares held before, target weights, bands), or for a plan made as objects
        # (day, kind, reason, trades).
        self._plans: list[Any] = []
        self._load(self._given)

    # ----- holdings as arrays -------------------------------------------------------------
    @property
    def holdings(self) -> Holdings:
        return self._materialize()

    @holdings.setter
    def holdings(self, value: Holdings) -> None:
        if "quantity" not in self.__dict__:  # the dataclass __init__, before __post_init__
            self._given = value
            return
        self._load(value)
        self.refresh_view()

    def _load(self, holdings: Holdings) -> None:
        self.quantity = np.zeros(len(self.universe))
        opened: dict[int, None] = {}
        for lot in holdings.lots:
            k = self._col[lot.symbol]
            self.quantity[k] += lot.quantity
            opened[k] = None
        self._opened = opened
        self.cash = float(sum(holdings.cash.values()))

    def _materialize(self) -> Holdings:
        """The holdings as lots: one per position, at its average cost (the run's trades
        replayed), acquired on the day the position was last opened."""
        basis = np.zeros(len(self.universe))
        held = np.zeros(len(self.universe))
        opened: dict[int, date] = {}
        for day, cols, sells, quantity, price, cost in self._trade_lists():
            for k, sell, q, p, c in zip(cols, sells, quantity, price, cost, strict=True):
                if sell:
                    basis[k] *= max(held[k] - q, 0.0) / held[k] if held[k] > 0 else 0.0
                    held[k] -= q
                else:
                    if held[k] <= 1e-12:
                        opened[k] = day
                    basis[k] += q * p + c
                    held[k] += q
        lots = tuple(
            Lot(
                self.account,
                self.universe[k],
                float(self.quantity[k]),
                float(basis[k]),
                opened.get(k, self.day(0)),
            )
            for k in self._opened
            if self.quantity[k] > 0
        )
        return Holdings(lots, {self.account: self.cash})

    # ----- the policy's view ----------------------------------------------------------------
    def refresh_view(self) -> None:
        """As ``BacktestState.refresh_view``: target symbols, then held ones without a target
        in the order their positions were opened (as ``Holdings.symbols`` orders them)."""
        symbols = [s for s in self.targets if s != CASH]
        held = [self.universe[k] for k in self._opened]
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
        n = self.cols.size
        q = np.empty(n + 1)
        q[:n] = self.quantity[self.cols]
        q[n] = self.cash
        self._q = q
        self.qty_names = q[:n]
        self.cash_total = self.cash
        return True

    def account_value(self, account: str, i: int) -> float:
        if account != self.account:
            return 0.0
        return self.cash + float(self.quantity @ self._zero_prices[self.offset + i])

    def set_cash(self, account: str, amount: float) -> None:
        self.cash = amount
        self.refresh_quantities()

    def end_day(self, i: int) -> None:
        self.segments.append((i, self.quantity.copy(), self.cash))

    # ----- plans ----------------------------------------------------------------------------
    def plan(self, i: int, decision: Decision, flows: Sequence[float], kind: str) -> KernelPlan:
        """Plan with the kernel at day ``i``'s closes, fill, and keep the trades."""
        cols = self.cols
        held = self.qty_names
        price = self.prices[self.offset + i][cols]
        out = plan_kernel(
            held, price, self.cash, self.target_w, self.household.trading, decision, flows
        )
        after = out.held
        if np.count_nonzero((held > 0) != (after > 0)):  # positions opened or closed
            for j in np.flatnonzero((held > 0) & (after <= 0)).tolist():
                self._opened.pop(int(cols[j]), None)
            for j in out.index[out.n_sells :]:  # new ones join in the order they are bought
                if held[j] <= 0 < after[j]:
                    self._opened[int(cols[j])] = None
        self.quantity[cols] = after
        self.cash = out.cash
        q = np.empty(cols.size + 1)
        q[:-1] = after
        q[-1] = out.cash
        self._q = q
        self.qty_names = q[:-1]
        self.cash_total = out.cash
        if out.index:
            self._plans.append(
                (i, kind, out, self.names, cols, price, held, self.target_w, decision.half_bands)
            )
        return out

    def apply(self, plan: Plan, kind: str, reason: str | None = None) -> None:
        """A plan made as objects (by a custom step): take its holdings, keep its trades."""
        day = plan.as_of
        self._load(plan.holdings_after)
        self.refresh_view()
        self.record_trades(day, plan.trades, kind, reason)
        for warning in plan.warnings:
            self.warnings.append(f"{day}: {warning}")

    def record_trades(
        self, day: date, trades: Sequence[Trade], kind: str, reason: str | None = None
    ) -> None:
        if trades:
            self._plans.append((day, kind, reason, tuple(trades)))

    # ----- the trade table ----------------------------------------------------------------
    def word_reasons(self) -> None:
        """Fill in the reasons of the rebalances the compiled loop made (asked of the policy
        now, see ``CompiledPlans.decisions``)."""
        for entry in self._plans:
            if isinstance(entry, CompiledPlans):
                entry.decisions(self)

    def trade_columns(self, reasons: bool = True) -> dict[str, object]:
        """All recorded trades, column by column (``TRADE_COLUMNS`` order), with their
        reasons worded as the engine words them (all kernel plans at once; without
        ``reasons`` that column is None)."""
        compiled = [(n, e) for n, e in enumerate(self._plans) if isinstance(e, CompiledPlans)]
        plans = [(n, e) for n, e in enumerate(self._plans) if not isinstance(e, CompiledPlans)]
        kernel = [(n, e) for n, e in plans if len(e) != 4]
        objects = [(n, e) for n, e in plans if len(e) == 4]
        columns, sizes = self._kernel_columns([e for _, e in kernel], reasons)
        if not objects and not compiled:
            return columns
        groups = [(kernel, columns, sizes)]
        if objects:
            groups.append((objects, *_object_columns([e for _, e in objects], reasons)))
        for n, batch in compiled:
            groups.append(([(n, batch)], batch.columns(self, reasons), np.array([batch.size])))
        seq = np.concatenate([np.repeat([n for n, _ in g], z) for g, _, z in groups])
        order = np.argsort(seq, kind="stable")
        return {
            key: np.concatenate([np.asarray(c[key]) for _, c, _ in groups])[order]
            if columns[key] is not None
            else None
            for key in columns
        }

    def _kernel_columns(
        self, entries: list[tuple[Any, ...]], reasons: bool = True
    ) -> tuple[dict[str, Any], Any]:
        if not entries:
            return _object_columns([], reasons)
        plans: list[KernelPlan] = [e[2] for e in entries]
        sizes = np.array([len(p.index) for p in plans], dtype=np.int64)
        n = int(sizes.sum())
        n_symbols = np.array([e[4].size for e in entries], dtype=np.int64)
        # each trade's row in the concatenated per-plan arrays of the plans' symbols
        rows = np.fromiter(chain.from_iterable(p.index for p in plans), np.int64, count=n)
        rows += np.repeat(np.cumsum(n_symbols) - n_symbols, sizes)
        cols = np.concatenate([e[4] for e in entries])[rows]
        price = np.concatenate([e[5] for e in entries])[rows]
        held = np.concatenate([e[6] for e in entries])[rows]
        target = np.concatenate([e[7][:-1] for e in entries])[rows]
        band = None  # no plan had bands (e.g. a calendar rule)
        if any(e[8] is not None for e in entries):
            none = np.full(int(n_symbols.max()), np.inf)
            band = np.concatenate(
                [e[8][:-1] if e[8] is not None else none[: e[4].size] for e in entries]
            )[rows]
        total = np.repeat(np.array([p.total_value for p in plans]), sizes)
        positive = total > 0
        # the engine's weights before the plan: values / total (0 when there is no value)
        weights = np.where(positive, held * price / np.where(positive, total, 1.0), 0.0)
        quantity = np.fromiter(chain.from_iterable(p.quantity for p in plans), float, count=n)
        cost = np.fromiter(chain.from_iterable(p.cost for p in plans), float, count=n)
        action = np.fromiter(chain.from_iterable(p.action for p in plans), np.int64, count=n)
        position = np.arange(n) - np.repeat(np.cumsum(sizes) - sizes, sizes)
        sell = position < np.repeat(np.array([p.n_sells for p in plans]), sizes)
        symbols = np.array(self.universe, dtype=object)[cols]
        worded = None
        if reasons:
            texts = [_ACTION_TEXT.get(a, "") for a in Action]
            sold_for = np.flatnonzero(action == Action.WITHDRAWAL)
            if sold_for.size:  # a withdrawal's sells name its amount: one text per plan
                plan_of = np.repeat(np.arange(len(plans)), sizes)
                for k in sold_for.tolist():
                    p = plans[int(plan_of[k])]
                    action[k] = len(texts)
                    texts.append(action_text(Action.WITHDRAWAL, p.withdrawal, self.account))
            worded = np.array(
                reason_texts(symbols, weights, target, band, action, texts), dtype=object
            )
        days = self.days[np.array([e[0] for e in entries], dtype=np.int64)]
        return {
            "date": np.repeat(days, sizes),
            "account": np.full(n, self.account, dtype=object),
            "symbol": symbols,
            "side": np.where(sell, Side.SELL.value, Side.BUY.value).astype(object),
            "quantity": quantity,
            "price": price,
            "value": quantity * price,
            "cost": cost,
            "realized_short_term": np.zeros(n),
            "realized_long_term": np.zeros(n),
            "reason": worded,
            "kind": np.repeat(np.array([e[1] for e in entries], dtype=object), sizes),
        }, sizes

    @property
    def has_trades(self) -> bool:
        return bool(self._plans)

    def _trade_lists(
        self,
    ) -> list[tuple[date, list[int], list[bool], list[float], list[float], list[float]]]:
        """Each plan's trades: (day, universe columns, sells, quantities, prices, costs)."""
        out = []
        for entry in self._plans:
            if isinstance(entry, CompiledPlans):
                out += entry.trade_lists(self)
                continue
            if len(entry) == 4:
                day, _kind, _reason, trades = entry
                out.append(
                    (
                        day,
                        [self._col[t.symbol] for t in trades],
                        [t.side is Side.SELL for t in trades],
                        [t.quantity for t in trades],
                        [t.price for t in trades],
                        [t.cost for t in trades],
                    )
                )
                continue
            i, _kind, plan, _names, cols, price, *_ = entry
            index = plan.index
            out.append(
                (
                    self.day(i),
                    cols[index].tolist(),
                    [k < plan.n_sells for k in range(len(index))],
                    plan.quantity,
                    price[index].tolist(),
                    plan.cost,
                )
            )
        return out


def _object_columns(
    entries: list[tuple[Any, ...]], reasons: bool = True
) -> tuple[dict[str, Any], Any]:
    """The trade table's columns of plans made as objects: (day, kind, reason, trades)."""
    trades = [t for *_, batch in entries for t in batch]
    sizes = np.array([len(batch) for *_, batch in entries], dtype=np.int64)
    quantity = np.array([t.quantity for t in trades], dtype=float)
    price = np.array([t.price for t in trades], dtype=float)
    days = np.array([np.datetime64(d, "D") for d, *_ in entries], dtype="datetime64[D]")
    return {
        "date": np.repeat(days, sizes),
        "account": np.array([t.account for t in trades], dtype=object),
        "symbol": np.array([t.symbol for t in trades], dtype=object),
        "side": np.array([t.side.value for t in trades], dtype=object),
        "quantity": quantity,
        "price": price,
        "value": quantity * price,
        "cost": np.array([t.cost for t in trades], dtype=float),
        "realized_short_term": np.array([t.realized_short_term for t in trades], dtype=float),
        "realized_long_term": np.array([t.realized_long_term for t in trades], dtype=float),
        "reason": np.array(
            [t.reason if r is None else r for _, _, r, batch in entries for t in batch],
            dtype=object,
        )
        if reasons
        else None,
        "kind": np.repeat(np.array([k for _, k, *_ in entries], dtype=object), sizes),
    }, sizes


class ArrayRebalance(Rebalance):
    """``Rebalance`` on the arrays: the same decision and flows, planned by the kernel."""

    def run(self, state: BacktestState, i: int) -> None:
        assert isinstance(state, ArrayState)
        decision = self._decision(state, i)
        requested, flows = self._payable(state, i)
        if not (decision.triggered or flows):
            return
        kind = self._kind(i, decision)
        out = state.plan(i, decision, [f.amount for f in flows], kind)
        today = state.today
        if out.unmet:  # the plan's warning, as plan_rebalance words it
            state.warnings.append(
                f"{today}: withdrawal of {out.withdrawal:,.2f} from {state.account} cannot be "
                f"met: short by {out.unmet:,.2f}"
            )
        self._settle(state, requested, flows, lambda account: state.cash)
        self._record(state, decision, len(out), float(sum(out.cost)), kind)


def array_steps(
    state: BacktestState, flows: Sequence[ScheduledFlow], screen: bool = True
) -> list[Step]:
    """The default steps (taxes, targets, rebalance), the rebalance on arrays."""
    return [PayTaxes(), UpdateTargets(state), ArrayRebalance(state, flows, screen)]
