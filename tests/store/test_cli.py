"""``poise db``, ``poise admin``: the store from the command line."""

from __future__ import annotations

import io
import sqlite3
import sys
from pathlib import Path

import pytest
from sqlalchemy import Engine, select

from poise.store import Firm, User, read_session
from poise.store._passwords import check_password
from tests.conftest import run_cli


def _url(engine: Engine) -> str:
    return engine.url.render_as_string(hide_password=False)


def test_create_firm_and_user(engine: Engine, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("POISE_ARGON2_PROFILE", "test")
    url = _url(engine)
    assert (
        run_cli(["admin", "create-firm", "Acme", "--prices", "sp500", "--database-url", url]).code
        == 0
    )
    again = run_cli(["admin", "create-firm", "Acme", "--database-url", url])
    assert again.code == 2
    assert "exists" in again.stderr
    monkeypatch.setattr(sys, "stdin", io.StringIO("a long enough password\n"))
    made = run_cli(
        [
            "admin",
            "create-user",
            "Ana@Acme.test",
            "--firm",
            "Acme",
            "--role",
            "advisor",
            "--password-stdin",
            "--database-url",
            url,
        ]
    )
    assert made.code == 0, made.stderr
    with read_session(engine) as session:
        user = session.scalar(select(User).where(User.email == "ana@acme.test"))
        firm = session.scalar(select(Firm).where(Firm.name == "Acme"))
    assert user is not None
    assert firm is not None
    assert user.firm_id == firm.id
    assert user.role == "advisor"
    assert user.password_hash.startswith("$argon2id$")
    assert check_password(user.password_hash, "a long enough password")


@pytest.mark.parametrize(
    ("args", "stdin", "hint"),
    [
        (["--firm", "Acme", "--role", "advisor"], "", "--password-stdin"),
        (
            ["--firm", "Nope", "--role", "advisor", "--password-stdin"],
            "long enough pw\n",
            "no firm",
        ),
        (["--firm", "Acme", "--role", "boss", "--password-stdin"], "long enough pw\n", "role"),
        (["--firm", "Acme", "--role", "viewer", "--password-stdin"], "short\n", "at least"),
    ],
)
def test_create_user_errors_exit_2(
    engine: Engine, monkeypatch: pytest.MonkeyPatch, args: list[str], stdin: str, hint: str
) -> None:
    url = _url(engine)
    run_cli(["admin", "create-firm", "Acme", "--database-url", url])
    monkeypatch.setattr(sys, "stdin", io.StringIO(stdin))
    result = run_cli(["admin", "create-user", "x@acme.test", *args, "--database-url", url])
    assert result.code == 2
    assert hint in result.stderr
    assert "Traceback" not in result.stderr


def test_db_upgrade_and_backup(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("POISE_HOME", str(tmp_path / "home"))
    monkeypatch.delenv("POISE_DATABASE_URL", raising=False)
    assert run_cli(["db", "upgrade"]).code == 0
    assert (tmp_path / "home" / "poise.db").exists()
    assert run_cli(["admin", "create-firm", "Backed"]).code == 0
    copy = tmp_path / "copy.db"
    assert run_cli(["db", "backup", str(copy)]).code == 0
    with sqlite3.connect(copy) as conn:
        assert conn.execute("SELECT name FROM firms").fetchall() == [("Backed",)]
    assert run_cli(["db", "backup", str(copy)]).code == 2  # never overwrites
    pg = run_cli(["db", "backup", str(tmp_path / "x.db"), "--database-url", "postgresql://u@h/d"])
    assert pg.code == 2
    assert "pg_dump" in pg.stderr
