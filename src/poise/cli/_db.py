"""``poise db``: create or migrate the store's schema; back up an SQLite store."""

from __future__ import annotations

from pathlib import Path

import typer

from poise._errors import InputError
from poise.cli._app import app, console
from poise.cli._options import DATABASE_URL

__all__ = ["db_app"]

db_app = typer.Typer(
    help="The store: create or migrate its schema, back it up.", no_args_is_help=True
)
app.add_typer(db_app, name="db")


@db_app.command("upgrade")
def upgrade(database_url: str | None = DATABASE_URL) -> None:
    """Create the schema, or migrate it to this version of poise."""
    from poise.store import open_store

    engine = open_store(database_url)
    console.print(f"database at {engine.url.render_as_string(hide_password=True)} is up to date")
    engine.dispose()


@db_app.command("backup")
def backup(
    file: Path = typer.Argument(..., help="Where to write the copy (a new SQLite file)."),
    database_url: str | None = DATABASE_URL,
) -> None:
    """Copy an SQLite store, consistently, while poise may be running (use pg_dump for
    PostgreSQL)."""
    import sqlite3

    from poise.store import is_sqlite, make_engine, resolve_database_url

    engine = make_engine(resolve_database_url(database_url))
    if not is_sqlite(engine):
        raise InputError(
            "poise db backup copies SQLite stores; back up PostgreSQL with pg_dump",
            field="--database-url",
        )
    if file.exists():
        raise InputError("already exists; choose a new file name", source=str(file))
    source_path = engine.url.database
    if not source_path or not Path(source_path).exists():
        raise InputError(
            "the SQLite store does not exist yet; run poise db upgrade", field="--database-url"
        )
    tmp = file.with_name(file.name + ".part")
    src = sqlite3.connect(source_path)
    try:
        dst = sqlite3.connect(tmp)
        try:
            src.backup(dst)
        finally:
            dst.close()
    finally:
        src.close()
    tmp.replace(file)
    console.print(f"backed up to {file}")
