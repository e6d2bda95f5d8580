"""The backtest's tighter volatility screen comes from the trigger a policy declares, not from
its class: any policy whose ``BandTrigger`` carries ``lowest_scales`` is screened with it."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from poise.backtest._screen import DayInfo, screen_for
from poise.policy import BandTrigger, Decision, PolicyContext


@dataclass
class _Scaled:
    """A policy written from scratch (no poise policy class) whose bands narrow to half on
    some days, as its ``lowest_scales`` says."""

    floor: np.ndarray

    def lowest_scales(self, history: np.ndarray) -> np.ndarray:
        return self.floor[: history.shape[0]].copy()

    def trigger(self) -> BandTrigger:
        return BandTrigger(0.10, None, min_scale=0.5, lowest_scales=self.lowest_scales)

    def decide(self, context: PolicyContext) -> Decision:  # pragma: no cover - not asked here
        raise AssertionError("the screen alone is tested")


def test_a_policy_of_any_class_is_screened_with_its_triggers_lowest_scales() -> None:
    days = np.array([np.datetime64("2024-01-02") + np.timedelta64(k, "D") for k in range(4)])
    targets = np.array([0.5, 0.5, 0.0])  # two assets and cash, last
    # drift 0.07 every day: above the half band (0.05) but inside the full band (0.10)
    weights = np.tile([0.57, 0.43, 0.0], (4, 1))
    floor = np.array([[1.0, 1.0, 1.0], [0.5, 0.5, 1.0], [1.0, 1.0, 1.0], [0.5, 1.0, 1.0]])
    policy = _Scaled(floor)
    table = np.ones((4, 3))

    def history() -> tuple[np.ndarray, int]:
        return table, 0

    tight = screen_for(policy, history)
    loose = screen_for(policy)  # no history: the trigger's min_scale for every day
    assert tight is not None
    assert loose is not None
    info = DayInfo(days)
    # by hand: a day may fire where 0.07 > 0.10 × that day's lowest scale of some asset
    assert tight(info, 0, 4, lambda: weights, targets, None).tolist() == [
        False,
        True,
        False,
        True,
    ]
    assert loose(info, 0, 4, lambda: weights, targets, None).tolist() == [True] * 4
