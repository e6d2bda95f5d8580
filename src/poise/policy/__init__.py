"""When to rebalance: calendar, threshold bands, cash-flow only, volatility-adjusted bands,
and any-of combinations. Each policy returns a ``Decision`` with human-readable reasons."""

from poise.policy._base import (
    Decision,
    Frequency,
    LabelledHistory,
    Policy,
    PolicyContext,
    RebalanceTo,
    aligned_history,
    period_key,
)
from poise.policy._parse import policy_from_spec, policy_from_table
from poise.policy._rules import (
    AnyOf,
    CalendarPolicy,
    CashFlowPolicy,
    NeverPolicy,
    ThresholdPolicy,
    VolatilityPolicy,
)
from poise.policy._triggers import (
    AnyTrigger,
    BandTrigger,
    CalendarTrigger,
    NoTrigger,
    Trigger,
    half_bands,
    trigger_bands,
    trigger_of,
)

__all__ = [
    "AnyOf",
    "AnyTrigger",
    "BandTrigger",
    "CalendarPolicy",
    "CalendarTrigger",
    "CashFlowPolicy",
    "Decision",
    "Frequency",
    "LabelledHistory",
    "NeverPolicy",
    "NoTrigger",
    "Policy",
    "PolicyContext",
    "RebalanceTo",
    "ThresholdPolicy",
    "Trigger",
    "VolatilityPolicy",
    "aligned_history",
    "half_bands",
    "period_key",
    "policy_from_spec",
    "policy_from_table",
    "trigger_bands",
    "trigger_of",
]
