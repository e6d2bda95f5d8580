"""The fast lot path (issue 15: planning linear in lots) against the simple algorithms it
replaced, kept here as references: lots grouped once, many-lot sells costed with arrays,
holdings after a plan built from the plan's own lot groups, sources of a sell in one pass.
Every figure must be equal to the bit."""

from __future__ import annotations

from datetime import date, timedelta

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from poise.model import AccountKind, Holdings, Lot, LotMethod, LotSale, Side, TaxRules
from poise.plan import CashFlow, apply_trades, plan_rebalance
from poise.plan._engine import _BULK, lot_sales
from poise.plan._taxaware import TaxAware
from poise.tax import is_long_term, long_term_date, order_lots
from poise.tax._lots import long_term_cutoff
from tests.conftest import make_household

AS_OF = date(2024, 6, 3)
SYMBOLS = ("AAA", "BBB", "CCC", "DDD")


# ---- references: the algorithms before issue 15 --------------------------------------------


def reference_sales(chosen, quantity, value, cost, as_of, taxable):
    sales, short_term, long_term, left = [], 0.0, 0.0, {}
    for lot, take in chosen:
        share = take / quantity
        proceeds = value * share - cost * share
        basis = lot.basis_per_share * take
        gain = proceeds - basis
        long = is_long_term(lot.acquired, as_of)
        sales.append(LotSale(lot, take, proceeds, basis, gain, long))
        left[id(lot)] = lot.take(take)[1]
        if taxable:
            if long:
                long_term += gain
            else:
                short_term += gain
    return sales, short_term, long_term, left


def reference_apply(holdings, trades, as_of, cash_flows=()):
    cash = dict(holdings.cash)
    groups = {}
    for lot in holdings.lots:
        groups.setdefault((lot.account, lot.symbol), []).append(lot)
    for account, amount in cash_flows:
        cash[account] = cash.get(account, 0.0) + amount
    for trade in trades:
        cash[trade.account] = cash.get(trade.account, 0.0) + trade.cash_change
        group = groups.setdefault((trade.account, trade.symbol), [])
        if trade.side is Side.BUY:
            group.append(
                Lot(trade.account, trade.symbol, trade.quantity, trade.value + trade.cost, as_of)
            )
            continue
        if trade.lot_sales:  # by identity (equal lots may be several), else the first equal
            where = {id(lot): i for i, lot in enumerate(group)}

            def index(lot, group=group, where=where):
                i = where.get(id(lot))
                return i if i is not None and group[i] is lot else group.index(lot)

            parts = [(index(sale.lot), sale.quantity) for sale in trade.lot_sales]
        else:
            parts, remaining = [], trade.quantity
            for i in sorted(range(len(group)), key=lambda k: group[k].acquired):
                if remaining <= 1e-12:
                    break
                take = min(group[i].quantity, remaining)
                parts.append((i, take))
                remaining -= take
        gone = set()
        for index, quantity in parts:
            rest = group[index].take(quantity)[1]
            if rest is None:
                gone.add(index)
            else:
                group[index] = rest
        if gone:
            group[:] = [lot for i, lot in enumerate(group) if i not in gone]
    lots = tuple(lot for group in groups.values() for lot in group if lot.quantity > 1e-12)
    return Holdings(lots, cash)


def reference_sources(tax, open_lots, held, symbol, value, price):
    """``TaxAware.sell_sources`` without tax_min, as it ranked every lot before."""
    hh = tax.household
    ranked, deferred = [], []
    for n, acc in enumerate(hh.accounts):
        lots = open_lots.get((acc.id, symbol), ())
        if not lots:
            have = held.get((acc.id, symbol), 0.0)
            if have > 1e-9:
                ranked.append(((1 if acc.taxable else 0, 0.0, n), acc.id, have))
            continue
        for lot in lots:
            if tax.deferred(lot):
                deferred.append(lot)
                continue
            ranked.append(((1 if acc.taxable else 0, 0.0, n), acc.id, lot.quantity))
    ranked.sort(key=lambda r: r[0])
    need, per_account = value / price, {}
    for _, account, quantity in ranked:
        if need <= 1e-9:
            break
        take = min(quantity, need)
        per_account[account] = per_account.get(account, 0.0) + take
        need -= take
    note = None
    if need > 1e-9 and deferred:
        first = min(deferred, key=lambda lot: long_term_date(lot.acquired))
        note = (need, long_term_date(first.acquired), first.account)
    return list(per_account.items()), note


# ---- random lot sets -------------------------------------------------------------------------

quantities = st.one_of(st.floats(0.001, 50.0), st.integers(1, 50).map(float))


@st.composite
def lot_sets(draw, accounts=("a",), max_lots=160):
    prices = {s: draw(st.floats(1.0, 500.0)) for s in SYMBOLS}
    lots = []
    for acc in accounts:
        for sym in draw(st.lists(st.sampled_from(SYMBOLS), min_size=1, max_size=3, unique=True)):
            for _ in range(draw(st.integers(1, max_lots))):
                q = draw(quantities)
                basis = q * prices[sym] * draw(st.floats(0.3, 1.8))
                days = draw(st.one_of(st.integers(1, 2000), st.integers(360, 372)))
                lots.append(Lot(acc, sym, q, basis, AS_OF - timedelta(days=days)))
    draw(st.randoms()).shuffle(lots)
    return lots, prices


def _bits(x: float) -> str:
    return float(x).hex()


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(lot_sets(), st.floats(0.01, 1.0), st.floats(0.0, 30.0), st.booleans(), st.data())
def test_lot_sales_equal_the_per_lot_loop(case, fraction, cost, taxable, data):
    lots, prices = case
    sym = lots[0].symbol
    group = [lot for lot in lots if lot.symbol == sym]
    method = data.draw(st.sampled_from([LotMethod.FIFO, LotMethod.LIFO, LotMethod.HIFO]))
    ordered = order_lots(group, method, prices[sym], AS_OF)
    quantity = fraction * sum(lot.quantity for lot in group)
    chosen, remaining = [], quantity
    for lot in ordered:
        if remaining <= 1e-12:
            break
        take = min(lot.quantity, remaining)
        chosen.append((lot, take))
        remaining -= take
    value = quantity * prices[sym]
    got = lot_sales(chosen, quantity, value, cost, AS_OF, taxable)
    want = reference_sales(chosen, quantity, value, cost, AS_OF, taxable)
    assert got[0] == want[0]  # every field of every LotSale, floats exactly
    assert [_bits(s.proceeds) for s in got[0]] == [_bits(s.proceeds) for s in want[0]]
    assert [_bits(s.gain) for s in got[0]] == [_bits(s.gain) for s in want[0]]
    assert (_bits(got[1]), _bits(got[2])) == (_bits(want[1]), _bits(want[2]))
    assert got[3] == want[3]


def test_both_lot_sale_paths_are_exercised():
    lots = [Lot("a", "X", 1.5, 90.0, AS_OF - timedelta(days=400 + i)) for i in range(_BULK + 5)]
    for n in (3, _BULK + 5):
        chosen = [(lot, lot.quantity) for lot in lots[:n]]
        chosen[-1] = (lots[n - 1], 0.25)  # a lot sold in part
        q = sum(t for _, t in chosen)
        got = lot_sales(chosen, q, q * 70.0, 1.25, AS_OF, True)
        assert got[:3] == reference_sales(chosen, q, q * 70.0, 1.25, AS_OF, True)[:3]
        assert got[3][id(lots[n - 1])] == Lot("a", "X", 1.25, 75.0, lots[n - 1].acquired)


@given(st.dates(date(1990, 1, 1), date(2060, 12, 31)), st.integers(-400, 800))
def test_long_term_cutoff_is_the_holding_period_rule(sold, back):
    acquired = sold - timedelta(days=365 + back) if back < 400 else sold - timedelta(days=back)
    assert (acquired <= long_term_cutoff(sold)) == is_long_term(acquired, sold)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(lot_sets(accounts=("a", "b")))
def test_holdings_groups_and_quantities_equal_a_scan_of_the_lots(case):
    lots, _ = case
    holdings = Holdings(tuple(lots), {"a": 1.0})
    want_q: dict[tuple[str, str], float] = {}
    want_g: dict[tuple[str, str], list[Lot]] = {}
    for lot in lots:
        key = (lot.account, lot.symbol)
        want_q[key] = want_q.get(key, 0.0) + lot.quantity
        want_g.setdefault(key, []).append(lot)
    assert holdings.quantities() == want_q
    assert list(holdings.quantities()) == list(want_q)  # the same key order
    assert {k: list(v) for k, v in holdings.groups().items()} == want_g
    assert holdings.symbols == tuple(dict.fromkeys(lot.symbol for lot in lots))
    for subset in (lots, [lot for lot in lots if lot.account == "a"]):
        want_s: dict[str, float] = {}
        for lot in subset:  # summed in lot order, across accounts
            want_s[lot.symbol] = want_s.get(lot.symbol, 0.0) + lot.quantity
        got_s = Holdings(tuple(subset), {}).symbol_quantities()
        assert list(got_s.items()) == list(want_s.items())
    assert holdings.lots_of("b", lots[0].symbol) == [
        lot for lot in lots if lot.account == "b" and lot.symbol == lots[0].symbol
    ]


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    lot_sets(accounts=("ira", "roth", "tax")),
    st.sampled_from(list(LotMethod)),
    st.booleans(),
    st.floats(0.0, 5000.0),
    st.integers(0, 60),
    st.data(),
)
def test_plans_hold_and_sell_as_the_reference(case, method, fractional, cash, defer, data):
    lots, prices = case
    accounts = [("ira", AccountKind.TAX_DEFERRED), ("roth", AccountKind.TAX_FREE)]
    if data.draw(st.booleans()):
        accounts.append(("tax", AccountKind.TAXABLE))
    ids = {a for a, _ in accounts}
    lots = [lot for lot in lots if lot.account in ids]
    raw = [data.draw(st.floats(0.05, 1.0)) for _ in SYMBOLS]
    targets = {s: w / sum(raw) for s, w in zip(SYMBOLS, raw, strict=True)}
    from poise.model import TradingRules

    hh = make_household(
        targets,
        accounts=accounts,
        trading=TradingRules(fractional=fractional, spread_bps=5.0, commission=1.0),
        tax=TaxRules(lot_method=method, defer_days=defer),
    )
    holdings = Holdings(tuple(lots), {a: cash for a in ids})
    value = holdings.value(prices)
    flows = [CashFlow("ira", data.draw(st.floats(-0.9 * value, 2000.0)))]
    plan = plan_rebalance(hh, holdings, prices, AS_OF, force=True, flows=flows)
    moves = [(f.account, f.amount) for f in flows]
    for trade in plan.trades:
        if trade.side is Side.SELL and trade.lot_sales:
            chosen = [(sale.lot, sale.quantity) for sale in trade.lot_sales]
            taxable = hh.account(trade.account).taxable
            want = reference_sales(chosen, trade.quantity, trade.value, trade.cost, AS_OF, taxable)
            washed = [s.washed for s in trade.lot_sales]
            if not any(washed):
                assert list(trade.lot_sales) == want[0]
                assert (trade.realized_short_term, trade.realized_long_term) == want[1:3]
    if "tax" not in ids:  # no wash settlement: the holdings after are apply_trades' alone
        want_after = reference_apply(holdings, plan.trades, AS_OF, moves)
        assert plan.holdings_after == want_after
        assert plan.holdings_after.cash == want_after.cash
        assert apply_trades(holdings, plan.trades, AS_OF, moves) == want_after


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    lot_sets(accounts=("ira", "tax", "roth"), max_lots=40),
    st.integers(0, 400),
    st.floats(0.01, 1.2),
)
def test_sell_sources_equal_the_ranked_reference(case, defer, fraction):
    lots, prices = case
    hh = make_household(
        {s: 0.25 for s in SYMBOLS},
        accounts=[
            ("ira", AccountKind.TAX_DEFERRED),
            ("tax", AccountKind.TAXABLE),
            ("roth", AccountKind.TAX_FREE),
        ],
        tax=TaxRules(lot_method=LotMethod.FIFO, defer_days=defer),
    )
    holdings = Holdings(tuple(lots), {})
    tax = TaxAware.build(hh, holdings, prices, AS_OF, ())
    assert tax is not None
    assert not tax.tax_min
    sym = lots[0].symbol
    groups = holdings.groups()
    held = holdings.quantities()
    value = fraction * sum(q for (_, s), q in held.items() if s == sym) * prices[sym]
    got = tax.sell_sources(groups, held, sym, value, prices[sym])
    want, note = reference_sources(tax, groups, held, sym, value, prices[sym])
    assert got == want
    assert bool(tax.notes) == (note is not None)
    if note is not None:
        need, first, account = note
        assert f"{need:,.6g} shares" in tax.notes[0]
        assert f"(first on {first}, {account})" in tax.notes[0]


def test_plan_of_many_lots_sells_in_bulk_and_holds_as_the_reference():
    lots = [
        Lot("ira", "AAA" if i % 2 else "BBB", 1.0 + i % 3, 50.0 + i, AS_OF - timedelta(days=i + 1))
        for i in range(600)
    ]
    hh = make_household(
        {"AAA": 0.1, "BBB": 0.9},
        accounts=[("ira", AccountKind.TAX_DEFERRED), ("roth", AccountKind.TAX_FREE)],
        tax=TaxRules(lot_method=LotMethod.FIFO),
    )
    holdings = Holdings(tuple(lots), {"ira": 0.0, "roth": 0.0})
    prices = {"AAA": 100.0, "BBB": 100.0}
    plan = plan_rebalance(hh, holdings, prices, AS_OF, force=True)
    (sell,) = [t for t in plan.trades if t.side is Side.SELL]
    assert len(sell.lot_sales) >= _BULK
    assert plan.holdings_after == reference_apply(holdings, plan.trades, AS_OF)
    # the next plan reads the groups the first one left, not a rescan of the lots
    assert plan.holdings_after._groups is not None
    moved = plan.holdings_after.with_cash({"ira": 5.0, "roth": 1.0})
    assert moved == Holdings(plan.holdings_after.lots, {"ira": 5.0, "roth": 1.0})
    assert moved.groups() is plan.holdings_after.groups()
    assert moved.quantities() == reference_apply(holdings, plan.trades, AS_OF).quantities()


def test_equal_lots_sold_together_both_leave():
    # two lots equal in every field: a sell of both removes both (found by hypothesis; a
    # search by equality would take the first one twice)
    day = date(2024, 6, 2)
    twin = [Lot("ira", "BBB", 1.0, 1.0, day), Lot("ira", "BBB", 1.0, 1.0, day)]
    lots = [Lot("ira", "AAA", 1.0, 1.0, day), *twin, Lot("roth", "AAA", 1.0, 1.0, day)]
    from poise.model import TradingRules

    hh = make_household(
        dict.fromkeys(SYMBOLS, 0.25),
        accounts=[("ira", AccountKind.TAX_DEFERRED), ("roth", AccountKind.TAX_FREE)],
        trading=TradingRules(fractional=False, spread_bps=5.0, commission=1.0),
    )
    holdings = Holdings(tuple(lots), {"ira": 0.0, "roth": 0.0})
    prices = dict.fromkeys(SYMBOLS, 1.0)
    plan = plan_rebalance(hh, holdings, prices, AS_OF, force=True, flows=[CashFlow("ira", -1.0)])
    (sell,) = plan.trades
    assert (sell.symbol, sell.quantity, len(sell.lot_sales)) == ("BBB", 2.0, 2)
    assert plan.holdings_after.lots == (lots[0], lots[3])
    assert apply_trades(holdings, plan.trades, AS_OF, [("ira", -1.0)]) == plan.holdings_after
