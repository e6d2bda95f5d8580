"""The cost model: hand-checked costs, composition, scalar = vectorised, and the gross-up."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from poise import InputError
from poise.costs import CostModel, TicketCharge, commission, per_share, spread
from poise.model import TradingRules

amounts = st.floats(0.0, 50.0, allow_nan=False)
bps = st.floats(0.0, 200.0, allow_nan=False)
values = st.floats(-1e7, 1e7, allow_nan=False)


def test_hand_checked_costs() -> None:
    model = commission(1.0) + spread(10.0)
    assert model.cost(10_000.0) == pytest.approx(1.0 + 10.0)  # 10 bps of 10,000 is 10
    assert model.cost(-10_000.0) == pytest.approx(11.0)  # sells cost the same
    ib = per_share(0.005, minimum=1.0)
    assert ib.cost(5_000.0, quantity=100) == 1.0  # 0.50 by the share, the minimum applies
    assert ib.cost(50_000.0, quantity=1_000) == pytest.approx(5.0)
    both = model + ib
    assert both.cost(50_000.0, quantity=-1_000) == pytest.approx(1.0 + 50.0 + 5.0)


def test_composition_adds_terms() -> None:
    a = commission(1.0) + spread(5.0)
    b = commission(0.5) + spread(2.0) + per_share(0.01)
    assert a + b == CostModel(1.5, 7.0, (TicketCharge(0.01),))
    assert not (a + b).free
    assert CostModel().free
    assert (a + b).per_share
    assert not a.per_share


@given(amounts, bps, values)
def test_trading_rules_cost_is_the_former_formula_to_the_bit(c: float, s: float, v: float) -> None:
    # the formula every module inlined before the cost model existed
    assert TradingRules(commission=c, spread_bps=s).cost(v) == c + abs(v) * s * 1e-4


@given(amounts, bps, st.lists(values, min_size=1, max_size=20))
def test_vectorised_equals_scalar_to_the_bit(c: float, s: float, vs: list[float]) -> None:
    model = CostModel(c, s)
    assert model.costs(np.array(vs)).tolist() == [model.cost(v) for v in vs]


def test_vectorised_per_share() -> None:
    model = commission(1.0) + per_share(0.01, minimum=2.0)
    got = model.costs(np.array([1_000.0, 40_000.0]), np.array([10.0, -400.0]))
    np.testing.assert_allclose(got, [1.0 + 2.0, 1.0 + 4.0])
    with pytest.raises(ValueError, match="quantity"):
        model.costs(np.array([1.0]))
    with pytest.raises(ValueError, match="quantity"):
        model.cost(1.0)


def test_total_cost_of_many_trades() -> None:
    model = commission(2.0) + spread(25.0)
    moved = np.array([10_000.0, 0.0])
    np.testing.assert_allclose(model.total_cost(moved, np.array([3, 0])), [25.0 + 6.0, 0.0])
    with pytest.raises(ValueError, match="per-share"):
        per_share(0.01).total_cost(np.array([1.0]), np.array([1]))


@given(amounts, bps, st.floats(0.0, 1e6))
def test_affordable_value_spends_the_cash_exactly(c: float, s: float, cash: float) -> None:
    model = CostModel(c, s)
    value = model.affordable_value(cash)
    if value >= 0:
        assert math.isclose(value + model.cost(value), cash, rel_tol=1e-12, abs_tol=1e-9)
        assert math.isclose(model.cash_needed(value), cash, rel_tol=1e-12, abs_tol=1e-9)


@given(amounts, bps, st.floats(0.0, 1e6))
def test_value_to_raise_nets_the_need(c: float, s: float, need: float) -> None:
    model = CostModel(c, s)
    value = model.value_to_raise(need)
    assert math.isclose(value - model.cost(value), need, rel_tol=1e-12, abs_tol=1e-9)


@pytest.mark.parametrize("cash", [50.0, 150.0, 1_000.0, 100_000.0])
@pytest.mark.parametrize("price", [10.0, 250.0])
def test_gross_up_with_tickets(cash: float, price: float) -> None:
    # two tickets with different break-even points, a commission and a spread
    model = commission(0.5) + spread(8.0) + per_share(0.01, 1.0) + per_share(0.002, 0.35)
    value = model.affordable_value(cash, price=price)
    spent = value + model.cost(value, quantity=value / price)
    assert math.isclose(spent, cash, rel_tol=1e-12)
    need = cash
    sold = model.value_to_raise(need, price=price)
    assert math.isclose(sold - model.cost(sold, quantity=sold / price), need, rel_tol=1e-12)
    shares = model.affordable_shares(cash, price)
    assert shares * price + model.cost(shares * price, shares) <= cash + 1e-9
    more = shares + 1
    assert more * price + model.cost(more * price, more) > cash


def test_affordable_shares_without_tickets_by_hand() -> None:
    model = commission(1.0) + spread(100.0)  # 1 %
    # (1,000 - 1) / (10 × 1.01) = 98.9...
    assert model.affordable_shares(1_000.0, 10.0) == 98
    assert model.affordable_shares(0.5, 10.0) == 0


def test_gross_up_needs_a_price_for_tickets() -> None:
    with pytest.raises(ValueError, match="price"):
        per_share(0.01).affordable_value(100.0)
    with pytest.raises(ValueError, match="one trade"):
        per_share(0.01).cash_needed(100.0, 2, price=10.0)


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"commission": -1.0}, "commission"),
        ({"spread_bps": math.nan}, "spread_bps"),
        ({"spread_bps": 1e4}, "spread_bps"),
    ],
)
def test_bad_amounts_name_their_field(kwargs: dict[str, float], field: str) -> None:
    with pytest.raises(InputError) as err:
        CostModel(**kwargs)
    assert err.value.field == field


@given(amounts, bps, st.floats(1.0, 1e6), st.floats(0.0, 1e6), st.integers(0, 40))
def test_buy_scaling_is_the_former_formula_to_the_bit(
    c: float, s: float, value: float, cash: float, n: int
) -> None:
    # the planner's former inline forms: the room after n commissions, the share of the
    # wanted value the cash pays for, and the cash n buys of ``value`` use
    model = CostModel(c, s)
    assert model.room(cash, n) == cash - n * c
    assert model.affordable_fraction(value, cash, n) == max(0.0, cash - n * c) / (
        value * (1.0 + s * 1e-4)
    )
    assert model.cash_needed(value, n) == value * (1.0 + s * 1e-4) + n * c
    assert model.affordable_value(cash) == (cash - c) / (1.0 + s * 1e-4)
