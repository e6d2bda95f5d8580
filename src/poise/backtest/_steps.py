"""The daily loop's steps, in the order they run on a day.

A day on which any step is due is an *event day*; on it every step runs, in order, on the
shared ``BacktestState``; between event days the holdings do not change. A step names the days
it needs that are known in advance (``schedule``: cash flows, year starts, listings), flags
others in a block of days given the current holdings (``due``: a policy's screen, a model's
refit), and does its work (``run``):

1. ``PayTaxes``: on the first trading day of a year, pay the previous year's tax from each
   account's cash, selling through the plan's withdrawal path when cash is short.
2. ``UpdateTargets``: the targets of the day (static, refitted by an ``[allocation]`` model
   when it is due, with not-yet-listed symbols left out).
3. ``Rebalance``: ask the policy, then plan and fill through ``poise.plan.plan_rebalance`` on
   trigger days and cash-flow days.

When ``[harvest]`` is enabled, ``Harvest`` (``_harvest.py``) runs before ``Rebalance`` on its
own schedule, and the plans see the run's recent trades (the wash-sale rule).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Protocol

import numpy as np

from poise.allocate import resolve_targets
from poise.backtest._flows import ScheduledFlow, flow_days
from poise.backtest._screen import Screen, screen_for
from poise.backtest._state import BacktestState, TradeKind
from poise.plan import CashFlow, plan_rebalance
from poise.policy import Decision, RebalanceTo
from poise.tax import Transaction

__all__ = ["PayTaxes", "Rebalance", "Step", "UpdateTargets", "default_steps"]


class Step(Protocol):
    """One step of the daily loop."""

    def schedule(self, state: BacktestState) -> np.ndarray:
        """Days (sorted indices) this step must run on, known before the run starts."""
        ...

    def due(self, state: BacktestState, lo: int, hi: int) -> np.ndarray | None:
        """Other days of ``[lo, hi)`` this step must run on (bool per day), given that the
        holdings stay as they are until then; None when it has no such days."""
        ...

    def run(self, state: BacktestState, i: int) -> None:
        """Do this step's work on event day ``i`` (a no-op when it has none that day)."""
        ...


def _no_trigger(reason: str) -> Decision:
    return Decision(False, (reason,), sells_allowed=False)


def withdraw(state: BacktestState, account: str, amount: float, kind: str, label: str) -> float:
    """Take ``amount`` out of ``account`` on the current day, selling through the plan when its
    cash is short; returns what could be paid (less only if the account cannot cover it)."""
    i = state.i
    cash = float(state.holdings.cash.get(account, 0.0))
    if cash >= amount:
        state.set_cash(account, cash - amount)
        return amount
    available = state.account_value(account, i)
    paid = min(amount, max(available, 0.0))
    if paid <= 0:
        return 0.0
    plan = plan_rebalance(
        state.household,
        state.holdings,
        state.price_map(i),
        state.today,
        targets=state.targets,
        decision=_no_trigger(label),
        flows=[CashFlow(account, -paid)],
        transactions=_transactions(state),
    )
    state.apply(plan, kind, reason=label)
    left = float(state.holdings.cash.get(account, 0.0))
    if left < 0:
        state.set_cash(account, 0.0)
        paid += left
    return paid


class PayTaxes:
    """Pay each closed year's tax on the first trading day of the next year."""

    def schedule(self, state: BacktestState) -> np.ndarray:
        starts = state.info.new_period(12, 0, state.n_days)
        starts[0] = False
        return np.flatnonzero(starts)

    def due(self, state: BacktestState, lo: int, hi: int) -> None:
        return None

    def run(self, state: BacktestState, i: int) -> None:
        years = state.info.keys(12)  # year of each day (as an integer key)
        if i == 0 or years[i] == years[i - 1]:
            return
        year = state.day(i - 1).year
        for account, tax in state.ledger.close_year(year).items():
            if tax <= 0:
                continue
            label = f"pay {year} taxes of {tax:,.2f} from {account}"
            paid = withdraw(state, account, tax, TradeKind.TAX, label)
            state.tax_rows.append((year, account, paid, state.today))
            if paid < tax - 1e-6:
                state.warnings.append(
                    f"{state.today}: {account} could pay only {paid:,.2f} of its {year} "
                    f"taxes of {tax:,.2f}"
                )
        saving = state.ledger.years[year].ordinary_tax_saving if year in state.ledger.years else 0
        if state.ledger.credit_savings and saving > 0:  # the deduction's saving, reinvested
            account = next(a.id for a in state.household.accounts if a.taxable)
            state.set_cash(account, float(state.holdings.cash.get(account, 0.0)) + saving)
            state.tax_rows.append((year, account, -saving, state.today))


class UpdateTargets:
    """Set the day's targets: refit an ``[allocation]`` model when it is due, and leave out
    symbols that have no price yet."""

    def __init__(self, state: BacktestState) -> None:
        self.listings = state.listing_days()
        self._listed_on = frozenset(self.listings.tolist())

    def schedule(self, state: BacktestState) -> np.ndarray:
        return np.union1d(self.listings, [0])

    def due(self, state: BacktestState, lo: int, hi: int) -> np.ndarray | None:
        allocation = state.household.allocation
        if allocation is None:
            return None
        out = np.zeros(hi - lo, dtype=bool)
        for i in range(lo, hi):
            if allocation.refit_due(state.day(i), state.last_fit):
                out[i - lo] = True
                break
        return out

    def run(self, state: BacktestState, i: int) -> None:
        allocation = state.household.allocation
        changed = i == 0 or self._listing(i)
        if allocation is not None and allocation.refit_due(state.today, state.last_fit):
            state.base_targets = resolve_targets(state.household, state.frame_until(i), state.today)
            state.last_fit = state.today
            changed = True
        if changed:
            state.set_targets(state.base_targets, i)

    def _listing(self, i: int) -> bool:
        return i in self._listed_on


class Rebalance:
    """Ask the policy; on trigger days and cash-flow days plan and fill through the engine.

    The first day invests to target whatever the policy says.
    """

    def __init__(
        self, state: BacktestState, flows: Sequence[ScheduledFlow], screen: bool = True
    ) -> None:
        history = None
        if not state.household.harvest.substitutes:  # else the policy sees grouped weights
            history = lambda: (state._history_matrix(), state.offset)  # noqa: E731
        self.screen: Screen | None = screen_for(state.policy, history) if screen else None
        self.flow_on: dict[int, list[CashFlow]] = {}
        first = state.household.accounts[0].id
        for flow in flows:
            for day in flow_days(flow, state.days).tolist():
                self.flow_on.setdefault(day, []).append(
                    CashFlow(flow.account or first, flow.amount)
                )

    def schedule(self, state: BacktestState) -> np.ndarray:
        return np.array(sorted(self.flow_on), dtype=np.int64)

    def due(self, state: BacktestState, lo: int, hi: int) -> np.ndarray:
        if self.screen is None:
            return np.ones(hi - lo, dtype=bool)
        return self.screen(
            state.info,
            lo,
            hi,
            lambda: state.weights_block(lo, hi),
            state.target_w,
            state.last_rebalanced,
        )

    def run(self, state: BacktestState, i: int) -> None:
        decision = self._decision(state, i)
        requested, flows = self._payable(state, i)
        if not (decision.triggered or flows):
            return
        plan = plan_rebalance(
            state.household,
            state.holdings,
            state.price_map(i),
            state.today,
            targets=state.targets,
            decision=decision,
            flows=flows,
            last_rebalanced=state.last_rebalanced,
            previous_day=state.previous_day,
            transactions=_transactions(state),
        )
        kind = self._kind(i, decision)
        state.apply(plan, kind)
        self._settle(
            state,
            requested,
            flows,
            lambda account: float(state.holdings.cash.get(account, 0.0)),
        )
        self._record(state, decision, len(plan.trades), plan.total_cost, kind)

    @staticmethod
    def _decision(state: BacktestState, i: int) -> Decision:
        """The policy's decision on day ``i``; the first day always invests to target."""
        decision = state.decide(i)
        if i == 0:
            decision = Decision(
                True,
                ("first day: invest to target",),
                RebalanceTo.TARGET,
                decision.half_bands,
            )
        return decision

    @staticmethod
    def _kind(i: int, decision: Decision) -> str:
        if i == 0:
            return TradeKind.INITIAL
        if decision.triggered and decision.sells_allowed:
            return TradeKind.REBALANCE
        return TradeKind.CASH_FLOW

    @staticmethod
    def _settle(
        state: BacktestState,
        requested: Sequence[float],
        flows: Sequence[CashFlow],
        cash_of: Callable[[str], float],
    ) -> None:
        """Record what each flow paid; a withdrawal left short by costs or whole shares is cut
        to the cash there was, and said so."""
        for want, flow in zip(requested, flows, strict=True):
            paid = flow.amount
            cash = cash_of(flow.account)
            if cash < 0:
                state.set_cash(flow.account, 0.0)
                paid -= cash
            if abs(paid - want) > 1e-6:
                state.warnings.append(
                    f"{state.today}: withdrawal of {-want:,.2f} from {flow.account} cannot be "
                    f"met in full: paid {-paid:,.2f}"
                )
            state.flow_rows.append((state.today, flow.account, want, paid))

    @staticmethod
    def _record(
        state: BacktestState, decision: Decision, trades: int, cost: float, kind: str
    ) -> None:
        if decision.triggered:
            state.last_rebalanced = state.today
            state.rebalance_rows.append(
                (state.today, "; ".join(decision.reasons), trades, cost, kind)
            )

    def _payable(self, state: BacktestState, i: int) -> tuple[list[float], list[CashFlow]]:
        """Today's flows as requested, and as they can be paid: a withdrawal is cut to what
        its account holds (the cut is reported, in ``warnings`` and in the ``requested``
        and ``paid`` columns of ``BacktestResult.flows``)."""
        requested: list[float] = []
        out: list[CashFlow] = []
        today = self.flow_on.get(i, [])
        for flow in today:
            amount = flow.amount
            if amount < 0:
                deposits = sum(
                    f.amount for f in today if f.amount > 0 and f.account == flow.account
                )
                available = max(state.account_value(flow.account, i) + deposits, 0.0)
                amount = -min(-amount, available) + 0.0
            requested.append(flow.amount)
            out.append(CashFlow(flow.account, amount))
        return requested, out


def _transactions(state: BacktestState) -> list[Transaction] | None:
    """The run's recent trades for the wash-sale rule, while harvesting is on (else None:
    the plans apply no wash-sale rule, as before harvesting existed)."""
    if not state.household.harvest.enabled:
        return None
    from poise.backtest._harvest import recent_transactions

    return recent_transactions(state)


def default_steps(
    state: BacktestState, flows: Sequence[ScheduledFlow], screen: bool = True
) -> list[Step]:
    """The daily loop: taxes, targets, harvesting (when ``[harvest]`` is enabled), rebalance."""
    steps: list[Step] = [PayTaxes(), UpdateTargets(state)]
    if state.household.harvest.enabled:
        from poise.backtest._harvest import Harvest

        steps.append(Harvest(state))
    return [*steps, Rebalance(state, flows, screen)]
