"""Allocations a household holds: a model re-fitted walk-forward on its schedule.

Every allocation offers the same four members, which the backtest and ``poise rebalance``
use: ``symbols``, ``initial_targets()``, ``refit_due(as_of, last_fit)`` and
``targets_on(history, as_of)``.

Timing: ``targets_on(history, as_of)`` uses prices up to and including the close of
``as_of`` and nothing later, whatever ``history`` holds beyond it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Protocol, runtime_checkable

import pandas as pd

from poise._errors import DataError
from poise.allocate._fast import ProblemCache
from poise.allocate._fit import FitResult, fit_model, price_returns
from poise.allocate._types import ModelSpec
from poise.calendar import Frequency, period_key
from poise.model import CASH

__all__ = ["Allocation", "ModelAllocation", "history_until"]


@runtime_checkable
class Allocation(Protocol):
    """What a household's ``[allocation]`` offers to the backtest and the doors."""

    @property
    def symbols(self) -> tuple[str, ...]:
        """The universe the allocation needs prices for (``CASH`` excluded)."""
        ...

    def initial_targets(self) -> dict[str, float]:
        """Targets before any fit (sum to 1)."""
        ...

    def refit_due(self, as_of: date, last_fit: date | None) -> bool:
        """Whether the targets should be re-estimated on ``as_of``."""
        ...

    def targets_on(self, history: pd.DataFrame, as_of: date) -> dict[str, float]:
        """Targets on ``as_of`` from prices up to and including ``as_of`` only."""
        ...

    def describe(self) -> str:
        """One line for reports."""
        ...


def history_until(history: pd.DataFrame, as_of: date) -> pd.DataFrame:
    """The rows of ``history`` dated on or before ``as_of`` (never later)."""
    index = pd.DatetimeIndex(history.index)
    end = int(index.searchsorted(pd.Timestamp(as_of), side="right"))
    return history.iloc[:end]


def refit_is_due(refit: Frequency | None, as_of: date, last_fit: date | None) -> bool:
    """First call, or ``as_of`` in a later calendar period than ``last_fit``."""
    if last_fit is None:
        return True
    if refit is None:
        return False
    return period_key(as_of, refit) != period_key(last_fit, refit)


@dataclass(frozen=True, slots=True)
class ModelAllocation:
    """Targets from a model fitted on the last ``lookback_days`` of daily returns.

    Attributes
    ----------
    spec : ModelSpec
    symbols : tuple of str
        The universe, in order.
    lookback_days : int
        Daily returns in each fit (the window ends on ``as_of``).
    refit : Frequency or None
        Re-estimation schedule: the first trading day of each period; None fits once.
    min_observations : int
        With fewer daily returns available (early in a backtest), the targets are the
        initial equal weights; ``fit_on`` then returns None.
    cash_weight : float
        A fixed ``CASH`` target; the model's weights are scaled by 1 − cash_weight.
    problems : ProblemCache
        The allocation's compiled optimisation problem, re-solved at each re-fit (not
        configuration: left out of comparisons, copies and pickles).
    """

    spec: ModelSpec
    symbols: tuple[str, ...]
    lookback_days: int = 756
    refit: Frequency | None = Frequency.MONTHLY
    min_observations: int = 60
    cash_weight: float = 0.0
    problems: ProblemCache = field(
        default_factory=ProblemCache, init=False, repr=False, compare=False
    )

    def initial_targets(self) -> dict[str, float]:
        """Equal weights over the universe (and the fixed cash weight)."""
        share = (1.0 - self.cash_weight) / len(self.symbols)
        return self._with_cash(dict.fromkeys(self.symbols, share))

    def refit_due(self, as_of: date, last_fit: date | None) -> bool:
        return refit_is_due(self.refit, as_of, last_fit)

    def window(self, history: pd.DataFrame, as_of: date) -> pd.DataFrame:
        """Daily returns of the universe over the lookback window ending on ``as_of``."""
        missing = [s for s in self.symbols if s not in history.columns]
        if missing:
            raise DataError(
                f"the prices have no column for {', '.join(missing)}, which the "
                "[allocation] model needs; add them or change allocation.symbols"
            )
        prices = history_until(history, as_of).iloc[-(self.lookback_days + 1) :]
        return price_returns(prices[list(self.symbols)])

    def fit_on(self, history: pd.DataFrame, as_of: date) -> FitResult | None:
        """The model fitted on prices up to ``as_of``; None while history is too short."""
        returns = self.window(history, as_of)
        if len(returns) < self.min_observations:
            return None
        return fit_model(returns, self.spec, label=_label, problems=self.problems)

    def targets_on(self, history: pd.DataFrame, as_of: date) -> dict[str, float]:
        fit = self.fit_on(history, as_of)
        if fit is None:
            return self.initial_targets()
        scale = 1.0 - self.cash_weight
        return self._with_cash({s: scale * fit.weights[s] for s in self.symbols})

    def describe(self) -> str:
        refit = "fitted once" if self.refit is None else f"refit {self.refit}"
        cash = f", {self.cash_weight:.0%} cash" if self.cash_weight else ""
        return (
            f"{self.spec.model} ({self.spec.covariance} covariance, {self.lookback_days}-day "
            f"lookback, {refit}{cash}) on {len(self.symbols)} assets"
        )

    def _with_cash(self, weights: Mapping[str, float]) -> dict[str, float]:
        out = dict(weights)
        if self.cash_weight:
            out[CASH] = self.cash_weight
        return out


def _label(key: str) -> str:
    return f"allocation.{key}"
