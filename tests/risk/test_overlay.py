"""The drawdown overlay and CPPI, through the backtest engine, against a hand replay of the
documented rule."""

from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd
import pytest

from poise import InputError
from poise.policy import NeverPolicy
from poise.risk import OverlayKind, OverlayRules, RiskRules, backtest_overlay, overlay_targets
from tests.conftest import make_household


def test_overlay_targets_by_hand():
    base = {"A": 0.6, "B": 0.3, "CASH": 0.1}
    assert overlay_targets(base, "CASH", share=0.5) == pytest.approx(
        {"A": 0.3, "B": 0.15, "CASH": 0.55}
    )
    assert overlay_targets(base, "B", risky_weight=0.3) == pytest.approx(
        {"A": 0.3, "B": 0.6, "CASH": 0.1}
    )
    # the risky sleeve never grows beyond its base weight
    assert overlay_targets(base, "CASH", risky_weight=2.0) == pytest.approx(base)


def crash_and_recovery() -> pd.DataFrame:
    days = pd.bdate_range("2021-01-04", periods=159)
    path = np.concatenate(
        [
            np.linspace(100, 110, 20),  # a new high
            np.linspace(110, 70, 40)[1:],  # -36%
            np.linspace(70, 120, 101)[1:],  # recovery
        ]
    )
    return pd.DataFrame({"A": path}, index=days)


def hand_drawdown_rule(price: np.ndarray, limit: float, share: float, rebound: float):
    """The documented rule, replayed by hand for a household of one asset and cash."""
    units, cash = 100_000.0 / price[0], 0.0
    index, peak, trough, derisked, prev = 1.0, 1.0, np.inf, False, 100_000.0
    switches = []
    for t in range(1, len(price)):
        value = units * price[t] + cash
        index *= value / prev
        if not derisked:
            peak = max(peak, index)
            if index / peak - 1 <= -limit:
                derisked, trough = True, index
                units, cash = value * (1 - share) / price[t], value * share
                switches.append(t)
        else:
            trough = min(trough, index)
            if index >= trough * (1 + rebound):
                derisked, peak = False, index
                units, cash = value / price[t], 0.0
                switches.append(t)
        prev = units * price[t] + cash
    return switches, units * price[-1] + cash


def test_drawdown_overlay_matches_a_hand_replay():
    prices = crash_and_recovery()
    rules = OverlayRules(limit=0.10, share=0.5, rebound=0.05)
    hh = make_household({"A": 1.0}, policy=NeverPolicy(), risk=RiskRules(overlay=rules))
    result = backtest_overlay(hh, prices)
    switches, final = hand_drawdown_rule(prices["A"].to_numpy(), 0.10, 0.5, 0.05)
    assert [d for d, _ in result.switches] == [prices.index[t].date() for t in switches]
    assert len(switches) == 2
    assert "passes the 10% limit" in result.switches[0][1]
    assert "step back" in result.switches[1][1]
    assert result.with_overlay.final_value == pytest.approx(final, rel=1e-9)
    assert result.without.final_value == pytest.approx(
        100_000 * prices["A"].iloc[-1] / prices["A"].iloc[0], rel=1e-9
    )
    assert result.drawdown_saved > 0
    out = result.to_dict()
    assert out["drawdown_saved"] == pytest.approx(
        result.with_overlay.metrics.max_drawdown - result.without.metrics.max_drawdown
    )
    given_up = result.without.metrics.cagr - result.with_overlay.metrics.cagr
    # CAGR is not annualised below a year (GIPS): then there is no figure, null in JSON
    assert out["return_given_up"] == (pytest.approx(given_up) if given_up == given_up else None)


def test_cppi_keeps_the_floor_on_a_steady_fall():
    days = pd.bdate_range("2021-01-04", periods=120)
    prices = pd.DataFrame({"A": 100 * 0.99 ** np.arange(120)}, index=days)
    rules = OverlayRules(kind=OverlayKind.CPPI, multiplier=5, floor=0.8, tolerance=0.02)
    hh = make_household({"A": 1.0}, policy=NeverPolicy())
    result = backtest_overlay(hh, prices, rules)
    held = result.without.metrics.max_drawdown
    assert held == pytest.approx(0.99**119 - 1)
    # daily monitoring with a 2pp tolerance: the floor (−20%) holds up to a small gap (the
    # last ≤ 2% left at risk keeps falling 1% a day)
    assert result.with_overlay.metrics.max_drawdown > -0.2 - 0.005
    assert result.with_overlay.metrics.max_drawdown < -0.1
    first_date, first_reason = result.switches[0]
    assert first_date == date(2021, 1, 5)
    # cushion after one day of −1%: 1 − 0.8 / 0.99; exposure 5 × that
    assert f"{5 * (1 - 0.8 / 0.99):.1%}" in first_reason


def test_safe_asset_symbol_and_missing_overlay():
    prices = crash_and_recovery()
    prices["BND"] = 50.0
    rules = OverlayRules(limit=0.10, share=1.0, rebound=0.05, safe="BND")
    hh = make_household({"A": 1.0}, policy=NeverPolicy())
    result = backtest_overlay(hh, prices, rules)
    weights = result.with_overlay.weights
    switch = pd.Timestamp(result.switches[0][0])
    assert weights.loc[switch, "BND"] == pytest.approx(1.0)
    with pytest.raises(InputError, match="no drawdown overlay"):
        backtest_overlay(hh, prices)
    with pytest.raises(InputError, match="has no prices"):
        backtest_overlay(hh, prices, OverlayRules(safe="GLD"))
