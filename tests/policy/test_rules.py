"""Policies: when each rule fires, and the reasons it gives."""

from __future__ import annotations

from datetime import date

import numpy as np
import pytest

from poise.policy import (
    AnyOf,
    CalendarPolicy,
    CashFlowPolicy,
    Frequency,
    PolicyContext,
    RebalanceTo,
    ThresholdPolicy,
    VolatilityPolicy,
    half_bands,
)


def ctx(weights, targets, *, as_of=date(2024, 4, 1), symbols=None, **kw) -> PolicyContext:
    w = np.asarray(weights, float)
    t = np.asarray(targets, float)
    names = symbols or (*(f"S{i}" for i in range(len(w) - 1)), "CASH")
    return PolicyContext(as_of, names, w, t, **kw)


@pytest.mark.parametrize(
    ("frequency", "last", "as_of", "due"),
    [
        (Frequency.MONTHLY, date(2024, 3, 28), date(2024, 4, 1), True),
        (Frequency.MONTHLY, date(2024, 4, 1), date(2024, 4, 30), False),
        (Frequency.QUARTERLY, date(2024, 1, 2), date(2024, 3, 28), False),
        (Frequency.QUARTERLY, date(2024, 3, 28), date(2024, 4, 1), True),
        (Frequency.SEMIANNUAL, date(2024, 1, 2), date(2024, 6, 28), False),
        (Frequency.SEMIANNUAL, date(2024, 6, 28), date(2024, 7, 1), True),
        (Frequency.ANNUAL, date(2024, 1, 2), date(2024, 12, 31), False),
        (Frequency.ANNUAL, date(2024, 12, 31), date(2025, 1, 2), True),
    ],
)
def test_calendar_fires_on_first_day_of_new_period(frequency, last, as_of, due):
    decision = CalendarPolicy(frequency).decide(
        ctx([0.5, 0.5, 0.0], [0.5, 0.5, 0.0], as_of=as_of, last_rebalanced=last)
    )
    assert decision.triggered is due
    assert decision.reasons


def test_calendar_without_last_rebalance_is_due():
    decision = CalendarPolicy(Frequency.ANNUAL).decide(ctx([0.5, 0.5, 0], [0.5, 0.5, 0]))
    assert decision.triggered
    assert "no last rebalance" in decision.reasons[0]


def test_absolute_band_fires_only_outside_band():
    policy = ThresholdPolicy(absolute=0.05)
    inside = policy.decide(ctx([0.64, 0.36, 0], [0.6, 0.4, 0]))
    outside = policy.decide(ctx([0.651, 0.349, 0], [0.6, 0.4, 0], symbols=("VTI", "BND", "CASH")))
    assert not inside.triggered
    assert outside.triggered
    assert outside.reasons[0].startswith("VTI 65.1% vs target 60.0%")
    assert outside.rebalance_to is RebalanceTo.TARGET


def test_five_twenty_five_takes_the_tighter_band_per_asset():
    # target 0.6: 25% of it is 15pp, so 5pp applies; target 0.1: 25% is 2.5pp, tighter than 5pp.
    bands = half_bands(np.array([0.6, 0.1, 0.3]), 0.05, 0.25)
    np.testing.assert_allclose(bands, [0.05, 0.025, 0.05])
    policy = ThresholdPolicy(absolute=0.05, relative=0.25)
    assert not policy.decide(ctx([0.6, 0.124, 0.276, 0], [0.6, 0.1, 0.3, 0])).triggered
    assert policy.decide(ctx([0.6, 0.126, 0.274, 0], [0.6, 0.1, 0.3, 0])).triggered


def test_relative_band_alone():
    policy = ThresholdPolicy(absolute=None, relative=0.25)
    # target 0.4 → band 10pp; 0.49 is inside, 0.51 outside
    assert not policy.decide(ctx([0.49, 0.51, 0], [0.4, 0.6, 0])).triggered
    assert policy.decide(ctx([0.51, 0.49, 0], [0.4, 0.6, 0])).triggered


def test_check_frequency_limits_checks_to_first_day_of_period():
    policy = ThresholdPolicy(absolute=0.05, check_frequency=Frequency.QUARTERLY)
    drifted = ([0.7, 0.3, 0], [0.6, 0.4, 0])
    mid = policy.decide(ctx(*drifted, as_of=date(2024, 5, 15), previous_day=date(2024, 5, 14)))
    first = policy.decide(ctx(*drifted, as_of=date(2024, 4, 1), previous_day=date(2024, 3, 28)))
    assert not mid.triggered
    assert "check day" in mid.reasons[0]
    assert first.triggered


def test_cash_flow_policy_never_sells():
    decision = CashFlowPolicy().decide(ctx([0.9, 0.1, 0], [0.5, 0.5, 0]))
    assert not decision.triggered
    assert not decision.sells_allowed


def test_volatility_policy_scales_bands_by_recent_over_long_run_vol():
    # 300 days of ±1% alternating returns, then 20 days of ±2%: recent std is twice the
    # long-run std over the window... computed independently below.
    calm = [0.01 if i % 2 else -0.01 for i in range(300)]
    wild = [0.02 if i % 2 else -0.02 for i in range(20)]
    r = np.array(calm + wild)
    prices = np.concatenate([[100.0], 100 * np.cumprod(1 + r)])
    history = np.column_stack([prices, np.full_like(prices, 50.0), np.ones_like(prices)])
    policy = VolatilityPolicy(absolute=0.05, window=20, long_window=300, max_scale=3.0)
    returns = prices[1:] / prices[:-1] - 1
    expected_scale = np.std(returns[-20:]) / np.std(returns[-300:])
    context = ctx([0.5, 0.5, 0], [0.5, 0.5, 0], history=history)
    scales = policy.scales(context)
    assert scales[0] == pytest.approx(expected_scale)
    assert scales[1] == pytest.approx(1.0)  # constant price: zero vol → scale 1
    # drift of 8pp: outside a plain 5pp band, inside the widened volatile band
    decision = policy.decide(ctx([0.58, 0.42, 0], [0.5, 0.5, 0], history=history))
    assert expected_scale * 0.05 > 0.08
    assert decision.half_bands[0] == pytest.approx(0.05 * expected_scale)
    # asset 1 (calm) has a 5pp band and drifted 8pp → that one triggers
    assert decision.triggered
    assert decision.reasons[0].startswith("S1")


def test_volatility_policy_uses_no_future_prices():
    rng = np.random.default_rng(0)
    prices = 100 * np.cumprod(1 + rng.normal(0, 0.01, size=(400, 2)), axis=0)
    history = np.column_stack([prices, np.ones(400)])
    policy = VolatilityPolicy(window=20, long_window=200)
    at_t = policy.scales(ctx([0.5, 0.5, 0], [0.5, 0.5, 0], history=history[:300]))
    changed = history.copy()
    changed[300:] *= 3.0
    again = policy.scales(ctx([0.5, 0.5, 0], [0.5, 0.5, 0], history=changed[:300]))
    np.testing.assert_array_equal(at_t, again)


def test_any_of_keeps_reasons_of_the_rules_that_fired():
    policy = AnyOf((CalendarPolicy(Frequency.QUARTERLY), ThresholdPolicy(absolute=0.05)))
    drifted = policy.decide(ctx([0.7, 0.3, 0], [0.6, 0.4, 0], last_rebalanced=date(2024, 4, 1)))
    assert drifted.triggered
    assert len(drifted.reasons) == 2  # both assets breach; the calendar did not fire
    assert all("vs target" in r for r in drifted.reasons)
    calm = policy.decide(ctx([0.6, 0.4, 0], [0.6, 0.4, 0], last_rebalanced=date(2024, 4, 1)))
    assert not calm.triggered
    assert policy.describe() == "calendar quarterly or ±5pp bands"


def test_zero_target_assets_get_no_zero_wide_relative_band():
    # CASH targeted at 0: 25% of 0 is no band at all; with 5/25 the 5pp absolute band applies,
    # with relative bands alone none does (leftover cash never triggers on its own).
    targets = np.array([0.6, 0.4, 0.0])
    np.testing.assert_allclose(half_bands(targets, 0.05, 0.25), [0.05, 0.05, 0.05])
    np.testing.assert_allclose(half_bands(targets, None, 0.25), [0.15, 0.10, np.inf])
    policy = ThresholdPolicy(absolute=None, relative=0.25)
    assert not policy.decide(ctx([0.59, 0.40, 0.01], targets)).triggered
