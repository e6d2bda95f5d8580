"""The demo: an example household on 33 years of real S&P 500 prices, six rules compared."""

from __future__ import annotations

from datetime import date
from typing import Any

from poise._progress import ProgressCallback
from poise.app._backtest import CompareOutcome, CompareRequest, compare
from poise.backtest import ScheduledFlow
from poise.io import household_from_dict, read_prices
from poise.model import Household
from poise.policy import policy_from_spec

__all__ = ["DEMO_CONTRIBUTION", "DEMO_HOUSEHOLD", "DEMO_POLICIES", "demo", "demo_household"]

DEMO_HOUSEHOLD: dict[str, Any] = {
    "name": "Rivera household (demo)",
    "accounts": [
        {"id": "brokerage", "kind": "taxable"},
        {"id": "ira", "kind": "tax_deferred"},
        {"id": "roth", "kind": "tax_free"},
    ],
    "targets": {
        "AAPL": 0.12,
        "MSFT": 0.12,
        "JPM": 0.10,
        "KO": 0.10,
        "HD": 0.08,
        "JNJ": 0.10,
        "PG": 0.10,
        "XOM": 0.08,
        "PEP": 0.06,
        "UNH": 0.06,
        "LLY": 0.06,
        "CASH": 0.02,
    },
    "policy": {"kind": "threshold", "absolute": 0.05, "relative": 0.25},
    "trading": {
        "fractional": False,
        "min_trade_value": 50.0,
        "cash_reserve": 100.0,
        "commission": 0.0,
        "spread_bps": 5.0,
    },
    "tax": {"lot_method": "tax_min", "short_term_rate": 0.35, "long_term_rate": 0.15},
}
"""The household of ``examples/household.toml`` (without its harvesting table), as data."""

DEMO_POLICIES: tuple[str, ...] = (
    "cash_flow",
    "calendar:annual",
    "calendar:quarterly",
    "threshold:abs=0.05",
    "5/25",
    "volatility:abs=0.05",
)
"""The rules the demo compares (``poise.policy.policy_from_spec`` specs)."""

DEMO_CONTRIBUTION = ScheduledFlow(1_000.0, "month", "brokerage")
"""The demo saves 1,000 a month into the brokerage account."""


def demo_household() -> Household:
    """The demo household (a taxable brokerage account, an IRA and a Roth IRA)."""
    return household_from_dict(DEMO_HOUSEHOLD, source="<demo household>")


def demo(
    start: date | None = None,
    end: date | None = None,
    *,
    progress: ProgressCallback | None = None,
) -> CompareOutcome:
    """Compare :data:`DEMO_POLICIES` for :func:`demo_household` on the bundled ``sp500``
    prices from ``start`` to ``end`` (default: all of them), saving
    :data:`DEMO_CONTRIBUTION`, with the HTML report."""
    hh = demo_household()
    return compare(
        CompareRequest(
            household=hh,
            prices=read_prices("sp500"),
            policies=[(spec, policy_from_spec(spec)) for spec in DEMO_POLICIES],
            start=start,
            end=end,
            initial=100_000.0,
            flows=[DEMO_CONTRIBUTION],
            progress=progress,
            report=True,
            title=f"{hh.name}: six rebalancing rules",
        )
    )
