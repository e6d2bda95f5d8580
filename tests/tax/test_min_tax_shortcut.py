"""``min_tax_lots`` with its zero-tax shortcut against the search it skips, on random lots.

``old_min_tax_lots`` is the function before the shortcut (the fixed order is returned without
searching when its tax is 0 and the rates are not negative); both must choose the same
(lot, shares) pairs, exactly.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Sequence
from datetime import date, timedelta
from itertools import pairwise

from hypothesis import event, given, settings
from hypothesis import strategies as st

from poise.model import Lot, LotMethod, TaxRules
from poise.tax import estimate_tax, min_tax_lots, select_lots
from poise.tax._lots import _take, long_term_cutoff

AS_OF = date(2024, 6, 3)


def old_min_tax_lots(
    lots: Sequence[Lot], quantity: float, price: float, as_of: date, rules: TaxRules
) -> list[tuple[Lot, float]]:
    """``min_tax_lots`` before its zero-tax shortcut (verbatim but for the name)."""
    if not lots or quantity <= 1e-12:
        return []
    available = sum(lot.quantity for lot in lots)
    if quantity >= available - 1e-12:
        return select_lots(lots, quantity, LotMethod.TAX_ORDER, price, as_of)

    def by_gain(group: list[Lot]) -> list[Lot]:
        return sorted(group, key=lambda lot: (lot.basis_per_share * -1.0, lot.acquired))

    cutoff = long_term_cutoff(as_of)
    short_lots: list[Lot] = []
    long_lots: list[Lot] = []
    for lot in lots:
        (long_lots if lot.acquired <= cutoff else short_lots).append(lot)
    short = by_gain(short_lots)
    long = by_gain(long_lots)

    def curve(group: list[Lot]) -> tuple[list[float], list[float]]:
        qs, gs = [0.0], [0.0]  # cumulative shares and gains, smallest gain first
        for lot in group:
            qs.append(qs[-1] + lot.quantity)
            gs.append(gs[-1] + (price - lot.basis_per_share) * lot.quantity)
        return qs, gs

    sq, sg = curve(short)
    lq, lg = curve(long)

    def gain_at(qs: list[float], gs: list[float], x: float) -> float:
        k = bisect_right(qs, x) - 1
        if k >= len(qs) - 1:
            return gs[-1]
        return gs[k] + (gs[k + 1] - gs[k]) * (x - qs[k]) / (qs[k + 1] - qs[k])

    lo, hi = max(0.0, quantity - lq[-1]), min(quantity, sq[-1])
    points = {lo, hi}
    points.update(x for x in sq if lo < x < hi)
    points.update(quantity - x for x in lq if lo < quantity - x < hi)
    ordered = sorted(points)
    candidates = list(ordered)
    for a0, a1 in pairwise(ordered):
        s0, s1 = gain_at(sq, sg, a0), gain_at(sq, sg, a1)
        l0, l1 = gain_at(lq, lg, quantity - a0), gain_at(lq, lg, quantity - a1)
        for v0, v1 in ((s0, s1), (l0, l1), (s0 + l0, s1 + l1)):
            if (v0 < 0) != (v1 < 0) and v0 != v1:
                candidates.append(a0 + (a1 - a0) * v0 / (v0 - v1))
    rs, rl = rules.short_term_rate, rules.long_term_rate

    def key(a: float) -> tuple[float, float]:
        st_gain, lt_gain = gain_at(sq, sg, a), gain_at(lq, lg, quantity - a)
        return (round(estimate_tax(st_gain, lt_gain, rules), 9), rs * st_gain + rl * lt_gain)

    best = min(candidates, key=key)
    fixed = select_lots(lots, quantity, LotMethod.TAX_ORDER, price, as_of)
    is_short = {id(lot) for lot in short}
    fixed_st = sum((price - lot.basis_per_share) * x for lot, x in fixed if id(lot) in is_short)
    fixed_lt = sum((price - lot.basis_per_share) * x for lot, x in fixed if id(lot) not in is_short)
    if estimate_tax(fixed_st, fixed_lt, rules) <= key(best)[0] + 1e-9:
        return fixed  # the fixed order is already cheapest: keep its choice (losses first)
    return _take(short, best) + _take(long, quantity - best)


@settings(max_examples=400, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.sampled_from([1.0, 2.5, 7.0, 30.0]),
            st.floats(40.0, 160.0),
            st.sampled_from([0, 10, 200, 364, 365, 366, 367, 800]),
        ),
        min_size=1,
        max_size=12,
    ),
    st.floats(0.0, 1.0),
    st.sampled_from([(0.35, 0.15), (0.0, 0.0), (0.2, 0.2), (0.1, 0.3), (-0.1, 0.15)]),
)
def test_min_tax_lots_equals_search_without_shortcut(raw, fraction, rates):
    lots = [Lot("brokerage", "X", q, q * bps, AS_OF - timedelta(days=age)) for q, bps, age in raw]
    quantity = sum(lot.quantity for lot in lots) * fraction
    rules = TaxRules(LotMethod.TAX_MIN, short_term_rate=rates[0], long_term_rate=rates[1])
    new = min_tax_lots(lots, quantity, 100.0, AS_OF, rules)
    old = old_min_tax_lots(lots, quantity, 100.0, AS_OF, rules)
    assert [(id(lot), x) for lot, x in new] == [(id(lot), x) for lot, x in old]
    fixed = select_lots(lots, quantity, LotMethod.TAX_ORDER, 100.0, AS_OF)
    chose_fixed = [(id(lot), x) for lot, x in new] == [(id(lot), x) for lot, x in fixed]
    event(f"fixed order chosen: {chose_fixed}")
