"""poise's backtest against a small independent numpy replay (no poise code involved).

The replay states the rules directly: invest to target on the first day; a calendar rule
rebalances on the first trading day of each new period; a band rule when any weight (cash
included, target 0) is outside its band at the close; a rebalance sets every holding to
target × (value + today's deposit); a deposit on a day without a rebalance is water-filled:
it raises the most underweight holdings first, level by level, and once every holding is at
its target the rest is split in proportion to the targets. Fractional shares, no costs.
"""

from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd
import pytest

from poise.backtest import ScheduledFlow, run_backtest
from poise.data import load_dataset
from poise.model import AccountKind
from poise.policy import CalendarPolicy, Frequency, ThresholdPolicy
from tests.conftest import make_household

SYMBOLS = ["AAPL", "JPM", "KO", "XOM", "PFE"]
TARGETS = np.array([0.3, 0.25, 0.2, 0.15, 0.1])
START, END = date(2005, 1, 3), date(2009, 12, 31)
DEPOSIT = 2_000.0
INITIAL = 100_000.0


@pytest.fixture(scope="module")
def prices() -> pd.DataFrame:
    return load_dataset("sp500")[SYMBOLS].loc[str(START) : str(END)]


def _fill_level(gaps: np.ndarray, amount: float, weights: np.ndarray) -> np.ndarray:
    """Water-filling by bisection: Σ max(g - L, 0) = amount over positive gaps g."""
    g = np.maximum(gaps, 0.0)
    if amount >= g.sum():
        return g + (amount - g.sum()) * weights / weights.sum()
    lo, hi = 0.0, float(g.max())
    for _ in range(200):
        mid = 0.5 * (lo + hi)
        if np.maximum(g - mid, 0.0).sum() > amount:
            lo = mid
        else:
            hi = mid
    return np.maximum(g - 0.5 * (lo + hi), 0.0)


def replay(
    p: np.ndarray,
    dates: pd.DatetimeIndex,
    rule: tuple[str, float],
    deposit: float,
) -> np.ndarray:
    n, k = p.shape
    t_full = np.append(TARGETS, 0.0)
    months = dates.year * 12 + dates.month - 1
    q = np.zeros(k)
    cash = INITIAL
    last = 0
    out = np.empty(n)
    for d in range(n):
        value = q @ p[d] + cash
        w = np.append(q * p[d], cash) / value
        flow = 0.0
        if d > 0 and months[d] != months[d - 1]:
            flow = deposit
        kind, size = rule
        if d == 0:
            trigger = True
        elif kind == "calendar":
            trigger = months[d] // int(size) != months[last] // int(size)
        elif kind == "abs":
            trigger = bool((np.abs(w - t_full) > size + 1e-12).any())
        else:  # relative bands
            trigger = bool((np.abs(w - t_full) > size * t_full + 1e-12).any())
        if trigger:
            total = value + flow
            q = TARGETS * total / p[d]
            cash = total - q @ p[d]
            last = d
        elif flow > 0:
            values = np.append(q * p[d], cash)
            add = _fill_level(t_full * (value + flow) - values, flow, t_full)
            q = q + add[:-1] / p[d]
            cash = cash + flow - add[:-1].sum()
        out[d] = q @ p[d] + cash
    return out


RULES = {
    "monthly": (("calendar", 1), CalendarPolicy(Frequency.MONTHLY)),
    "quarterly": (("calendar", 3), CalendarPolicy(Frequency.QUARTERLY)),
    "annual": (("calendar", 12), CalendarPolicy(Frequency.ANNUAL)),
    "abs 3pp": (("abs", 0.03), ThresholdPolicy(0.03, None)),
    "rel 20%": (("rel", 0.20), ThresholdPolicy(None, 0.20)),
}


@pytest.mark.parametrize("deposit", [0.0, DEPOSIT], ids=["no flows", "monthly deposits"])
@pytest.mark.parametrize("name", list(RULES))
def test_matches_independent_replay(prices: pd.DataFrame, name: str, deposit: float) -> None:
    rule, policy = RULES[name]
    household = make_household(
        dict(zip(SYMBOLS, TARGETS.tolist(), strict=True)),
        accounts=(("ira", AccountKind.TAX_DEFERRED),),
        policy=policy,
    )
    flows = [ScheduledFlow(deposit, "month")] if deposit else []
    result = run_backtest(household, prices, initial=INITIAL, flows=flows)
    expected = replay(prices.to_numpy(), prices.index, rule, deposit)
    got = result.values.to_numpy()
    assert got.shape == expected.shape
    np.testing.assert_allclose(got, expected, rtol=1e-9, atol=0)
    # the rule really acted: several rebalances, and with deposits every month got one
    assert result.metrics.rebalances >= 3
    if deposit:
        months = len(set(zip(prices.index.year, prices.index.month, strict=True)))
        assert result.total_contributions == pytest.approx(deposit * (months - 1))
