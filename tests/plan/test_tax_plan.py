"""The tax-aware heuristic plan on small households worked out by hand."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from poise.model import (
    AccountKind,
    HarvestRules,
    Holdings,
    Lot,
    LotMethod,
    Side,
    TaxEfficiency,
    TaxRules,
)
from poise.plan import CashFlow, plan_rebalance
from poise.policy import NeverPolicy
from poise.tax import Transaction, long_term_date
from tests.conftest import make_household

AS_OF = date(2024, 6, 3)
TAXABLE = ("brokerage", AccountKind.TAXABLE)
IRA = ("ira", AccountKind.TAX_DEFERRED)
RATES = {"short_term_rate": 0.35, "long_term_rate": 0.15}


def lot(symbol, quantity, basis, acquired="2020-01-02", account="brokerage"):
    if isinstance(acquired, int):
        acquired = AS_OF - timedelta(days=acquired)
    else:
        acquired = date.fromisoformat(acquired)
    return Lot(account, symbol, quantity, basis, acquired)


def trades_of(plan):
    return {(t.account, t.symbol, t.side): t for t in plan.trades}


def test_tax_min_sells_taxable_losses_then_tax_deferred_then_gains():
    # X 30 sh × 100 (brokerage: 10 at a loss of 20/sh, 10 with a long-term gain of 50/sh;
    # ira: 10). Target X 50% of 3,000 → sell 15 shares. By hand, tax_min: the 10 loss shares
    # (LT loss -200) first, then 5 from the IRA; the gain lot is untouched.
    hh = make_household(
        {"X": 0.5, "Y": 0.5},
        accounts=(TAXABLE, IRA),
        tax=TaxRules(lot_method=LotMethod.TAX_MIN, **RATES),
    )
    loss = lot("X", 10, 1200, "2021-05-03")
    gain = lot("X", 10, 500, "2020-01-02")
    holdings = Holdings(
        (loss, gain, lot("X", 10, 500, account="ira")), {"brokerage": 0.0, "ira": 0.0}
    )
    plan = plan_rebalance(hh, holdings, {"X": 100.0, "Y": 100.0}, AS_OF)
    t = trades_of(plan)
    sell = t[("brokerage", "X", Side.SELL)]
    assert sell.quantity == pytest.approx(10)
    assert [s.lot for s in sell.lot_sales] == [loss]
    assert sell.realized_long_term == pytest.approx(-200)
    assert t[("ira", "X", Side.SELL)].quantity == pytest.approx(5)
    assert plan.estimated_tax == 0
    # fifo keeps the old order: the IRA first, then the oldest taxable lot (the gain).
    fifo = make_household(
        {"X": 0.5, "Y": 0.5},
        accounts=(TAXABLE, IRA),
        tax=TaxRules(lot_method=LotMethod.FIFO, **RATES),
    )
    plan = plan_rebalance(fifo, holdings, {"X": 100.0, "Y": 100.0}, AS_OF)
    t = trades_of(plan)
    assert t[("ira", "X", Side.SELL)].quantity == pytest.approx(10)
    assert t[("brokerage", "X", Side.SELL)].realized_long_term == pytest.approx(5 * 50)


def test_a_lot_turning_long_term_soon_is_deferred_and_the_drift_reported():
    # lifo would sell the newest lot first: 10 sh bought 360 days ago at 50 (short-term gain of
    # 500, long-term in 6 days). With defer_days = 30 it is skipped: the 10 old shares are sold
    # (long-term gain 10 × 10 = 100) and the other 5 wanted stay unsold, with a warning.
    hh = make_household(
        {"X": 0.25, "Y": 0.75}, tax=TaxRules(lot_method=LotMethod.LIFO, defer_days=30, **RATES)
    )
    young = lot("X", 10, 500, 360)
    old = lot("X", 10, 900, "2020-01-02")
    holdings = Holdings((young, old), {"brokerage": 0.0})
    # total 2,000; X target 500 → sell 15.
    plan = plan_rebalance(hh, holdings, {"X": 100.0, "Y": 100.0}, AS_OF)
    (sell,) = [t for t in plan.trades if t.side is Side.SELL]
    assert sell.quantity == pytest.approx(10)
    assert [s.lot for s in sell.lot_sales] == [old]
    assert sell.realized_long_term == pytest.approx(100)
    assert sell.realized_short_term == 0
    assert any("deferred" in w and str(long_term_date(young.acquired)) in w for w in plan.warnings)
    assert plan.weights_after["X"] == pytest.approx(1000 / 2000)
    # Without deferral, lifo sells the young lot: short-term gain 10 × 50 = 500.
    plain = make_household({"X": 0.25, "Y": 0.75}, tax=TaxRules(lot_method=LotMethod.LIFO, **RATES))
    plan = plan_rebalance(plain, holdings, {"X": 100.0, "Y": 100.0}, AS_OF)
    (sell,) = [t for t in plan.trades if t.side is Side.SELL]
    assert sell.realized_short_term == pytest.approx(500)


def _blocked_household(substitutes):
    return make_household(
        {"VTI": 0.5, "BND": 0.5},
        tax=TaxRules(**RATES),
        harvest=HarvestRules(substitutes=substitutes),
    )


LOSS_SALE = Transaction(AS_OF - timedelta(days=10), "brokerage", "BND", Side.SELL, 10, 100, 1200)


def test_a_buy_that_would_wash_a_recent_loss_buys_the_substitute():
    # BND was sold at a loss of 200 ten days ago. Rebalancing 15 VTI / 5 BND to 50/50 wants
    # 500 of BND: it buys the declared substitute AGG (10 sh at 50) instead.
    hh = _blocked_household({"BND": ("AGG",)})
    holdings = Holdings((lot("VTI", 15, 1000), lot("BND", 5, 600)), {"brokerage": 0.0})
    prices = {"VTI": 100.0, "BND": 100.0, "AGG": 50.0}
    plan = plan_rebalance(hh, holdings, prices, AS_OF, transactions=[LOSS_SALE])
    t = trades_of(plan)
    assert ("brokerage", "BND", Side.BUY) not in t
    buy = t[("brokerage", "AGG", Side.BUY)]
    assert buy.quantity == pytest.approx(10)
    assert "substitute AGG" in buy.reason
    assert "wash sale until 2024-06-24" in buy.reason
    # Without transactions the rule is off and BND itself is bought.
    plan = plan_rebalance(hh, holdings, prices, AS_OF)
    assert ("brokerage", "BND", Side.BUY) in trades_of(plan)


def test_without_a_substitute_nothing_is_sold_for_it_and_the_plan_says_so():
    # BND may not be bought (wash sale) and has no substitute: it is held at 500 instead of its
    # 1,000 goal, and VTI is not sold to raise cash that could not be invested.
    hh = _blocked_household({})
    holdings = Holdings((lot("VTI", 15, 1000), lot("BND", 5, 600)), {"brokerage": 0.0})
    plan = plan_rebalance(
        hh, holdings, {"VTI": 100.0, "BND": 100.0}, AS_OF, transactions=[LOSS_SALE]
    )
    assert plan.trades == ()
    assert any("BND: held 500.00 below its goal" in w for w in plan.warnings)
    assert any("buy it from 2024-06-24" in w for w in plan.warnings)
    # A deposit is invested in VTI then, never left idle for BND.
    plan = plan_rebalance(
        hh, holdings, {"VTI": 100.0, "BND": 100.0}, AS_OF, transactions=[LOSS_SALE],
        flows=[CashFlow("brokerage", 1000.0)],
    )  # fmt: skip
    assert [(t.symbol, t.side) for t in plan.trades] == [("VTI", Side.BUY)]
    assert plan.weights_after["CASH"] == pytest.approx(0.0, abs=1e-12)


def test_declared_identical_symbols_are_blocked_too():
    hh = make_household({"SPY": 0.5, "BND": 0.5}, identical_groups=(frozenset({"SPY", "IVV"}),))
    sale = Transaction(AS_OF - timedelta(days=3), "brokerage", "IVV", Side.SELL, 1, 90, 100)
    holdings = Holdings((lot("BND", 15, 1000),), {"brokerage": 0.0})
    plan = plan_rebalance(
        hh, holdings, {"SPY": 100.0, "BND": 100.0, "IVV": 90.0}, AS_OF, transactions=[sale]
    )
    assert not [t for t in plan.trades if t.side is Side.BUY and t.symbol == "SPY"]
    assert any("IVV was sold at a loss" in w for w in plan.warnings)
    # 31 days later the window is over
    later = AS_OF + timedelta(days=28)
    plan = plan_rebalance(
        hh, holdings, {"SPY": 100.0, "BND": 100.0, "IVV": 90.0}, later, transactions=[sale]
    )
    assert [t for t in plan.trades if t.side is Side.BUY and t.symbol == "SPY"]


def test_loss_sale_washed_by_a_recent_ira_purchase_is_lost_partially():
    # brokerage VTI 10 sh, basis 150/sh; ira bought 2 VTI five days ago. Price 100; target 50%
    # of 1,200 → sell 6 VTI in the brokerage at a loss of 300. The 2 IRA shares replace 2 of the
    # 6: 100 of the loss is disallowed and lost for good; 200 is realized (long-term).
    hh = make_household(
        {"VTI": 0.5, "BND": 0.5},
        accounts=(TAXABLE, IRA),
        tax=TaxRules(lot_method=LotMethod.TAX_MIN, **RATES),
    )
    replacement = lot("VTI", 2, 200, 5, account="ira")
    holdings = Holdings((lot("VTI", 10, 1500), replacement), {"brokerage": 0.0, "ira": 0.0})
    plan = plan_rebalance(hh, holdings, {"VTI": 100.0, "BND": 100.0}, AS_OF, transactions=())
    sell = trades_of(plan)[("brokerage", "VTI", Side.SELL)]
    assert sell.quantity == pytest.approx(6)
    assert sum(s.washed for s in sell.lot_sales) == pytest.approx(100)
    assert sell.realized_long_term == pytest.approx(-200)
    assert "lost for good" in sell.reason
    ira_lots = [x for x in plan.holdings_after.lots if x.account == "ira" and x.symbol == "VTI"]
    assert ira_lots == [replacement]  # no basis adjustment in an IRA


def test_loss_sale_washed_by_a_taxable_purchase_moves_basis_and_holding_period():
    # As above, but the 2 replacement shares sit in a second taxable account: their basis goes
    # from 200 to 300 and their holding period starts (2024-06-03 - 2020-01-02) = 1,614 days
    # before 2024-05-29.
    hh = make_household(
        {"VTI": 0.5, "BND": 0.5},
        accounts=(TAXABLE, ("joint", AccountKind.TAXABLE)),
        tax=TaxRules(lot_method=LotMethod.TAX_MIN, **RATES),
    )
    old = lot("VTI", 10, 1500, "2020-01-02")
    replacement = lot("VTI", 2, 200, 5, account="joint")
    holdings = Holdings((old, replacement), {"brokerage": 0.0, "joint": 0.0})
    plan = plan_rebalance(hh, holdings, {"VTI": 100.0, "BND": 100.0}, AS_OF, transactions=())
    sells = [t for t in plan.trades if t.side is Side.SELL]
    assert sum(t.quantity for t in sells) == pytest.approx(6)
    washed = sum(s.washed for t in sells for s in t.lot_sales)
    assert washed == pytest.approx(100)
    assert sum(t.realized_long_term for t in sells) == pytest.approx(-200)
    (moved,) = [x for x in plan.holdings_after.lots if x.account == "joint" and x.symbol == "VTI"]
    assert moved.cost_basis == pytest.approx(300)
    assert moved.acquired == date(2024, 5, 29) - timedelta(days=1614)
    # Basis conserved: the loss realized + the loss moved = the economic loss.
    assert -sum(s.gain for t in sells for s in t.lot_sales) == pytest.approx(200 + 100)


def test_a_loss_sale_today_blocks_a_buy_of_it_in_another_account():
    # A withdrawal sells X at a loss in the brokerage; a deposit into the IRA would buy X (the
    # most underweight) and wash the loss for good. It buys the substitute Z instead.
    hh = make_household(
        {"X": 0.5, "Y": 0.5},
        accounts=(TAXABLE, IRA),
        policy=NeverPolicy(),
        harvest=HarvestRules(substitutes={"X": ("Z",)}),
    )
    holdings = Holdings(
        (lot("X", 10, 1500), lot("Y", 10, 1000, account="ira")), {"brokerage": 0.0, "ira": 0.0}
    )
    prices = {"X": 100.0, "Y": 100.0, "Z": 20.0}
    flows = [CashFlow("brokerage", -500), CashFlow("ira", 500)]
    plan = plan_rebalance(hh, holdings, prices, AS_OF, flows=flows, transactions=())
    t = trades_of(plan)
    assert t[("brokerage", "X", Side.SELL)].realized_long_term < 0
    assert ("ira", "X", Side.BUY) not in t
    assert t[("ira", "Z", Side.BUY)].quantity == pytest.approx(25)
    # Issue 10, kind 3: the rule no longer waits for transactions. Without them the loss sale
    # is today's own trade, and an IRA buy of X within 30 days would lose the loss for good
    # (IRC §1091; a buy in a tax-advantaged account): the plan is the same.
    plan = plan_rebalance(hh, holdings, prices, AS_OF, flows=flows)
    assert ("ira", "X", Side.BUY) not in trades_of(plan)
    assert trades_of(plan)[("ira", "Z", Side.BUY)].quantity == pytest.approx(25)


def test_asset_location_buys_bonds_in_the_ira_and_stocks_in_the_brokerage():
    # All cash: brokerage 1,500, ira 500. BND 50%, VTI 50%. Location: BND inefficient → IRA
    # first (500) then the brokerage (500); VTI efficient → brokerage (1,000).
    targets = {"BND": 0.5, "VTI": 0.5}
    hh = make_household(
        targets, accounts=(TAXABLE, IRA), location={"BND": TaxEfficiency.INEFFICIENT}
    )
    holdings = Holdings((), {"brokerage": 1500.0, "ira": 500.0})
    plan = plan_rebalance(hh, holdings, {"BND": 100.0, "VTI": 100.0}, AS_OF)
    t = trades_of(plan)
    assert t[("ira", "BND", Side.BUY)].quantity == pytest.approx(5)
    assert t[("brokerage", "BND", Side.BUY)].quantity == pytest.approx(5)
    assert t[("brokerage", "VTI", Side.BUY)].quantity == pytest.approx(10)
    assert ("ira", "VTI", Side.BUY) not in t
    # growth goes to the Roth first
    roth = ("roth", AccountKind.TAX_FREE)
    hh = make_household(
        {"QQQ": 0.5, "BND": 0.5},
        accounts=(TAXABLE, IRA, roth),
        location={"BND": TaxEfficiency.INEFFICIENT, "QQQ": TaxEfficiency.GROWTH},
    )
    holdings = Holdings((), {"brokerage": 1000.0, "ira": 500.0, "roth": 500.0})
    plan = plan_rebalance(hh, holdings, {"BND": 100.0, "QQQ": 100.0}, AS_OF)
    t = trades_of(plan)
    assert t[("roth", "QQQ", Side.BUY)].quantity == pytest.approx(5)
    assert t[("ira", "BND", Side.BUY)].quantity == pytest.approx(5)


def test_a_held_substitute_counts_toward_its_primary_target():
    # After a harvest the household holds AGG in place of BND: 10 VTI + 20 AGG at 50 = 50/50.
    holdings = Holdings((lot("VTI", 10, 1000), lot("AGG", 20, 1000)), {"brokerage": 0.0})
    prices = {"VTI": 100.0, "BND": 100.0, "AGG": 50.0}
    hh = make_household(
        {"VTI": 0.5, "BND": 0.5}, harvest=HarvestRules(substitutes={"BND": ("AGG",)})
    )
    plan = plan_rebalance(hh, holdings, prices, AS_OF)
    assert not plan.triggered
    assert not plan.trades
    # Undeclared, AGG is an asset with no target: the threshold policy sells it.
    plain = make_household({"VTI": 0.5, "BND": 0.5})
    plan = plan_rebalance(plain, holdings, prices, AS_OF)
    assert plan.triggered
    assert ("brokerage", "AGG", Side.SELL) in trades_of(plan)
