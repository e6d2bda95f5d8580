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
    Account,
    ApiToken,
    AuditEvent,
    AuthSession,
    BrokerConnection,
    CashBalance,
    Firm,
    HoldingsSnapshot,
    Household,
    IdempotencyRecord,
    LedgerTransaction,
    LotRow,
    Plan,
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
    SqlOrderStore,
)
from poise.store._scope import (
    FirmScope,
    SqlHouseholdStore,
    SqlLedgerStore,
    is_parsed,
    parse_household,
    positions_of,
)
from poise.store._url import normalize_database_url, poise_home, resolve_database_url

__all__ = [
    "BUSY_TIMEOUT_MS",
    "NAMING_CONVENTION",
    "PLAN_STATUSES",
    "ROLES",
    "Account",
    "ApiToken",
    "AuditEvent",
    "AuthSession",
    "Base",
    "BookCashRow",
    "BookLotRow",
    "BrokerConnection",
    "CashBalance",
    "Firm",
    "FirmScope",
    "HoldingsSnapshot",
    "Household",
    "IdempotencyRecord",
    "LedgerTransaction",
    "LotRow",
    "OrderFillRow",
    "OrderIntentRow",
    "OrderPlanRow",
    "Plan",
    "PlanTrade",
    "PriceBarRow",
    "PriceSet",
    "RefreshToken",
    "SqlHouseholdStore",
    "SqlLedgerStore",
    "SqlOrderStore",
    "User",
    "alembic_config",
    "is_parsed",
    "is_sqlite",
    "make_engine",
    "new_id",
    "normalize_database_url",
    "open_store",
    "parse_household",
    "poise_home",
    "positions_of",
    "read_session",
    "resolve_database_url",
    "upgrade",
    "utcnow",
    "write_session",
]
