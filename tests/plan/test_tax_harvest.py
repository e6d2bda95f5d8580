"""Tax-loss harvesting: hand-checked cases and the wash-sale invariant."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from poise.model import AccountKind, HarvestRules, Holdings, Lot, Side, TaxRules, TradingRules
from poise.plan import plan_harvest
from poise.tax import Transaction, identical_group
from tests.conftest import make_household

AS_OF = date(2024, 6, 3)
RATES = TaxRules(short_term_rate=0.35, long_term_rate=0.15)
TAXABLE = ("brokerage", AccountKind.TAXABLE)
IRA = ("ira", AccountKind.TAX_DEFERRED)


def household(**harvest):
    rules = {"enabled": True, "substitutes": {"VTI": ("ITOT", "SCHB")}, **harvest}
    return make_household(
        {"VTI": 0.6, "BND": 0.4},
        accounts=(TAXABLE, IRA),
        tax=RATES,
        harvest=HarvestRules(**rules),
        trading=TradingRules(spread_bps=10.0),
    )


def lot(symbol, quantity, basis, days_ago, account="brokerage"):
    return Lot(account, symbol, quantity, basis, AS_OF - timedelta(days=days_ago))


PRICES = {"VTI": 100.0, "BND": 50.0, "ITOT": 40.0, "SCHB": 20.0}


def test_harvests_loss_lots_and_buys_the_first_substitute():
    # VTI lots: 10 sh at 120 (400 days: long-term loss 200), 10 sh at 90 (gain, kept),
    # 5 sh at 110 (100 days: short-term loss 50). Sell 15 sh at 100: spread 10 bps = 1.50,
    # shared by quantity: proceeds 999 and 499.5 → LT -201, ST -50.5.
    # Saving at 15% / 35%: 30.15 + 17.675 = 47.825. Buy ITOT with 1,498.50:
    # q × 40 × 1.001 = 1,498.50 → q = 37.4251...
    hh = household()
    holdings = Holdings(
        (lot("VTI", 10, 1200, 400), lot("VTI", 10, 900, 500), lot("VTI", 5, 550, 100)),
        {"brokerage": 0.0, "ira": 0.0},
    )
    plan = plan_harvest(hh, holdings, PRICES, AS_OF)
    sell, buy = plan.trades
    assert (sell.side, sell.symbol, sell.quantity) == (Side.SELL, "VTI", 15)
    assert plan.harvested_long_term == pytest.approx(-201.0)
    assert plan.harvested_short_term == pytest.approx(-50.5)
    assert plan.estimated_tax_saving == pytest.approx(201 * 0.15 + 50.5 * 0.35)
    assert (buy.side, buy.symbol, buy.account) == (Side.BUY, "ITOT", "brokerage")
    assert buy.quantity == pytest.approx(1498.5 / (40 * 1.001))
    assert plan.holdings_after.cash["brokerage"] == pytest.approx(0.0, abs=1e-9)
    kept = [x for x in plan.holdings_after.lots if x.symbol == "VTI"]
    assert [x.cost_basis for x in kept] == [900]
    # each trade says why as fields too: the harvest sell and its substitute, both for VTI
    assert [(t.why.kind, t.why.symbol) for t in plan.trades if t.why] == [
        ("harvest", "VTI"),
        ("substitute", "VTI"),
    ]
    assert [str(t.why) for t in plan.trades] == [t.reason for t in plan.trades]


def test_thresholds_min_loss_fraction_and_net_benefit():
    holdings = Holdings((lot("VTI", 10, 1010, 400),), {"brokerage": 0.0, "ira": 0.0})
    # loss 10 (+1 cost) < min_loss 50: nothing to harvest, nothing blocked
    plan = plan_harvest(household(min_loss=50.0), holdings, PRICES, AS_OF)
    assert plan.trades == ()
    assert plan.blocked == ()
    # 1% of basis < 5%
    plan = plan_harvest(household(min_loss_fraction=0.05), holdings, PRICES, AS_OF)
    assert plan.trades == ()
    # saving 10 × 15% = 1.50 less costs 1 + 0.999 → negative benefit: blocked with the reason
    plan = plan_harvest(household(), holdings, PRICES, AS_OF)
    assert plan.trades == ()
    (blocked,) = plan.blocked
    assert "below min_net_benefit" in blocked.reason


def test_recent_purchase_in_the_ira_blocks_the_harvest():
    # 10 VTI bought in the IRA 12 days ago would wash the whole loss (and lose it for good).
    holdings = Holdings(
        (lot("VTI", 10, 1200, 400), lot("VTI", 10, 1000, 12, account="ira")),
        {"brokerage": 0.0, "ira": 0.0},
    )
    plan = plan_harvest(household(), holdings, PRICES, AS_OF)
    assert plan.trades == ()
    (blocked,) = plan.blocked
    assert blocked.symbol == "VTI"
    assert blocked.until == AS_OF - timedelta(days=12) + timedelta(days=31)
    assert "would wash the loss" in blocked.reason


def test_partial_recent_purchase_washes_only_its_share():
    # 4 VTI bought in another taxable lot 12 days ago: of the 10 loss shares, 4 are washed.
    # Loss on the 10 sh: proceeds 1000 - 1 = 999 - 1,200 = -201; 4/10 washed = 80.4.
    holdings = Holdings(
        (lot("VTI", 10, 1200, 400), lot("VTI", 4, 400, 12)), {"brokerage": 0.0, "ira": 0.0}
    )
    plan = plan_harvest(household(), holdings, PRICES, AS_OF)
    sell = next(t for t in plan.trades if t.side is Side.SELL)
    assert [s.lot.quantity for s in sell.lot_sales] == [10]
    assert sell.lot_sales[0].washed == pytest.approx(80.4)
    assert plan.harvested_long_term == pytest.approx(-201 + 80.4)
    moved = [x for x in plan.holdings_after.lots if x.symbol == "VTI"]
    assert moved[0].cost_basis == pytest.approx(400 + 80.4)


def test_substitute_with_a_recent_loss_is_skipped_for_the_next():
    sale = Transaction(AS_OF - timedelta(days=5), "brokerage", "ITOT", Side.SELL, 1, 40, 50)
    holdings = Holdings((lot("VTI", 10, 1200, 400),), {"brokerage": 0.0, "ira": 0.0})
    plan = plan_harvest(household(), holdings, PRICES, AS_OF, transactions=[sale])
    assert [t.symbol for t in plan.trades] == ["VTI", "SCHB"]
    # with SCHB identical to VTI too, nothing is free: blocked, and it says why
    hh = make_household(
        {"VTI": 1.0},
        tax=RATES,
        harvest=HarvestRules(enabled=True, substitutes={"VTI": ("ITOT", "SCHB")}),
        identical_groups=(frozenset({"VTI", "SCHB"}),),
    )
    plan = plan_harvest(
        hh, Holdings(holdings.lots, {"brokerage": 0.0}), PRICES, AS_OF, transactions=[sale]
    )
    assert plan.trades == ()
    assert "ITOT was sold at a loss" in plan.blocked[0].reason
    assert "SCHB is declared substantially identical" in plan.blocked[0].reason


def test_swap_back_after_the_window():
    # ITOT held as VTI's substitute; VTI's last loss sale was 40 days ago: swap back the ITOT
    # lot at a loss (basis 45/sh, price 40) and the break-even one; keep the lots with a gain,
    # short- or long-term (a swap back never realises a gain).
    hh = household(swap_back=True)
    holdings = Holdings(
        (
            lot("ITOT", 10, 450, 40),
            lot("ITOT", 10, 300, 40),
            lot("ITOT", 5, 100, 400),
            lot("ITOT", 2, 80, 400),
        ),
        {"brokerage": 0.0, "ira": 0.0},
    )
    old_sale = Transaction(AS_OF - timedelta(days=40), "brokerage", "VTI", Side.SELL, 10, 90, 1200)
    plan = plan_harvest(hh, holdings, PRICES, AS_OF, transactions=[old_sale])
    sells = [t for t in plan.trades if t.side is Side.SELL and t.symbol == "ITOT"]
    assert [(s.lot.cost_basis, s.quantity) for t in sells for s in t.lot_sales] == [
        (450, 10),
        (80, 2),
    ]
    assert any(t.side is Side.BUY and t.symbol == "VTI" for t in plan.trades)
    assert {(t.why.kind, t.why.symbol) for t in plan.trades if t.why} == {("swap back", "VTI")}
    # inside the window it waits
    recent = Transaction(AS_OF - timedelta(days=20), "brokerage", "VTI", Side.SELL, 10, 90, 1200)
    plan = plan_harvest(hh, holdings, PRICES, AS_OF, transactions=[recent])
    assert not [t for t in plan.trades if t.symbol == "VTI"]


def test_disabled_harvest_does_nothing_and_says_so():
    hh = make_household({"VTI": 1.0}, harvest=HarvestRules(enabled=False))
    holdings = Holdings((lot("VTI", 10, 1200, 400),), {"brokerage": 0.0})
    plan = plan_harvest(hh, holdings, PRICES, AS_OF)
    assert plan.trades == ()
    assert "off" in plan.warnings[0]


# ---- invariant: no harvest buys back a substantially identical symbol within 30 days ----------

SYMS = ["A", "B", "C", "D", "E"]


@st.composite
def scenario(draw):
    groups = draw(st.sampled_from([(), (frozenset({"A", "B"}),), (frozenset({"C", "D", "E"}),)]))
    subs = {s: tuple(draw(st.lists(st.sampled_from(SYMS), max_size=3))) for s in SYMS}
    lots = []
    for i in range(draw(st.integers(1, 8))):
        sym = draw(st.sampled_from(SYMS))
        acct = draw(st.sampled_from(["brokerage", "joint", "ira"]))
        q = float(draw(st.integers(1, 50)))
        basis_ps = draw(st.floats(50, 150))
        age = draw(st.integers(0, 800))
        lots.append(Lot(acct, sym, q, q * basis_ps, AS_OF - timedelta(days=age + i % 2)))
    txs = []
    for _ in range(draw(st.integers(0, 4))):
        sym = draw(st.sampled_from(SYMS))
        side = draw(st.sampled_from([Side.BUY, Side.SELL]))
        age = draw(st.integers(0, 60))
        basis = draw(st.floats(50, 200)) if side is Side.SELL else None
        txs.append(
            Transaction(AS_OF - timedelta(days=age), "brokerage", sym, side, 1.0, 100.0, basis)
        )
    swap = draw(st.booleans())
    return groups, subs, lots, txs, swap


@settings(max_examples=120, deadline=None)
@given(scenario())
def test_no_harvest_trade_buys_a_substantially_identical_symbol_within_30_days(case):
    groups, subs, lots, txs, swap = case
    hh = make_household(
        {"A": 0.3, "C": 0.3, "E": 0.4},
        accounts=(TAXABLE, ("joint", AccountKind.TAXABLE), IRA),
        tax=RATES,
        harvest=HarvestRules(enabled=True, substitutes=subs, swap_back=swap),
        identical_groups=groups,
    )
    prices = dict.fromkeys(SYMS, 100.0)
    holdings = Holdings(tuple(lots), {"brokerage": 0.0, "joint": 0.0, "ira": 0.0})
    plan = plan_harvest(hh, holdings, prices, AS_OF, transactions=txs)
    loss_sales = [
        (t.symbol, AS_OF)
        for t in plan.trades
        if t.side is Side.SELL and any(s.gain < 0 for s in t.lot_sales) and t.account != "ira"
    ]
    loss_sales += [(t.symbol, t.date) for t in txs if t.loss > 0]
    for buy in (t for t in plan.trades if t.side is Side.BUY):
        group = identical_group(buy.symbol, groups)
        for sym, day in loss_sales:
            assert not (sym in group and (AS_OF - day).days <= 30), (buy, sym, day)
    # cash is conserved and never negative; no short sales
    assert all(v >= -1e-9 for v in plan.holdings_after.cash.values())
    held = holdings.quantities()
    for t in plan.trades:
        if t.side is Side.SELL:
            assert t.quantity <= held[(t.account, t.symbol)] + 1e-9
    # harvested amounts are losses; the saving is their value at the household's rates
    assert plan.harvested_short_term <= 1e-9
    assert plan.harvested_long_term <= 1e-9


def test_a_substitute_may_name_its_primary_as_the_way_back():
    # AAPL (target) → MSFT, and MSFT (not a target) → AAPL: accepted; a target harvested into
    # another target stays refused (tests/io).
    from poise.io import household_from_dict

    hh = household_from_dict(
        {
            "accounts": [{"id": "brokerage", "kind": "taxable"}],
            "targets": {"AAPL": 0.5, "KO": 0.5},
            "harvest": {"enabled": True, "substitutes": {"AAPL": ["MSFT"], "MSFT": ["AAPL"]}},
        }
    )
    assert hh.harvest.substitutes["MSFT"] == ("AAPL",)
