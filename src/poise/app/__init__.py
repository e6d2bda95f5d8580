"""Use cases: one function per thing a user asks poise to do, typed request in, typed result
out. Every door (command line, service, batch) calls these; none copies their steps. Nothing
here imports typer, rich, FastAPI or SQLAlchemy."""

from poise.app._rebalance import (
    QUALITY_LOOKBACK_DAYS,
    RebalanceRequest,
    RebalanceResult,
    cash_flows,
    optional_prices,
    rebalance,
)
from poise.app._stores import (
    HoldingsRecord,
    HouseholdRecord,
    HouseholdStore,
    InMemoryHouseholdStore,
    InMemoryLedgerStore,
    LedgerStore,
    NotFoundError,
    StoredRequest,
    stored_request,
)

__all__ = [
    "QUALITY_LOOKBACK_DAYS",
    "HoldingsRecord",
    "HouseholdRecord",
    "HouseholdStore",
    "InMemoryHouseholdStore",
    "InMemoryLedgerStore",
    "LedgerStore",
    "NotFoundError",
    "RebalanceRequest",
    "RebalanceResult",
    "StoredRequest",
    "cash_flows",
    "optional_prices",
    "rebalance",
    "stored_request",
]
