"""Who sends orders, and what is waiting to be sent: the sender lease and the send queue.

Any number of ``poise serve`` processes may share one store; the order sender runs in exactly
one of them at a time. It holds a **lease**: the row ``sender_lease(name, holder, expires_at)``,
taken or renewed by one conditional statement::

    UPDATE sender_lease SET holder = :me, expires_at = <db now> + :ttl
    WHERE name = :name AND (expires_at < <db now> OR holder = :me)

One row changed means the caller holds the lease until ``expires_at``; none means another
holder's lease is still running. Time is the **database's** clock (``clock_timestamp()`` on
PostgreSQL, ``julianday('now')`` on SQLite), in seconds since the epoch, so processes on
machines whose clocks disagree still agree on who holds it. The same statement works on both
databases: PostgreSQL re-checks the condition on the row another transaction just committed
(read committed), SQLite runs one writer at a time. (A PostgreSQL advisory lock would tie
leadership to one connection's life; the lease is chosen because it behaves the same on SQLite
and survives a connection pool's reconnects.)

A holder knows locally until when it may act: the moment just *before* its last successful
renewal plus the lease's length, less a safety margin, on the monotonic clock; so it stops
acting before any other process could take the lease over.

``send_requests`` is the queue: one row per plan whose sending was asked for, with the
default broker connection, the account → connection routes frozen at that moment and who
asked (for the audit trail of the fills); ``pending`` until every order has ended.
"""

from __future__ import annotations

import time
from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    ColumnElement,
    DateTime,
    Engine,
    Float,
    Integer,
    String,
    cast,
    insert,
    literal_column,
    or_,
    select,
    update,
)
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Mapped, mapped_column

from poise.store._base import Base
from poise.store._engine import is_sqlite, write_session

__all__ = ["LEASE_NAME", "SendRequestRow", "SenderLease", "SenderLeaseRow"]

LEASE_NAME = "orders"
"""The lease the service's order sender holds."""


class SenderLeaseRow(Base):
    """A lease: who holds it and until when (seconds since the epoch, database clock)."""

    __tablename__ = "sender_lease"
    name: Mapped[str] = mapped_column(String(32), primary_key=True)
    holder: Mapped[str] = mapped_column(String(200), nullable=False, default="")
    expires_at: Mapped[float] = mapped_column(Float, nullable=False, default=0.0)


class SendRequestRow(Base):
    """A plan whose sending was asked for (the order sender's queue).

    ``connection`` is the request's default broker connection, ``routes`` maps each account
    of the plan to the connection its orders go to (frozen when sending was asked for);
    ``state`` is ``pending`` or ``done``; ``error`` the last failure, if any; ``finished_at``
    when the sender last finished a pass over it (None until it has since it was queued).
    """

    __tablename__ = "send_requests"
    plan_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    firm_id: Mapped[int] = mapped_column(Integer, index=True, nullable=False)
    user_id: Mapped[int] = mapped_column(Integer, nullable=False)
    actor: Mapped[str] = mapped_column(String(320), nullable=False)
    connection: Mapped[str] = mapped_column(String(32), nullable=False)
    routes: Mapped[dict[str, Any]] = mapped_column(JSON, nullable=False)
    state: Mapped[str] = mapped_column(String(16), index=True, nullable=False)
    error: Mapped[str] = mapped_column(String(500), nullable=False, default="")
    requested_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


def _db_now(engine: Engine) -> ColumnElement[float]:
    """The database's clock, in seconds since the epoch."""
    if is_sqlite(engine):
        return literal_column("((julianday('now') - 2440587.5) * 86400.0)", Float)
    return cast(literal_column("extract(epoch from clock_timestamp())"), Float)


class SenderLease:
    """One process's hold on a lease of the store.

    Parameters
    ----------
    engine : Engine
        The store.
    holder : str
        This process's name (unique: host, process id and a random part).
    ttl : float
        Seconds a lease lasts after it is taken or renewed (5).
    margin : float
        Seconds before the lease ends at which the holder stops acting (1).
    name : str
        Which lease.
    """

    def __init__(
        self,
        engine: Engine,
        holder: str,
        *,
        ttl: float = 5.0,
        margin: float = 1.0,
        name: str = LEASE_NAME,
    ) -> None:
        if not 0 < margin < ttl:
            raise ValueError("the margin must be positive and shorter than the lease")
        self.engine = engine
        self.holder = holder
        self.ttl = ttl
        self.margin = margin
        self.name = name
        self._until = 0.0  # monotonic: act only before this

    @property
    def held(self) -> bool:
        """Whether this process may act as the holder now (local clock, with the margin)."""
        return time.monotonic() < self._until

    def acquire(self) -> bool:
        """Take the lease if it is free or expired, or renew it if this process holds it.

        Returns whether this process holds it now. Database errors propagate (the caller
        treats them as "not held"; the local hold runs out by itself).
        """
        started = time.monotonic()
        t = SenderLeaseRow.__table__
        now = _db_now(self.engine)
        try:
            with write_session(self.engine) as session:
                done = session.execute(
                    update(t)  # type: ignore[arg-type]
                    .where(
                        t.c.name == self.name,
                        or_(t.c.expires_at < now, t.c.holder == self.holder),
                    )
                    .values(holder=self.holder, expires_at=now + self.ttl)
                )
                got = bool(done.rowcount)  # type: ignore[attr-defined]
                if not got:
                    exists = session.scalar(select(t.c.name).where(t.c.name == self.name))
                    if exists is None:
                        session.execute(
                            insert(t).values(  # type: ignore[arg-type]
                                name=self.name, holder=self.holder, expires_at=now + self.ttl
                            )
                        )
                        got = True
        except IntegrityError:  # another process made the row at the same moment
            got = False
        self._until = started + self.ttl - self.margin if got else 0.0
        return got

    def release(self) -> None:
        """Give the lease up at once (a clean shutdown), if this process holds it."""
        self._until = 0.0
        t = SenderLeaseRow.__table__
        with write_session(self.engine) as session:
            session.execute(
                update(t)  # type: ignore[arg-type]
                .where(t.c.name == self.name, t.c.holder == self.holder)
                .values(expires_at=0.0)
            )

    def current(self) -> tuple[str, float] | None:
        """``(holder, seconds left)`` of the lease by the database's clock; None when nobody
        holds it."""
        t = SenderLeaseRow.__table__
        with self.engine.connect() as conn:
            row = conn.execute(
                select(t.c.holder, t.c.expires_at - _db_now(self.engine)).where(
                    t.c.name == self.name
                )
            ).first()
        if row is None or row[1] <= 0:
            return None
        return str(row[0]), float(row[1])
