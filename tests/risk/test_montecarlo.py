"""Monte Carlo: the bootstrap against the price table, the vectorised rule against the one
planning engine replayed path by path, statistics against hand computations."""

from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd
import pytest

from poise import DataError, InputError
from poise.model import CASH, Holdings, TradingRules
from poise.plan import CashFlow, plan_rebalance
from poise.policy import (
    AnyOf,
    CalendarPolicy,
    CashFlowPolicy,
    Decision,
    Frequency,
    NeverPolicy,
    RebalanceTo,
    ThresholdPolicy,
    VolatilityPolicy,
)
from poise.risk import Goal, MonteCarloSettings, StepRule, monte_carlo, simulate_paths, step_rule
from poise.risk._montecarlo import STEP_DAYS, add_months, months_between
from tests.conftest import make_household

SYMBOLS = ["AAA", "BBB", "CCC"]


@pytest.fixture(scope="module")
def prices() -> pd.DataFrame:
    rng = np.random.default_rng(7)
    days = 700
    vol = np.array([0.02, 0.012, 0.004])
    daily = rng.normal([0.0006, 0.0003, 0.0001], vol, (days, 3))
    levels = 100 * np.cumprod(1 + daily, axis=0)
    return pd.DataFrame(levels, index=pd.bdate_range("2015-01-01", periods=days), columns=SYMBOLS)


def step_gross_by_hand(prices: pd.DataFrame, starts: np.ndarray, path: int, steps: int, block: int):
    """Each month's gross return of a path: the product of 21 daily gross returns."""
    daily = prices.to_numpy()[1:] / prices.to_numpy()[:-1]  # daily[d] = P[d+1] / P[d]
    out = []
    for t in range(1, steps + 1):
        b, m = divmod(t - 1, block)
        day = starts[path, b] + STEP_DAYS * m
        out.append(np.prod(daily[day : day + STEP_DAYS], axis=0))
    return np.array(out)


def test_bootstrap_compounds_real_daily_returns(prices):
    hh = make_household({"AAA": 0.5, "BBB": 0.3, "CCC": 0.2}, policy=NeverPolicy())
    settings = MonteCarloSettings(paths=5, years=2, block_months=5, seed=3)
    result = monte_carlo(hh, prices, settings, initial_value=1000.0)
    assert result.block_starts.shape == (5, 5)  # 24 months in blocks of 5
    assert result.block_starts.max() <= len(prices) - 1 - 5 * STEP_DAYS
    for p in range(5):
        gross = step_gross_by_hand(prices, result.block_starts, p, 24, 5)
        held = 1000.0 * np.array([0.5, 0.3, 0.2]) * np.cumprod(gross, axis=0)
        np.testing.assert_allclose(result.values[p, 1:], held.sum(axis=1), rtol=1e-12)
    assert result.values[:, 0] == pytest.approx(1000.0)


def test_same_seed_same_paths_other_seed_other_paths(prices):
    hh = make_household({"AAA": 0.6, "BBB": 0.4})
    a = monte_carlo(hh, prices, MonteCarloSettings(paths=50, years=2, seed=42))
    b = monte_carlo(hh, prices, MonteCarloSettings(paths=50, years=2, seed=42))
    c = monte_carlo(hh, prices, MonteCarloSettings(paths=50, years=2, seed=43))
    np.testing.assert_array_equal(a.values, b.values)
    assert not np.array_equal(a.values, c.values)


def engine_replay(hh, prices, result, path, contribution, initial_value):
    """The path replayed with poise's planning engine, month by month, as a live household
    would run: one account, fractional shares, the policy deciding each month-end."""
    settings = result.settings
    steps = settings.steps
    gross = step_gross_by_hand(prices, result.block_starts, path, steps, settings.block_months)
    level = np.vstack([np.ones(len(SYMBOLS)), np.cumprod(gross, axis=0)])
    symbols = [s for s in hh.targets if s != CASH]
    cols = [SYMBOLS.index(s) for s in symbols]
    dates = result.step_dates
    price0 = dict(zip(symbols, level[0, cols], strict=True))
    holdings = Holdings((), {"brokerage": initial_value})
    start = Decision(True, ("invest to target on the first day",), RebalanceTo.TARGET)
    plan = plan_rebalance(hh, holdings, price0, dates[0], decision=start)
    holdings, last = plan.holdings_after, dates[0]
    values = [holdings.value(price0)]
    for t in range(1, steps + 1):
        price_t = dict(zip(symbols, level[t, cols], strict=True))
        flows = [CashFlow("brokerage", contribution)] if contribution else []
        plan = plan_rebalance(
            hh,
            holdings,
            price_t,
            dates[t],
            flows=flows,
            last_rebalanced=last,
            previous_day=dates[t - 1],
        )
        if plan.triggered and plan.trades:
            last = dates[t]
        holdings = plan.holdings_after
        values.append(holdings.value(price_t))
    return np.array(values)


ENGINE_CASES = {
    "threshold 5pp to target, deposits": (ThresholdPolicy(0.05), 300.0),
    "5/25 to band, deposits": (ThresholdPolicy(0.05, 0.25, RebalanceTo.BAND), 250.0),
    "relative 20%, checked quarterly": (
        ThresholdPolicy(None, 0.2, check_frequency=Frequency.QUARTERLY),
        100.0,
    ),
    "calendar quarterly, deposits": (CalendarPolicy(Frequency.QUARTERLY), 500.0),
    "calendar annual or 10pp": (
        AnyOf((CalendarPolicy(Frequency.ANNUAL), ThresholdPolicy(0.10))),
        200.0,
    ),
    "buy and hold, deposits": (NeverPolicy(), 400.0),
    "cash flows only": (CashFlowPolicy(), 400.0),
    "threshold, no flows": (ThresholdPolicy(0.03), 0.0),
    "threshold, withdrawals": (ThresholdPolicy(0.05), -60.0),
    "to band, withdrawals": (ThresholdPolicy(0.05, 0.25, RebalanceTo.BAND), -60.0),
    "buy and hold, withdrawals": (NeverPolicy(), -60.0),
}


@pytest.mark.parametrize("case", list(ENGINE_CASES))
def test_vectorised_paths_match_the_engine_path_by_path(prices, case):
    policy, contribution = ENGINE_CASES[case]
    hh = make_household({"AAA": 0.45, "BBB": 0.35, "CCC": 0.15, "CASH": 0.05}, policy=policy)
    settings = MonteCarloSettings(
        paths=3, years=3, block_months=4, contribution=contribution, seed=9
    )
    result = monte_carlo(hh, prices, settings, initial_value=10_000.0, start=date(2023, 1, 31))
    for path in range(3):
        expected = engine_replay(hh, prices, result, path, contribution, 10_000.0)
        np.testing.assert_allclose(result.values[path], expected, rtol=1e-9)


def plain_loop(gross, target, bands, contribution, spread_bps):
    """A plain per-step loop of the documented rule for one path (threshold to target,
    deposits water-filled into the most underweight, costs pro rata)."""
    values = target * 1000.0
    out = [values.sum()]
    rebalances = 0
    for g in gross:
        values = values * np.append(g, 1.0)
        total = values.sum()
        weights = values / total
        new_total = total + contribution
        if np.any(np.abs(weights - target) > bands + 1e-12):
            desired = target * new_total
            rebalances += 1
        else:
            gaps = np.maximum(target * new_total - values, 0.0)
            # water level L: Σ max(gap − L, 0) = contribution, by bisection
            lo, hi = 0.0, gaps.max()
            if gaps.sum() <= contribution:
                desired = values + gaps + (contribution - gaps.sum()) * target / target.sum()
            else:
                for _ in range(200):
                    mid = (lo + hi) / 2
                    if np.maximum(gaps - mid, 0).sum() > contribution:
                        lo = mid
                    else:
                        hi = mid
                desired = values + np.maximum(gaps - hi, 0.0)
        traded = np.abs(desired[:-1] - values[:-1]).sum()
        cost = traded * spread_bps * 1e-4
        desired = desired * (desired.sum() - cost) / desired.sum()
        values = desired
        out.append(values.sum())
    return np.array(out), rebalances


def test_one_path_against_a_plain_loop_with_costs(prices):
    rng = np.random.default_rng(1)
    steps = 60
    gross = rng.lognormal(0.005, [0.08, 0.05, 0.01], (steps, 3))
    target = np.array([0.5, 0.3, 0.15, 0.05])
    policy = ThresholdPolicy(0.04)
    dates = [add_months(date(2020, 1, 15), t) for t in range(steps + 1)]
    rule = step_rule(policy, target)
    out = simulate_paths(
        lambda t, rows: np.append(gross[t - 1], 1.0)[None, :],
        1,
        steps,
        target,
        rule,
        dates,
        initial_values=target * 1000.0,
        contribution=25.0,
        spread_bps=20.0,
    )
    expected, rebalances = plain_loop(gross, target, np.full(4, 0.04), 25.0, 20.0)
    np.testing.assert_allclose(out["values"][0], expected, rtol=1e-9)
    assert out["rebalances"][0] == rebalances > 0
    assert out["costs"][0] > 0


def test_chunking_does_not_change_results(prices):
    hh = make_household({"AAA": 0.5, "BBB": 0.5}, policy=ThresholdPolicy(0.05))
    settings = MonteCarloSettings(paths=37, years=2, contribution=50.0, seed=5)
    whole = monte_carlo(hh, prices, settings)
    history = prices[["AAA", "BBB"]].to_numpy()
    table = np.column_stack(
        [history[STEP_DAYS:] / history[:-STEP_DAYS], np.ones(len(history) - STEP_DAYS)]
    )
    target = np.array([0.5, 0.5, 0.0])

    def gross(t, rows):
        b, m = divmod(t - 1, settings.block_months)
        return table[whole.block_starts[rows, b] + STEP_DAYS * m]

    chunked = simulate_paths(
        gross,
        37,
        settings.steps,
        target,
        step_rule(hh.policy, target),
        whole.step_dates,
        initial_values=target * 100_000.0,
        contribution=50.0,
        chunk=5,
    )
    np.testing.assert_array_equal(chunked["values"], whole.values)


def test_starting_from_current_weights_applies_the_rule_at_once(prices):
    hh = make_household({"AAA": 0.5, "BBB": 0.5}, policy=ThresholdPolicy(0.05))
    settings = MonteCarloSettings(paths=4, years=1, seed=2)
    drifted = monte_carlo(hh, prices, settings, initial_weights={"AAA": 0.8, "BBB": 0.2})
    assert (drifted.rebalances >= 1).all()
    inside = monte_carlo(hh, prices, settings, initial_weights={"AAA": 0.52, "BBB": 0.48})
    at_target = monte_carlo(hh, prices, settings)
    assert not np.array_equal(inside.values, at_target.values)


def test_withdrawals_can_deplete_and_stop_at_zero(prices):
    hh = make_household({"AAA": 0.5, "CCC": 0.5}, policy=ThresholdPolicy(0.05))
    settings = MonteCarloSettings(paths=20, years=3, contribution=-400.0, seed=4)
    result = monte_carlo(hh, prices, settings, initial_value=10_000.0)
    assert result.depleted.all()  # 36 × 400 > 10,000 plus what it earns here
    assert (result.values >= -1e-9).all()
    assert result.terminal == pytest.approx(0.0, abs=1e-6)
    assert result.to_dict()["probability_depleted"] == 1.0


def test_statistics_by_hand(prices):
    hh = make_household({"AAA": 0.5, "BBB": 0.3, "CCC": 0.2}, policy=ThresholdPolicy(0.05))
    goal = Goal(15_000.0, date(2024, 6, 30))
    settings = MonteCarloSettings(
        paths=400, years=2, contribution=100.0, seed=8, levels=(0.9,), goals=(goal,)
    )
    result = monte_carlo(hh, prices, settings, initial_value=10_000.0, start=date(2023, 1, 31))
    assert result.step_dates[17] == date(2024, 6, 30)
    outcome = result.goal(goal)
    assert outcome.step == 17
    at = result.values[:, 17]
    assert outcome.probability == np.mean(at >= 15_000.0)
    assert outcome.probability_touched == np.mean(result.values[:, :18].max(axis=1) >= 15_000.0)
    assert outcome.probability_touched >= outcome.probability

    tail = result.tail(0.9)
    put_in = 10_000.0 + 100.0 * 24
    losses = np.sort(put_in - result.terminal)
    var = np.quantile(losses, 0.9)
    assert tail.var == pytest.approx(var)
    assert tail.cvar == pytest.approx(losses[losses >= var].mean())
    assert tail.var_fraction == pytest.approx(var / put_in)
    one_year = result.tail(0.9, 12)
    assert one_year.months == 12
    assert one_year.var == pytest.approx(np.quantile(11_200.0 - result.values[:, 12], 0.9))

    pct = result.percentiles((5, 50, 95))
    assert pct.shape == (25, 3)
    assert pct[50].iloc[-1] == pytest.approx(np.median(result.terminal))
    out = result.to_dict()
    assert out["terminal_value"]["p50"] == pytest.approx(np.median(result.terminal))
    assert out["total_invested"] == pytest.approx(put_in)
    assert [v["months"] for v in out["var"]] == [12, 24]
    assert out["goals"][0]["probability"] == outcome.probability


def test_goal_outside_the_horizon_is_refused(prices):
    hh = make_household({"AAA": 1.0})
    result = monte_carlo(hh, prices, MonteCarloSettings(paths=2, years=1), start=date(2023, 1, 1))
    with pytest.raises(InputError, match="raise `years`"):  # the CLI says --years
        result.goal(Goal(1.0, date(2030, 1, 1)))
    with pytest.raises(InputError, match="before the start"):
        result.goal(Goal(1.0, date(2022, 1, 1)))


def test_time_weighted_growth_removes_contributions(prices):
    hh = make_household({"CCC": 1.0}, policy=NeverPolicy())
    a = monte_carlo(hh, prices, MonteCarloSettings(paths=10, years=2, seed=1))
    b = monte_carlo(hh, prices, MonteCarloSettings(paths=10, years=2, seed=1, contribution=500))
    np.testing.assert_allclose(a.growth, b.growth, rtol=1e-12)
    np.testing.assert_allclose(a.growth, a.terminal / a.values[:, 0], rtol=1e-12)


def test_step_rule_translation():
    target = np.array([0.6, 0.4, 0.0])
    assert not step_rule(NeverPolicy(), target).rebalances
    assert not step_rule(CashFlowPolicy(), target).rebalances
    vol = step_rule(VolatilityPolicy(0.05), target)
    assert vol.notes
    assert "base width" in vol.notes[0]
    combo = step_rule(AnyOf((ThresholdPolicy(0.1), ThresholdPolicy(None, 0.1))), target)
    # relative bands do not apply to a zero target; CASH keeps the 10pp absolute band
    assert combo.merged_bands == pytest.approx([0.06, 0.04, 0.1])
    assert isinstance(combo, StepRule)

    class Odd:
        def describe(self) -> str:
            return "odd"

    with pytest.raises(InputError, match="cannot run the policy 'odd'"):
        step_rule(Odd(), target)


def test_calendar_helpers():
    assert add_months(date(2023, 1, 31), 1) == date(2023, 2, 28)
    assert add_months(date(2024, 1, 31), 1) == date(2024, 2, 29)
    assert add_months(date(2023, 1, 31), 3) == date(2023, 4, 30)
    assert add_months(date(2023, 11, 15), 3) == date(2024, 2, 15)
    assert months_between(date(2023, 1, 31), date(2024, 6, 30)) == 17
    assert months_between(date(2023, 1, 31), date(2023, 2, 28)) == 1
    assert months_between(date(2023, 1, 15), date(2023, 3, 14)) == 1


def test_settings_are_validated():
    # errors name the parameter; the CLI maps them to --paths and --level
    with pytest.raises(InputError, match="paths"):
        MonteCarloSettings(paths=0)
    with pytest.raises(InputError, match="levels"):
        MonteCarloSettings(levels=(95.0,))


def test_costs_come_from_the_household(prices):
    cheap = make_household({"AAA": 0.5, "BBB": 0.5}, policy=ThresholdPolicy(0.02))
    dear = make_household(
        {"AAA": 0.5, "BBB": 0.5},
        policy=ThresholdPolicy(0.02),
        trading=TradingRules(spread_bps=50.0, commission=5.0),
    )
    settings = MonteCarloSettings(paths=30, years=3, seed=6)
    a, b = monte_carlo(cheap, prices, settings), monte_carlo(dear, prices, settings)
    assert a.costs.sum() == 0
    assert (b.costs > 0).any()
    assert (b.terminal <= a.terminal + 1e-9).all()


def test_too_little_history(prices):
    hh = make_household({"AAA": 1.0})
    with pytest.raises(DataError, match="shorter `block_months`"):
        monte_carlo(hh, prices.iloc[:100], MonteCarloSettings(paths=2, years=1, block_months=12))
