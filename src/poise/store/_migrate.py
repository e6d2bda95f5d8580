"""Create or migrate the schema with the Alembic migrations shipped inside the package (no
``alembic.ini`` needed where the user runs poise)."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine

from poise._errors import InputError

__all__ = ["alembic_config", "open_store", "unreachable", "upgrade"]

_MIGRATIONS = Path(__file__).with_name("migrations")


def alembic_config(url: str) -> Config:
    """An Alembic configuration pointing at poise's migrations and ``url``."""
    config = Config()
    config.set_main_option("script_location", str(_MIGRATIONS))
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


def upgrade(engine: Engine, revision: str = "heads") -> None:
    """Bring the database behind ``engine`` to ``revision`` (every head by default: features
    built in parallel each add a branch of migrations)."""
    config = alembic_config(engine.url.render_as_string(hide_password=False))
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, revision)


def open_store(database_url: str | None = None, *, migrate: bool = True) -> Engine:
    """The engine of the store at ``database_url`` (resolved as :func:`resolve_database_url`
    says), with its schema brought up to date unless ``migrate`` is false.

    Raises
    ------
    InputError
        When the database cannot be opened (no such folder or database, server not running,
        login refused), naming the URL (password hidden) and the driver's reason.
    """
    from sqlalchemy.exc import OperationalError

    from poise.store._engine import make_engine
    from poise.store._url import resolve_database_url

    engine = make_engine(resolve_database_url(database_url))
    if migrate:
        try:
            upgrade(engine)
        except OperationalError as exc:
            engine.dispose()
            raise unreachable(engine, exc) from None
    return engine


def unreachable(engine: Engine, exc: Exception) -> InputError:
    """The message for a database that cannot be opened: the URL (password hidden), the
    driver's first line and the fix."""
    reason = str(getattr(exc, "orig", None) or exc).strip().splitlines()
    url = engine.url.render_as_string(hide_password=True)
    return InputError(
        f"cannot open the database {url}: {reason[0] if reason else 'no reason given'}; "
        "check the URL, that the folder or the database exists and that its server runs "
        "(--database-url or POISE_DATABASE_URL)",
        field="--database-url",
    )
