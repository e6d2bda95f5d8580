"""Engines and sessions.

SQLite runs in WAL mode with a busy timeout and foreign keys on; a write session begins with
``BEGIN IMMEDIATE`` so two writers queue on the busy timeout instead of failing when one reads
and then upgrades to a write. PostgreSQL is reached through psycopg 3.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.orm import Session, sessionmaker

__all__ = ["BUSY_TIMEOUT_MS", "is_sqlite", "make_engine", "read_session", "write_session"]

BUSY_TIMEOUT_MS = 30_000
"""How long an SQLite writer waits for another writer's transaction to end."""

_WRITE = "poise_write"


def is_sqlite(engine: Engine) -> bool:
    return engine.dialect.name == "sqlite"


def make_engine(url: str, **kwargs: Any) -> Engine:
    """An engine for ``url`` (see :func:`poise.store.resolve_database_url`).

    SQLite: WAL journal, ``busy_timeout``, ``foreign_keys=ON``, and transactions that poise
    begins itself (``BEGIN`` to read, ``BEGIN IMMEDIATE`` in :func:`write_session`).
    PostgreSQL: pre-ping pooled connections.
    """
    if url.startswith("sqlite"):
        _private_file(url)
        engine = create_engine(
            url,
            connect_args={"check_same_thread": False, "timeout": BUSY_TIMEOUT_MS / 1000},
            **kwargs,
        )

        @event.listens_for(engine, "connect")
        def _on_connect(dbapi_conn: Any, _record: Any) -> None:
            dbapi_conn.isolation_level = None  # poise emits BEGIN itself (below)
            cursor = dbapi_conn.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.close()

        @event.listens_for(engine, "begin")
        def _on_begin(conn: Any) -> None:
            immediate = conn.get_execution_options().get(_WRITE, False)
            conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")

        return engine
    kwargs.setdefault("pool_pre_ping", True)
    kwargs.setdefault("pool_size", 10)
    kwargs.setdefault("max_overflow", 20)
    return create_engine(url, **kwargs)


def _private_file(url: str) -> None:
    """Create a new SQLite file readable by its owner only (its WAL and shared-memory files
    take the same mode)."""
    import os
    from pathlib import Path

    from sqlalchemy.engine import make_url

    database = make_url(url).database
    if not database or database == ":memory:" or database.startswith("file:"):
        return
    path = Path(database)
    if not path.exists() and path.parent.is_dir():
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))


_makers: dict[tuple[int, bool], sessionmaker[Session]] = {}


def _maker(engine: Engine, write: bool) -> sessionmaker[Session]:
    key = (id(engine), write)
    maker = _makers.get(key)
    if maker is None:
        bind = engine.execution_options(**{_WRITE: True}) if write else engine
        maker = sessionmaker(bind=bind, expire_on_commit=False)
        _makers[key] = maker
    return maker


@contextmanager
def write_session(engine: Engine) -> Iterator[Session]:
    """A session whose one transaction commits at the end of the block (rolled back on error).
    On SQLite it holds the write lock from its first statement."""
    with _maker(engine, True)() as session, session.begin():
        yield session


@contextmanager
def read_session(engine: Engine) -> Iterator[Session]:
    """A session for reading: one transaction, ended at the end of the block (closing rolls
    it back; the objects read stay readable, detached)."""
    with _maker(engine, False)() as session:
        yield session
