"""A store that cannot be opened (a folder that does not exist, a PostgreSQL database that
does not exist, a port nobody listens on) is bad input: exit 2 naming ``--database-url``,
the URL without its password and the driver's reason, never a traceback."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import run_cli

_MISSING_FOLDER = "sqlite:///{tmp}/no/such/folder/poise.db"
_CLOSED_PORT = "postgresql+psycopg://poise:secret@127.0.0.1:1/poise"


@pytest.mark.parametrize(
    "args",
    [
        ["db", "upgrade"],
        ["orders", "list"],
        ["audit", "verify"],
        ["admin", "create-firm", "Acme"],
        ["batch", "rebalance", "--firm", "Acme"],
        ["serve", "--port", "1"],
    ],
)
@pytest.mark.parametrize("url", [_MISSING_FOLDER, _CLOSED_PORT])
def test_an_unreachable_store_exits_2(args, url, tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("POISE_HOME", str(tmp_path))
    url = url.format(tmp=tmp_path)
    out = run_cli([*args, "--database-url", url])
    assert out.code == 2, out.stderr
    assert "Traceback" not in out.stderr
    assert "--database-url: cannot open the database" in out.stderr
    assert "secret" not in out.stderr
    assert not (tmp_path / "no").exists()


def test_a_poise_home_that_is_a_file_exits_2(tmp_path: Path, monkeypatch) -> None:
    home = tmp_path / "home"
    home.write_text("not a folder", encoding="utf-8")
    monkeypatch.setenv("POISE_HOME", str(home))
    monkeypatch.delenv("POISE_DATABASE_URL", raising=False)
    out = run_cli(["orders", "list"])
    assert out.code == 2, out.stderr
    assert "POISE_HOME: cannot use" in out.stderr
    assert "Traceback" not in out.stderr
