"""poise's store: SQLAlchemy 2 models and Alembic migrations for firms, users, households,
holdings snapshots, transactions, price sets, plans, broker connections, tokens and the audit
log, on SQLite (default) or PostgreSQL (extra ``poise[service]``).

Where the database is: :func:`resolve_database_url` (``--database-url``, else
``POISE_DATABASE_URL``, else ``sqlite:///$POISE_HOME/poise.db``).
"""

from poise.store._base import NAMING_CONVENTION, Base
from poise.store._engine import (
    BUSY_TIMEOUT_MS,
    is_sqlite,
    make_engine,
    read_session,
    write_session,
)
from poise.store._migrate import alembic_config, open_store, upgrade
from poise.store._models import (
    PLAN_STATUSES,
    ROLES,
    AccountRow,
    ApiToken,
    AuditEvent,
    AuthSession,
    BrokerConnection,
    CashBalance,
    Firm,
    HoldingsSnapshot,
    HouseholdRow,
    IdempotencyRecord,
    LedgerTransaction,
    LotRow,
    PlanRow,
    PlanTrade,
    PriceSet,
    RefreshToken,
    User,
    new_id,
    utcnow,
)
from poise.store._orders import (
    BookCashRow,
    BookLotRow,
    OrderFillRow,
    OrderIntentRow,
    OrderPlanRow,
    PriceBarRow,
    SqlBarCache,
    SqlOrderStore,
)
from poise.store._plans import PlanLeg, ProposedPlan, proposed_plan, save_plan
from poise.store._prices import (
    PriceTable,
    digest_text,
    price_day,
    prices_digest,
    resolve_prices,
)
from poise.store._scope import (
    BookRecord,
    FirmScope,
    SqlHouseholdStore,
    SqlLedgerStore,
    is_parsed,
    parse_household,
    positions_of,
    read_book,
)
from poise.store._sending import LEASE_NAME, SenderLease, SenderLeaseRow, SendRequestRow
from poise.store._url import normalize_database_url, poise_home, resolve_database_url

# Former names of the rows, before they were renamed so that no store name clashes with a
# poise.model value (Account, Household, Plan): importable, not exported.
_RENAMED = {"Account": "AccountRow", "Household": "HouseholdRow", "Plan": "PlanRow"}


def __getattr__(name: str) -> object:
    if name in _RENAMED:
        import warnings

        warnings.warn(
            f"poise.store.{name} is deprecated; use poise.store.{_RENAMED[name]}",
            DeprecationWarning,
            stacklevel=2,
        )
        return globals()[_RENAMED[name]]
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "BUSY_TIMEOUT_MS",
    "LEASE_NAME",
    "NAMING_CONVENTION",
    "PLAN_STATUSES",
    "ROLES",
    "AccountRow",
    "ApiToken",
    "AuditEvent",
    "AuthSession",
    "Base",
    "BookCashRow",
    "BookLotRow",
    "BookRecord",
    "BrokerConnection",
    "CashBalance",
    "Firm",
    "FirmScope",
    "HoldingsSnapshot",
    "HouseholdRow",
    "IdempotencyRecord",
    "LedgerTransaction",
    "LotRow",
    "OrderFillRow",
    "OrderIntentRow",
    "OrderPlanRow",
    "PlanLeg",
    "PlanRow",
    "PlanTrade",
    "PriceBarRow",
    "PriceSet",
    "PriceTable",
    "ProposedPlan",
    "RefreshToken",
    "SendRequestRow",
    "SenderLease",
    "SenderLeaseRow",
    "SqlBarCache",
    "SqlHouseholdStore",
    "SqlLedgerStore",
    "SqlOrderStore",
    "User",
    "alembic_config",
    "digest_text",
    "is_parsed",
    "is_sqlite",
    "make_engine",
    "new_id",
    "normalize_database_url",
    "open_store",
    "parse_household",
    "poise_home",
    "positions_of",
    "price_day",
    "prices_digest",
    "proposed_plan",
    "read_book",
    "read_session",
    "resolve_database_url",
    "resolve_prices",
    "save_plan",
    "upgrade",
    "utcnow",
    "write_session",
]
