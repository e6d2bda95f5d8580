"""When to rebalance: calendar, threshold bands, cash-flow only, volatility-adjusted bands,
and any-of combinations. Each policy returns a ``Decision`` with human-readable reasons."""

from poise.policy._base import (
    Decision,
    Frequency,
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
    half_bands,
)

__all__ = [
    "AnyOf",
    "CalendarPolicy",
    "CashFlowPolicy",
    "Decision",
    "Frequency",
    "NeverPolicy",
    "Policy",
    "PolicyContext",
    "RebalanceTo",
    "ThresholdPolicy",
    "VolatilityPolicy",
    "aligned_history",
    "half_bands",
    "period_key",
    "policy_from_spec",
    "policy_from_table",
]
