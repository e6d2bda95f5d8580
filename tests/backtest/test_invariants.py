"""Invariants of any backtest (hypothesis): money is conserved day by day, nothing is sold
short, weights sum to 1, cash never goes negative, taxes are never negative."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from poise.backtest import ScheduledFlow, run_backtest
from poise.model import CASH, AccountKind, LotMethod, TaxRules, TradingRules
from poise.policy import CalendarPolicy, CashFlowPolicy, Frequency, ThresholdPolicy
from tests.conftest import make_household

POLICIES = [
    CalendarPolicy(Frequency.MONTHLY),
    ThresholdPolicy(0.03),
    ThresholdPolicy(0.05, 0.25),
    CashFlowPolicy(),
]


@st.composite
def scenarios(draw: st.DrawFn) -> dict[str, object]:
    k = draw(st.integers(2, 4))
    n = draw(st.integers(40, 160))
    seed = draw(st.integers(0, 2**31 - 1))
    rng = np.random.default_rng(seed)
    steps = rng.normal(0.0005, draw(st.sampled_from([0.01, 0.03])), size=(n, k))
    prices = pd.DataFrame(
        20 * np.exp(np.cumsum(steps, axis=0)),
        index=pd.bdate_range("2019-11-01", periods=n),
        columns=[f"S{i}" for i in range(k)],
    )
    raw = rng.dirichlet(np.ones(k + 1))
    cash = draw(st.sampled_from([0.0, 0.05]))
    weights = raw[:k] / raw[:k].sum() * (1 - cash)
    targets = {f"S{i}": float(w) for i, w in enumerate(weights)}
    if cash:
        targets[CASH] = cash
    targets[f"S{k - 1}"] += 1.0 - sum(targets.values())
    return {
        "prices": prices,
        "targets": targets,
        "policy": draw(st.sampled_from(POLICIES)),
        "fractional": draw(st.booleans()),
        "spread": draw(st.sampled_from([0.0, 10.0])),
        "commission": draw(st.sampled_from([0.0, 1.0])),
        "deposit": draw(st.sampled_from([0.0, 500.0])),
        "withdrawal": draw(st.sampled_from([0.0, 300.0])),
        "method": draw(st.sampled_from(list(LotMethod))),
    }


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(scenarios())
def test_money_is_conserved(s: dict) -> None:  # type: ignore[type-arg]
    hh = make_household(
        s["targets"],
        accounts=(("brokerage", AccountKind.TAXABLE), ("ira", AccountKind.TAX_DEFERRED)),
        policy=s["policy"],
        trading=TradingRules(
            fractional=s["fractional"], spread_bps=s["spread"], commission=s["commission"]
        ),
        tax=TaxRules(s["method"], 0.3, 0.15),
    )
    flows = []
    if s["deposit"]:
        flows.append(ScheduledFlow(s["deposit"], "month", account="ira"))
    if s["withdrawal"]:
        flows.append(ScheduledFlow(-s["withdrawal"], "month"))
    prices: pd.DataFrame = s["prices"]
    result = run_backtest(hh, prices, initial=20_000.0, flows=flows)
    values = result.values.to_numpy()
    weights = result.weights
    p = prices.to_numpy()
    # holdings implied by the weights: shares per symbol and cash, after each day
    shares = weights[list(prices.columns)].to_numpy() * values[:, None] / p
    cash = weights[CASH].to_numpy() * values
    assert (shares >= -1e-9).all()  # no short sales
    assert (cash >= -1e-6).all()
    np.testing.assert_allclose(weights.sum(axis=1), 1.0, atol=1e-9)
    flow = result.cash_flows.reindex(prices.index, fill_value=0.0).to_numpy()
    cost = result.costs.reindex(prices.index, fill_value=0.0).to_numpy()
    taxes = result.taxes
    tax = np.zeros(len(prices))
    for _, row in taxes.dropna(subset=["paid_on"]).iterrows():
        tax[prices.index.get_loc(row["paid_on"])] += row["paid"]
    # the day's value = yesterday's holdings at today's closes + flows - costs - taxes
    before = (shares[:-1] * p[1:]).sum(axis=1) + cash[:-1]
    expected = before + flow[1:] - cost[1:] - tax[1:]
    np.testing.assert_allclose(values[1:], expected, rtol=1e-9, atol=1e-6)
    assert values[0] == pytest.approx(20_000.0 - cost[0])
    assert (taxes["tax"] >= 0).all()
    assert result.taxes_due >= 0
    if not s["fractional"]:
        traded = result.trades["quantity"].to_numpy()
        assert np.allclose(traded, np.round(traded))


def test_whole_shares_with_tax_min_lots() -> None:
    # tax_min offers per-account amounts that stop inside a lot; whole-share sells of them
    # must still be whole.
    rng = np.random.default_rng(0)
    prices = pd.DataFrame(
        20 * np.exp(np.cumsum(rng.normal(0.0005, 0.01, size=(40, 2)), axis=0)),
        index=pd.bdate_range("2019-11-01", periods=40),
        columns=["S0", "S1"],
    )
    hh = make_household(
        {"S0": 0.0160604, "S1": 0.9839396},
        accounts=(("brokerage", AccountKind.TAXABLE), ("ira", AccountKind.TAX_DEFERRED)),
        policy=CalendarPolicy(Frequency.MONTHLY),
        trading=TradingRules(fractional=False),
        tax=TaxRules(LotMethod.TAX_MIN, 0.3, 0.15),
    )
    traded = run_backtest(hh, prices, initial=20_000.0).trades["quantity"].to_numpy()
    assert np.allclose(traded, np.round(traded))
