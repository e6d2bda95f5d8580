"""Attribution of a backtest: identities that must hold exactly, and each figure recomputed
independently from the backtest's own values."""

from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd
import pytest

from poise import DataError, InputError
from poise.backtest import run_backtest
from poise.data import load_dataset
from poise.model import TradingRules
from poise.policy import CalendarPolicy, Frequency, NeverPolicy, ThresholdPolicy
from poise.risk import RiskRules, attribute_backtest, benchmark_series
from tests.conftest import make_household

START, END = date(2015, 1, 2), date(2019, 12, 31)


@pytest.fixture(scope="module")
def prices() -> pd.DataFrame:
    return load_dataset("sp500")[["AAPL", "KO", "JNJ", "XOM", "MSFT"]]


@pytest.fixture(scope="module")
def bench() -> pd.Series:
    return load_dataset("sp500_index")["SP500"]


def years(first: pd.Timestamp, last: pd.Timestamp) -> float:
    return (last - first).days / 365.25


def test_without_costs_or_taxes_holdings_return_is_the_actual_return(prices, bench):
    hh = make_household(
        {"AAPL": 0.3, "KO": 0.3, "JNJ": 0.2, "CASH": 0.2}, policy=ThresholdPolicy(0.03)
    )
    out = attribute_backtest(hh, prices, bench, start=START, end=END)
    values = out.result.values.to_numpy()
    assert out.actual_return == pytest.approx(values[-1] / values[0] - 1, rel=1e-12)
    assert out.holdings_return == pytest.approx(out.actual_return, rel=1e-9)
    assert out.contributions.sum() == pytest.approx(out.holdings_return, abs=1e-12)
    assert out.contributions_by_year.to_numpy().sum() == pytest.approx(out.holdings_return)
    assert out.contributions["CASH"] == 0.0
    assert out.cost_drag == 0.0
    assert out.tax_drag == 0.0


def test_capm_on_the_backtest_against_least_squares(prices, bench):
    hh = make_household({"AAPL": 0.5, "XOM": 0.5}, policy=CalendarPolicy(Frequency.QUARTERLY))
    out = attribute_backtest(hh, prices, bench, start=START, end=END, risk_free=0.01)
    values = out.result.values
    r = values.pct_change().dropna()
    b = bench.pct_change().reindex(r.index)
    rf = 1.01 ** (1 / 252) - 1
    design = np.column_stack([np.ones(len(r)), b.to_numpy() - rf])
    coef, *_ = np.linalg.lstsq(design, r.to_numpy() - rf, rcond=None)
    assert out.capm.alpha == pytest.approx(coef[0] * 252, rel=1e-8)
    assert out.capm.beta == pytest.approx(coef[1], rel=1e-8)
    assert out.capm.observations == len(r)
    first, last = values.index[0], values.index[-1]
    growth = bench.loc[last] / bench.loc[first]
    assert out.benchmark_cagr == pytest.approx(growth ** (1 / years(first, last)) - 1, rel=1e-9)


def test_brinson_by_group_sums_to_the_active_return(prices, bench):
    rules = RiskRules(groups={"tech": ("AAPL", "MSFT"), "staples": ("KO", "JNJ")})
    hh = make_household(
        {"AAPL": 0.2, "MSFT": 0.2, "KO": 0.2, "JNJ": 0.2, "XOM": 0.2},
        policy=ThresholdPolicy(0.05),
        risk=rules,
    )
    out = attribute_backtest(hh, prices, bench, start=START, end=END)
    b = out.brinson
    assert list(b.linked_allocation.index) == ["tech", "staples", "XOM", "CASH"]
    assert sum(b.totals().values()) == pytest.approx(b.active_return, abs=1e-12)
    # the benchmark is the targets held every day: its return by hand
    returns = prices.pct_change().loc[out.result.values.index[1:]]
    daily = (returns * 0.2).sum(axis=1)
    assert b.benchmark_total == pytest.approx(np.prod(1 + daily) - 1, rel=1e-9)
    assert abs(b.totals()["selection"]) > 1e-6  # drift within groups matters
    d = out.to_dict()
    assert sum(d["brinson"]["groups"]["tech"].values()) == pytest.approx(
        b.linked_allocation["tech"] + b.linked_selection["tech"] + b.linked_interaction["tech"]
    )


def test_rebalancing_effect_and_cost_drag_by_hand(prices, bench):
    hh = make_household(
        {"AAPL": 0.5, "KO": 0.5},
        policy=CalendarPolicy(Frequency.MONTHLY),
        trading=TradingRules(spread_bps=100.0, commission=5.0),
    )
    out = attribute_backtest(hh, prices, bench, start=START, end=END)
    rule = run_backtest(hh, prices, start=START, end=END)
    hold = run_backtest(hh, prices, start=START, end=END, policy=NeverPolicy())
    assert out.rebalancing_effect == pytest.approx(rule.metrics.cagr - hold.metrics.cagr)
    # cost drag: costs added back on the days they were paid
    values = rule.values
    costs = rule.costs.reindex(values.index, fill_value=0.0).to_numpy()
    v = values.to_numpy()
    growth = np.prod((v[1:] + costs[1:]) / v[:-1])
    gross = growth ** (1 / years(values.index[0], values.index[-1])) - 1
    assert out.cost_drag == pytest.approx(gross - rule.metrics.cagr, rel=1e-9)
    assert out.cost_drag > 0
    assert out.to_dict()["rebalancing_effect"]["effect"] == pytest.approx(out.rebalancing_effect)


def test_tax_drag_is_positive_with_taxed_gains(prices, bench):
    from poise.model import TaxRules

    hh = make_household(
        {"AAPL": 0.5, "KO": 0.5},
        policy=ThresholdPolicy(0.02),
        tax=TaxRules(short_term_rate=0.4, long_term_rate=0.2),
    )
    out = attribute_backtest(hh, prices, bench, start=START, end=END)
    assert out.result.taxes_paid > 0
    assert out.tax_drag > 0


def test_benchmark_must_overlap(prices, bench):
    hh = make_household({"KO": 1.0})
    with pytest.raises(DataError, match="share"):
        attribute_backtest(hh, prices, bench.loc[:"2014-12-31"], start=START, end=END)


def test_benchmark_series_picks_a_column():
    table = load_dataset("sp500")
    assert benchmark_series(table, "KO", "sp500").name == "KO"
    with pytest.raises(InputError) as info:  # a parameter; the CLI maps it to its flag
        benchmark_series(table, None, "sp500")
    assert info.value.field == "benchmark_column"
    with pytest.raises(InputError, match="has no column 'ZZZ'"):
        benchmark_series(table, "ZZZ", "sp500")
