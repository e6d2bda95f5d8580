"""Every performance metric poise reports, defined once.

Conventions
-----------
- ``values`` is the household's total value at each day's close (cash included, after that
  day's trades, costs, cash flows and tax payments), indexed by date.
- ``flows`` are external cash flows on those days: deposits positive, withdrawals negative.
  They land at the close, so day *t*'s return excludes them:
  ``r_t = (V_t - F_t) / V_{t-1} - 1`` (time-weighted). Taxes and trading costs are not
  external flows: they are part of the return.
- Annualisation uses 252 trading days for volatility-type figures and calendar time
  (365.25 days a year) for growth rates.
- A figure that cannot be computed (too few days, zero volatility) is ``nan``.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from datetime import date

import numpy as np
import pandas as pd

__all__ = [
    "DAYS_PER_YEAR",
    "TRADING_DAYS",
    "Drawdown",
    "Metrics",
    "annual_turnover",
    "annual_volatility",
    "cagr",
    "calmar_ratio",
    "compute_metrics",
    "daily_returns",
    "drawdowns",
    "drift_stats",
    "max_drawdown",
    "money_weighted_return",
    "share_inside_bands",
    "sharpe_ratio",
    "sortino_ratio",
    "time_weighted_index",
    "years_between",
]

TRADING_DAYS = 252
"""Trading days per year, for annualising daily volatility and mean returns."""

DAYS_PER_YEAR = 365.25
"""Calendar days per year, for growth rates over calendar time."""


def _flows_on(values: pd.Series, flows: pd.Series | None) -> np.ndarray:
    if flows is None or len(flows) == 0:
        return np.zeros(len(values))
    summed = flows.groupby(level=0).sum()
    return summed.reindex(values.index, fill_value=0.0).to_numpy(dtype=float, copy=True)


def daily_returns(values: pd.Series, flows: pd.Series | None = None) -> pd.Series:
    """Time-weighted daily returns ``r_t = (V_t - F_t) / V_{t-1} - 1``.

    The first day has no return and is left out; so is a day after a zero value.

    Parameters
    ----------
    values : Series
        Total value at each close.
    flows : Series, optional
        External cash flows (deposits > 0, withdrawals < 0) by date.
    """
    v = values.to_numpy(dtype=float)
    f = _flows_on(values, flows)
    prev = v[:-1]
    with np.errstate(divide="ignore", invalid="ignore"):
        r = (v[1:] - f[1:]) / prev - 1.0
    keep = prev > 0
    return pd.Series(r[keep], index=values.index[1:][keep], name="return")


def time_weighted_index(values: pd.Series, flows: pd.Series | None = None) -> pd.Series:
    """Growth of 1 invested on the first day, with cash flows taken out: the cumulative
    product of ``1 + daily_returns``, starting at 1.0 on the first day."""
    r = daily_returns(values, flows)
    growth = np.concatenate([[1.0], np.cumprod(1.0 + r.to_numpy())])
    return pd.Series(growth, index=values.index[:1].append(r.index), name="index")


def years_between(start: date | pd.Timestamp, end: date | pd.Timestamp) -> float:
    """Calendar years from ``start`` to ``end`` (365.25 days a year)."""
    return (pd.Timestamp(end) - pd.Timestamp(start)) / pd.Timedelta(days=DAYS_PER_YEAR)


def cagr(values: pd.Series, flows: pd.Series | None = None) -> float:
    """Compound annual growth rate of the time-weighted index: ``g ** (1 / years) - 1`` where
    ``g`` is the growth of 1 over the whole period. Without flows this is
    ``(V_end / V_start) ** (1 / years) - 1``."""
    if len(values) < 2:
        return math.nan
    index = time_weighted_index(values, flows)
    years = years_between(values.index[0], values.index[-1])
    growth = float(index.iloc[-1])
    if years <= 0 or growth <= 0:
        return math.nan if growth > 0 else -1.0
    return growth ** (1.0 / years) - 1.0


def annual_volatility(returns: pd.Series) -> float:
    """Standard deviation of daily returns (ddof=1) times √252."""
    r = returns.to_numpy(dtype=float)
    if r.size < 2:
        return math.nan
    return float(np.std(r, ddof=1) * math.sqrt(TRADING_DAYS))


def _daily_rate(annual_rate: float) -> float:
    return (1.0 + annual_rate) ** (1.0 / TRADING_DAYS) - 1.0


def sharpe_ratio(returns: pd.Series, risk_free: float = 0.0) -> float:
    """Annualised Sharpe ratio: mean daily excess return over its standard deviation (ddof=1),
    times √252. ``risk_free`` is an annual rate, compounded to a daily one."""
    excess = returns.to_numpy(dtype=float) - _daily_rate(risk_free)
    if excess.size < 2:
        return math.nan
    sd = float(np.std(excess, ddof=1))
    if sd == 0:
        return math.nan
    return float(excess.mean() / sd * math.sqrt(TRADING_DAYS))


def sortino_ratio(returns: pd.Series, risk_free: float = 0.0) -> float:
    """Annualised Sortino ratio: mean daily excess return over the downside deviation
    ``sqrt(mean(min(excess, 0)²))`` (over all days), times √252."""
    excess = returns.to_numpy(dtype=float) - _daily_rate(risk_free)
    if excess.size < 2:
        return math.nan
    downside = math.sqrt(float(np.mean(np.minimum(excess, 0.0) ** 2)))
    if downside == 0:
        return math.nan
    return float(excess.mean() / downside * math.sqrt(TRADING_DAYS))


@dataclass(frozen=True, slots=True)
class Drawdown:
    """The deepest fall of the time-weighted index from a previous high.

    ``depth`` is negative (−0.25 = a 25% fall); ``recovery`` is the first day the index is back
    at the peak's level, or None if it never is.
    """

    depth: float
    peak: date | None
    trough: date | None
    recovery: date | None

    @property
    def days_to_recover(self) -> int | None:
        """Calendar days from peak to recovery (None if not recovered)."""
        if self.peak is None or self.recovery is None:
            return None
        return (self.recovery - self.peak).days


def drawdowns(index: pd.Series) -> pd.Series:
    """Fall from the running high at each day: ``index / running max - 1`` (≤ 0)."""
    running = index.cummax()
    return index / running - 1.0


def max_drawdown(values: pd.Series, flows: pd.Series | None = None) -> Drawdown:
    """The deepest drawdown of the time-weighted index, with its peak, trough and recovery
    dates (cash flows do not count as gains or losses)."""
    if len(values) < 2:
        return Drawdown(0.0, None, None, None)
    index = time_weighted_index(values, flows)
    dd = drawdowns(index).to_numpy()
    trough_i = int(np.argmin(dd))
    depth = float(dd[trough_i])
    if depth >= 0:
        return Drawdown(0.0, None, None, None)
    level = index.to_numpy()
    peak_i = int(np.argmax(level[: trough_i + 1]))
    after = np.flatnonzero(level[trough_i:] >= level[peak_i])
    dates = index.index
    recovery = dates[trough_i + int(after[0])].date() if after.size else None
    return Drawdown(depth, dates[peak_i].date(), dates[trough_i].date(), recovery)


def calmar_ratio(growth_rate: float, drawdown: Drawdown) -> float:
    """CAGR over the size of the maximum drawdown (nan without a drawdown)."""
    if drawdown.depth >= 0 or not math.isfinite(growth_rate):
        return math.nan
    return growth_rate / -drawdown.depth


def money_weighted_return(values: pd.Series, flows: pd.Series | None = None) -> float:
    """Annualised money-weighted return (IRR, calendar time).

    The rate ``r`` solving ``V_0 + Σ F_k (1+r)^-(t_k) = V_end (1+r)^-(T)`` with ``t`` in years
    from the first day: the first value and each deposit are money put in, each withdrawal
    money taken out, and the final value what is left. Without flows it equals ``cagr``.
    """
    if len(values) < 2:
        return math.nan
    start = values.index[0]
    f = _flows_on(values, flows)
    f[0] = 0.0
    times = np.asarray((values.index - start) / pd.Timedelta(days=DAYS_PER_YEAR), dtype=float)
    invested = np.concatenate([[float(values.iloc[0])], f[1:]])
    t_in = np.concatenate([[0.0], times[1:]])
    mask = invested != 0
    invested, t_in = invested[mask], t_in[mask]
    final, horizon = float(values.iloc[-1]), float(times[-1])
    if horizon <= 0:
        return math.nan

    def npv(rate: float) -> float:
        growth = 1.0 + rate
        return float(final * growth ** (-horizon) - np.sum(invested * growth ** (-t_in)))

    lo, hi = -0.9999, 10.0
    try:
        if npv(lo) * npv(hi) > 0:
            return math.nan
        from scipy.optimize import brentq  # scipy only when an IRR is asked for

        return float(brentq(npv, lo, hi, xtol=1e-14, rtol=1e-12, maxiter=500))
    except (ValueError, OverflowError, ZeroDivisionError):
        return math.nan


def annual_turnover(trades: pd.DataFrame, values: pd.Series) -> float:
    """Annualised one-way turnover from rebalancing.

    Each day counts the smaller of its bought and sold value (the part that swaps one holding
    for another, so that investing a deposit or selling for a withdrawal does not count) as a
    fraction of that day's closing value; the sum is divided by the number of years.
    """
    if len(values) < 2 or trades.empty:
        return 0.0
    years = years_between(values.index[0], values.index[-1])
    if years <= 0:
        return math.nan
    days, where = np.unique(
        pd.DatetimeIndex(trades["date"]).to_numpy(dtype="datetime64[ns]"), return_inverse=True
    )
    value = trades["value"].to_numpy(dtype=float)
    is_buy = (trades["side"] == "buy").to_numpy()
    bought = np.bincount(where, weights=np.where(is_buy, value, 0.0), minlength=days.size)
    sold = np.bincount(where, weights=np.where(is_buy, 0.0, value), minlength=days.size)
    day_values = values.reindex(pd.DatetimeIndex(days)).to_numpy(dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        share = np.where(day_values > 0, np.minimum(bought, sold) / day_values, 0.0)
    return float(np.nansum(share) / years)


def _carried(frame: pd.DataFrame, index: pd.Index, columns: pd.Index, fill: float) -> np.ndarray:
    """Rows of ``frame`` (dated where they change) carried forward to each date of ``index``,
    as an array with ``columns`` (missing ones filled with ``fill``; days before the first
    row too)."""
    table = frame.reindex(columns=columns, fill_value=fill).to_numpy(dtype=float)
    rows = np.searchsorted(
        pd.DatetimeIndex(frame.index).to_numpy(dtype="datetime64[ns]"),
        pd.DatetimeIndex(index).to_numpy(dtype="datetime64[ns]"),
        side="right",
    )
    out = np.full((len(index), len(columns)), fill)
    known = rows > 0
    out[known] = table[rows[known] - 1]
    return np.where(np.isnan(out), fill, out)


def drift_stats(weights: pd.DataFrame, targets: pd.DataFrame) -> tuple[float, float]:
    """(mean, max) over days of the largest absolute drift ``|weight - target|`` of any
    position (cash included) that day, in weight points. ``targets`` rows are dated where they
    change and carried forward; symbols missing from them have target 0."""
    if weights.empty:
        return math.nan, math.nan
    t = _carried(targets, weights.index, weights.columns, 0.0)
    worst = np.abs(weights.to_numpy(dtype=float) - t).max(axis=1)
    return float(worst.mean()), float(worst.max())


def share_inside_bands(
    weights: pd.DataFrame, targets: pd.DataFrame, bands: pd.DataFrame | None
) -> float:
    """Fraction of days on which every position is inside its band
    (``|weight - target| ≤ half-band``); nan for a policy without bands (e.g. calendar).
    ``targets`` and ``bands`` rows are carried forward to each day."""
    if bands is None or weights.empty:
        return math.nan
    t = _carried(targets, weights.index, weights.columns, 0.0)
    b = _carried(bands, weights.index, weights.columns, np.inf)
    drift = np.abs(weights.to_numpy(dtype=float) - t)
    inside = (drift <= b + 1e-12).all(axis=1)
    return float(inside.mean())


@dataclass(frozen=True, slots=True)
class Metrics:
    """A backtest's performance figures (see each function in ``poise.analytics`` for its
    definition). Rates and drifts are fractions; money is in the household's currency.

    ``irr`` is the money-weighted return: it answers "what did my money earn" when there are
    contributions or withdrawals; ``cagr`` is time-weighted and judges the rule itself.
    ``headline_return`` is ``irr`` when there are cash flows and ``cagr`` otherwise.
    """

    cagr: float
    irr: float
    headline_return: float
    volatility: float
    sharpe: float
    sortino: float
    max_drawdown: float
    max_drawdown_peak: date | None
    max_drawdown_trough: date | None
    max_drawdown_recovery: date | None
    calmar: float
    turnover: float
    rebalances: int
    total_cost: float
    taxes_paid: float
    mean_drift: float
    max_drift: float
    inside_bands: float
    risk_free: float = 0.0

    def to_dict(self) -> dict[str, float | int | str | None]:
        """Plain JSON-ready values: dates as ISO text, nan as None."""
        out: dict[str, float | int | str | None] = {}
        for key, value in asdict(self).items():
            if isinstance(value, date):
                out[key] = value.isoformat()
            elif isinstance(value, float) and not math.isfinite(value):
                out[key] = None
            else:
                out[key] = value
        return out


def compute_metrics(
    values: pd.Series,
    *,
    flows: pd.Series | None = None,
    trades: pd.DataFrame | None = None,
    weights: pd.DataFrame | None = None,
    targets: pd.DataFrame | None = None,
    bands: pd.DataFrame | None = None,
    rebalances: int = 0,
    taxes_paid: float = 0.0,
    risk_free: float = 0.0,
) -> Metrics:
    """All the figures of one backtest.

    Parameters
    ----------
    values : Series
        Total value at each close.
    flows : Series, optional
        External cash flows by date (deposits > 0).
    trades : DataFrame, optional
        One row per trade with ``date``, ``side``, ``value`` and ``cost`` columns.
    weights, targets, bands : DataFrame, optional
        Daily weights (cash included), target weights and band half-widths (rows where they
        change, carried forward).
    rebalances : int
        Number of rebalances the policy triggered.
    taxes_paid : float
        Taxes paid during the backtest.
    risk_free : float
        Annual risk-free rate for Sharpe and Sortino (default 0).
    """
    returns = daily_returns(values, flows)
    growth = cagr(values, flows)
    dd = max_drawdown(values, flows)
    has_flows = flows is not None and bool((flows != 0).any())
    irr = money_weighted_return(values, flows) if has_flows else growth
    trade_table = trades if trades is not None else pd.DataFrame()
    if weights is not None and targets is not None:
        mean_drift, max_drift = drift_stats(weights, targets)
        inside = share_inside_bands(weights, targets, bands)
    else:
        mean_drift = max_drift = inside = math.nan
    return Metrics(
        cagr=growth,
        irr=irr,
        headline_return=irr if has_flows else growth,
        volatility=annual_volatility(returns),
        sharpe=sharpe_ratio(returns, risk_free),
        sortino=sortino_ratio(returns, risk_free),
        max_drawdown=dd.depth,
        max_drawdown_peak=dd.peak,
        max_drawdown_trough=dd.trough,
        max_drawdown_recovery=dd.recovery,
        calmar=calmar_ratio(growth, dd),
        turnover=annual_turnover(trade_table, values) if not trade_table.empty else 0.0,
        rebalances=int(rebalances),
        total_cost=float(trade_table["cost"].sum()) if not trade_table.empty else 0.0,
        taxes_paid=float(taxes_paid),
        mean_drift=mean_drift,
        max_drift=max_drift,
        inside_bands=inside,
        risk_free=float(risk_free),
    )
