"""The API suite runs against a real SQLite file and a real PostgreSQL database (one of each
per test session; every test makes its own firms, so tests do not see each other's data)."""

from __future__ import annotations

import os
import tomllib
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from poise.service import Settings, create_app
from poise.store import write_session
from poise.store._admin import create_firm, create_user
from tests.conftest import EXAMPLES
from tests.databases import BACKENDS, database_url

os.environ["POISE_ARGON2_PROFILE"] = "test"  # cheap hashing: tests only
PASSWORD = "correct horse battery staple"


def household_body(**extra: Any) -> dict[str, Any]:
    body = tomllib.loads((EXAMPLES / "household.toml").read_text())
    body.update(extra)
    return body


HOLDINGS_CSV = (EXAMPLES / "holdings.csv").read_text()


@dataclass
class FirmClient:
    """A firm with one user per role, logged in."""

    api: Api
    name: str
    headers: dict[str, dict[str, str]] = field(default_factory=dict)
    emails: dict[str, str] = field(default_factory=dict)

    def call(self, role: str, method: str, path: str, **kwargs: Any) -> Any:
        headers = {**self.headers[role], **kwargs.pop("headers", {})}
        return self.api.client.request(method, "/api/v1" + path, headers=headers, **kwargs)

    def household(self, role: str = "advisor", **extra: Any) -> str:
        r = self.call(role, "POST", "/households", json=household_body(**extra))
        assert r.status_code == 201, r.text
        return str(r.json()["id"])

    def holdings(self, household_id: str, text: str = HOLDINGS_CSV) -> Any:
        r = self.call(
            "advisor",
            "PUT",
            f"/households/{household_id}/holdings",
            content=text,
            headers={"content-type": "text/csv"},
        )
        assert r.status_code == 200, r.text
        return r.json()

    def plan(self, household_id: str, **body: Any) -> Any:
        r = self.call("advisor", "POST", f"/households/{household_id}/plans", json=body)
        assert r.status_code == 201, r.text
        return r.json()


@dataclass
class Api:
    backend: str
    app: FastAPI
    client: TestClient
    engine: Engine
    settings: Settings

    def login(self, email: str, password: str = PASSWORD) -> Any:
        return self.client.post(
            "/api/v1/auth/token", data={"username": email, "password": password}
        )

    def firm(self, roles: tuple[str, ...] = ("admin", "advisor", "viewer")) -> FirmClient:
        name = f"firm-{uuid.uuid4().hex[:8]}"
        with write_session(self.engine) as session:
            create_firm(session, name)
            for role in roles:
                create_user(session, f"{role}@{name}.test", firm=name, role=role, password=PASSWORD)
        out = FirmClient(self, name)
        for role in roles:
            email = f"{role}@{name}.test"
            r = self.login(email)
            assert r.status_code == 200, r.text
            out.headers[role] = {"Authorization": f"Bearer {r.json()['access_token']}"}
            out.emails[role] = email
        return out


def make_settings(url: str, home: Path, **overrides: Any) -> Settings:
    values: dict[str, Any] = {"login_attempts_per_address": 10_000}
    values.update(overrides)
    return Settings(database_url=url, home=home, **values)


@pytest.fixture(scope="session", params=BACKENDS)
def api(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Api]:
    home = tmp_path_factory.mktemp(f"home-{request.param}")
    with database_url(request.param, home) as url:
        settings = make_settings(url, home)
        app = create_app(settings)
        with TestClient(app) as client:
            yield Api(request.param, app, client, app.state.poise.engine, settings)
        app.state.poise.engine.dispose()


@pytest.fixture
def firm(api: Api) -> FirmClient:
    return api.firm()
