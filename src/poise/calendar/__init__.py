"""Calendar periods (month, quarter, half-year, year): one frequency vocabulary used by the
policies, the backtest's screens and flows, and the Monte Carlo."""

from poise.calendar._periods import (
    Frequency,
    add_months,
    period_index,
    period_key,
    period_keys,
    period_label,
)

__all__ = [
    "Frequency",
    "add_months",
    "period_index",
    "period_key",
    "period_keys",
    "period_label",
]
