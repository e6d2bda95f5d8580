"""What a backtest returns: pandas objects for every series, and the metrics."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import FrozenInstanceError
from datetime import date
from typing import Any, Generic, TypeVar

import numpy as np
import pandas as pd

from poise.analytics import Metrics, daily_returns, drawdowns, time_weighted_index
from poise.model import CASH

__all__ = ["TRADE_COLUMNS", "BacktestResult", "Deferred"]

T = TypeVar("T")

TRADE_COLUMNS = (
    "date",
    "account",
    "symbol",
    "side",
    "quantity",
    "price",
    "value",
    "cost",
    "realized_short_term",
    "realized_long_term",
    "reason",
    "kind",
)
"""Columns of ``BacktestResult.trades``; ``kind`` is initial | rebalance | cash_flow | tax."""


class Deferred(Generic[T]):
    """A part of a ``BacktestResult`` computed on first use (``fn()``), then kept."""

    __slots__ = ("fn",)

    def __init__(self, fn: Callable[[], T]) -> None:
        self.fn = fn


_PARTS = (
    "household",
    "policy",
    "initial_value",
    "values",
    "weights",
    "targets",
    "bands",
    "trades",
    "rebalances",
    "flows",
    "taxes",
    "metrics",
    "warnings",
    "after_tax_value",
    "after_tax_liquidated",
)


class BacktestResult:
    """One backtest's outcome. Every series is indexed by date (a ``DatetimeIndex``).

    Immutable. The tables and metrics may be given as ``Deferred`` parts: ``run_backtest``
    builds the values at once and each other part the first time it is read (the same
    numbers and texts either way), so a caller that reads only the final value or the JSON
    does not pay for the trade table's reasons or the daily weights.

    Attributes
    ----------
    values : Series
        Total value (cash included) at each close, after that day's trades, costs, flows and
        tax payments.
    weights : DataFrame
        Weight of each symbol and ``CASH`` at each close.
    targets : DataFrame
        Target weights from each date on which they changed (carry forward to get them daily).
    bands : DataFrame or None
        Band half-widths (weight points) from each date on which targets changed, for band
        policies; None for policies without bands (calendar, cash flow).
    trades : DataFrame
        One row per trade: ``TRADE_COLUMNS``.
    rebalances : DataFrame
        One row per day the policy triggered: ``date``, ``reasons``, ``trades``, ``cost``.
    flows : DataFrame
        One row per scheduled cash flow: ``date``, ``account``, ``requested``, ``paid``
        (withdrawals negative; ``paid`` differs when an account could not cover it).
    taxes : DataFrame
        One row per calendar year: realized short- and long-term gains in taxable accounts,
        the ``tax`` they owe, what was ``paid`` and the day it was paid (the last year's tax is
        ``due``, not paid); the net loss deducted against ordinary income
        (``ordinary_offset``) and its value (``tax_saving``), the losses carried forward by
        character, and the losses ``harvested`` by tax-loss harvesting (negative).
    metrics : Metrics
        Performance figures (``poise.analytics``).
    after_tax_value, after_tax_liquidated : float or None
        The final value less the tax still due, without and with selling every taxable lot at
        the last close (see ``poise.backtest._harvest.after_tax_values``).
    """

    __slots__ = ("_parts", "_rebalance_dates")
    _parts: dict[str, Any]
    _rebalance_dates: Deferred[list[str]] | None

    def __init__(
        self,
        household: str,
        policy: str,
        initial_value: float,
        values: pd.Series,
        weights: pd.DataFrame | Deferred[pd.DataFrame],
        targets: pd.DataFrame | Deferred[pd.DataFrame],
        bands: pd.DataFrame | Deferred[pd.DataFrame | None] | None,
        trades: pd.DataFrame | Deferred[pd.DataFrame],
        rebalances: pd.DataFrame | Deferred[pd.DataFrame],
        flows: pd.DataFrame | Deferred[pd.DataFrame],
        taxes: pd.DataFrame | Deferred[pd.DataFrame],
        metrics: Metrics | Deferred[Metrics],
        warnings: tuple[str, ...] = (),
        after_tax_value: float | None = None,
        after_tax_liquidated: float | None = None,
        *,
        rebalance_dates: Deferred[list[str]] | None = None,
    ) -> None:
        parts = dict(
            zip(
                _PARTS,
                (
                    household,
                    policy,
                    initial_value,
                    values,
                    weights,
                    targets,
                    bands,
                    trades,
                    rebalances,
                    flows,
                    taxes,
                    metrics,
                    tuple(warnings),
                    after_tax_value,
                    after_tax_liquidated,
                ),
                strict=True,
            )
        )
        object.__setattr__(self, "_parts", parts)
        object.__setattr__(self, "_rebalance_dates", rebalance_dates)

    def _part(self, name: str) -> Any:
        value = self._parts[name]
        if isinstance(value, Deferred):
            value = value.fn()
            self._parts[name] = value
        return value

    def __setattr__(self, name: str, value: object) -> None:
        raise FrozenInstanceError(f"cannot assign to field {name!r}")

    def __delattr__(self, name: str) -> None:
        raise FrozenInstanceError(f"cannot delete field {name!r}")

    def __reduce__(self) -> tuple[Any, ...]:
        return (_restore, ({name: self._part(name) for name in _PARTS},))

    def __repr__(self) -> str:
        return (
            f"BacktestResult(household={self.household!r}, policy={self.policy!r}, "
            f"start={self.start}, end={self.end}, final_value={self.final_value:,.2f})"
        )

    @property
    def household(self) -> str:
        return self._parts["household"]

    @property
    def policy(self) -> str:
        return self._parts["policy"]

    @property
    def initial_value(self) -> float:
        return self._parts["initial_value"]

    @property
    def values(self) -> pd.Series:
        return self._parts["values"]

    @property
    def weights(self) -> pd.DataFrame:
        return self._part("weights")

    @property
    def targets(self) -> pd.DataFrame:
        return self._part("targets")

    @property
    def bands(self) -> pd.DataFrame | None:
        return self._part("bands")

    @property
    def trades(self) -> pd.DataFrame:
        return self._part("trades")

    @property
    def rebalances(self) -> pd.DataFrame:
        return self._part("rebalances")

    @property
    def flows(self) -> pd.DataFrame:
        return self._part("flows")

    @property
    def taxes(self) -> pd.DataFrame:
        return self._part("taxes")

    @property
    def metrics(self) -> Metrics:
        return self._part("metrics")

    @property
    def warnings(self) -> tuple[str, ...]:
        return self._parts["warnings"]

    @property
    def after_tax_value(self) -> float | None:
        return self._part("after_tax_value")

    @property
    def after_tax_liquidated(self) -> float | None:
        return self._part("after_tax_liquidated")

    @property
    def start(self) -> date:
        return self.values.index[0].date()

    @property
    def end(self) -> date:
        return self.values.index[-1].date()

    @property
    def final_value(self) -> float:
        return float(self.values.iloc[-1])

    @property
    def cash_flows(self) -> pd.Series:
        """External cash flows actually paid, summed by date (deposits > 0)."""
        if self.flows.empty:
            return pd.Series(dtype=float, name="cash_flow")
        return self.flows.groupby("date")["paid"].sum().rename("cash_flow")

    def daily_returns(self) -> pd.Series:
        """Time-weighted daily returns from the money put in (the first day's trading costs
        included; see ``poise.analytics.daily_returns``)."""
        return daily_returns(self.values, self.cash_flows, initial=self.initial_value)

    def growth_index(self) -> pd.Series:
        """Growth of 1 put in, cash flows taken out (``time_weighted_index`` from the initial
        amount): what drawdowns and value-curve comparisons are measured on."""
        return time_weighted_index(self.values, self.cash_flows, initial=self.initial_value)

    def drawdowns(self) -> pd.Series:
        """Fall of ``growth_index`` from its running high (the money put in is the first
        high)."""
        return drawdowns(self.growth_index(), start=1.0)

    @property
    def costs(self) -> pd.Series:
        """Trading costs (commission plus spread) summed by date."""
        if self.trades.empty:
            return pd.Series(dtype=float, name="cost")
        return self.trades.groupby("date")["cost"].sum().rename("cost")

    @property
    def total_cost(self) -> float:
        return float(self.trades["cost"].sum()) if not self.trades.empty else 0.0

    @property
    def total_contributions(self) -> float:
        """Deposits made after the first day (the initial amount is not one)."""
        paid = self.flows["paid"] if not self.flows.empty else pd.Series(dtype=float)
        return float(paid[paid > 0].sum())

    @property
    def total_withdrawals(self) -> float:
        """Withdrawals paid out (a positive number)."""
        paid = self.flows["paid"] if not self.flows.empty else pd.Series(dtype=float)
        return float(-paid[paid < 0].sum()) + 0.0

    @property
    def withdrawal_shortfall(self) -> float:
        """Withdrawals requested but not paid, because an account ran out (positive)."""
        if self.flows.empty:
            return 0.0
        return float((self.flows["paid"] - self.flows["requested"]).clip(lower=0).sum())

    @property
    def taxes_paid(self) -> float:
        return float(self.taxes["paid"].sum()) if not self.taxes.empty else 0.0

    @property
    def taxes_due(self) -> float:
        """Tax accrued on the last year's gains, not yet paid when the backtest ends."""
        if self.taxes.empty:
            return 0.0
        return float(self.taxes["due"].sum())

    @property
    def taxes_by_year(self) -> pd.Series:
        return self.taxes["tax"] if not self.taxes.empty else pd.Series(dtype=float)

    @property
    def costs_by_year(self) -> pd.Series:
        if self.trades.empty:
            return pd.Series(dtype=float, name="cost")
        years = pd.DatetimeIndex(self.trades["date"]).year
        return self.trades.groupby(years)["cost"].sum().rename("cost")

    def daily_targets(self) -> pd.DataFrame:
        """Target weights on every day (``targets`` carried forward)."""
        cols = [c for c in self.weights.columns]
        t = self.targets.reindex(columns=cols, fill_value=0.0)
        return t.reindex(self.values.index, method="ffill").fillna(0.0)

    def to_dict(self) -> dict[str, Any]:
        """Deprecated: use ``poise.report.backtest_result_to_dict``."""
        import warnings

        from poise.report import backtest_result_to_dict

        warnings.warn(
            "BacktestResult.to_dict() is deprecated; use poise.report.backtest_result_to_dict()",
            DeprecationWarning,
            stacklevel=2,
        )
        return backtest_result_to_dict(self)

    def rebalance_dates(self) -> list[str]:
        """ISO dates of the ``rebalances`` rows, without building that table when it has not
        been read (its reasons are worded only for it)."""
        if self._rebalance_dates is not None and isinstance(self._parts["rebalances"], Deferred):
            return self._rebalance_dates.fn()
        return [pd.Timestamp(d).date().isoformat() for d in self.rebalances["date"]]

    def summary_row(self) -> dict[str, float | int | None]:
        """The figures a comparison table shows, as plain numbers."""
        m = self.metrics
        return {
            "final_value": self.final_value,
            "period_return": m.period_return,
            "cagr": m.cagr,
            "irr": m.irr,
            "volatility": m.volatility,
            "sharpe": m.sharpe,
            "max_drawdown": m.max_drawdown,
            "turnover": m.turnover,
            "rebalances": m.rebalances,
            "total_cost": self.total_cost,
            "taxes_paid": self.taxes_paid,
            "taxes_due": self.taxes_due,
            "mean_drift": m.mean_drift,
        }


def _restore(parts: dict[str, Any]) -> BacktestResult:
    return BacktestResult(**parts)


def empty_frame(columns: tuple[str, ...] | list[str]) -> pd.DataFrame:
    return pd.DataFrame({c: pd.Series(dtype=float) for c in columns})


def weights_frame(
    values_by_symbol: np.ndarray, cash: np.ndarray, index: pd.DatetimeIndex, symbols: list[str]
) -> pd.DataFrame:
    total = values_by_symbol.sum(axis=1) + cash
    data = np.empty((len(index), len(symbols) + 1))
    data[:, :-1] = values_by_symbol
    data[:, -1] = cash
    with np.errstate(divide="ignore", invalid="ignore"):
        data /= total[:, None]
    data[total <= 0] = 0.0
    return pd.DataFrame(data, index=index, columns=[*symbols, CASH])
