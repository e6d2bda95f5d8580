"""``poise admin``: firms, users and the secret key ring, for scripts and first setup."""

from __future__ import annotations

import sys

import typer

from poise._errors import InputError
from poise.cli._app import app, console
from poise.cli._options import DATABASE_URL

__all__ = ["admin_app"]

admin_app = typer.Typer(help="Firms, users and the secret key ring.", no_args_is_help=True)
app.add_typer(admin_app, name="admin")


@admin_app.command("create-firm")
def create_firm(
    name: str = typer.Argument(..., help="The firm's name (a tenant: its data is its own)."),
    prices: str = typer.Option(
        "sp500", "--prices", help="Default prices of its plans: a stored price set or bundled name."
    ),
    database_url: str | None = DATABASE_URL,
) -> None:
    """Create a firm."""
    from poise.store import open_store, write_session
    from poise.store._admin import create_firm as store_create_firm

    engine = open_store(database_url)
    with write_session(engine) as session:
        firm = store_create_firm(session, name, prices=prices)
        firm_name = firm.name
    engine.dispose()
    console.print(f"created firm {firm_name!r}")


@admin_app.command("create-user")
def create_user(
    email: str = typer.Argument(..., help="The user's e-mail address (their login)."),
    firm: str = typer.Option(..., "--firm", help="Name of the user's firm."),
    role: str = typer.Option(..., "--role", help="admin | advisor | viewer."),
    password_stdin: bool = typer.Option(
        False, "--password-stdin", help="Read the password from standard input (one line)."
    ),
    database_url: str | None = DATABASE_URL,
) -> None:
    """Create a user of a firm, with a role."""
    from poise.store import open_store, write_session
    from poise.store._admin import create_user as store_create_user

    if not password_stdin:
        raise InputError(
            "pass the password on standard input with --password-stdin "
            "(never as an argument, where other users can read it)",
            field="--password-stdin",
        )
    password = sys.stdin.readline().rstrip("\r\n")
    engine = open_store(database_url)
    with write_session(engine) as session:
        user = store_create_user(session, email, firm=firm, role=role, password=password)
        address = user.email
    engine.dispose()
    console.print(f"created {role} {address} in firm {firm!r}")


@admin_app.command("rotate-key")
def rotate_key(database_url: str | None = DATABASE_URL) -> None:
    """Make a new secret key and re-encrypt every stored secret under it.

    With the key file ($POISE_HOME/secret.key) the new key is put first in the file and the
    old ones are kept (so secrets stay readable until the rotation commits). With
    POISE_SECRET_KEY the new ring is printed: set the variable to it for every poise process.
    """
    import os

    from cryptography.fernet import Fernet

    from poise.store import open_store, write_session
    from poise.store._audit import append_event
    from poise.store._secrets import key_file, load_keys, make_ring, rotate_secrets, write_key_file

    keys, where = load_keys()
    new_keys = [Fernet.generate_key(), *keys]
    from_env = where == "POISE_SECRET_KEY"
    if not from_env:
        write_key_file(key_file(), new_keys)
    engine = open_store(database_url)
    with write_session(engine) as session:
        count = rotate_secrets(session, make_ring(new_keys))
        append_event(
            session,
            actor="admin-cli",
            action="secret.rotate_key",
            obj="keyring",
            detail={"secrets": count, "keys": len(new_keys)},
        )
    engine.dispose()
    console.print(f"re-encrypted {count} secret(s) under a new key")
    if from_env:
        sys.stdout.write(
            "set POISE_SECRET_KEY for every poise process to:\n"
            + ",".join(k.decode("ascii") for k in new_keys)
            + "\n"
        )
    else:
        console.print(f"key ring: {key_file()} (mode {oct(os.stat(key_file()).st_mode & 0o777)})")
