"""The wash-sale rule against IRS worked examples and hand-computed cases.

Sources: IRS Publication 550 (Investment Income and Expenses), chapter 4, "Wash Sales"
(the rule, "Basis of stock or securities acquired", "More or less stock bought than sold");
Rev. Rul. 2008-5 (a replacement bought in an IRA: the loss is disallowed and the IRA's basis is
not increased).
"""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from poise.model import Lot
from poise.tax import (
    LossSale,
    Purchase,
    identical_group,
    is_long_term,
    long_term_date,
    match_wash_sales,
    wash_adjusted_lot,
)

D = date.fromisoformat


def test_pub550_basic_example_basis_of_replacement():
    # Pub. 550, Wash Sales, example: "You buy 100 shares of X stock for $1,000. You sell these
    # shares for $750 and within 30 days from the sale you buy 100 shares of the same stock for
    # $800. Because you bought substantially identical stock, you can't deduct your loss of $250
    # on the sale. However, you add the disallowed loss ($250) to the cost of the new stock
    # ($800) to obtain your basis in the new stock, which is $1,050."
    sale = LossSale(D("2023-03-01"), "brokerage", "X", 100, 1000 - 750, D("2022-06-01"))
    buy = Purchase(D("2023-03-20"), "brokerage", "X", 100)
    (match,) = match_wash_sales([sale], [buy])
    assert match.quantity == 100
    assert match.disallowed == pytest.approx(250)
    assert not match.lost
    new_lot = Lot("brokerage", "X", 100, 800, D("2023-03-20"))
    adjusted, rest = wash_adjusted_lot(
        new_lot, match.quantity, match.disallowed, match.carried_days
    )
    assert rest is None
    assert adjusted.cost_basis == pytest.approx(1050)


def test_pub550_more_stock_bought_than_sold_matched_in_order_bought():
    # Pub. 550, "More or less stock bought than sold", example: you bought 100 shares of M on
    # September 24; on February 3 of the next year you sold them at a $1,000 loss; on each of the
    # 4 days February 10-13 you bought 50 shares of substantially identical stock. You can't
    # deduct the $1,000 loss: add half ($500) to the basis of the 50 shares bought February 10
    # and the other half ($500) to the shares bought February 11.
    sale = LossSale(D("2023-02-03"), "brokerage", "M", 100, 1000, D("2022-09-24"))
    buys = [Purchase(D(f"2023-02-{d}"), "brokerage", "M", 50, key=d) for d in (13, 11, 12, 10)]
    matches = match_wash_sales([sale], buys)
    assert [(m.purchase.key, m.quantity, m.disallowed) for m in matches] == [
        (10, 50, pytest.approx(500)),
        (11, 50, pytest.approx(500)),
    ]
    assert sum(m.disallowed for m in matches) == pytest.approx(1000)  # nothing deductible


def test_fewer_shares_bought_washes_only_the_matching_quantity():
    # Pub. 550's rule for fewer replacement shares than shares sold ("match an equal number of
    # the shares sold"): 100 shares bought September 24, 2022, sold December 27, 2022 at a
    # $1,000 loss; 50 substantially identical shares bought December 21 (6 days *before* the
    # sale, inside the window). By hand: 50/100 of the loss ($500) is disallowed and added to the
    # December 21 lot; the other $500 is deductible.
    sale = LossSale(D("2022-12-27"), "brokerage", "M", 100, 1000, D("2022-09-24"))
    buy = Purchase(D("2022-12-21"), "brokerage", "M", 50)
    (match,) = match_wash_sales([sale], [buy])
    assert match.quantity == 50
    assert match.disallowed == pytest.approx(500)
    deductible = sale.loss - match.disallowed
    assert deductible == pytest.approx(500)


def test_pub550_holding_period_carries_over():
    # Pub. 550: "Your holding period for the new stock or securities includes the holding period
    # of the stock or securities sold." Shares bought 2022-09-24 and sold 2023-02-03 were held
    # 132 days (by hand: 30+31+30+31+10); the replacement bought 2023-02-10 therefore starts its
    # holding period 132 days earlier, on 2022-10-01, and is long-term from 2023-10-02 instead
    # of 2024-02-11.
    sale = LossSale(D("2023-02-03"), "brokerage", "M", 100, 1000, D("2022-09-24"))
    buy = Purchase(D("2023-02-10"), "brokerage", "M", 100)
    (match,) = match_wash_sales([sale], [buy])
    assert match.carried_days == 132
    lot = Lot("brokerage", "M", 100, 9000, D("2023-02-10"))
    adjusted, _ = wash_adjusted_lot(lot, 100, match.disallowed, match.carried_days)
    assert adjusted.acquired == D("2022-10-01")
    assert long_term_date(adjusted.acquired) == D("2023-10-02")
    assert is_long_term(adjusted.acquired, D("2023-10-02"))
    assert not is_long_term(lot.acquired, D("2023-10-02"))
    assert adjusted.cost_basis == pytest.approx(10000)


def test_replacement_in_ira_loses_the_loss():
    # Rev. Rul. 2008-5: a loss sale in a taxable account washed by a purchase in the owner's IRA
    # is disallowed, and the IRA's basis is not increased.
    sale = LossSale(D("2024-05-01"), "brokerage", "VTI", 10, 300, D("2023-01-05"))
    buy = Purchase(D("2024-05-10"), "ira", "VTI", 10, taxable=False)
    (match,) = match_wash_sales([sale], [buy])
    assert match.lost
    assert match.disallowed == pytest.approx(300)


def test_window_is_thirty_days_either_side():
    sale = LossSale(D("2024-05-31"), "a", "X", 10, 100, D("2023-01-01"))
    inside = [
        Purchase(D("2024-05-01"), "a", "X", 1, key="-30"),
        Purchase(D("2024-06-30"), "a", "X", 1, key="+30"),
    ]
    outside = [
        Purchase(D("2024-04-30"), "a", "X", 1, key="-31"),
        Purchase(D("2024-07-01"), "a", "X", 1, key="+31"),
    ]
    keys = {m.purchase.key for m in match_wash_sales([sale], inside + outside)}
    assert keys == {"-30", "+30"}


def test_substantially_identical_groups_and_other_symbols():
    groups = (frozenset({"SPY", "IVV", "VOO"}),)
    assert identical_group("IVV", groups) == {"SPY", "IVV", "VOO"}
    assert identical_group("VTI", groups) == {"VTI"}
    sale = LossSale(D("2024-05-01"), "a", "SPY", 10, 100, D("2023-01-01"))
    buys = [Purchase(D("2024-05-02"), "b", "VTI", 10), Purchase(D("2024-05-03"), "b", "VOO", 4)]
    (match,) = match_wash_sales([sale], buys, groups)
    assert match.purchase.symbol == "VOO"
    assert match.disallowed == pytest.approx(40)


def test_the_shares_sold_are_not_their_own_replacement():
    sale = LossSale(D("2024-05-20"), "a", "X", 100, 500, D("2024-05-01"), frozenset({"lot1"}))
    own = Purchase(D("2024-05-01"), "a", "X", 100, key="lot1")
    assert match_wash_sales([sale], [own]) == []


def test_earlier_sale_is_matched_first_and_a_purchase_replaces_once():
    # Two loss sales of 100 shares (March 10 and March 15) and one purchase of 100 shares on
    # March 20: the earlier sale is the wash sale, the later one stays deductible.
    first = LossSale(D("2024-03-10"), "a", "X", 100, 300, D("2023-01-01"), key=1)
    second = LossSale(D("2024-03-15"), "a", "X", 100, 700, D("2023-01-01"), key=2)
    buy = Purchase(D("2024-03-20"), "a", "X", 100)
    (match,) = match_wash_sales([second, first], [buy])
    assert match.sale.key == 1
    assert match.disallowed == pytest.approx(300)


# ---- invariants ------------------------------------------------------------------------------

day = st.integers(min_value=0, max_value=120).map(lambda n: D("2024-01-01") + timedelta(days=n))
qty = st.integers(min_value=1, max_value=200).map(float)
sales_st = st.lists(
    st.tuples(day, qty, st.floats(min_value=0.01, max_value=5000), st.sampled_from("XY")),
    min_size=1,
    max_size=6,
)
buys_st = st.lists(
    st.tuples(day, qty, st.booleans(), st.sampled_from("XY")), min_size=0, max_size=8
)


@settings(max_examples=150, deadline=None)
@given(sales_st, buys_st)
def test_washed_loss_is_never_both_deducted_and_added_to_basis(raw_sales, raw_buys):
    sales = [
        LossSale(d, "a", s, q, loss, D("2023-06-01"), key=i)
        for i, (d, q, loss, s) in enumerate(raw_sales)
    ]
    buys = [
        Purchase(d, "a" if tx else "ira", s, q, taxable=tx, key=i)
        for i, (d, q, tx, s) in enumerate(raw_buys)
    ]
    matches = match_wash_sales(sales, buys)
    for sale in sales:
        washed = sum(m.disallowed for m in matches if m.sale.key == sale.key)
        matched = sum(m.quantity for m in matches if m.sale.key == sale.key)
        deductible = sale.loss - washed
        # each unit of loss is either deductible or disallowed, never both, never neither
        assert -1e-9 <= washed <= sale.loss + 1e-9
        assert deductible + washed == pytest.approx(sale.loss)
        assert matched <= sale.quantity + 1e-9
        # partial washes: the disallowed share equals the matched share of the shares sold
        assert washed == pytest.approx(sale.loss * matched / sale.quantity)
    for buy in buys:
        used = sum(m.quantity for m in matches if m.purchase.key == buy.key)
        assert used <= buy.quantity + 1e-9
    # total basis is conserved through a wash: the replacement lots gain exactly the taxable
    # disallowed losses, and the deducted plus the moved plus the lost loss is the loss.
    lots = {b.key: Lot(b.account, b.symbol, b.quantity, b.quantity * 10.0, b.date) for b in buys}
    basis_before = sum(lot.cost_basis for lot in lots.values())
    for m in matches:
        if m.lost:
            continue
        lot = lots[m.purchase.key]
        adjusted, rest = wash_adjusted_lot(lot, m.quantity, m.disallowed, m.carried_days)
        # keep the lot whole for the next match: add the adjusted part back onto the rest
        merged_basis = adjusted.cost_basis + (rest.cost_basis if rest else 0.0)
        lots[m.purchase.key] = Lot(
            lot.account, lot.symbol, lot.quantity, merged_basis, lot.acquired
        )
        assert adjusted.quantity + (rest.quantity if rest else 0.0) == pytest.approx(lot.quantity)
    moved = sum(m.disallowed for m in matches if not m.lost)
    lost = sum(m.disallowed for m in matches if m.lost)
    basis_after = sum(lot.cost_basis for lot in lots.values())
    assert basis_after == pytest.approx(basis_before + moved)
    deducted = sum(s.loss for s in sales) - moved - lost
    assert deducted + moved + lost == pytest.approx(sum(s.loss for s in sales))
    assert all(abs((m.purchase.date - m.sale.date).days) <= 30 for m in matches)
