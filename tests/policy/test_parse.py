from __future__ import annotations

import pytest

from poise import InputError
from poise.policy import (
    AnyOf,
    CalendarPolicy,
    CashFlowPolicy,
    Frequency,
    RebalanceTo,
    ThresholdPolicy,
    VolatilityPolicy,
    policy_from_spec,
    policy_from_table,
)


def test_specs():
    assert policy_from_spec("calendar:annual") == CalendarPolicy(Frequency.ANNUAL)
    assert policy_from_spec("5/25") == ThresholdPolicy(0.05, 0.25)
    assert policy_from_spec("threshold:abs=0.05") == ThresholdPolicy(0.05, None)
    assert policy_from_spec("threshold:rel=0.25,to=band") == ThresholdPolicy(
        None, 0.25, RebalanceTo.BAND
    )
    assert policy_from_spec("5/25:check=quarterly") == ThresholdPolicy(
        0.05, 0.25, check_frequency=Frequency.QUARTERLY
    )
    assert policy_from_spec("cash_flow") == CashFlowPolicy()
    assert isinstance(policy_from_spec("volatility"), VolatilityPolicy)
    both = policy_from_spec("calendar:annual+threshold:abs=0.1")
    assert isinstance(both, AnyOf)
    assert len(both.policies) == 2


@pytest.mark.parametrize(
    ("table", "message"),
    [
        ({"kind": "weekly"}, "unknown policy kind 'weekly'"),
        ({"kind": "threshold"}, "needs 'absolute'"),
        ({"kind": "threshold", "absolute": 5}, "between 0 and 1"),
        ({"kind": "threshold", "absolute": 0.05, "bands": 1}, "unknown key(s) bands"),
        ({"kind": "calendar", "frequency": "weekly"}, "use one of monthly"),
        ({"kind": "threshold", "absolute": 0.05, "rebalance_to": "edge"}, "target | band"),
        ({"kind": "any_of", "rules": []}, "non-empty list"),
        ({"kind": "volatility", "window": 100, "long_window": 50}, "long_window"),
    ],
)
def test_bad_tables_name_the_key(table, message):
    with pytest.raises(InputError, match=r"h\.toml") as err:
        policy_from_table(table, "h.toml")
    assert message in str(err.value)


def test_any_of_table():
    policy = policy_from_table(
        {
            "kind": "any_of",
            "rules": [
                {"kind": "calendar", "frequency": "annual"},
                {"kind": "threshold", "absolute": 0.1},
            ],
        },
        "h.toml",
    )
    assert policy == AnyOf((CalendarPolicy(Frequency.ANNUAL), ThresholdPolicy(0.1)))
