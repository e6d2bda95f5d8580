"""The compiled rebalance to target (``poise.plan._compiled``) against the kernel's general
code: the same trades and account after, to the last bit, compiled or run as Python."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from poise.model import TradingRules
from poise.plan import _compiled, _kernel
from poise.plan._orders import order_floor
from poise.policy import Decision

RULES = [
    TradingRules(),
    TradingRules(fractional=False),
    TradingRules(fractional=False, spread_bps=5.0, commission=1.0, min_trade_value=50.0),
    TradingRules(spread_bps=10.0, commission=0.5, cash_reserve=250.0, min_trade_value=20.0),
    TradingRules(commission=9.99),  # small sells that would not cover their commission
]


def _run(fn_module: object, held, price, cash, target_w, rules):  # type: ignore[no-untyped-def]
    n = held.size
    after = np.empty(n)
    index = np.empty(2 * n, dtype=np.int64)
    quantity = np.empty(2 * n)
    cost = np.empty(2 * n)
    count, sells, cash_after, total, uncovered = fn_module(  # type: ignore[operator]
        held, price, cash, target_w, rules.fractional, rules.commission, rules.spread_bps,
        order_floor(rules), rules.cash_reserve, after, index, quantity, cost, 0,
    )  # fmt: skip
    if uncovered:
        return None
    return (
        index[:count].tolist(),
        quantity[:count].tolist(),
        cost[:count].tolist(),
        sells,
        after.tolist(),
        cash_after,
        total,
    )


@st.composite
def accounts(draw: st.DrawFn) -> tuple[np.ndarray, np.ndarray, float, np.ndarray, TradingRules]:
    n = draw(st.integers(1, 30))
    seed = draw(st.integers(0, 2**32 - 1))
    rng = np.random.default_rng(seed)
    held = rng.uniform(0, 200, n) * (rng.random(n) > draw(st.sampled_from([0.0, 0.2, 1.0])))
    price = rng.uniform(0.5, 800, n)
    cash = float(rng.uniform(0, 20_000)) * draw(st.sampled_from([0.0, 1.0]))
    target = rng.random(n + 1) * (rng.random(n + 1) > 0.15)
    target[-1] *= draw(st.sampled_from([0.0, 1.0]))
    if target.sum() == 0:
        target[0] = 1.0
    target /= target.sum()
    return held, price, cash, target, draw(st.sampled_from(RULES))


@given(accounts())
@settings(max_examples=300, deadline=None)
def test_rebalance_to_target_is_the_kernel(
    case: tuple[np.ndarray, np.ndarray, float, np.ndarray, TradingRules],
) -> None:
    held, price, cash, target, rules = case
    with pytest.MonkeyPatch.context() as mp:  # the kernel's own Python steps
        mp.setattr(_kernel._compiled, "compiled", lambda: False)
        plan = _kernel.plan_kernel(held, price, cash, target, rules, Decision(True, ("x",)))
    expected = (
        plan.index,
        plan.quantity,
        plan.cost,
        plan.n_sells,
        plan.held.tolist(),
        plan.cash,
        plan.total_value,
    )
    if plan.uncovered:  # left to the general code, which words the warnings
        expected = None  # type: ignore[assignment]
    plain = _compiled._PLAIN["rebalance_to_target"]
    assert _run(plain, held, price, cash, target, rules) == expected
    if _compiled.compile():
        assert _run(_compiled.rebalance_to_target, held, price, cash, target, rules) == expected
        dispatched = _kernel.plan_kernel(held, price, cash, target, rules, Decision(True, ("x",)))
        assert dispatched.index == plan.index
        assert dispatched.quantity == plan.quantity
        assert dispatched.cost == plan.cost
        assert dispatched.action == plan.action
        assert np.array_equal(dispatched.held, plan.held)
        assert (dispatched.cash, dispatched.total_value) == (plan.cash, plan.total_value)
        assert dispatched.uncovered == plan.uncovered


@pytest.mark.parametrize("compiled", [False, True])
def test_pairwise_sum_is_numpys_sum(compiled: bool) -> None:
    if compiled and not _compiled.compile():
        pytest.skip("numba is not installed")
    fn = _compiled.pairwise_sum if compiled else _compiled._PLAIN["pairwise_sum"]
    rng = np.random.default_rng(7)
    for n in [*range(1, 300), 511, 1000, 4097]:
        a = rng.standard_normal(n + 3) * 10.0 ** rng.integers(-3, 8, n + 3)
        assert fn(a, 3, n) == a[3:].sum()
