"""Lot methods worked by hand on four lots of one symbol."""

from __future__ import annotations

from datetime import date

import pytest

from poise import InputError
from poise.model import Lot, LotMethod, TaxRules
from poise.tax import estimate_tax, pick_lots, select_lots
from poise.tax._lots import turns_long_term_within

AS_OF = date(2024, 6, 3)
PRICE = 100.0
# A: long-term gain (+50/sh), B: long-term loss (-20/sh), C: short-term gain (+10/sh),
# D: short-term loss (-10/sh).
A = Lot("b", "X", 10, 500, date(2020, 1, 2))
B = Lot("b", "X", 10, 1200, date(2023, 1, 3))
C = Lot("b", "X", 10, 900, date(2024, 3, 1))
D = Lot("b", "X", 10, 1100, date(2024, 5, 1))
LOTS = [C, A, D, B]


def picked(method, quantity):
    return [(lot.acquired, q) for lot, q in select_lots(LOTS, quantity, method, PRICE, AS_OF)]


def test_fifo_lifo_hifo():
    assert picked(LotMethod.FIFO, 15) == [(A.acquired, 10), (B.acquired, 5)]
    assert picked(LotMethod.LIFO, 15) == [(D.acquired, 10), (C.acquired, 5)]
    assert picked(LotMethod.HIFO, 15) == [(B.acquired, 10), (D.acquired, 5)]


def test_tax_min_losses_then_long_term_then_short_term():
    # losses largest per share first (B -20, D -10), then long-term gains (A), then short (C)
    assert picked(LotMethod.TAX_MIN, 35) == [
        (B.acquired, 10),
        (D.acquired, 10),
        (A.acquired, 10),
        (C.acquired, 5),
    ]


@pytest.mark.parametrize(
    ("method", "short_term", "long_term"),
    [
        # fifo 15: A 10 (+500 LT), B 5 (-100 LT) → LT +400
        (LotMethod.FIFO, 0.0, 400.0),
        # lifo 15: D 10 (-100 ST), C 5 (+50 ST) → ST -50
        (LotMethod.LIFO, -50.0, 0.0),
        # hifo 15: B 10 (-200 LT), D 5 (-50 ST)
        (LotMethod.HIFO, -50.0, -200.0),
        # tax_min 15: B 10 (-200 LT), D 5 (-50 ST)
        (LotMethod.TAX_MIN, -50.0, -200.0),
    ],
)
def test_realized_gains_by_method(method, short_term, long_term):
    from poise.tax import is_long_term

    st = lt = 0.0
    for lot, q in select_lots(LOTS, 15, method, PRICE, AS_OF):
        gain = q * (PRICE - lot.basis_per_share)
        if is_long_term(lot.acquired, AS_OF):
            lt += gain
        else:
            st += gain
    assert (st, lt) == (pytest.approx(short_term), pytest.approx(long_term))


def test_specific_lots_chosen_by_the_caller():
    assert pick_lots(LOTS, [(C, 4), (A.acquired, 2)]) == [(C, 4), (A, 2)]
    with pytest.raises(InputError, match="holds 10"):
        pick_lots(LOTS, [(C, 6), (C, 6)])
    with pytest.raises(InputError, match="no lot"):
        pick_lots(LOTS, [(date(2001, 1, 1), 1)])


def test_turns_long_term_within():
    # C acquired 2024-03-01 is long-term from 2025-03-02: 272 days after 2024-06-03.
    assert turns_long_term_within(C, AS_OF, 272)
    assert not turns_long_term_within(C, AS_OF, 271)
    assert not turns_long_term_within(A, AS_OF, 1000)  # already long-term
    assert not turns_long_term_within(C, AS_OF, 0)


def test_estimate_tax_netting_by_hand():
    rules = TaxRules(short_term_rate=0.35, long_term_rate=0.15)
    assert estimate_tax(1000, 2000, rules) == pytest.approx(350 + 300)
    assert estimate_tax(-500, 2000, rules) == pytest.approx(1500 * 0.15)
    assert estimate_tax(2000, -500, rules) == pytest.approx(1500 * 0.35)
    assert estimate_tax(-3000, 1000, rules) == 0
    assert estimate_tax(-1, -1, rules) == 0
