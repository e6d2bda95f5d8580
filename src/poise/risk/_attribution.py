"""Where a return came from: CAPM regression on a benchmark, Brinson-Fachler by asset group
linked over time, and contribution per asset.

Conventions
-----------
- Returns are simple per-period returns (daily for a backtest). ``periods_per_year`` (252 for
  daily) annualises: alpha and the mean active return are multiplied by it, volatilities by
  its square root.
- Brinson-Fachler, period *t*, group *g*, weights at the start of the period, returns over it:
  allocation ``(wp − wb)(rb_g − Rb)``, selection ``wb (rp_g − rb_g)``, interaction
  ``(wp − wb)(rp_g − rb_g)``; their sum over groups is ``Rp − Rb`` exactly when both weight
  sets sum to 1.
- Linking over time makes the per-period effects add up to the cumulative active return
  ``Π(1 + Rp) − Π(1 + Rb)`` exactly: GRAP (Frongello) scales period *t* by
  ``Π_{s<t}(1 + Rp_s) · Π_{s>t}(1 + Rb_s)``; Carino by ``k_t / K`` with the logarithmic
  coefficients ``k = (ln(1+Rp) − ln(1+Rb)) / (Rp − Rb)``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum

import numpy as np
import pandas as pd

from poise._errors import DataError

__all__ = [
    "BrinsonResult",
    "CapmResult",
    "Linking",
    "brinson_fachler",
    "brinson_from_assets",
    "capm",
    "contributions",
    "contributions_by_period",
    "link_factors",
]


@dataclass(frozen=True, slots=True)
class CapmResult:
    """The regression ``r − rf = α + β (rb − rf) + ε`` of a portfolio on a benchmark.

    Attributes
    ----------
    alpha : float
        Intercept per period × ``periods_per_year`` (annualised, arithmetic).
    beta : float
        Slope.
    alpha_t, beta_t : float
        t-statistics (ordinary least squares standard errors; ``inf`` for a perfect fit).
    alpha_stderr, beta_stderr : float
        Their standard errors (``alpha_stderr`` annualised like ``alpha``).
    r_squared : float
        Share of the excess return's variance the benchmark explains.
    tracking_error : float
        Annualised standard deviation of the active return ``r − rb``.
    information_ratio : float
        Annualised mean active return over the tracking error (0 when that is 0).
    residual_volatility : float
        Annualised standard deviation of ε.
    observations : int
        Periods used (common to both series, no missing values).
    """

    alpha: float
    beta: float
    alpha_t: float
    beta_t: float
    alpha_stderr: float
    beta_stderr: float
    r_squared: float
    tracking_error: float
    information_ratio: float
    residual_volatility: float
    observations: int
    periods_per_year: int


def capm(
    returns: pd.Series,
    benchmark: pd.Series,
    *,
    risk_free: float = 0.0,
    periods_per_year: int = 252,
) -> CapmResult:
    """Regress ``returns`` on ``benchmark`` (CAPM, single factor).

    Parameters
    ----------
    returns, benchmark : Series
        Simple returns per period; aligned on their common index, missing values dropped.
    risk_free : float
        Annual risk-free rate, turned into a per-period rate ``(1 + rf)^(1/ppy) − 1``.
    periods_per_year : int
        252 for daily returns, 12 for monthly.

    Raises
    ------
    DataError
        Fewer than 3 common periods, or a benchmark that never moves.
    """
    joined = pd.concat([returns.rename("p"), benchmark.rename("b")], axis=1, join="inner")
    joined = joined.dropna()
    n = len(joined)
    if n < 3:
        raise DataError(
            f"the portfolio and the benchmark share only {n} period(s) of returns; "
            "a regression needs at least 3 (check that their dates overlap)"
        )
    rf = (1.0 + risk_free) ** (1.0 / periods_per_year) - 1.0
    y = joined["p"].to_numpy(dtype=float) - rf
    x = joined["b"].to_numpy(dtype=float) - rf
    x_mean, y_mean = x.mean(), y.mean()
    sxx = float(((x - x_mean) ** 2).sum())
    if sxx <= 0:
        raise DataError("the benchmark's returns never vary; choose another benchmark")
    beta = float(((x - x_mean) * (y - y_mean)).sum()) / sxx
    alpha = y_mean - beta * x_mean
    resid = y - alpha - beta * x
    sse = float((resid**2).sum())
    sst = float(((y - y_mean) ** 2).sum())
    s2 = sse / (n - 2)
    beta_se = math.sqrt(s2 / sxx)
    alpha_se = math.sqrt(s2 * (1.0 / n + x_mean**2 / sxx))
    active = y - x
    te = float(active.std(ddof=1)) * math.sqrt(periods_per_year)
    mean_active = float(active.mean()) * periods_per_year
    return CapmResult(
        alpha=alpha * periods_per_year,
        beta=beta,
        alpha_t=_ratio(alpha, alpha_se),
        beta_t=_ratio(beta, beta_se),
        alpha_stderr=alpha_se * periods_per_year,
        beta_stderr=beta_se,
        r_squared=1.0 - sse / sst if sst > 0 else 1.0,
        tracking_error=te,
        information_ratio=mean_active / te if te > 0 else 0.0,
        residual_volatility=math.sqrt(s2) * math.sqrt(periods_per_year),
        observations=n,
        periods_per_year=periods_per_year,
    )


def _ratio(value: float, stderr: float) -> float:
    if stderr > 0:
        return value / stderr
    return 0.0 if value == 0 else math.copysign(math.inf, value)


class Linking(StrEnum):
    """How per-period effects are linked into effects on the cumulative return."""

    GRAP = "grap"
    CARINO = "carino"


def _log_coefficient(r_p: np.ndarray, r_b: np.ndarray) -> np.ndarray:
    diff = r_p - r_b
    safe = np.where(np.abs(diff) > 1e-14, diff, 1.0)
    return np.where(np.abs(diff) > 1e-14, (np.log1p(r_p) - np.log1p(r_b)) / safe, 1.0 / (1.0 + r_p))


def link_factors(
    portfolio_returns: np.ndarray, benchmark_returns: np.ndarray, linking: Linking
) -> np.ndarray:
    """Per-period factors that turn period effects into effects on the cumulative active
    return: ``Σ_t (Rp_t − Rb_t) f_t = Π(1 + Rp) − Π(1 + Rb)``."""
    r_p = np.asarray(portfolio_returns, dtype=float)
    r_b = np.asarray(benchmark_returns, dtype=float)
    if linking is Linking.GRAP:
        grown = np.concatenate(([1.0], np.cumprod(1.0 + r_p)[:-1]))
        ahead = np.concatenate((np.cumprod((1.0 + r_b)[::-1])[::-1][1:], [1.0]))
        return grown * ahead
    total_p = float(np.prod(1.0 + r_p) - 1.0)
    total_b = float(np.prod(1.0 + r_b) - 1.0)
    k = _log_coefficient(r_p, r_b)
    big_k = float(_log_coefficient(np.array([total_p]), np.array([total_b]))[0])
    return k / big_k


@dataclass(frozen=True, slots=True)
class BrinsonResult:
    """Brinson-Fachler effects per period and group, and linked over all periods.

    ``allocation``, ``selection`` and ``interaction`` are per period (rows) and group
    (columns), unlinked: each row sums to that period's ``Rp − Rb``. The ``linked_*`` series
    hold each group's effect on the cumulative active return; together they sum to
    ``active_return`` exactly.
    """

    allocation: pd.DataFrame
    selection: pd.DataFrame
    interaction: pd.DataFrame
    portfolio_returns: pd.Series
    benchmark_returns: pd.Series
    linked_allocation: pd.Series
    linked_selection: pd.Series
    linked_interaction: pd.Series
    linking: Linking

    @property
    def portfolio_total(self) -> float:
        return float(np.prod(1.0 + self.portfolio_returns.to_numpy()) - 1.0)

    @property
    def benchmark_total(self) -> float:
        return float(np.prod(1.0 + self.benchmark_returns.to_numpy()) - 1.0)

    @property
    def active_return(self) -> float:
        """Cumulative portfolio return less cumulative benchmark return."""
        return self.portfolio_total - self.benchmark_total

    def totals(self) -> dict[str, float]:
        """The linked allocation, selection and interaction effects summed over groups."""
        return {
            "allocation": float(self.linked_allocation.sum()),
            "selection": float(self.linked_selection.sum()),
            "interaction": float(self.linked_interaction.sum()),
        }

    def by_period(self, freq: str = "YE") -> pd.DataFrame:
        """Linked effects summed per calendar period (``"YE"`` years, ``"ME"`` months):
        each row is that period's share of the cumulative active return."""
        factors = link_factors(
            self.portfolio_returns.to_numpy(), self.benchmark_returns.to_numpy(), self.linking
        )
        frame = pd.DataFrame(
            {
                "allocation": self.allocation.sum(axis=1).to_numpy() * factors,
                "selection": self.selection.sum(axis=1).to_numpy() * factors,
                "interaction": self.interaction.sum(axis=1).to_numpy() * factors,
            },
            index=self.allocation.index,
        )
        if not isinstance(frame.index, pd.DatetimeIndex):
            return frame
        return frame.groupby(frame.index.to_period(freq.rstrip("E"))).sum()


def _check_weights(weights: pd.DataFrame, what: str) -> None:
    sums = weights.sum(axis=1).to_numpy()
    bad = np.flatnonzero(np.abs(sums - 1.0) > 1e-6)
    if bad.size:
        i = int(bad[0])
        raise DataError(
            f"{what} weights sum to {sums[i]:.6g}, not 1, in period {weights.index[i]}; "
            "include every group (cash too)"
        )


def brinson_fachler(
    portfolio_weights: pd.DataFrame,
    portfolio_returns: pd.DataFrame,
    benchmark_weights: pd.DataFrame,
    benchmark_returns: pd.DataFrame,
    *,
    linking: Linking | str = Linking.GRAP,
) -> BrinsonResult:
    """Brinson-Fachler attribution by group, per period and linked over time.

    Parameters
    ----------
    portfolio_weights, benchmark_weights : DataFrame
        Periods × groups: each group's weight at the start of the period; rows sum to 1.
    portfolio_returns, benchmark_returns : DataFrame
        Periods × groups: each group's return over the period within the portfolio and
        within the benchmark.
    linking : {"grap", "carino"}
        How periods are linked (see the module notes).

    Raises
    ------
    DataError
        Frames that do not share their index and columns, or weights that do not sum to 1.
    """
    link = Linking(linking)
    frames = (portfolio_weights, portfolio_returns, benchmark_weights, benchmark_returns)
    index, columns = portfolio_weights.index, portfolio_weights.columns
    for other in frames[1:]:
        if not other.index.equals(index) or not other.columns.equals(columns):
            raise DataError("Brinson inputs must share the same periods and groups")
    _check_weights(portfolio_weights, "portfolio")
    _check_weights(benchmark_weights, "benchmark")
    wp, rp = portfolio_weights.to_numpy(float), portfolio_returns.to_numpy(float)
    wb, rb = benchmark_weights.to_numpy(float), benchmark_returns.to_numpy(float)
    total_p = (wp * rp).sum(axis=1)
    total_b = (wb * rb).sum(axis=1)
    allocation = (wp - wb) * (rb - total_b[:, None])
    selection = wb * (rp - rb)
    interaction = (wp - wb) * (rp - rb)
    factors = link_factors(total_p, total_b, link)[:, None]

    def frame(values: np.ndarray) -> pd.DataFrame:
        return pd.DataFrame(values, index=index, columns=columns)

    return BrinsonResult(
        allocation=frame(allocation),
        selection=frame(selection),
        interaction=frame(interaction),
        portfolio_returns=pd.Series(total_p, index=index, name="portfolio"),
        benchmark_returns=pd.Series(total_b, index=index, name="benchmark"),
        linked_allocation=pd.Series((allocation * factors).sum(axis=0), index=columns),
        linked_selection=pd.Series((selection * factors).sum(axis=0), index=columns),
        linked_interaction=pd.Series((interaction * factors).sum(axis=0), index=columns),
        linking=link,
    )


def _group_frames(
    weights: pd.DataFrame, returns: pd.DataFrame, groups: Mapping[str, str]
) -> tuple[pd.DataFrame, pd.DataFrame]:
    names = list(dict.fromkeys(groups.get(s, s) for s in weights.columns))
    members = {g: [s for s in weights.columns if groups.get(s, s) == g] for g in names}
    w = pd.DataFrame({g: weights[m].sum(axis=1) for g, m in members.items()})
    weighted = pd.DataFrame({g: (weights[m] * returns[m]).sum(axis=1) for g, m in members.items()})
    with np.errstate(invalid="ignore", divide="ignore"):
        r = weighted / w.where(w.abs() > 1e-15)
    return w, r


def brinson_from_assets(
    portfolio_weights: pd.DataFrame,
    benchmark_weights: pd.DataFrame,
    returns: pd.DataFrame,
    groups: Mapping[str, str],
    *,
    linking: Linking | str = Linking.GRAP,
) -> BrinsonResult:
    """Brinson-Fachler from asset-level weights and returns, grouped by ``groups``.

    Each group's return is the weighted mean of its assets' returns with the side's own
    weights. Where one side holds none of a group, that side's group return is taken to be
    the other side's (no selection effect on nothing held).

    Parameters
    ----------
    portfolio_weights, benchmark_weights : DataFrame
        Periods × assets (``CASH`` included), weights at the start of each period.
    returns : DataFrame
        Periods × assets: each asset's return over the period (0 for cash).
    groups : mapping of symbol to group
        Symbols missing from it form a group of their own.
    """
    columns = list(dict.fromkeys([*portfolio_weights.columns, *benchmark_weights.columns]))
    wp = portfolio_weights.reindex(columns=columns, fill_value=0.0)
    wb = benchmark_weights.reindex(index=wp.index, columns=columns, fill_value=0.0)
    r = returns.reindex(index=wp.index, columns=columns).fillna(0.0)
    gwp, grp = _group_frames(wp, r, groups)
    gwb, grb = _group_frames(wb, r, groups)
    grp = grp.fillna(grb).fillna(0.0)
    grb = grb.fillna(grp).fillna(0.0)
    return brinson_fachler(gwp, grp, gwb, grb, linking=linking)


def _linked_contributions(weights: pd.DataFrame, returns: pd.DataFrame) -> pd.DataFrame:
    r = returns.reindex(index=weights.index, columns=weights.columns).fillna(0.0)
    per_period = weights.to_numpy(float) * r.to_numpy(float)
    total = per_period.sum(axis=1)
    factors = link_factors(total, np.zeros_like(total), Linking.GRAP)
    return pd.DataFrame(per_period * factors[:, None], index=weights.index, columns=weights.columns)


def contributions(weights: pd.DataFrame, returns: pd.DataFrame) -> pd.Series:
    """Each asset's contribution to the cumulative return of a portfolio.

    Period *t*'s contribution ``w_{i,t} r_{i,t}`` is scaled by the growth of the portfolio
    before it, ``Π_{s<t}(1 + R_s)``, so the contributions add up to ``Π(1 + R) − 1`` exactly,
    where ``R_t = Σ_i w_{i,t} r_{i,t}`` is the holdings-based return.

    Parameters
    ----------
    weights : DataFrame
        Periods × assets, weights at the start of each period (rows sum to 1, cash included).
    returns : DataFrame
        Periods × assets, returns over each period.
    """
    return _linked_contributions(weights, returns).sum(axis=0)


def contributions_by_period(
    weights: pd.DataFrame, returns: pd.DataFrame, freq: str = "YE"
) -> pd.DataFrame:
    """``contributions`` summed per calendar period (rows; ``"YE"`` years, ``"ME"`` months)
    and asset (columns); all of them add up to the cumulative return."""
    linked = _linked_contributions(weights, returns)
    if not isinstance(linked.index, pd.DatetimeIndex):
        raise DataError("contributions per period need dates as the index")
    return linked.groupby(linked.index.to_period(freq.rstrip("E"))).sum()
