"""No password, token or broker secret in clear in the database (raw bytes of the SQLite
file and its WAL, a pg_dump of PostgreSQL); broker secrets decrypt with the key ring, and
``poise admin rotate-key`` re-encrypts them under a new key."""

from __future__ import annotations

import os
import stat
import subprocess
import uuid
from pathlib import Path

import pytest
from cryptography.fernet import Fernet, MultiFernet
from sqlalchemy import select

from poise.store import BrokerConnection, read_session, write_session
from poise.store._admin import create_user
from poise.store._secrets import decrypt_secret, key_file, load_keys, make_ring
from tests.conftest import run_cli
from tests.service.conftest import Api, FirmClient


def _database_bytes(api: Api) -> bytes:
    url = api.engine.url
    if api.backend == "sqlite":
        path = Path(str(url.database))
        return b"".join(p.read_bytes() for p in (path, Path(f"{path}-wal")) if p.exists())
    dump = subprocess.run(
        ["pg_dump", "-h", "127.0.0.1", "-p", "5432", "-U", "postgres", str(url.database)],
        check=True,
        capture_output=True,
        timeout=120,
    )
    return dump.stdout


def test_no_secret_in_clear_in_the_database(api: Api, firm: FirmClient) -> None:
    password = f"pw-{uuid.uuid4().hex}"
    email = f"secret-{uuid.uuid4().hex[:6]}@x.test"
    with write_session(api.engine) as session:
        create_user(session, email, firm=firm.name, role="admin", password=password)
    tokens = api.login(email, password).json()
    rotated = api.client.post(
        "/api/v1/auth/refresh", json={"refresh_token": tokens["refresh_token"]}
    )
    bearer = {"Authorization": f"Bearer {rotated.json()['access_token']}"}
    api_token = api.client.post(
        "/api/v1/auth/api-tokens", headers=bearer, json={"name": "s"}
    ).json()
    key_id, secret = f"AK{uuid.uuid4().hex[:18].upper()}", f"sk-{uuid.uuid4().hex}"
    r = api.client.post(
        "/api/v1/broker-connections",
        headers=bearer,
        json={"kind": "alpaca", "api_key": key_id, "api_secret": secret},
    )
    assert r.status_code == 201
    created = r.json()
    assert created["api_key_hint"] == "…" + key_id[-4:]
    assert secret not in r.text
    assert key_id not in r.text
    listed = api.client.get("/api/v1/broker-connections", headers=bearer).text
    assert secret not in listed
    assert key_id not in listed
    raw = _database_bytes(api)
    assert email.encode() in raw  # the search sees what is stored in clear
    clear = {
        "password": password,
        "access token": tokens["access_token"],
        "refresh token (used)": tokens["refresh_token"],
        "refresh token (current)": rotated.json()["refresh_token"],
        "API token": api_token["token"],
        "broker key id": key_id,
        "broker secret": secret,
    }
    for what, value in clear.items():
        assert value.encode() not in raw, f"{what} stored in clear ({api.backend})"
    # ... yet the secret is there, encrypted, for the key ring to open
    with read_session(api.engine) as session:
        row = session.scalar(select(BrokerConnection).where(BrokerConnection.id == created["id"]))
    assert row is not None
    assert row.secret is not None
    keys, _ = load_keys(api.settings.home)
    assert decrypt_secret(make_ring(keys), row.secret) == {"api_key": key_id, "api_secret": secret}


def test_key_file_is_private(api: Api) -> None:
    path = key_file(api.settings.home)
    assert path.exists()
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_rotate_key_reencrypts_every_secret(
    api: Api, firm: FirmClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    r = firm.call(
        "admin",
        "POST",
        "/broker-connections",
        json={"kind": "alpaca", "api_key": "AKROTATE12345678", "api_secret": "rotate-me-secret"},
    )
    cid = r.json()["id"]
    old_keys, _ = load_keys(api.settings.home)
    monkeypatch.setenv("POISE_HOME", str(api.settings.home))
    monkeypatch.delenv("POISE_SECRET_KEY", raising=False)
    url = api.engine.url.render_as_string(hide_password=False)
    result = run_cli(["admin", "rotate-key", "--database-url", url])
    assert result.code == 0, result.stderr
    new_keys, _ = load_keys(api.settings.home)
    assert len(new_keys) == len(old_keys) + 1
    assert new_keys[1:] == old_keys
    assert stat.S_IMODE(key_file(api.settings.home).stat().st_mode) == 0o600
    newest_only = MultiFernet([Fernet(new_keys[0])])
    with read_session(api.engine) as session:
        rows = list(
            session.scalars(select(BrokerConnection).where(BrokerConnection.secret.is_not(None)))
        )
    assert any(r.id == cid for r in rows)
    for row in rows:
        assert row.secret is not None
        assert decrypt_secret(newest_only, row.secret)["api_key"]
    events = firm.call("admin", "GET", "/audit?limit=500").json()["items"]
    assert all("rotate-me-secret" not in str(e) for e in events)


def test_a_key_file_readable_by_others_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from poise.store._secrets import SecretKeyError

    monkeypatch.delenv("POISE_SECRET_KEY", raising=False)
    load_keys(tmp_path)
    os.chmod(key_file(tmp_path), 0o644)
    with pytest.raises(SecretKeyError, match="chmod 600"):
        load_keys(tmp_path)
    monkeypatch.setenv("POISE_SECRET_KEY", "not-a-key")
    with pytest.raises(SecretKeyError, match="POISE_SECRET_KEY"):
        load_keys(tmp_path)


def test_sqlite_store_is_private(api: Api) -> None:
    if api.backend != "sqlite":
        assert api.backend == "postgresql"  # PostgreSQL's files are the server's to guard
        return
    path = Path(str(api.engine.url.database))
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_no_key_means_no_secret_is_stored(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from fastapi.testclient import TestClient

    from poise.service import create_app
    from tests.service.conftest import PASSWORD, make_settings

    monkeypatch.delenv("POISE_SECRET_KEY", raising=False)
    home = tmp_path / "not-a-folder"
    home.write_text("a file where the key's folder should be")
    app = create_app(make_settings(f"sqlite:///{tmp_path / 'k.db'}", home))
    with TestClient(app) as client:
        from poise.store._admin import create_firm

        with write_session(app.state.poise.engine) as session:
            create_firm(session, "NoKey")
            create_user(session, "a@nokey.test", firm="NoKey", role="admin", password=PASSWORD)
        token = client.post(
            "/api/v1/auth/token", data={"username": "a@nokey.test", "password": PASSWORD}
        ).json()["access_token"]
        r = client.post(
            "/api/v1/broker-connections",
            headers={"Authorization": f"Bearer {token}"},
            json={"kind": "alpaca", "api_key": "AKNOKEY123456", "api_secret": "never-stored"},
        )
        assert r.status_code == 503
        assert "never-stored" not in r.text
        with read_session(app.state.poise.engine) as session:
            assert session.scalar(select(BrokerConnection)) is None
    app.state.poise.engine.dispose()
