"""Create or migrate the schema with the Alembic migrations shipped inside the package (no
``alembic.ini`` needed where the user runs poise)."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine

__all__ = ["alembic_config", "open_store", "upgrade"]

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
    says), with its schema brought up to date unless ``migrate`` is false."""
    from poise.store._engine import make_engine
    from poise.store._url import resolve_database_url

    engine = make_engine(resolve_database_url(database_url))
    if migrate:
        upgrade(engine)
    return engine
