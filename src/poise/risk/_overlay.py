"""The drawdown overlay: a backtest step that moves part of the household to a safe asset
when its drawdown passes a limit, and steps back by a documented rule (``OverlayRules``).

The overlay watches the household's time-weighted value index (cash flows taken out; costs
and taxes count as losses, as in ``poise.analytics``) at each close. When it acts, it changes
the day's targets and rebalances to them at once through the one planning engine
(``poise.plan.plan_rebalance``); the household's own rule keeps running on the changed
targets. Timing: the decision on day *t* sees the close of *t* and fills at it.

``backtest_overlay`` runs the household with and without the overlay and reports the
drawdown saved against the return given up.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import date
from typing import Any

import numpy as np
import pandas as pd

from poise._errors import InputError
from poise._progress import ProgressCallback
from poise.model import CASH, Household
from poise.risk._config import OverlayKind, OverlayRules

__all__ = ["OverlayComparison", "OverlayStep", "backtest_overlay", "overlay_targets"]


def overlay_targets(
    base: Mapping[str, float], safe: str, risky_weight: float | None = None, share: float = 0.0
) -> dict[str, float]:
    """``base`` with its risky part (every symbol but ``CASH`` and ``safe``) cut down, the cut
    moved to ``safe``.

    With ``risky_weight`` the risky part is scaled to sum to it (CPPI); otherwise ``share``
    of every risky weight moves (the drawdown rule).
    """
    risky = {s: w for s, w in base.items() if s not in (CASH, safe)}
    total = sum(risky.values())
    if risky_weight is not None:
        scale = min(max(risky_weight, 0.0), total) / total if total > 0 else 0.0
    else:
        scale = 1.0 - share
    out = {s: (w * scale if s in risky else w) for s, w in base.items()}
    out[safe] = out.get(safe, 0.0) + total * (1.0 - scale)
    return out


@dataclass
class _Tracker:
    """The overlay's view of the household: its value index and where it stands."""

    index: float = 1.0
    peak: float = 1.0
    trough: float = np.inf
    derisked: bool = False
    value_pre: float = 0.0
    exposure: float | None = None


class OverlayStep:
    """Backtest step (``poise.backtest.Step``): watch the drawdown, act on the overlay rule.

    It runs every day, right before the household's ``Rebalance`` step; a companion step after
    it (see ``steps``) closes the day's value index once flows, costs and taxes are in.
    """

    def __init__(self, rules: OverlayRules) -> None:
        self.rules = rules
        self.track = _Tracker()
        self.switches: list[tuple[date, str, float]] = []
        self._closing = _CloseDay(self)

    def steps(self, defaults: Sequence[Any]) -> list[Any]:
        """``defaults`` with this step inserted before ``Rebalance`` and its closing step
        after."""
        from poise.backtest import Rebalance

        out: list[Any] = []
        for step in defaults:
            if isinstance(step, Rebalance):
                out.append(self)
                out.append(step)
                out.append(self._closing)
            else:
                out.append(step)
        return out

    def schedule(self, state: Any) -> np.ndarray:
        return np.arange(state.n_days)

    def due(self, state: Any, lo: int, hi: int) -> np.ndarray:
        return np.ones(hi - lo, dtype=bool)

    @staticmethod
    def value(state: Any, i: int) -> float:
        row = np.nan_to_num(state.prices[state.offset + i][state.cols])
        return float(row @ state.qty_names + state.cash_total)

    def run(self, state: Any, i: int) -> None:
        t = self.track
        v = self.value(state, i)
        if i > 0 and t.value_pre > 0:
            t.index *= v / t.value_pre
        t.value_pre = v
        if i == 0:
            t.value_pre = 0.0  # the first day invests; the index starts after it
            return
        r = self.rules
        if r.kind is OverlayKind.CPPI:
            self._cppi(state, i)
            return
        if not t.derisked:
            t.peak = max(t.peak, t.index)
            drawdown = t.index / t.peak - 1.0
            if drawdown <= -r.limit:
                t.derisked = True
                t.trough = t.index
                why = (
                    f"overlay: drawdown {drawdown:.1%} passes the {r.limit:.0%} limit; "
                    f"move {r.share:.0%} of the risky weights to {r.safe}"
                )
                self._switch(
                    state, i, overlay_targets(state.base_targets, r.safe, share=r.share), why
                )
        else:
            t.trough = min(t.trough, t.index)
            if t.index >= t.trough * (1.0 + r.rebound):
                t.derisked = False
                t.peak = t.index
                why = (
                    f"overlay: up {t.index / t.trough - 1.0:.1%} from the trough; "
                    "step back to the full targets"
                )
                self._switch(state, i, dict(state.base_targets), why)
        if t.derisked:
            wanted = overlay_targets(state.base_targets, r.safe, share=r.share)
            if not _same(wanted, state.targets):  # e.g. a model refit changed the base
                state.set_targets(wanted, i)

    def _cppi(self, state: Any, i: int) -> None:
        r, t = self.rules, self.track
        t.peak = max(t.peak, t.index)
        risky_base = sum(w for s, w in state.base_targets.items() if s not in (CASH, r.safe))
        cushion = 1.0 - r.floor * t.peak / t.index
        exposure = min(max(r.multiplier * cushion, 0.0), 1.0) * risky_base
        weights = dict(zip(state.names, state.weights(i), strict=True))
        risky_now = sum(w for s, w in weights.items() if s not in (CASH, r.safe))
        if t.exposure is None or abs(risky_now - exposure) > r.tolerance:
            t.exposure = exposure
            why = (
                f"CPPI: cushion {cushion:.1%} × {r.multiplier:g} → risky {exposure:.1%} "
                f"(was {risky_now:.1%})"
            )
            self._switch(state, i, overlay_targets(state.base_targets, r.safe, exposure), why)

    def _switch(self, state: Any, i: int, targets: Mapping[str, float], why: str) -> None:
        from poise.backtest import TradeKind
        from poise.plan import plan_rebalance
        from poise.policy import Decision, RebalanceTo

        state.set_targets(targets, i)
        plan = plan_rebalance(
            state.household,
            state.holdings,
            state.price_map(i),
            state.today,
            targets=state.targets,
            decision=Decision(True, (why,), RebalanceTo.TARGET),
        )
        state.apply(plan, TradeKind.REBALANCE)
        state.last_rebalanced = state.today
        state.rebalance_rows.append(
            (state.today, why, len(plan.trades), plan.total_cost, TradeKind.REBALANCE)
        )
        self.switches.append((state.today, why, self.track.index))


class _CloseDay:
    """After the day's other steps: take the day's flows out of the value index."""

    def __init__(self, overlay: OverlayStep) -> None:
        self.overlay = overlay

    def schedule(self, state: Any) -> np.ndarray:
        return np.zeros(0, dtype=np.int64)

    def due(self, state: Any, lo: int, hi: int) -> None:
        return None

    def run(self, state: Any, i: int) -> None:
        t = self.overlay.track
        after = OverlayStep.value(state, i)
        today = state.today
        flows = sum(paid for day, _a, _want, paid in state.flow_rows if day == today)
        if t.value_pre > 0:
            t.index *= (after - flows) / t.value_pre
        t.value_pre = after


def _same(a: Mapping[str, float], b: Mapping[str, float]) -> bool:
    keys = set(a) | set(b)
    return all(abs(a.get(k, 0.0) - b.get(k, 0.0)) < 1e-12 for k in keys)


@dataclass(frozen=True)
class OverlayComparison:
    """The household with and without its overlay over the same prices."""

    rules: OverlayRules
    without: Any
    with_overlay: Any
    switches: tuple[tuple[date, str], ...]

    @property
    def drawdown_saved(self) -> float:
        """How much shallower the deepest drawdown is with the overlay (weight points of
        value; positive = saved)."""
        return float(self.with_overlay.metrics.max_drawdown - self.without.metrics.max_drawdown)

    @property
    def return_given_up(self) -> float:
        """Annual growth (CAGR) lost to the overlay (negative = gained)."""
        return float(self.without.metrics.cagr - self.with_overlay.metrics.cagr)

    def to_dict(self) -> dict[str, Any]:
        """Deprecated: use ``poise.report.overlay_to_dict``."""
        import warnings

        from poise.report import overlay_to_dict

        warnings.warn(
            "OverlayComparison.to_dict() is deprecated; use poise.report.overlay_to_dict()",
            DeprecationWarning,
            stacklevel=2,
        )
        return overlay_to_dict(self)


def backtest_overlay(
    household: Household,
    prices: pd.DataFrame,
    rules: OverlayRules | None = None,
    *,
    start: date | None = None,
    end: date | None = None,
    initial: float = 100_000.0,
    flows: Sequence[Any] = (),
    progress: ProgressCallback | None = None,
) -> OverlayComparison:
    """Backtest ``household`` with and without the drawdown overlay (``[risk.overlay]`` by
    default) on the same prices, dates and cash flows.

    Raises
    ------
    InputError
        No overlay configured, or a safe asset without prices.
    """
    from poise.backtest import default_steps, run_backtest

    if rules is None:
        rules = household.risk.overlay if household.risk is not None else None
    if rules is None:
        raise InputError(
            'no drawdown overlay: add [risk.overlay] to the household (kind = "drawdown" or '
            '"cppi")',
            source=household.source,
            field="risk.overlay",
        )
    hh = household
    if rules.safe != CASH and rules.safe not in hh.targets:
        if rules.safe not in prices.columns:
            raise InputError(
                f'the safe asset {rules.safe} has no prices; add its column or use safe = "CASH"',
                source=household.source,
                field="risk.overlay.safe",
            )
        hh = replace(hh, targets={**hh.targets, rules.safe: 0.0})
    plain = run_backtest(
        household, prices, start=start, end=end, initial=initial, flows=flows, progress=progress
    )
    step = OverlayStep(rules)

    class _Composite:
        """Builds the default steps with the run's state, then threads the overlay in."""

        def __init__(self) -> None:
            self.inner: list[Any] | None = None

        def _ensure(self, state: Any) -> list[Any]:
            if self.inner is None:
                self.inner = step.steps(default_steps(state, flows))
            return self.inner

        def schedule(self, state: Any) -> np.ndarray:
            days = [
                np.asarray(s.schedule(state), dtype=np.int64)
                for s in self._ensure(state)
                if hasattr(s, "schedule")
            ]
            return np.unique(np.concatenate(days)) if days else np.zeros(0, dtype=np.int64)

        def due(self, state: Any, lo: int, hi: int) -> np.ndarray:
            out = np.zeros(hi - lo, dtype=bool)
            for s in self._ensure(state):
                mask = s.due(state, lo, hi)
                if mask is not None:
                    out |= mask
            return out

        def run(self, state: Any, i: int) -> None:
            for s in self._ensure(state):
                s.run(state, i)

    with_overlay = run_backtest(
        hh,
        prices,
        start=start,
        end=end,
        initial=initial,
        flows=flows,
        progress=progress,
        steps=[_Composite()],
    )
    return OverlayComparison(
        rules, plain, with_overlay, tuple((d, why) for d, why, _ in step.switches)
    )
