"""A decision's bands are labelled by symbol (issue 9, "labelled data across policy ->
plan"): read by name they are the same whichever order a caller keeps its symbols in."""

from __future__ import annotations

import math
from datetime import date

import numpy as np
import pytest

from poise.policy import AnyOf, Decision, PolicyContext, ThresholdPolicy

DAY = date(2024, 6, 3)


def _context(order: tuple[str, ...]) -> PolicyContext:
    weights = {"VTI": 0.66, "BND": 0.30, "GLD": 0.0, "CASH": 0.04}
    targets = {"VTI": 0.60, "BND": 0.30, "GLD": 0.10, "CASH": 0.0}
    return PolicyContext(
        DAY,
        order,
        np.array([weights[s] for s in order]),
        np.array([targets[s] for s in order]),
    )


# 5/25 bands, by hand: VTI min(0.05, 0.25 x 0.60) = 0.05; BND min(0.05, 0.075) = 0.05;
# GLD min(0.05, 0.025) = 0.025; CASH (target 0) keeps the absolute 0.05
EXPECTED = {"VTI": 0.05, "BND": 0.05, "GLD": 0.025, "CASH": 0.05}


@pytest.mark.parametrize(
    "order", [("VTI", "BND", "GLD", "CASH"), ("GLD", "CASH", "BND", "VTI")], ids=str
)
def test_bands_by_name_whatever_the_context_order(order: tuple[str, ...]) -> None:
    decision = ThresholdPolicy(0.05, 0.25).decide(_context(order))
    assert decision.triggered  # VTI 6 points over, GLD 10 under
    assert decision.bands == pytest.approx(EXPECTED)
    asked = ("CASH", "VTI", "GLD", "BND")
    got = decision.bands_for(asked)
    assert got is not None
    assert got.tolist() == pytest.approx([EXPECTED[s] for s in asked])
    assert decision.bands_for(order) is decision.half_bands  # own order: the array itself
    assert math.isinf(decision.bands_for(("XYZ",))[0])  # type: ignore[index]


def test_any_of_merges_bands_by_name() -> None:
    order = ("GLD", "CASH", "BND", "VTI")
    decision = AnyOf((ThresholdPolicy(0.05, 0.25), ThresholdPolicy(0.03))).decide(_context(order))
    tighter = {s: min(b, 0.03) for s, b in EXPECTED.items()}
    assert decision.bands == pytest.approx(tighter)


def test_unlabelled_bands_are_read_in_the_callers_order() -> None:
    legacy = Decision(False, ("old policy",), half_bands=np.array([0.1, 0.2]))
    assert legacy.bands_for(("A", "B")).tolist() == [0.1, 0.2]  # type: ignore[union-attr]
    with pytest.raises(ValueError, match="not labelled"):
        _ = legacy.bands
    with pytest.raises(ValueError, match="2 unlabelled bands for 3 symbols"):
        legacy.bands_for(("A", "B", "C"))
    with pytest.raises(ValueError, match="2 values for 1 band_symbols"):
        Decision(False, (), half_bands=np.array([0.1, 0.2]), band_symbols=("A",))
    assert Decision(True, ("calendar",)).bands is None
