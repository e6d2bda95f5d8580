"""Cash flows into and out of accounts, and the water-filling rule that places them."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["CashFlow", "waterfill"]


@dataclass(frozen=True, slots=True)
class CashFlow:
    """A deposit (``amount`` > 0) into, or a withdrawal (``amount`` < 0) from, ``account``."""

    account: str
    amount: float

    @property
    def is_deposit(self) -> bool:
        return self.amount > 0


def waterfill(gaps: np.ndarray, amount: float, weights: np.ndarray) -> np.ndarray:
    """Spread ``amount`` over assets, largest gap first.

    Finds the level L ≥ 0 with Σ max(gap - L, 0) = amount and gives each asset
    max(gap - L, 0): the most underweight (largest gap) is filled first, until it is level with
    the next. When ``amount`` exceeds the sum of positive gaps, the gaps are filled and the rest
    is spread in proportion to ``weights`` (the targets).
    """
    if len(gaps) == 0:
        return np.zeros_like(gaps)
    positive = np.maximum(gaps, 0.0)
    total = positive.sum()
    if amount <= 0:
        return np.zeros_like(gaps)
    if amount >= total:
        rest = amount - total
        share = (
            weights / weights.sum()
            if weights.sum() > 0
            else np.full_like(weights, 1 / len(weights))
        )
        return positive + rest * share
    ordered = np.sort(positive)[::-1]
    cumulative = np.cumsum(ordered)
    # with the k largest gaps active, L = (sum of those k - amount) / k
    for k in range(1, len(ordered) + 1):
        level = (cumulative[k - 1] - amount) / k
        if k == len(ordered) or level >= ordered[k]:
            break
    return np.maximum(positive - max(level, 0.0), 0.0)
