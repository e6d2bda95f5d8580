"""The optimising plan (cvxpy + Clarabel): hand-derived optima and invariants."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from poise import InputError
from poise.io import household_from_dict
from poise.model import (
    AccountKind,
    Holdings,
    Lot,
    LotMethod,
    OptimizeRules,
    PlanMethod,
    Side,
    TaxRules,
    TradingRules,
)
from poise.plan import CashFlow, plan_rebalance
from poise.policy import NeverPolicy
from poise.tax import Transaction
from tests.conftest import make_household

AS_OF = date(2024, 6, 3)
TAXABLE = ("brokerage", AccountKind.TAXABLE)
IRA = ("ira", AccountKind.TAX_DEFERRED)
RATES = {"short_term_rate": 0.35, "long_term_rate": 0.15}


def optimizing(targets, **kwargs):
    return make_household(targets, plan_method=PlanMethod.OPTIMIZE, **kwargs)


def lot(symbol, quantity, basis, acquired="2020-01-02", account="brokerage"):
    if isinstance(acquired, int):
        return Lot(account, symbol, quantity, basis, AS_OF - timedelta(days=acquired))
    return Lot(account, symbol, quantity, basis, date.fromisoformat(acquired))


def test_sells_the_loss_lot_and_the_ira_like_the_tax_min_heuristic():
    # As in test_tax_plan: X 30 sh × 100, 10 at a loss in the brokerage, 10 with a long-term
    # gain, 10 in the IRA; target 50%. No tax is due if the 10 loss shares and 5 IRA shares are
    # sold; any gain-lot share sold would cost 15% of 50.
    hh = optimizing({"X": 0.5, "Y": 0.5}, accounts=(TAXABLE, IRA), tax=TaxRules(**RATES))
    loss, gain = lot("X", 10, 1200, "2021-05-03"), lot("X", 10, 500)
    holdings = Holdings(
        (loss, gain, lot("X", 10, 500, account="ira")), {"brokerage": 0.0, "ira": 0.0}
    )
    plan = plan_rebalance(hh, holdings, {"X": 100.0, "Y": 100.0}, AS_OF)
    sold = {(t.account, s.lot.cost_basis): s.quantity for t in plan.trades for s in t.lot_sales}
    assert sold[("brokerage", 1200)] == pytest.approx(10, abs=1e-3)
    assert ("brokerage", 500) not in sold
    assert sold[("ira", 500)] == pytest.approx(5, abs=1e-3)
    assert plan.estimated_tax == 0
    assert plan.weights_after["X"] == pytest.approx(0.5, abs=1e-4)
    assert all("optimised" in t.reason for t in plan.trades)


@pytest.mark.parametrize("lam", [10.0, 50.0, 200.0])
def test_tax_leaves_the_drift_the_first_order_condition_predicts(lam):
    # One taxable account, X only short-term gain lots (basis 50 at price 100: gain fraction
    # 0.5, so selling costs τ = 0.35 × 0.5 = 0.175 per unit sold). X starts at 100%, target
    # 50/50, no costs. Selling Δ (weight) leaves drift d = 0.5 − Δ on X and −d on Y: minimise
    # λ · 2d² + τ (0.5 − d) → d* = τ / (4 λ).
    hh = optimizing(
        {"X": 0.5, "Y": 0.5}, tax=TaxRules(**RATES), optimize=OptimizeRules(lambda_tracking=lam)
    )
    holdings = Holdings((lot("X", 100, 5000, 100),), {"brokerage": 0.0})
    plan = plan_rebalance(hh, holdings, {"X": 100.0, "Y": 100.0}, AS_OF)
    expected = 0.5 + 0.175 / (4 * lam)
    assert plan.weights_after["X"] == pytest.approx(expected, abs=2e-5)
    # λ_tax = 0: tax is ignored and the rebalance is complete
    free = optimizing(
        {"X": 0.5, "Y": 0.5}, tax=TaxRules(**RATES), optimize=OptimizeRules(lam, 1.0, 0.0)
    )
    plan = plan_rebalance(free, holdings, {"X": 100.0, "Y": 100.0}, AS_OF)
    assert plan.weights_after["X"] == pytest.approx(0.5, abs=2e-5)


def test_prefers_long_term_gains_to_short_term_gains_of_the_same_size():
    hh = optimizing({"X": 0.5, "Y": 0.5}, tax=TaxRules(**RATES))
    short, long_ = lot("X", 10, 800, 100), lot("X", 10, 800, 800)
    holdings = Holdings((short, long_), {"brokerage": 0.0})
    plan = plan_rebalance(hh, holdings, {"X": 100.0, "Y": 100.0}, AS_OF)
    (sell,) = [t for t in plan.trades if t.side is Side.SELL]
    assert {s.lot.acquired for s in sell.lot_sales} == {long_.acquired}
    assert sell.realized_short_term == 0
    assert sell.realized_long_term > 0


def test_whole_shares_reserve_and_costs():
    rules = TradingRules(fractional=False, cash_reserve=50.0, spread_bps=10.0, commission=1.0)
    hh = optimizing({"X": 0.5, "Y": 0.5}, trading=rules, tax=TaxRules(**RATES))
    holdings = Holdings((lot("X", 30, 2400),), {"brokerage": 100.0})
    plan = plan_rebalance(hh, holdings, {"X": 100.0, "Y": 70.0}, AS_OF)
    assert all(t.quantity == int(t.quantity) for t in plan.trades)
    assert plan.holdings_after.cash["brokerage"] >= 50.0 - 1e-9
    assert {t.symbol for t in plan.trades} == {"X", "Y"}


def test_cash_flow_only_sells_in_the_withdrawal_account():
    hh = optimizing({"X": 0.5, "Y": 0.5}, accounts=(TAXABLE, IRA), policy=NeverPolicy())
    holdings = Holdings(
        (lot("X", 10, 900), lot("Y", 10, 900), lot("X", 10, 900, account="ira")),
        {"brokerage": 0.0, "ira": 0.0},
    )
    plan = plan_rebalance(
        hh, holdings, {"X": 100.0, "Y": 100.0}, AS_OF, flows=[CashFlow("brokerage", -500)]
    )
    assert all(t.account == "brokerage" for t in plan.trades if t.side is Side.SELL)
    assert -1e-6 <= plan.holdings_after.cash["brokerage"] <= 0.01  # solver precision: 1 cent
    assert not plan.unmet_withdrawals


def test_never_buys_a_symbol_that_would_wash_a_recent_loss():
    hh = optimizing({"X": 0.5, "Y": 0.5}, tax=TaxRules(**RATES))
    sale = Transaction(AS_OF - timedelta(days=3), "brokerage", "Y", Side.SELL, 5, 90, 600)
    holdings = Holdings((lot("X", 20, 1500),), {"brokerage": 0.0})
    plan = plan_rebalance(
        hh, holdings, {"X": 100.0, "Y": 100.0}, AS_OF, transactions=[sale], force=True
    )
    assert not [t for t in plan.trades if t.symbol == "Y" and t.side is Side.BUY]
    assert any("Y: not bought" in w for w in plan.warnings)


def test_plan_table_keys_are_read_and_unknown_keys_rejected():
    base = {
        "accounts": [{"id": "a", "kind": "taxable"}],
        "targets": {"X": 1.0},
    }
    hh = household_from_dict(
        {**base, "plan": {"method": "optimize", "lambda_tracking": 20, "lambda_tax": 0.5}}
    )
    assert hh.plan_method is PlanMethod.OPTIMIZE
    assert hh.optimize == OptimizeRules(20.0, 1.0, 0.5)
    with pytest.raises(InputError, match="lambda_taxes"):
        household_from_dict({**base, "plan": {"lambda_taxes": 1}})
    with pytest.raises(InputError, match="must not be negative"):
        household_from_dict({**base, "plan": {"lambda_tax": -1}})


@st.composite
def households(draw):
    n = draw(st.integers(1, 6))
    lots = []
    for i in range(n):
        sym = draw(st.sampled_from("ABC"))
        account = draw(st.sampled_from(["brokerage", "ira"]))
        q = float(draw(st.integers(1, 40)))
        basis = q * draw(st.floats(20, 200))
        lots.append(lot(sym, q, basis, draw(st.integers(1, 900)) + i, account))
    cash = {"brokerage": draw(st.floats(0, 2000)), "ira": draw(st.floats(0, 2000))}
    w = draw(st.lists(st.floats(0.05, 1.0), min_size=3, max_size=3))
    targets = {s: x / sum(w) for s, x in zip("ABC", w, strict=True)}
    reserve = draw(st.sampled_from([0.0, 25.0]))
    fractional = draw(st.booleans())
    return targets, tuple(lots), cash, reserve, fractional


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(households())
def test_invariants_no_shorts_cash_reserve_and_conservation(case):
    targets, lots, cash, reserve, fractional = case
    hh = optimizing(
        targets,
        accounts=(TAXABLE, IRA),
        tax=TaxRules(lot_method=LotMethod.TAX_MIN, **RATES),
        trading=TradingRules(fractional=fractional, cash_reserve=reserve, spread_bps=5.0),
    )
    holdings = Holdings(lots, cash)
    prices = {"A": 100.0, "B": 50.0, "C": 80.0}
    plan = plan_rebalance(hh, holdings, prices, AS_OF, force=True)
    held = holdings.quantities()
    for t in plan.trades:
        if t.side is Side.SELL:
            assert t.quantity <= held[(t.account, t.symbol)] + 1e-9
            assert sum(s.quantity for s in t.lot_sales) == pytest.approx(t.quantity)
        if not fractional:
            assert t.quantity == int(t.quantity)
    for account, amount in plan.holdings_after.cash.items():
        assert amount >= min(reserve, cash[account]) - 1e-6
    # value is conserved up to the trading costs
    before = holdings.value(prices)
    after = plan.holdings_after.value(prices)
    assert after == pytest.approx(before - plan.total_cost, abs=1e-6)
    assert sum(plan.weights_after.values()) == pytest.approx(1.0)
    assert all(lot.quantity > 0 for lot in plan.holdings_after.lots)


def test_follows_the_location_rule_among_equal_buys():
    # All cash, 1,000 in each account; BND inefficient → the IRA, VTI efficient → the
    # brokerage; the objective is the same either way, the location rule breaks the tie.
    from poise.model import TaxEfficiency

    hh = optimizing(
        {"BND": 0.5, "VTI": 0.5},
        accounts=(TAXABLE, IRA),
        location={"BND": TaxEfficiency.INEFFICIENT},
    )
    holdings = Holdings((), {"brokerage": 1000.0, "ira": 1000.0})
    plan = plan_rebalance(hh, holdings, {"BND": 100.0, "VTI": 100.0}, AS_OF)
    bought = {(t.account, t.symbol): t.quantity for t in plan.trades}
    # the solver's precision: about 1e-5 of the household's value
    assert bought[("ira", "BND")] == pytest.approx(10, abs=0.01)
    assert bought[("brokerage", "VTI")] == pytest.approx(10, abs=0.01)
    assert ("brokerage", "BND") not in bought
