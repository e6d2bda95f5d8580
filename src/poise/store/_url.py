"""Where state lives: the database URL and poise's home folder (DESIGN.md, "Where state
lives").

``--database-url`` wins, else ``POISE_DATABASE_URL``, else ``sqlite:///$POISE_HOME/poise.db``;
``POISE_HOME`` defaults to the platform's user data folder.
"""

from __future__ import annotations

import os

from poise._errors import InputError
from poise._home import poise_home

__all__ = ["normalize_database_url", "poise_home", "resolve_database_url"]

_SCHEMES = ("sqlite", "postgresql")


def resolve_database_url(explicit: str | None = None) -> str:
    """The database URL: ``explicit`` (``--database-url``), else ``POISE_DATABASE_URL``, else
    the SQLite file ``poise.db`` in :func:`poise_home` (its folder is created).

    Raises
    ------
    InputError
        The URL names neither SQLite nor PostgreSQL (``field`` ``--database-url``), or the
        home folder cannot be made (``field`` ``POISE_HOME``: it is a file, or not writable).
    """
    url = explicit or os.environ.get("POISE_DATABASE_URL")
    if not url:
        home = poise_home()
        try:
            home.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise InputError(
                f"cannot use {str(home)!r} as poise's home folder ({exc.strerror or exc}); "
                "point POISE_HOME at a folder you can write, or give --database-url",
                field="POISE_HOME",
            ) from None
        return f"sqlite:///{home / 'poise.db'}"
    return normalize_database_url(url)


def normalize_database_url(url: str) -> str:
    """Check the scheme and select psycopg 3 for PostgreSQL (``postgresql://`` and
    ``postgres://`` become ``postgresql+psycopg://``)."""
    scheme, sep, rest = url.partition("://")
    if not sep:
        raise InputError(
            f"{url!r} is not a database URL; write sqlite:///PATH or "
            "postgresql+psycopg://USER@HOST:PORT/DB",
            field="--database-url",
        )
    base, _, driver = scheme.partition("+")
    if base == "postgres":
        base = "postgresql"
    if base not in _SCHEMES:
        raise InputError(
            f"unsupported database {base!r}; use sqlite or postgresql", field="--database-url"
        )
    if base == "postgresql" and driver in ("", "psycopg"):
        return f"postgresql+psycopg://{rest}"
    if base == "postgresql":
        raise InputError(
            f"PostgreSQL is reached through psycopg 3; write postgresql+psycopg://{rest}",
            field="--database-url",
        )
    return f"{scheme}://{rest}"
