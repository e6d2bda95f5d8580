"""The Monte Carlo's row-wise cash placement equals the engine's scalar one, row by row
(hypothesis draws the gaps, amounts and caps)."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from poise.plan import waterfill
from poise.plan._sizing import level_fill as engine_capped_fill
from poise.risk._montecarlo import _capped_fill, _waterfill

values = st.floats(-1e4, 1e4, allow_nan=False, allow_infinity=False)
positive = st.floats(0.0, 1e4, allow_nan=False, allow_infinity=False)


@settings(max_examples=150, deadline=None)
@given(
    gaps=arrays(np.float64, (6, 5), elements=values),
    amounts=arrays(np.float64, 6, elements=positive),
    weights=arrays(np.float64, 5, elements=st.floats(0.0, 1.0)),
)
def test_waterfill_rows_equal_the_engine(gaps, amounts, weights):
    out = _waterfill(gaps, amounts, weights)
    for row in range(6):
        expected = waterfill(gaps[row], float(amounts[row]), weights)
        np.testing.assert_allclose(out[row], expected, rtol=1e-9, atol=1e-6)
        np.testing.assert_allclose(out[row].sum(), amounts[row], rtol=1e-9, atol=1e-6)


@settings(max_examples=150, deadline=None)
@given(
    caps=arrays(np.float64, (6, 5), elements=positive),
    goal_share=arrays(np.float64, (6, 5), elements=st.floats(0.0, 1.0)),
    take=arrays(np.float64, 6, elements=st.floats(0.0, 1.0)),
)
def test_capped_fill_rows_equal_the_engine(caps, goal_share, take):
    gaps = caps - caps * goal_share  # gaps never exceed the caps (goals are ≥ 0)
    amounts = take * caps.sum(axis=1)
    out = _capped_fill(gaps, amounts, caps)
    for row in range(6):
        expected = engine_capped_fill(gaps[row], float(amounts[row]), caps[row])
        np.testing.assert_allclose(out[row], expected, rtol=1e-9, atol=1e-6)
        assert (out[row] <= caps[row] + 1e-9).all()
