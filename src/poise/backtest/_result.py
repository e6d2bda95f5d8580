"""What a backtest returns: pandas objects for every series, and the metrics."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any

import numpy as np
import pandas as pd

from poise.analytics import Metrics, daily_returns, drawdowns, time_weighted_index
from poise.model import CASH

__all__ = ["TRADE_COLUMNS", "BacktestResult"]

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


@dataclass(frozen=True, eq=False)
class BacktestResult:
    """One backtest's outcome. Every series is indexed by date (a ``DatetimeIndex``).

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

    household: str
    policy: str
    initial_value: float
    values: pd.Series
    weights: pd.DataFrame
    targets: pd.DataFrame
    bands: pd.DataFrame | None
    trades: pd.DataFrame
    rebalances: pd.DataFrame
    flows: pd.DataFrame
    taxes: pd.DataFrame
    metrics: Metrics
    warnings: tuple[str, ...] = field(default=())
    after_tax_value: float | None = None
    after_tax_liquidated: float | None = None

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
