"""Each metric on series whose answer is known by hand."""

from __future__ import annotations

import math
from datetime import date

import numpy as np
import pandas as pd
import pytest

from poise import analytics
from poise.analytics import (
    annual_turnover,
    annual_volatility,
    cagr,
    calmar_ratio,
    compute_metrics,
    daily_returns,
    drift_stats,
    max_drawdown,
    money_weighted_return,
    share_inside_bands,
    sharpe_ratio,
    sortino_ratio,
    time_weighted_index,
)


def series(values: list[float], days: list[str]) -> pd.Series:
    return pd.Series(values, index=pd.DatetimeIndex(days), dtype=float)


def test_public_surface_is_sorted_and_complete() -> None:
    def isort_key(name: str) -> tuple[int, str]:  # CONSTANTS, Classes, functions
        return (0 if name.isupper() else 1 if name[0].isupper() else 2, name)

    assert analytics.__all__ == sorted(analytics.__all__, key=isort_key)
    for name in analytics.__all__:
        assert hasattr(analytics, name)


def test_deposits_enter_the_base_withdrawals_leave_at_the_close() -> None:
    days = ["2024-01-01", "2024-01-02", "2024-01-03"]
    deposit = daily_returns(series([100.0, 110.0, 171.0], days), series([50.0], days[2:]))
    # day 2: 110/100 - 1; day 3: the deposit is in the day's base: 171 / (110 + 50) - 1
    assert deposit.to_numpy() == pytest.approx([0.10, 171 / 160 - 1])
    withdrawal = daily_returns(series([100.0, 110.0, 71.0], days), series([-50.0], days[2:]))
    # day 3: the withdrawal earned the day's return before it left: (71 + 50) / 110 - 1
    assert withdrawal.to_numpy() == pytest.approx([0.10, 0.10])
    index = time_weighted_index(series([100.0, 110.0, 171.0], days), series([50.0], days[2:]))
    assert index.to_numpy() == pytest.approx([1.0, 1.1, 1.1 * 171 / 160])


def test_returns_start_from_the_money_put_in() -> None:
    days = ["2024-01-01", "2024-01-02", "2024-01-03"]
    values = series([995.0, 995.0, 1094.5], days)
    # 1,000 put in, 5 paid to invest it on day one, then +10% on day three
    r = daily_returns(values, initial=1_000.0)
    assert r.to_numpy() == pytest.approx([-0.005, 0.0, 0.10])
    assert time_weighted_index(values, initial=1_000.0).iloc[0] == pytest.approx(0.995)
    dd = max_drawdown(values, initial=1_000.0)
    assert dd.depth == pytest.approx(-0.005)
    assert dd.peak == date(2024, 1, 1)
    assert dd.recovery == date(2024, 1, 3)
    assert max_drawdown(values).depth == 0.0  # from the first close, day one's cost is lost


def test_cagr_over_calendar_time() -> None:
    # doubled in exactly two years of 365.25 days → √2 - 1
    start = pd.Timestamp("2020-01-01")
    values = pd.Series([1.0, 2.0], index=[start, start + pd.Timedelta(days=730.5)])
    assert cagr(values) == pytest.approx(math.sqrt(2) - 1)
    assert math.isnan(cagr(values.iloc[:1]))


def test_cagr_with_flows_is_time_weighted() -> None:
    # a deposit of 1,000 on a flat day, then +10%: growth 1.1 over two years, not 12.1
    start = pd.Timestamp("2020-01-01")
    index = [start, start + pd.Timedelta(days=365), start + pd.Timedelta(days=730.5)]
    values = pd.Series([100.0, 1_100.0, 1_210.0], index=index)
    flows = pd.Series([1_000.0], index=[index[1]])
    assert cagr(values, flows) == pytest.approx(1.1 ** (1 / 2) - 1)


def test_volatility_sharpe_sortino_by_hand() -> None:
    r = pd.Series([0.01, -0.02, 0.03, 0.0])
    mean, sd = 0.005, np.std([0.01, -0.02, 0.03, 0.0], ddof=1)
    assert annual_volatility(r) == pytest.approx(sd * math.sqrt(252))
    assert sharpe_ratio(r) == pytest.approx(mean / sd * math.sqrt(252))
    downside = math.sqrt((0.02**2) / 4)
    assert sortino_ratio(r) == pytest.approx(mean / downside * math.sqrt(252))
    rf = 0.05
    daily = 1.05 ** (1 / 252) - 1
    excess = r - daily
    assert sharpe_ratio(r, rf) == pytest.approx(excess.mean() / excess.std(ddof=1) * math.sqrt(252))
    assert math.isnan(sharpe_ratio(pd.Series([0.01, 0.01, 0.01])))


def test_max_drawdown_dates() -> None:
    days = [f"2024-01-{d:02d}" for d in range(1, 9)]
    values = series([100, 120, 90, 60, 80, 119, 125, 110], days)
    dd = max_drawdown(values)
    assert dd.depth == pytest.approx(60 / 120 - 1)
    assert dd.peak == date(2024, 1, 2)
    assert dd.trough == date(2024, 1, 4)
    assert dd.recovery == date(2024, 1, 7)  # first day back at 120 or above
    assert dd.days_to_recover == 5
    never = max_drawdown(series([100, 50, 60], days[:3]))
    assert never.recovery is None
    assert never.days_to_recover is None
    rising = max_drawdown(series([1, 2, 3], days[:3]))
    assert rising.depth == 0.0
    assert rising.peak is None


def test_drawdown_ignores_withdrawals() -> None:
    days = ["2024-01-01", "2024-01-02", "2024-01-03"]
    values = series([100, 50, 55], days)  # half withdrawn on day 2, then +10%
    flows = series([-50.0], ["2024-01-02"])
    assert max_drawdown(values, flows).depth == 0.0


def test_calmar() -> None:
    dd = analytics.Drawdown(-0.25, date(2020, 1, 1), date(2020, 6, 1), None)
    assert calmar_ratio(0.10, dd) == pytest.approx(0.4)
    assert math.isnan(calmar_ratio(0.10, analytics.Drawdown(0.0, None, None, None)))


def test_irr_by_hand() -> None:
    # 1,000 in, 1,000 more after one year, 2,310 at the end of year two: 10% a year
    # (1,000 · 1.1² + 1,000 · 1.1 = 2,310), day counts in units of 365.25 days
    start = pd.Timestamp("2020-01-01")
    one, two = start + pd.Timedelta(days=365.25), start + pd.Timedelta(days=730.5)
    values = pd.Series([1_000.0, 2_100.0, 2_310.0], index=[start, one, two])
    flows = pd.Series([1_000.0], index=[one])
    assert money_weighted_return(values, flows) == pytest.approx(0.10, abs=1e-10)
    # without flows IRR equals CAGR
    plain = pd.Series([100.0, 150.0], index=[start, two])
    assert money_weighted_return(plain) == pytest.approx(cagr(plain), abs=1e-12)


def test_turnover_counts_swaps_not_deposits() -> None:
    days = pd.DatetimeIndex(["2020-01-01", "2020-07-01", "2021-01-01"])
    values = pd.Series([1_000.0, 1_000.0, 2_000.0], index=days)
    trades = pd.DataFrame(
        {
            "date": [days[0], days[0], days[1], days[1], days[2]],
            "side": ["buy", "buy", "sell", "buy", "buy"],
            "value": [500.0, 500.0, 100.0, 90.0, 1_000.0],
            "cost": [0.0] * 5,
        }
    )
    years = 366 / 365.25
    # day 0: only buys (initial) → 0; day 1: min(90, 100) / 1,000; day 2: deposit buys → 0
    assert annual_turnover(trades, values) == pytest.approx(0.09 / years)


def test_drift_and_bands() -> None:
    days = pd.DatetimeIndex(["2024-01-01", "2024-01-02", "2024-01-03"])
    weights = pd.DataFrame({"A": [0.5, 0.56, 0.62], "B": [0.5, 0.44, 0.38]}, index=days)
    targets = pd.DataFrame({"A": [0.5], "B": [0.5]}, index=days[:1])
    mean, worst = drift_stats(weights, targets)
    assert mean == pytest.approx((0 + 0.06 + 0.12) / 3)
    assert worst == pytest.approx(0.12)
    bands = pd.DataFrame({"A": [0.1], "B": [0.1]}, index=days[:1])
    assert share_inside_bands(weights, targets, bands) == pytest.approx(2 / 3)
    assert math.isnan(share_inside_bands(weights, targets, None))


def test_compute_metrics_headline_follows_flows() -> None:
    start = pd.Timestamp("2020-01-01")
    one, two = start + pd.Timedelta(days=365.25), start + pd.Timedelta(days=730.5)
    values = pd.Series([1_000.0, 2_100.0, 2_310.0], index=[start, one, two])
    flows = pd.Series([1_000.0], index=[one])
    m = compute_metrics(values, flows=flows, rebalances=3, taxes_paid=12.0)
    assert m.headline_return == m.irr
    assert m.irr == pytest.approx(0.10, abs=1e-10)
    # the deposit enters its day's base: 2,100 / (1,000 + 1,000) → +5%, then +10%
    assert m.cagr == pytest.approx((1.05 * 1.1) ** 0.5 - 1, abs=1e-10)
    d = m.to_dict()
    assert d["rebalances"] == 3
    assert d["taxes_paid"] == 12.0
    assert d["inside_bands"] is None
    plain = compute_metrics(values.iloc[[0, 2]])
    assert plain.headline_return == plain.cagr
