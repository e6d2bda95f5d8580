"""Annual accounting worked by hand: netting, the 3,000 offset, carryforward with character."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from poise.model import TaxRules
from poise.tax import Carryforward, annual_tax, tax_years

RULES = TaxRules(short_term_rate=0.35, long_term_rate=0.15)


def test_both_gains_taxed_at_their_rates():
    year = annual_tax(5000, 10000, RULES)
    assert year.capital_gains_tax == pytest.approx(5000 * 0.35 + 10000 * 0.15)  # 3,250
    assert year.ordinary_offset == 0
    assert year.carried_out == Carryforward()


def test_short_term_loss_offsets_long_term_gain():
    # -2,000 ST against +10,000 LT: net 8,000 long-term, tax 8,000 × 15% = 1,200.
    year = annual_tax(-2000, 10000, RULES)
    assert (year.taxable_short_term, year.taxable_long_term) == (0, 8000)
    assert year.tax == pytest.approx(1200)


def test_long_term_loss_larger_than_short_term_gain_keeps_long_term_character():
    # +6,000 ST, -10,000 LT: net -4,000 (long-term). 3,000 against income, 1,000 LT carried.
    year = annual_tax(6000, -10000, RULES)
    assert year.capital_gains_tax == 0
    assert year.ordinary_offset == 3000
    assert year.carried_out == Carryforward(0, 1000)
    assert year.ordinary_tax_saving == pytest.approx(3000 * 0.35)  # short-term rate by default
    assert year.tax == pytest.approx(-1050)


def test_both_losses_offset_uses_short_term_first():
    # Capital Loss Carryover Worksheet: ST -5,000, LT -2,000 → deduction 3,000 taken from the
    # short-term loss; carry ST 2,000 and LT 2,000.
    year = annual_tax(-5000, -2000, RULES)
    assert year.ordinary_offset == 3000
    assert year.carried_out == Carryforward(2000, 2000)
    # ST -1,000, LT -5,000 → 1,000 of the deduction from ST, 2,000 from LT; carry LT 3,000.
    year = annual_tax(-1000, -5000, RULES)
    assert year.carried_out == Carryforward(0, 3000)


def test_small_loss_is_fully_deducted():
    year = annual_tax(-1200, 0, RULES)
    assert year.ordinary_offset == 1200
    assert year.carried_out == Carryforward()


def test_carryforward_keeps_character_next_year():
    # Carried in ST 2,000 and LT 2,000; this year ST +1,000, LT +5,000:
    # ST 1,000 - 2,000 = -1,000; LT 5,000 - 2,000 = 3,000; net 2,000 long-term → tax 300.
    year = annual_tax(1000, 5000, RULES, Carryforward(2000, 2000))
    assert (year.taxable_short_term, year.taxable_long_term) == (0, 2000)
    assert year.tax == pytest.approx(300)


def test_ordinary_income_rate_and_offset_limit_are_configurable():
    rules = TaxRules(
        short_term_rate=0.32,
        long_term_rate=0.15,
        ordinary_income_rate=0.24,
        ordinary_income_offset=1500,
    )
    year = annual_tax(-4000, 0, rules)
    assert year.ordinary_offset == 1500
    assert year.ordinary_tax_saving == pytest.approx(1500 * 0.24)
    assert year.carried_out == Carryforward(2500, 0)


def test_large_loss_is_used_3000_a_year_over_the_following_years():
    # 2020: LT -10,000 → 3,000 used each year: carry 7,000 → 4,000 → 1,000 → 0 (2023 uses 1,000).
    years = tax_years({2020: (0, -10000), 2023: (0, 0)}, RULES)
    assert [y.year for y in years] == [2020, 2021, 2022, 2023]
    assert [y.carried_out.long_term_loss for y in years] == [7000, 4000, 1000, 0]
    assert [y.ordinary_offset for y in years] == [3000, 3000, 3000, 1000]
    # A gain in 2022 absorbs the carried loss first: 2022 LT +5,000 - 4,000 = 1,000 taxed.
    years = tax_years([(2020, 0, -10000), (2022, 0, 5000)], RULES)
    assert years[2].taxable_long_term == pytest.approx(1000)
    assert years[2].carried_out == Carryforward()


amount = st.floats(min_value=-1e6, max_value=1e6, allow_nan=False)


@settings(max_examples=200, deadline=None)
@given(amount, amount, st.floats(0, 1e5), st.floats(0, 1e5))
def test_loss_is_conserved_and_tax_never_negative_on_gains(st_gain, lt_gain, cst, clt):
    carry = Carryforward(cst, clt)
    year = annual_tax(st_gain, lt_gain, RULES, carry)
    assert year.capital_gains_tax >= 0
    assert year.carried_out.short_term_loss >= -1e-6
    assert year.carried_out.long_term_loss >= -1e-6
    assert 0 <= year.ordinary_offset <= 3000
    net = st_gain + lt_gain - carry.total
    # Everything is accounted for: taxed gains - offset - carried loss = net.
    taxed = year.taxable_short_term + year.taxable_long_term
    assert taxed - year.ordinary_offset - year.carried_out.total == pytest.approx(net, abs=1e-6)
    if net >= 0:
        assert year.carried_out.total == pytest.approx(0, abs=1e-6)
