"""The targets a household holds on a given day."""

from __future__ import annotations

from datetime import date

import pandas as pd

from poise.model import Household

__all__ = ["resolve_targets"]


def resolve_targets(household: Household, prices: pd.DataFrame, as_of: date) -> dict[str, float]:
    """Target weights on ``as_of``: the static ``[targets]``, or the ``[allocation]`` model
    fitted on ``prices`` up to and including ``as_of`` (never later)."""
    if household.allocation is None:
        return dict(household.targets)
    history = prices.loc[: pd.Timestamp(as_of)]
    return dict(household.allocation.targets_on(history, as_of))
