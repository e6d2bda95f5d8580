"""The tables of poise's store (SQLAlchemy 2 declarative models).

Every table a user's data lives in carries ``firm_id`` directly (households, plans, price sets,
broker connections) or through its household; :class:`poise.store.FirmScope` is the one place
that filters by it. Public identifiers are random (``uuid4().hex``), so they say nothing about
how many objects exist.
"""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    CheckConstraint,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Integer,
    LargeBinary,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import Mapped, mapped_column, relationship

from poise.store._base import Base

__all__ = [
    "PLAN_STATUSES",
    "ROLES",
    "AccountRow",
    "ApiToken",
    "AuditEvent",
    "AuthSession",
    "BrokerConnection",
    "CashBalance",
    "Firm",
    "HoldingsSnapshot",
    "HouseholdRow",
    "IdempotencyRecord",
    "LedgerTransaction",
    "LotRow",
    "PlanRow",
    "PlanTrade",
    "PriceSet",
    "RefreshToken",
    "User",
    "new_id",
    "utcnow",
]

ROLES = ("admin", "advisor", "viewer")
PLAN_STATUSES = (
    "proposed",
    "approved",
    "rejected",
    "sent",
    "filled",
    "partially_filled",
    "expired",
)


def new_id() -> str:
    """A random public identifier (32 lowercase hex digits)."""
    return uuid.uuid4().hex


def utcnow() -> datetime:
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """A timestamp stored in UTC and always read back timezone-aware (SQLite keeps none)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("timestamps must be timezone-aware")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _id() -> Mapped[str]:
    return mapped_column(String(32), primary_key=True, default=new_id)


def _created() -> Mapped[datetime]:
    return mapped_column(UTCDateTime(), default=utcnow, nullable=False)


class Firm(Base):
    """A tenant: nobody sees another firm's data."""

    __tablename__ = "firms"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(200), unique=True, nullable=False)
    prices: Mapped[str] = mapped_column(String(500), nullable=False, default="sp500")
    created_at: Mapped[datetime] = _created()


class User(Base):
    """A person who logs in; ``password_hash`` is argon2id, never the password."""

    __tablename__ = "users"
    __table_args__ = (CheckConstraint("role IN ('admin', 'advisor', 'viewer')", name="role"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    firm_id: Mapped[int] = mapped_column(ForeignKey("firms.id"), index=True, nullable=False)
    email: Mapped[str] = mapped_column(String(320), unique=True, nullable=False)
    password_hash: Mapped[str] = mapped_column(String(255), nullable=False)
    role: Mapped[str] = mapped_column(String(16), nullable=False)
    created_at: Mapped[datetime] = _created()
    firm: Mapped[Firm] = relationship(lazy="joined")


class AuthSession(Base):
    """One login: its refresh tokens rotate, and revoking it ends its access tokens too."""

    __tablename__ = "auth_sessions"
    id: Mapped[str] = _id()
    user_id: Mapped[int] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), index=True, nullable=False
    )
    created_at: Mapped[datetime] = _created()
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)


class RefreshToken(Base):
    """A refresh token, stored as its SHA-256 digest; used once, then replaced."""

    __tablename__ = "refresh_tokens"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    session_id: Mapped[str] = mapped_column(
        ForeignKey("auth_sessions.id", ondelete="CASCADE"), index=True, nullable=False
    )
    token_hash: Mapped[str] = mapped_column(String(64), unique=True, nullable=False)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)


class ApiToken(Base):
    """A long-lived token for scripts, stored as its SHA-256 digest, shown once."""

    __tablename__ = "api_tokens"
    id: Mapped[str] = _id()
    user_id: Mapped[int] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), index=True, nullable=False
    )
    name: Mapped[str] = mapped_column(String(200), nullable=False)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True, nullable=False)
    created_at: Mapped[datetime] = _created()
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)


class HouseholdRow(Base):
    """A household: ``document`` is its TOML's tables as JSON (the same keys)."""

    __tablename__ = "households"
    id: Mapped[str] = _id()
    firm_id: Mapped[int] = mapped_column(ForeignKey("firms.id"), index=True, nullable=False)
    name: Mapped[str] = mapped_column(String(200), nullable=False)
    document: Mapped[dict[str, Any]] = mapped_column(JSON, nullable=False)
    prices: Mapped[str | None] = mapped_column(String(500), nullable=True)
    version: Mapped[int] = mapped_column(Integer, nullable=False, default=1)
    created_at: Mapped[datetime] = _created()
    updated_at: Mapped[datetime] = _created()


class AccountRow(Base):
    """A household's account, and the broker connection its orders go to."""

    __tablename__ = "accounts"
    __table_args__ = (UniqueConstraint("household_id", "name"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    household_id: Mapped[str] = mapped_column(
        ForeignKey("households.id", ondelete="CASCADE"), index=True, nullable=False
    )
    name: Mapped[str] = mapped_column(String(100), nullable=False)
    kind: Mapped[str] = mapped_column(String(32), nullable=False)
    broker_connection_id: Mapped[str | None] = mapped_column(
        ForeignKey("broker_connections.id", ondelete="SET NULL"), nullable=True
    )


class HoldingsSnapshot(Base):
    """One import of a household's holdings; every import keeps the previous ones.

    ``positions`` is the snapshot summed per account and symbol (``{"quantities": {account:
    {symbol: quantity}}, "cash": {account: amount}}``), for drift without reading every lot.
    """

    __tablename__ = "holdings_snapshots"
    __table_args__ = (UniqueConstraint("household_id", "version"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    household_id: Mapped[str] = mapped_column(
        ForeignKey("households.id", ondelete="CASCADE"), index=True, nullable=False
    )
    version: Mapped[int] = mapped_column(Integer, nullable=False)
    positions: Mapped[dict[str, Any]] = mapped_column(JSON, nullable=False)
    created_by: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), nullable=True
    )
    created_at: Mapped[datetime] = _created()


class LotRow(Base):
    """One tax lot of a holdings snapshot (``cost_basis`` is the lot's total cost)."""

    __tablename__ = "lots"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    snapshot_id: Mapped[int] = mapped_column(
        ForeignKey("holdings_snapshots.id", ondelete="CASCADE"), index=True, nullable=False
    )
    account: Mapped[str] = mapped_column(String(100), nullable=False)
    symbol: Mapped[str] = mapped_column(String(32), nullable=False)
    quantity: Mapped[float] = mapped_column(Float, nullable=False)
    cost_basis: Mapped[float] = mapped_column(Float, nullable=False)
    acquired: Mapped[date] = mapped_column(Date, nullable=False)


class CashBalance(Base):
    """An account's cash in a holdings snapshot."""

    __tablename__ = "cash_balances"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    snapshot_id: Mapped[int] = mapped_column(
        ForeignKey("holdings_snapshots.id", ondelete="CASCADE"), index=True, nullable=False
    )
    account: Mapped[str] = mapped_column(String(100), nullable=False)
    amount: Mapped[float] = mapped_column(Float, nullable=False)


class LedgerTransaction(Base):
    """A past trade of a household (imported, or a recorded fill), for the wash-sale rule."""

    __tablename__ = "transactions"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    household_id: Mapped[str] = mapped_column(
        ForeignKey("households.id", ondelete="CASCADE"), index=True, nullable=False
    )
    date: Mapped[date] = mapped_column(Date, nullable=False)
    account: Mapped[str] = mapped_column(String(100), nullable=False)
    symbol: Mapped[str] = mapped_column(String(32), nullable=False)
    side: Mapped[str] = mapped_column(String(4), nullable=False)
    quantity: Mapped[float] = mapped_column(Float, nullable=False)
    price: Mapped[float] = mapped_column(Float, nullable=False)
    cost_basis: Mapped[float | None] = mapped_column(Float, nullable=True)
    source: Mapped[str] = mapped_column(String(32), nullable=False, default="import")
    created_at: Mapped[datetime] = _created()


class PriceSet(Base):
    """A firm's uploaded prices CSV; ``digest`` (SHA-256 of the text) changes with it."""

    __tablename__ = "price_sets"
    __table_args__ = (UniqueConstraint("firm_id", "name"),)
    id: Mapped[str] = _id()
    firm_id: Mapped[int] = mapped_column(ForeignKey("firms.id"), index=True, nullable=False)
    name: Mapped[str] = mapped_column(String(200), nullable=False)
    csv: Mapped[str] = mapped_column(Text, nullable=False)
    digest: Mapped[str] = mapped_column(String(64), nullable=False)
    created_at: Mapped[datetime] = _created()
    updated_at: Mapped[datetime] = _created()


class PlanRow(Base):
    """A rebalance plan: the ``poise rebalance --json`` object in ``body``, its status, and
    what it was made from (holdings snapshot, household version, prices digest), so approving
    or sending it after any of them changed can be refused."""

    __tablename__ = "plans"
    __table_args__ = (
        CheckConstraint(
            "status IN ('proposed', 'approved', 'rejected', 'sent', 'filled', "
            "'partially_filled', 'expired')",
            name="status",
        ),
    )
    id: Mapped[str] = _id()
    firm_id: Mapped[int] = mapped_column(ForeignKey("firms.id"), index=True, nullable=False)
    household_id: Mapped[str] = mapped_column(
        ForeignKey("households.id", ondelete="CASCADE"), index=True, nullable=False
    )
    snapshot_id: Mapped[int | None] = mapped_column(
        ForeignKey("holdings_snapshots.id", ondelete="SET NULL"), nullable=True
    )
    household_version: Mapped[int] = mapped_column(Integer, nullable=False)
    prices_name: Mapped[str] = mapped_column(String(500), nullable=False)
    prices_digest: Mapped[str] = mapped_column(String(64), nullable=False)
    as_of: Mapped[date] = mapped_column(Date, nullable=False)
    status: Mapped[str] = mapped_column(String(20), nullable=False, default="proposed")
    body: Mapped[dict[str, Any]] = mapped_column(JSON, nullable=False)
    created_by: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), nullable=True
    )
    created_at: Mapped[datetime] = _created()
    decided_by: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), nullable=True
    )
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    trades: Mapped[list[PlanTrade]] = relationship(
        order_by="PlanTrade.leg", cascade="all, delete-orphan", passive_deletes=True
    )


class PlanTrade(Base):
    """One trade of a plan; ``leg`` numbers them from 1 in the plan's order."""

    __tablename__ = "plan_trades"
    __table_args__ = (UniqueConstraint("plan_id", "leg"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    plan_id: Mapped[str] = mapped_column(
        ForeignKey("plans.id", ondelete="CASCADE"), index=True, nullable=False
    )
    leg: Mapped[int] = mapped_column(Integer, nullable=False)
    account: Mapped[str] = mapped_column(String(100), nullable=False)
    symbol: Mapped[str] = mapped_column(String(32), nullable=False)
    side: Mapped[str] = mapped_column(String(4), nullable=False)
    quantity: Mapped[float] = mapped_column(Float, nullable=False)
    price: Mapped[float] = mapped_column(Float, nullable=False)
    value: Mapped[float] = mapped_column(Float, nullable=False)


class BrokerConnection(Base):
    """A firm's broker account; ``secret`` is the Fernet token of its keys, never clear."""

    __tablename__ = "broker_connections"
    __table_args__ = (CheckConstraint("kind IN ('paper', 'alpaca')", name="kind"),)
    id: Mapped[str] = _id()
    firm_id: Mapped[int] = mapped_column(ForeignKey("firms.id"), index=True, nullable=False)
    kind: Mapped[str] = mapped_column(String(16), nullable=False)
    api_key_hint: Mapped[str | None] = mapped_column(String(16), nullable=True)
    secret: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True)
    created_at: Mapped[datetime] = _created()


class IdempotencyRecord(Base):
    """The first response to a POST sent with an ``Idempotency-Key`` header."""

    __tablename__ = "idempotency_keys"
    __table_args__ = (UniqueConstraint("user_id", "key"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), nullable=False)
    key: Mapped[str] = mapped_column(String(200), nullable=False)
    method: Mapped[str] = mapped_column(String(8), nullable=False)
    path: Mapped[str] = mapped_column(String(500), nullable=False)
    status_code: Mapped[int] = mapped_column(Integer, nullable=False)
    body: Mapped[Any] = mapped_column(JSON, nullable=False)
    created_at: Mapped[datetime] = _created()


class AuditEvent(Base):
    """One event of the append-only, hash-chained audit log (see :mod:`poise.store._audit`).

    The database refuses UPDATE and DELETE on this table (triggers on SQLite and PostgreSQL).
    """

    __tablename__ = "audit_events"
    seq: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    firm_id: Mapped[int | None] = mapped_column(ForeignKey("firms.id"), index=True, nullable=True)
    at: Mapped[str] = mapped_column(String(40), nullable=False)
    actor: Mapped[str] = mapped_column(String(320), nullable=False)
    action: Mapped[str] = mapped_column(String(64), nullable=False)
    object: Mapped[str] = mapped_column(String(200), nullable=False)
    detail: Mapped[dict[str, Any]] = mapped_column(JSON, nullable=False)
    prev_hash: Mapped[str] = mapped_column(String(64), nullable=False)
    hash: Mapped[str] = mapped_column(String(64), nullable=False)
