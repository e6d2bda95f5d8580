"""Every performance metric poise reports, defined once.

Conventions
-----------
- ``values`` is the household's total value at each day's close (cash included, after that
  day's trades, costs, cash flows and tax payments), indexed by date.
- ``initial`` is the money put in before the first close (a backtest's ``--initial``). Given,
  returns start from it, so the first day's trading costs are part of the return; without
  it the first day's value is the starting point.
- ``flows`` are external cash flows on those days: deposits positive, withdrawals negative.
  A deposit enters its day's base (its own trading costs are charged against it, not against
  the value before it); a withdrawal leaves at the day's close (it earned that day's return):
  ``r_t = (V_t - W_t) / (V_{t-1} + D_t) - 1`` with ``D_t`` the day's net deposit and ``W_t``
  its net withdrawal (negative), time-weighted. Taxes and trading costs are not external
  flows: they are part of the return.
- Annualisation uses 252 trading days for volatility-type figures and calendar time
  (365.25 days a year) for growth rates. Growth rates (CAGR, IRR, Calmar) are not annualised
  over a period shorter than a year (GIPS): they are ``nan`` (``null`` in JSON) and
  ``period_return`` gives the return over the period instead. A period counts as a year when
  it has at least 252 trading days or its first and last days are at least 360 calendar days
  apart (a calendar year of trading days).
- A figure that cannot be computed (too few days, zero volatility, a growth rate out of a
  float's range) is ``nan``; no metric raises on overflow.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date

import numpy as np
import pandas as pd

from poise.model import CASH

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
    "covers_a_year",
    "daily_returns",
    "drawdowns",
    "drift_stats",
    "fold_substitutes",
    "max_drawdown",
    "money_weighted_return",
    "period_return",
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


def daily_returns(
    values: pd.Series, flows: pd.Series | None = None, *, initial: float | None = None
) -> pd.Series:
    """Time-weighted daily returns ``r_t = (V_t - W_t) / (V_{t-1} + D_t) - 1``.

    ``D_t`` is the day's net deposit (it enters the day's base) and ``W_t`` its net
    withdrawal (negative; it leaves at the close). With ``initial`` the first day has a return
    too, from the money put in: ``(V_0 - W_0) / (initial + D_0) - 1``; without it the first
    day is the starting point and is left out. A day whose base is not positive is left out.

    Parameters
    ----------
    values : Series
        Total value at each close.
    flows : Series, optional
        External cash flows (deposits > 0, withdrawals < 0) by date.
    initial : float, optional
        Money put in before the first close.
    """
    v = values.to_numpy(dtype=float)
    f = _flows_on(values, flows)
    deposits, withdrawals = np.maximum(f, 0.0), np.minimum(f, 0.0)
    if initial is None:
        prev, days = v[:-1], values.index[1:]
        deposits, withdrawals, v = deposits[1:], withdrawals[1:], v[1:]
    else:
        prev, days = np.concatenate([[float(initial)], v[:-1]]), values.index
    base = prev + deposits
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        r = (v - withdrawals) / base - 1.0
    keep = base > 0
    return pd.Series(r[keep], index=days[keep], name="return")


def time_weighted_index(
    values: pd.Series, flows: pd.Series | None = None, *, initial: float | None = None
) -> pd.Series:
    """Growth of 1 put in, with cash flows taken out: the cumulative product of
    ``1 + daily_returns``. Without ``initial`` it is 1.0 on the first day; with it, the first
    day already shows that day's return from the money put in (its trading costs)."""
    return _index_of(values, daily_returns(values, flows, initial=initial), initial)


def _index_of(values: pd.Series, r: pd.Series, initial: float | None) -> pd.Series:
    """``time_weighted_index`` from the daily returns ``r`` of ``values``."""
    if initial is not None:
        return pd.Series(np.cumprod(1.0 + r.to_numpy()), index=r.index, name="index")
    growth = np.concatenate([[1.0], np.cumprod(1.0 + r.to_numpy())])
    return pd.Series(growth, index=values.index[:1].append(r.index), name="index")


def years_between(start: date | pd.Timestamp, end: date | pd.Timestamp) -> float:
    """Calendar years from ``start`` to ``end`` (365.25 days a year)."""
    return (pd.Timestamp(end) - pd.Timestamp(start)) / pd.Timedelta(days=DAYS_PER_YEAR)


def covers_a_year(index: pd.Index) -> bool:
    """Whether dates ``index`` span a year, so that growth rates may be annualised: at least
    252 trading days, or first and last day at least 360 calendar days apart (a calendar
    year of trading days runs from its first to its last trading day)."""
    if len(index) < 2:
        return False
    span = (pd.Timestamp(index[-1]) - pd.Timestamp(index[0])).days
    return len(index) >= TRADING_DAYS or span >= 360


def _annualised(growth: float, years: float) -> float:
    """``growth ** (1 / years) - 1``; nan when out of a float's range (never raises)."""
    if not math.isfinite(growth) or years <= 0:
        return math.nan
    if growth <= 0:
        return -1.0
    try:
        rate = math.exp(math.log(growth) / years) - 1.0
    except OverflowError:
        return math.nan
    return rate if math.isfinite(rate) else math.nan


def period_return(
    values: pd.Series, flows: pd.Series | None = None, *, initial: float | None = None
) -> float:
    """Time-weighted return over the whole period, not annualised (growth of 1 minus 1)."""
    return _period_of(time_weighted_index(values, flows, initial=initial))


def _period_of(index: pd.Series) -> float:
    if len(index) == 0:
        return math.nan
    return float(index.iloc[-1]) - 1.0


def cagr(
    values: pd.Series, flows: pd.Series | None = None, *, initial: float | None = None
) -> float:
    """Compound annual growth rate of the time-weighted index: ``g ** (1 / years) - 1`` where
    ``g`` is the growth of 1 over the whole period. Without flows this is
    ``(V_end / V_start) ** (1 / years) - 1`` (``V_start`` is ``initial`` when given).

    ``nan`` over a period shorter than a year (see ``covers_a_year``: GIPS does not annualise
    those; use ``period_return``) or when the rate is out of a float's range."""
    if len(values) < 2 or not covers_a_year(values.index):
        return math.nan
    return _cagr_of(values, period_return(values, flows, initial=initial))


def _cagr_of(values: pd.Series, period: float) -> float:
    """``cagr`` from the period return (``values`` covering a year)."""
    return _annualised(period + 1.0, years_between(values.index[0], values.index[-1]))


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


def drawdowns(index: pd.Series, *, start: float | None = None) -> pd.Series:
    """Fall from the running high at each day: ``index / running max - 1`` (≤ 0).
    ``start`` is the level before the first day (1.0 for an index from the money put in), so a
    fall on the first day counts."""
    running = index.cummax()
    if start is not None:
        running = running.clip(lower=start)
    return index / running - 1.0


def max_drawdown(
    values: pd.Series, flows: pd.Series | None = None, *, initial: float | None = None
) -> Drawdown:
    """The deepest drawdown of the time-weighted index, with its peak, trough and recovery
    dates (cash flows do not count as gains or losses). With ``initial`` the index starts from
    the money put in: a fall from it on the first day (its trading costs) counts, with the
    first day as its peak date."""
    if len(values) < 2 and initial is None:
        return Drawdown(0.0, None, None, None)
    return _drawdown_of(time_weighted_index(values, flows, initial=initial), initial)


def _drawdown_of(index: pd.Series, initial: float | None) -> Drawdown:
    """``max_drawdown`` from the time-weighted index."""
    if len(index) == 0:
        return Drawdown(0.0, None, None, None)
    start = 1.0 if initial is not None else None
    dd = drawdowns(index, start=start).to_numpy()
    trough_i = int(np.argmin(dd))
    depth = float(dd[trough_i])
    if not depth < 0:
        return Drawdown(0.0, None, None, None)
    level = index.to_numpy()
    before = level[: trough_i + 1]
    peak_i = int(np.argmax(before))
    peak_level = float(before[peak_i])
    if start is not None and start > peak_level:
        peak_i, peak_level = 0, start
    after = np.flatnonzero(level[trough_i:] >= peak_level)
    dates = index.index
    recovery = dates[trough_i + int(after[0])].date() if after.size else None
    return Drawdown(depth, dates[peak_i].date(), dates[trough_i].date(), recovery)


def calmar_ratio(growth_rate: float, drawdown: Drawdown) -> float:
    """CAGR over the size of the maximum drawdown (nan without a drawdown)."""
    if drawdown.depth >= 0 or not math.isfinite(growth_rate):
        return math.nan
    return growth_rate / -drawdown.depth


def money_weighted_return(
    values: pd.Series, flows: pd.Series | None = None, *, initial: float | None = None
) -> float:
    """Annualised money-weighted return (IRR, calendar time).

    The rate ``r`` solving ``V_0 + Σ F_k (1+r)^-(t_k) = V_end (1+r)^-(T)`` with ``t`` in years
    from the first day: the money put in (``initial`` and the first day's flows when
    ``initial`` is given, else the first day's value) and each deposit are money put in, each
    withdrawal money taken out, and the final value what is left. Without flows it equals
    ``cagr``. ``nan`` over a period shorter than a year (GIPS; see ``covers_a_year``) and
    when no rate in (−99.99%, 1,000%) solves it.
    """
    if len(values) < 2 or not covers_a_year(values.index):
        return math.nan
    start = values.index[0]
    f = _flows_on(values, flows)
    first = float(values.iloc[0]) if initial is None else float(initial) + f[0]
    times = np.asarray((values.index - start) / pd.Timedelta(days=DAYS_PER_YEAR), dtype=float)
    invested = np.concatenate([[first], f[1:]])
    mask = invested != 0
    invested, t_in = invested[mask], times[mask]
    final, horizon = float(values.iloc[-1]), float(times[-1])
    if horizon <= 0:
        return math.nan

    def npv(rate: float) -> float:
        growth = 1.0 + rate
        return float(final * growth ** (-horizon) - np.sum(invested * growth ** (-t_in)))

    lo, hi = -0.9999, 10.0
    try:
        with np.errstate(over="ignore", invalid="ignore"):
            low, high = npv(lo), npv(hi)
            if not (math.isfinite(low) and math.isfinite(high)) or low * high > 0:
                return math.nan
            return _brentq(npv, lo, hi, xtol=1e-14, rtol=1e-12, maxiter=500)
    except (ValueError, OverflowError, ZeroDivisionError, RuntimeError):
        return math.nan


def _signbit(x: float) -> bool:
    return math.copysign(1.0, x) < 0


def _brentq(
    f: Callable[[float], float],
    a: float,
    b: float,
    *,
    xtol: float = 2e-12,
    rtol: float = 8.881784197001252e-16,
    maxiter: int = 100,
) -> float:
    """A root of ``f`` in ``[a, b]`` by Brent's method: ``scipy.optimize.brentq``'s algorithm
    step for step (its C code, ``scipy/optimize/Zeros/brentq.c``), so the same root to the
    last bit, without importing scipy (a quarter of a second on first use).

    Raises
    ------
    ValueError
        ``f`` has the same sign at both ends, or returns NaN.
    RuntimeError
        No convergence in ``maxiter`` steps.
    """

    def value(x: float) -> float:
        y = float(f(x))
        if math.isnan(y):
            raise ValueError(f"the function value at x={x:f} is NaN; solver cannot continue")
        return y

    xpre, xcur = float(a), float(b)
    xblk = fblk = spre = scur = 0.0
    fpre, fcur = value(xpre), value(xcur)
    if fpre == 0:
        return xpre
    if fcur == 0:
        return xcur
    if _signbit(fpre) == _signbit(fcur):
        raise ValueError("f(a) and f(b) must have different signs")
    for _ in range(maxiter):
        if fpre != 0 and fcur != 0 and _signbit(fpre) != _signbit(fcur):
            xblk, fblk = xpre, fpre
            spre = scur = xcur - xpre
        if abs(fblk) < abs(fcur):
            xpre, xcur, xblk = xcur, xblk, xcur
            fpre, fcur, fblk = fcur, fblk, fcur
        delta = (xtol + rtol * abs(xcur)) / 2
        sbis = (xblk - xcur) / 2
        if fcur == 0 or abs(sbis) < delta:
            return xcur
        if abs(spre) > delta and abs(fcur) < abs(fpre):
            if xpre == xblk:  # interpolate
                stry = -fcur * (xcur - xpre) / (fcur - fpre)
            else:  # extrapolate
                dpre = (fpre - fcur) / (xpre - xcur)
                dblk = (fblk - fcur) / (xblk - xcur)
                stry = -fcur * (fblk * dblk - fpre * dpre) / (dblk * dpre * (fblk - fpre))
            if 2 * abs(stry) < min(abs(spre), 3 * abs(sbis) - delta):  # good short step
                spre, scur = scur, stry
            else:  # bisect
                spre = scur = sbis
        else:  # bisect
            spre = scur = sbis
        xpre, fpre = xcur, fcur
        xcur += scur if abs(scur) > delta else (delta if sbis > 0 else -delta)
        fcur = value(xcur)
    raise RuntimeError(f"no convergence in {maxiter} iterations")


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


def fold_substitutes(
    weights: pd.DataFrame,
    targets: pd.DataFrame,
    substitutes: Mapping[str, Sequence[str]],
) -> pd.DataFrame:
    """Daily weights as the policy sees them: a held substitute counted in its primary.

    On a day a symbol has target 0 and a weight, and a primary that lists it among its
    substitutes has a target above 0, its weight moves to that primary (the first such
    primary in ``substitutes`` order), exactly as ``poise.plan._taxaware.group_context`` folds
    the policy's view; a held substitute is then no drift of its own.

    Parameters
    ----------
    weights : DataFrame
        Daily weights, one column per symbol (``CASH`` included).
    targets : DataFrame
        Target weights, rows dated where they change (carried forward; days before the first
        row and symbols missing have target 0).
    substitutes : mapping of str to sequence of str
        Primary symbol -> its substitutes (``household.harvest.substitutes``).
    """
    if not substitutes or weights.empty:
        return weights
    columns = list(weights.columns)
    where = {s: j for j, s in enumerate(columns)}
    t = _carried(targets, weights.index, weights.columns, 0.0)
    w = weights.to_numpy(dtype=float, copy=True)
    for j, sym in enumerate(columns):
        if sym == CASH:
            continue
        free = (t[:, j] <= 0) & (w[:, j] != 0)
        for primary, alternates in substitutes.items():
            k = where.get(primary)
            if k is None or sym not in alternates or not free.any():
                continue
            move = free & (t[:, k] > 0)
            w[move, k] += w[move, j]
            w[move, j] = 0.0
            free &= ~move
    return pd.DataFrame(w, index=weights.index, columns=weights.columns)


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
    ``period_return`` is the time-weighted return over the whole period, not annualised;
    below a year (``covers_a_year``) ``cagr``, ``irr``, ``headline_return`` and ``calmar`` are
    nan (GIPS: returns of periods shorter than a year are not annualised). Volatility, Sharpe
    and Sortino are scaled by √252 (not compounded) and turnover is per year at any length.
    ``mean_drift``, ``max_drift`` and ``inside_bands`` measure drift as the policy does: a
    held harvest substitute counts toward its primary (``fold_substitutes``).
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
    period_return: float = math.nan

    def to_dict(self) -> dict[str, float | int | str | None]:
        """Deprecated: use ``poise.report.metrics_to_dict``."""
        import warnings

        from poise.report import metrics_to_dict

        warnings.warn(
            "Metrics.to_dict() is deprecated; use poise.report.metrics_to_dict()",
            DeprecationWarning,
            stacklevel=2,
        )
        return metrics_to_dict(self)


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
    initial: float | None = None,
    substitutes: Mapping[str, Sequence[str]] | None = None,
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
    initial : float, optional
        Money put in before the first close: returns start from it, so the first day's
        trading costs count (a backtest passes its initial amount).
    substitutes : mapping of str to sequence of str, optional
        Harvest substitutes by primary symbol: a held substitute counts toward its primary in
        the drift figures, as the policy measures drift.
    """
    with np.errstate(all="ignore"):  # extreme series give nan figures, never warnings
        # the returns and their index once: what cagr, max_drawdown and period_return compute
        returns = daily_returns(values, flows, initial=initial)
        index = _index_of(values, returns, initial)
        period = _period_of(index)
        annual = len(values) >= 2 and covers_a_year(values.index)
        growth = _cagr_of(values, period) if annual else math.nan
        if len(values) < 2 and initial is None:
            dd = Drawdown(0.0, None, None, None)
        else:
            dd = _drawdown_of(index, initial)
        volatility = annual_volatility(returns)
        sharpe = sharpe_ratio(returns, risk_free)
        sortino = sortino_ratio(returns, risk_free)
    has_flows = flows is not None and bool((flows != 0).any())
    irr = money_weighted_return(values, flows, initial=initial) if has_flows else growth
    trade_table = trades if trades is not None else pd.DataFrame()
    if weights is not None and targets is not None:
        seen = fold_substitutes(weights, targets, substitutes or {})
        mean_drift, max_drift = drift_stats(seen, targets)
        inside = share_inside_bands(seen, targets, bands)
    else:
        mean_drift = max_drift = inside = math.nan
    return Metrics(
        cagr=growth,
        irr=irr,
        headline_return=irr if has_flows else growth,
        volatility=volatility,
        sharpe=sharpe,
        sortino=sortino,
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
        period_return=period,
    )
