"""The plan engine on small households whose right answer is worked out by hand."""

from __future__ import annotations

from datetime import date

import pytest

from poise import InputError
from poise.model import AccountKind, Holdings, Lot, LotMethod, Side, TaxRules, TradingRules
from poise.plan import CashFlow, plan_rebalance
from poise.policy import CashFlowPolicy, RebalanceTo, ThresholdPolicy
from tests.conftest import make_household

AS_OF = date(2024, 6, 3)
PRICES = {"VTI": 100.0, "BND": 100.0, "VXUS": 50.0}


def lot(symbol, quantity, basis, acquired="2020-01-02", account="brokerage"):
    return Lot(account, symbol, quantity, basis, date.fromisoformat(acquired))


def by_symbol(plan):
    return {(t.account, t.symbol, t.side): t for t in plan.trades}


def test_sell_to_target_realizes_long_term_gain_and_tax():
    # VTI 100 sh × 100 = 10,000 (basis 8,000), BND 40 × 100 = 4,000; total 14,000.
    # Target 60/40 → VTI 8,400: sell 16 sh; BND 5,600: buy 16 sh. Gain 16 × (100 - 80) = 320,
    # long-term; tax 15% = 48.
    hh = make_household(
        {"VTI": 0.6, "BND": 0.4}, tax=TaxRules(short_term_rate=0.35, long_term_rate=0.15)
    )
    holdings = Holdings((lot("VTI", 100, 8000), lot("BND", 40, 4000)), {"brokerage": 0.0})
    plan = plan_rebalance(hh, holdings, PRICES, AS_OF)
    assert plan.triggered
    trades = by_symbol(plan)
    sell = trades[("brokerage", "VTI", Side.SELL)]
    buy = trades[("brokerage", "BND", Side.BUY)]
    assert sell.quantity == pytest.approx(16)
    assert buy.quantity == pytest.approx(16)
    assert sell.realized_long_term == pytest.approx(320)
    assert sell.realized_short_term == 0
    assert plan.estimated_tax == pytest.approx(48)
    assert plan.weights_after["VTI"] == pytest.approx(0.6)
    assert plan.weights_after["CASH"] == pytest.approx(0.0, abs=1e-12)
    assert sell.reason == "VTI 71.4% vs target 60.0% (band ±5.00pp): sell to target"


def test_costs_are_paid_from_cash_and_counted_in_weights_after():
    # Spread 10 bps, commission 1. Sell 16 VTI: value 1,600, cost 1 + 1.6 = 2.6, cash 1,597.4.
    # Buy BND with 1,597.4: value v with v + 1 + 0.001 v = 1,597.4 → v = 1,595.4046...
    rules = TradingRules(commission=1.0, spread_bps=10.0)
    hh = make_household({"VTI": 0.6, "BND": 0.4}, trading=rules)
    holdings = Holdings((lot("VTI", 100, 8000), lot("BND", 40, 4000)), {"brokerage": 0.0})
    plan = plan_rebalance(hh, holdings, PRICES, AS_OF)
    trades = by_symbol(plan)
    sell = trades[("brokerage", "VTI", Side.SELL)]
    buy = trades[("brokerage", "BND", Side.BUY)]
    assert sell.cost == pytest.approx(2.6)
    v = (1597.4 - 1.0) / 1.001
    assert buy.value == pytest.approx(v)
    assert buy.cost == pytest.approx(1 + 0.001 * v)
    total_after = 14000 - sell.cost - buy.cost
    assert plan.total_cost == pytest.approx(sell.cost + buy.cost)
    assert plan.holdings_after.value(PRICES) == pytest.approx(total_after)
    assert plan.weights_after["BND"] == pytest.approx((4000 + v) / total_after)
    assert plan.holdings_after.cash["brokerage"] == pytest.approx(0.0, abs=1e-9)
    # the cost of a sell reduces its proceeds for tax: gain = 1,600 - 2.6 - 16 × 80
    assert sell.realized_long_term == pytest.approx(1600 - 2.6 - 1280)


@pytest.mark.parametrize(
    ("method", "gain_short", "gain_long"),
    [
        # lot A: 50 sh, basis 80/sh, long-term; lot B: 50 sh, basis 120/sh, short-term (bought
        # 2024-01-02, sold 2024-06-03). Selling 16 at 100:
        (LotMethod.FIFO, 0.0, 16 * (100 - 80)),  # oldest: A
        (LotMethod.LIFO, 16 * (100 - 120), 0.0),  # newest: B
        (LotMethod.HIFO, 16 * (100 - 120), 0.0),  # highest basis: B
        (LotMethod.TAX_MIN, 16 * (100 - 120), 0.0),  # losses first: B
    ],
)
def test_lot_methods_choose_lots(method, gain_short, gain_long):
    hh = make_household({"VTI": 0.6, "BND": 0.4}, tax=TaxRules(lot_method=method))
    holdings = Holdings(
        (
            lot("VTI", 50, 4000, "2020-01-02"),
            lot("VTI", 50, 6000, "2024-01-02"),
            lot("BND", 40, 4000),
        ),
        {"brokerage": 0.0},
    )
    plan = plan_rebalance(hh, holdings, PRICES, AS_OF)
    sell = by_symbol(plan)[("brokerage", "VTI", Side.SELL)]
    assert sell.realized_short_term == pytest.approx(gain_short)
    assert sell.realized_long_term == pytest.approx(gain_long)
    remaining = sorted(
        (x.quantity, x.cost_basis) for x in plan.holdings_after.lots if x.symbol == "VTI"
    )
    assert sum(q for q, _ in remaining) == pytest.approx(84)


def test_tax_min_prefers_long_term_gains_over_short_term_gains():
    # At 130: lot A (basis 80, long) gains 50/sh; lot C (basis 125, short) gains 5/sh.
    # tax_min sells long-term gains before short-term gains, even though C's gain is smaller.
    hh = make_household({"VTI": 0.5, "BND": 0.5}, tax=TaxRules(lot_method=LotMethod.TAX_MIN))
    holdings = Holdings(
        (
            lot("VTI", 10, 800, "2020-01-02"),
            lot("VTI", 90, 11250, "2024-03-01"),
            lot("BND", 30, 3000),
        ),
        {"brokerage": 0.0},
    )
    plan = plan_rebalance(hh, holdings, {"VTI": 130.0, "BND": 100.0}, AS_OF)
    sell = by_symbol(plan)[("brokerage", "VTI", Side.SELL)]
    # total 16,000 → VTI goal 8,000 → sell 5,000 / 130 = 38.46 sh: 10 from A, 28.46 from C
    q = 5000 / 130
    assert sell.quantity == pytest.approx(q)
    assert sell.realized_long_term == pytest.approx(10 * 50)
    assert sell.realized_short_term == pytest.approx((q - 10) * 5)


def test_deposit_buys_the_most_underweight_first():
    # targets 50/30/20, values 5,000/2,000/3,000. Deposit 2,000 → total 12,000, goals
    # 6,000/3,600/2,400, gaps +1,000/+1,600/-600. Water level L: (1,600-L)+(1,000-L) = 2,000
    # → L = 300: BND +1,300, VTI +700, VXUS nothing.
    hh = make_household({"VTI": 0.5, "BND": 0.3, "VXUS": 0.2}, policy=CashFlowPolicy())
    holdings = Holdings(
        (lot("VTI", 50, 4000), lot("BND", 20, 2000), lot("VXUS", 60, 3000)), {"brokerage": 0.0}
    )
    plan = plan_rebalance(hh, holdings, PRICES, AS_OF, flows=[CashFlow("brokerage", 2000)])
    trades = by_symbol(plan)
    assert set(trades) == {("brokerage", "BND", Side.BUY), ("brokerage", "VTI", Side.BUY)}
    assert trades[("brokerage", "BND", Side.BUY)].value == pytest.approx(1300)
    assert trades[("brokerage", "VTI", Side.BUY)].value == pytest.approx(700)
    assert "deposit" in trades[("brokerage", "BND", Side.BUY)].reason
    why = trades[("brokerage", "BND", Side.BUY)].why
    assert why is not None
    assert (why.kind, why.band) == ("deposit", None)  # a cash-flow policy has no bands
    assert why.weight == pytest.approx(0.2)
    assert plan.holdings_after.cash["brokerage"] == pytest.approx(0.0, abs=1e-9)


def test_withdrawal_sells_most_overweight_in_its_own_account():
    # brokerage: VTI 60 sh (6,000), VXUS 40 sh (2,000); ira: BND 20 sh (2,000). Total 10,000,
    # targets 50/30/20 → after withdrawing 1,000: goals 4,500/2,700/1,800.
    # Overweight: VTI +1,500, BND -700, VXUS +200. Only brokerage can pay: water-fill 1,000
    # over VTI 1,500 and VXUS 200 → level 350: VTI sells 1,150... no: (1,500-L)+(200-L)=1,000
    # → L = 350 > 200, so VXUS gets nothing and VTI sells 1,000.
    hh = make_household(
        {"VTI": 0.5, "BND": 0.3, "VXUS": 0.2},
        accounts=(("brokerage", AccountKind.TAXABLE), ("ira", AccountKind.TAX_DEFERRED)),
        policy=CashFlowPolicy(),
    )
    holdings = Holdings(
        (lot("VTI", 60, 6000), lot("VXUS", 40, 2000), lot("BND", 20, 2000, account="ira")),
        {"brokerage": 0.0, "ira": 0.0},
    )
    plan = plan_rebalance(hh, holdings, PRICES, AS_OF, flows=[CashFlow("brokerage", -1000)])
    assert len(plan.trades) == 1
    sell = plan.trades[0]
    assert (sell.account, sell.symbol, sell.side) == ("brokerage", "VTI", Side.SELL)
    assert sell.value == pytest.approx(1000)
    assert "withdrawal" in sell.reason
    assert sell.why is not None
    assert (sell.why.kind, sell.why.weight) == ("withdraw", pytest.approx(0.6))
    assert sell.why.action == "sell to fund the withdrawal of 1,000.00 from brokerage"
    assert plan.holdings_after.cash["brokerage"] == pytest.approx(0.0, abs=1e-9)
    assert plan.holdings_after.value(PRICES) == pytest.approx(9000)


def test_unmet_withdrawal_is_reported_not_shrunk():
    hh = make_household({"VTI": 1.0}, policy=CashFlowPolicy())
    holdings = Holdings((lot("VTI", 10, 800),), {"brokerage": 0.0})
    with pytest.raises(InputError, match="exceed"):
        plan_rebalance(hh, holdings, PRICES, AS_OF, flows=[CashFlow("brokerage", -5000)])


def test_rebalancing_sells_in_tax_advantaged_accounts_first():
    # VTI is overweight and held in both accounts; the IRA sale realizes no tax.
    hh = make_household(
        {"VTI": 0.6, "BND": 0.4},
        accounts=(("brokerage", AccountKind.TAXABLE), ("ira", AccountKind.TAX_DEFERRED)),
        tax=TaxRules(long_term_rate=0.15),
    )
    holdings = Holdings(
        (
            lot("VTI", 50, 2000),
            lot("VTI", 50, 2000, account="ira"),
            lot("BND", 40, 4000, account="ira"),
        ),
        {"brokerage": 0.0, "ira": 0.0},
    )
    plan = plan_rebalance(hh, holdings, PRICES, AS_OF)
    sells = [t for t in plan.trades if t.side is Side.SELL]
    assert [(t.account, t.symbol) for t in sells] == [("ira", "VTI")]
    assert plan.estimated_tax == 0
    assert plan.weights_after["VTI"] == pytest.approx(0.6)


def test_to_band_moves_breaching_assets_to_the_band_edge():
    # 70/30 against 60/40 with ±5pp bands: to band → 65/35 (sell 5pp of VTI, buy BND).
    hh = make_household(
        {"VTI": 0.6, "BND": 0.4}, policy=ThresholdPolicy(0.05, rebalance_to=RebalanceTo.BAND)
    )
    holdings = Holdings((lot("VTI", 70, 7000), lot("BND", 30, 3000)), {"brokerage": 0.0})
    plan = plan_rebalance(hh, holdings, PRICES, AS_OF)
    assert plan.weights_after["VTI"] == pytest.approx(0.65)
    assert plan.weights_after["BND"] == pytest.approx(0.35)
    assert "sell to band" in plan.trades[0].reason


def test_inside_bands_no_trades_with_reason():
    hh = make_household({"VTI": 0.6, "BND": 0.4})
    holdings = Holdings((lot("VTI", 62, 6200), lot("BND", 38, 3800)), {"brokerage": 0.0})
    plan = plan_rebalance(hh, holdings, PRICES, AS_OF)
    assert not plan.triggered
    assert plan.trades == ()
    assert any("inside their bands" in r for r in plan.reasons)
    assert plan.reasons[-1] == "no trades needed"
    forced = plan_rebalance(hh, holdings, PRICES, AS_OF, force=True)
    assert forced.triggered
    assert forced.weights_after["VTI"] == pytest.approx(0.6)


def test_whole_shares_never_overspend_and_min_trade_value_drops_small_trades():
    rules = TradingRules(fractional=False, min_trade_value=150.0, cash_reserve=25.0)
    hh = make_household({"VTI": 0.5, "BND": 0.3, "VXUS": 0.2}, trading=rules)
    holdings = Holdings((lot("VTI", 10, 800),), {"brokerage": 1333.0})
    prices = {"VTI": 100.0, "BND": 100.0, "VXUS": 50.0}
    # Total 2,333; goals VTI 1,166.5, BND 699.9, VXUS 466.6 → wanted 166.5 / 699.9 / 466.6
    # = 1,333 > 1,308 spendable (reserve 25): scaled by 1,308 / 1,333.
    # Floors: BND 6 (600), VXUS 9 (450), VTI 1 (100 < 150, dropped). 258 left.
    # Top-up to within half a share: VTI short 1.665 sh → 2 sh (200 ≥ 150); BND short 0.999 sh
    # → 1 sh but only 58 left. Cash 1,333 - 600 - 450 - 200 = 83.
    # Then (issue 10, kind 6) one more share while it lowers the squared error, cash
    # included: errors VTI +33.5, BND −99.9, VXUS −16.6, cash +83 → 18,267; one more VXUS
    # (50 ≤ 58 spendable): VXUS +33.4, cash +33 → 13,307, lower; another would need 50 > 8.
    plan = plan_rebalance(hh, holdings, prices, AS_OF, force=True)
    trades = by_symbol(plan)
    assert trades[("brokerage", "BND", Side.BUY)].quantity == 6
    assert trades[("brokerage", "VXUS", Side.BUY)].quantity == 10
    assert trades[("brokerage", "VTI", Side.BUY)].quantity == 2
    assert all(t.value >= 150 for t in plan.trades)
    assert plan.holdings_after.cash["brokerage"] == pytest.approx(33.0)


def test_cash_target_is_kept():
    hh = make_household({"VTI": 0.9, "CASH": 0.1})
    holdings = Holdings((), {"brokerage": 10000.0})
    plan = plan_rebalance(hh, holdings, PRICES, AS_OF)
    assert plan.triggered
    assert plan.weights_after["VTI"] == pytest.approx(0.9)
    assert plan.weights_after["CASH"] == pytest.approx(0.1)


def test_held_symbol_without_target_is_sold_when_rebalancing():
    hh = make_household({"VTI": 1.0})
    holdings = Holdings((lot("VTI", 50, 5000), lot("VXUS", 100, 4000)), {"brokerage": 0.0})
    plan = plan_rebalance(hh, holdings, PRICES, AS_OF)
    assert plan.targets["VXUS"] == 0
    assert plan.weights_after["VXUS"] == pytest.approx(0.0, abs=1e-12)
    assert plan.weights_after["VTI"] == pytest.approx(1.0)


def test_cash_flow_policy_does_not_sell_without_flows():
    hh = make_household({"VTI": 0.5, "BND": 0.5}, policy=CashFlowPolicy())
    holdings = Holdings((lot("VTI", 90, 9000), lot("BND", 10, 1000)), {"brokerage": 0.0})
    plan = plan_rebalance(hh, holdings, PRICES, AS_OF)
    assert plan.trades == ()


def test_missing_price_names_the_symbol():
    hh = make_household({"VTI": 0.5, "BND": 0.5})
    holdings = Holdings((lot("VTI", 90, 9000),), {"brokerage": 0.0})
    with pytest.raises(InputError, match="BND"):
        plan_rebalance(hh, holdings, {"VTI": 100.0}, AS_OF)


def test_every_trade_carries_its_reason_as_fields():
    # VTI 10,000 of 14,000 = 71.4% vs 60%: sell to target; BND 28.6% vs 40%: buy to target,
    # both with the household's 5pp absolute band (make_household's ThresholdPolicy).
    hh = make_household({"VTI": 0.6, "BND": 0.4})
    holdings = Holdings((lot("VTI", 100, 8000), lot("BND", 40, 4000)), {"brokerage": 0.0})
    plan = plan_rebalance(hh, holdings, PRICES, AS_OF)
    trades = by_symbol(plan)
    sell = trades[("brokerage", "VTI", Side.SELL)].why
    buy = trades[("brokerage", "BND", Side.BUY)].why
    assert sell is not None
    assert buy is not None
    assert (sell.kind, sell.action, sell.symbol) == ("to target", "sell to target", "VTI")
    assert sell.weight == pytest.approx(10_000 / 14_000)
    assert sell.target == 0.6
    assert sell.band == pytest.approx(0.05)
    assert (buy.kind, buy.action, buy.target) == ("to target", "buy to target", 0.4)
    for t in plan.trades:
        assert str(t.why) == t.reason
