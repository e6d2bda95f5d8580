"""Walk-forward evaluation of an allocation's targets, out of sample.

A plain evaluator for comparing models (not the household backtest: no accounts, lots,
taxes, costs or policy bands). On each trading day *t* the allocation may re-fit on prices
up to the close of *t* (``refit_due``/``targets_on``); the portfolio is then set to the
targets at the close of *t* and earns the assets' returns of *t+1* onwards, drifting with
prices until the next re-fit. Nothing after *t* is visible to the fit made on *t*.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date

import numpy as np
import pandas as pd

from poise._errors import DataError
from poise.allocate._allocation import Allocation
from poise.allocate._types import TRADING_DAYS
from poise.model import CASH

__all__ = ["WalkForwardResult", "walk_forward"]


@dataclass(frozen=True, slots=True)
class WalkForwardResult:
    """Out-of-sample daily returns and the targets set at each re-fit.

    Attributes
    ----------
    returns : Series
        Daily portfolio returns, dated by the day they are earned (after the first re-fit).
    targets : DataFrame
        One row per re-fit day: the target weights set at that day's close.
    turnover : Series
        One-way turnover (½ Σ|target − drifted weight|) at each re-fit.
    """

    returns: pd.Series
    targets: pd.DataFrame
    turnover: pd.Series

    @property
    def years(self) -> float:
        return len(self.returns) / TRADING_DAYS

    def stats(self) -> dict[str, float]:
        """Annualised return (CAGR), volatility, Sharpe (zero risk-free rate), maximum
        drawdown and yearly one-way turnover. Below a year of returns (252 days) CAGR is nan:
        not annualised (GIPS); ``period_return`` is the return over the period."""
        r = self.returns.to_numpy()
        wealth = np.cumprod(1.0 + r)
        years = max(self.years, 1e-9)
        period = float(wealth[-1] - 1.0) if r.size else 0.0
        with np.errstate(over="ignore", invalid="ignore"):
            grown = float(wealth[-1] ** (1.0 / years) - 1.0) if r.size >= TRADING_DAYS else math.nan
        cagr = grown if math.isfinite(grown) else math.nan
        vol = float(np.std(r, ddof=1) * math.sqrt(TRADING_DAYS)) if r.size > 1 else 0.0
        mean = float(np.mean(r) * TRADING_DAYS) if r.size else 0.0
        peak = np.maximum.accumulate(wealth) if r.size else np.ones(1)
        drawdown = float(np.min(wealth / peak - 1.0)) if r.size else 0.0
        # the first re-fit buys the whole portfolio: not turnover
        yearly_turnover = float(self.turnover.iloc[1:].sum() / years)
        return {
            "cagr": cagr,
            "period_return": period,
            "volatility": vol,
            "sharpe": mean / vol if vol > 0 else math.nan,
            "max_drawdown": drawdown,
            "turnover": yearly_turnover,
            "refits": float(len(self.targets)),
        }


def walk_forward(
    prices: pd.DataFrame,
    allocation: Allocation,
    start: date | None = None,
    end: date | None = None,
    *,
    on_refit: Callable[[date], None] | None = None,
) -> WalkForwardResult:
    """Re-fit ``allocation`` on its schedule from ``start`` to ``end`` and hold its targets.

    ``prices`` must cover the allocation's symbols; days before ``start`` serve as the
    first fit's lookback. ``on_refit`` is called with each re-fit day (progress bars).
    """
    symbols = list(allocation.symbols)
    missing = [s for s in symbols if s not in prices.columns]
    if missing:
        raise DataError(f"the prices have no column for {', '.join(missing)}")
    frame = prices[symbols].astype(float)
    index = pd.DatetimeIndex(frame.index)
    first = 0 if start is None else int(index.searchsorted(pd.Timestamp(start)))
    last = len(index) if end is None else int(index.searchsorted(pd.Timestamp(end), "right"))
    if last - first < 2:
        raise DataError("fewer than two trading days between start and end")
    values = frame.to_numpy()
    growth = np.ones_like(values)
    growth[1:] = values[1:] / values[:-1]
    columns = [*symbols, CASH]
    weights = np.zeros(len(columns))
    last_fit: date | None = None
    out_returns = np.empty(last - first - 1)
    fit_days: list[pd.Timestamp] = []
    fit_rows: list[np.ndarray] = []
    turnover: list[float] = []
    for pos in range(first, last):
        day = index[pos].date()
        if pos > first:
            step = np.append(growth[pos], 1.0)
            value = float(weights @ step)
            out_returns[pos - first - 1] = value - 1.0
            weights = weights * step / value
        if allocation.refit_due(day, last_fit):
            targets = allocation.targets_on(prices, day)
            row = np.array([targets.get(s, 0.0) for s in columns])
            turnover.append(0.5 * float(np.abs(row - weights).sum()))
            weights = row
            last_fit = day
            fit_days.append(index[pos])
            fit_rows.append(row)
            if on_refit is not None:
                on_refit(day)
    return WalkForwardResult(
        returns=pd.Series(out_returns, index=index[first + 1 : last], name="return"),
        targets=pd.DataFrame(fit_rows, index=pd.DatetimeIndex(fit_days), columns=columns),
        turnover=pd.Series(turnover, index=pd.DatetimeIndex(fit_days), name="turnover"),
    )
