"""Logging in, refresh-token rotation, logout and password change revoking, API tokens, the
login rate limit, JWT claims."""

from __future__ import annotations

import statistics
import time
import uuid
from pathlib import Path

import jwt
import pytest
from fastapi.testclient import TestClient

from poise.service import create_app
from tests.service.conftest import PASSWORD, Api, FirmClient, make_settings


def _login(api: Api, email: str, password: str = PASSWORD) -> dict[str, str]:
    r = api.login(email, password)
    assert r.status_code == 200, r.text
    body: dict[str, str] = r.json()
    return body


def test_token_shape_and_claims(api: Api, firm: FirmClient) -> None:
    tokens = _login(api, firm.emails["viewer"])
    assert tokens["token_type"] == "bearer"
    assert int(tokens["expires_in"]) == api.settings.access_token_seconds
    claims = jwt.decode(tokens["access_token"], options={"verify_signature": False})
    assert claims["iss"] == "poise"
    assert claims["aud"] == "poise-api"
    assert claims["exp"] - claims["iat"] == api.settings.access_token_seconds
    forged = jwt.encode({**claims, "sub": "1"}, "guess", algorithm="HS256")
    r = api.client.get("/api/v1/households", headers={"Authorization": f"Bearer {forged}"})
    assert r.status_code == 401
    expired = {**claims, "exp": claims["iat"] - 10}
    unsigned = jwt.encode(expired, "x", algorithm="HS256")
    assert (
        api.client.get("/api/v1/plans", headers={"Authorization": f"Bearer {unsigned}"}).status_code
        == 401
    )


def test_refresh_rotates_and_reuse_revokes_the_session(api: Api, firm: FirmClient) -> None:
    first = _login(api, firm.emails["advisor"])
    r = api.client.post("/api/v1/auth/refresh", json={"refresh_token": first["refresh_token"]})
    assert r.status_code == 200
    second = r.json()
    assert second["refresh_token"] != first["refresh_token"]
    bearer = {"Authorization": f"Bearer {second['access_token']}"}
    assert api.client.get("/api/v1/households", headers=bearer).status_code == 200
    # the used token again: refused, and the whole session ends
    r = api.client.post("/api/v1/auth/refresh", json={"refresh_token": first["refresh_token"]})
    assert r.status_code == 401
    assert api.client.get("/api/v1/households", headers=bearer).status_code == 401
    r = api.client.post("/api/v1/auth/refresh", json={"refresh_token": second["refresh_token"]})
    assert r.status_code == 401


def test_logout_ends_access_and_refresh(api: Api, firm: FirmClient) -> None:
    tokens = _login(api, firm.emails["viewer"])
    other = _login(api, firm.emails["viewer"])  # another device stays logged in
    bearer = {"Authorization": f"Bearer {tokens['access_token']}"}
    assert api.client.post("/api/v1/auth/logout", headers=bearer).status_code == 204
    assert api.client.get("/api/v1/households", headers=bearer).status_code == 401
    r = api.client.post("/api/v1/auth/refresh", json={"refresh_token": tokens["refresh_token"]})
    assert r.status_code == 401
    still = {"Authorization": f"Bearer {other['access_token']}"}
    assert api.client.get("/api/v1/households", headers=still).status_code == 200


def test_password_change_revokes_every_session(api: Api, firm: FirmClient) -> None:
    email = firm.emails["advisor"]
    a, b = _login(api, email), _login(api, email)
    bearer = {"Authorization": f"Bearer {a['access_token']}"}
    r = api.client.post(
        "/api/v1/auth/password",
        headers=bearer,
        json={"current_password": "wrong one!!", "new_password": "a new long password"},
    )
    assert r.status_code == 422
    assert r.json()["detail"][0]["loc"] == ["body", "current_password"]
    r = api.client.post(
        "/api/v1/auth/password",
        headers=bearer,
        json={"current_password": PASSWORD, "new_password": "a new long password"},
    )
    assert r.status_code == 204
    for tokens in (a, b):
        h = {"Authorization": f"Bearer {tokens['access_token']}"}
        assert api.client.get("/api/v1/households", headers=h).status_code == 401
        r = api.client.post("/api/v1/auth/refresh", json={"refresh_token": tokens["refresh_token"]})
        assert r.status_code == 401
    assert api.login(email).status_code == 401
    assert api.login(email, "a new long password").status_code == 200


def test_api_token_shown_once_and_revocable(api: Api, firm: FirmClient) -> None:
    r = firm.call("advisor", "POST", "/auth/api-tokens", json={"name": "nightly"})
    assert r.status_code == 201
    created = r.json()
    h = {"Authorization": f"Bearer {created['token']}"}
    assert api.client.get("/api/v1/households", headers=h).status_code == 200
    assert firm.call("advisor", "DELETE", f"/auth/api-tokens/{created['id']}").status_code == 204
    assert api.client.get("/api/v1/households", headers=h).status_code == 401


def test_login_failures_for_unknown_and_known_users_look_alike(api: Api, firm: FirmClient) -> None:
    known = api.login(firm.emails["viewer"], "not the password")
    unknown = api.login(f"nobody-{uuid.uuid4().hex[:6]}@x.test", "not the password")
    assert known.status_code == unknown.status_code == 401
    assert known.json() == unknown.json()


def test_login_rate_limit_per_account_and_address(tmp_path: Path) -> None:
    settings = make_settings(
        f"sqlite:///{tmp_path / 'rl.db'}",
        tmp_path,
        login_failures_per_account=3,
        login_attempts_per_address=8,
    )
    app = create_app(settings)
    with TestClient(app) as client:
        from poise.store import write_session
        from poise.store._admin import create_firm, create_user

        with write_session(app.state.poise.engine) as session:
            create_firm(session, "RL")
            create_user(session, "u@rl.test", firm="RL", role="viewer", password=PASSWORD)

        def login(user: str, password: str) -> int:
            r = client.post("/api/v1/auth/token", data={"username": user, "password": password})
            return r.status_code

        assert [login("u@rl.test", "bad password") for _ in range(3)] == [401, 401, 401]
        assert login("u@rl.test", PASSWORD) == 429  # the account is locked for the window
        # an unknown account is throttled the same way
        assert [login("ghost@rl.test", "bad password") for _ in range(4)] == [401, 401, 401, 429]
        # refused attempts do not count: 6 so far from this address, 2 more are allowed,
        # then 429 for any account
        assert login("other@rl.test", "bad password") == 401
        assert login("more@rl.test", "bad password") == 401
        r = client.post("/api/v1/auth/token", data={"username": "x@rl.test", "password": "y"})
        assert r.status_code == 429
        assert int(r.headers["Retry-After"]) > 0
    app.state.poise.engine.dispose()


def test_unknown_user_answer_takes_as_long_as_a_wrong_password(api: Api) -> None:
    """Both verify an argon2 hash and record a failed login; measured alternately (so load
    from elsewhere hits both alike), the medians are within a few milliseconds."""
    from poise.store import write_session
    from poise.store._admin import create_user

    firm = api.firm(("viewer",))
    times: dict[str, list[float]] = {"known": [], "unknown": []}
    for i in range(15):  # a new account each round: no attempt meets the lockout
        known_user = f"timing-{i}-{uuid.uuid4().hex[:6]}@{firm.name}.test"
        with write_session(api.engine) as session:
            create_user(session, known_user, firm=firm.name, role="viewer", password=PASSWORD)
        for kind, user in (("known", known_user), ("unknown", f"ghost-{uuid.uuid4().hex}@x.test")):
            start = time.perf_counter()
            assert api.login(user, "wrong password").status_code == 401
            times[kind].append(time.perf_counter() - start)
    known, unknown = (statistics.median(times[k]) for k in ("known", "unknown"))
    assert abs(known - unknown) < max(0.5 * known, 0.025)


def test_unknown_user_costs_one_hash_verification_like_a_known_one(
    api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    from poise.service import _auth_routes

    seen: list[str] = []
    real = _auth_routes.check_password

    def counting(stored_hash: str, password: str) -> bool:
        seen.append(stored_hash.rsplit("$", 2)[0])  # algorithm and parameters, no salt
        return real(stored_hash, password)

    monkeypatch.setattr(_auth_routes, "check_password", counting)
    known = api.firm(("viewer",)).emails["viewer"]
    seen.clear()
    assert api.login(known, "wrong password").status_code == 401
    assert api.login(f"ghost-{uuid.uuid4().hex}@x.test", "wrong password").status_code == 401
    assert len(seen) == 2
    assert seen[0] == seen[1]


def test_password_rehashed_when_parameters_change(
    api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    from sqlalchemy import select

    from poise.store import User, read_session

    firm = api.firm(("viewer",))  # hashed with the cheap test profile
    email = firm.emails["viewer"]
    monkeypatch.setenv("POISE_ARGON2_PROFILE", "default")
    assert api.login(email).status_code == 200
    with read_session(api.engine) as session:
        stored = session.scalar(select(User.password_hash).where(User.email == email))
    assert stored is not None
    assert stored.startswith("$argon2id$")
    assert "m=65536,t=3" in stored  # argon2-cffi's default profile now
    monkeypatch.setenv("POISE_ARGON2_PROFILE", "test")
    assert api.login(email).status_code == 200
