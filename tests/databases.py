"""Real databases for tests: an SQLite file under pytest's tmp_path, or a PostgreSQL database
of its own on 127.0.0.1:5432 (user ``postgres``), created uniquely and dropped afterwards.
PostgreSQL tests never skip: CI starts the server (``.ci/run``) and fails when it is down."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

__all__ = ["BACKENDS", "PG_SERVER", "database_url", "postgres_database"]

PG_SERVER = "postgresql+psycopg://postgres@127.0.0.1:5432"
BACKENDS = ("sqlite", "postgresql")


def _admin_execute(sql: str) -> None:
    import psycopg

    with psycopg.connect(
        "host=127.0.0.1 port=5432 user=postgres dbname=test", autocommit=True, connect_timeout=10
    ) as conn:
        conn.execute(sql)  # type: ignore[arg-type]


@contextmanager
def postgres_database(prefix: str = "poise_test") -> Iterator[str]:
    """A new, empty PostgreSQL database (its URL), dropped at the end."""
    name = f"{prefix}_{uuid.uuid4().hex[:16]}"
    _admin_execute(f'CREATE DATABASE "{name}"')
    try:
        yield f"{PG_SERVER}/{name}"
    finally:
        _admin_execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@contextmanager
def database_url(backend: str, folder: Path) -> Iterator[str]:
    """A fresh database of ``backend`` (``sqlite`` or ``postgresql``)."""
    if backend == "sqlite":
        yield f"sqlite:///{folder / f'poise-{uuid.uuid4().hex[:8]}.db'}"
    else:
        with postgres_database() as url:
            yield url
