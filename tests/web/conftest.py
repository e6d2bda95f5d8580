"""A real poise server (``poise serve`` in a subprocess, on a free loopback port, SQLite in
tmp_path) with two firms and their households, and Debian's chromium driven by Playwright.

Screenshots go to ``screenshots/`` at the repository root (git-ignored).
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
import tomllib
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import EXAMPLES, ROOT

PASSWORD = "correct horse battery staple"
SCREENSHOTS = ROOT / "screenshots"
WIDTHS = (1280, 390)


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Firm:
    name: str
    emails: dict[str, str]
    households: dict[str, str] = field(default_factory=dict)  # name -> id


@dataclass
class Server:
    url: str
    firms: dict[str, Firm]
    log: Path
    clients: dict[str, httpx.Client] = field(default_factory=dict)

    def api(self, email: str) -> httpx.Client:
        """A JSON API client logged in as ``email`` (one login per user: the service limits
        logins per address)."""
        if email in self.clients:
            return self.clients[email]
        token = httpx.post(
            f"{self.url}/api/v1/auth/token", data={"username": email, "password": PASSWORD}
        )
        assert token.status_code == 200, token.text
        self.clients[email] = httpx.Client(
            base_url=f"{self.url}/api/v1",
            headers={"Authorization": f"Bearer {token.json()['access_token']}"},
            timeout=30,
        )
        return self.clients[email]


def balanced_household(name: str) -> tuple[dict[str, Any], str]:
    """A household held exactly at its targets on sp500's last day (inside its bands)."""
    from poise.data import load_dataset

    close = load_dataset("sp500").iloc[-1]
    body = {
        "name": name,
        "accounts": [{"id": "ira", "kind": "tax_deferred"}],
        "targets": {"KO": 0.5, "PG": 0.5},
        "policy": {"kind": "threshold", "absolute": 0.05},
    }
    lines = ["account,symbol,quantity,cost_basis,acquired"]
    for symbol in ("KO", "PG"):
        quantity = 50_000 / float(close[symbol])
        lines.append(f"ira,{symbol},{quantity:.10f},40000,2015-01-02")
    return body, "\n".join(lines) + "\n"


def _add_household(client: httpx.Client, body: dict[str, Any], holdings: str) -> str:
    r = client.post("/households", json=body)
    assert r.status_code == 201, r.text
    household_id = str(r.json()["id"])
    r = client.put(
        f"/households/{household_id}/holdings",
        content=holdings,
        headers={"content-type": "text/csv"},
    )
    assert r.status_code == 200, r.text
    return household_id


@pytest.fixture(scope="session")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    from poise.store import make_engine, upgrade, write_session
    from poise.store._admin import create_firm, create_user

    home = tmp_path_factory.mktemp("poise-home")
    url = f"sqlite:///{home / 'poise.db'}"
    env = {**os.environ, "POISE_HOME": str(home), "POISE_ARGON2_PROFILE": "test"}
    env.pop("POISE_DATABASE_URL", None)
    os.environ["POISE_ARGON2_PROFILE"] = "test"
    engine = make_engine(url)
    upgrade(engine)
    firms = {}
    with write_session(engine) as session:
        for firm in ("Alpha Advisors", "Beta Wealth", "Gamma Partners"):
            create_firm(session, firm)
            emails = {}
            for role in ("admin", "advisor", "viewer"):
                slug = firm.split()[0].lower()
                emails[role] = f"{role}@{slug}.test"
                create_user(session, emails[role], firm=firm, role=role, password=PASSWORD)
            firms[firm.split()[0].lower()] = Firm(firm, emails)
    engine.dispose()

    port = _free_port()
    log = home / "server.log"
    with log.open("w") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "poise", "serve", "--host", "127.0.0.1", "--port", str(port)],
            env={**env, "POISE_DATABASE_URL": url},
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"{base}/login", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"poise serve did not start:\n{log.read_text()}")
            time.sleep(0.2)
        srv = Server(base, firms, log)
        alpha = srv.api(firms["alpha"].emails["advisor"])
        rivera = tomllib.loads((EXAMPLES / "household.toml").read_text())
        holdings = (EXAMPLES / "holdings.csv").read_text()
        firms["alpha"].households["Rivera household"] = _add_household(alpha, rivera, holdings)
        body, lots = balanced_household("Chen household")
        firms["alpha"].households["Chen household"] = _add_household(alpha, body, lots)
        beta = srv.api(firms["beta"].emails["advisor"])
        body, lots = balanced_household("Beta's own household")
        firms["beta"].households["Beta's own household"] = _add_household(beta, body, lots)
        gamma = srv.api(firms["gamma"].emails["advisor"])
        firms["gamma"].households["Rivera household"] = _add_household(gamma, rivera, holdings)
        body, lots = balanced_household("Chen household")
        firms["gamma"].households["Chen household"] = _add_household(gamma, body, lots)
        yield srv
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    executable = shutil.which("chromium") or "/usr/bin/chromium"
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=executable, args=["--no-sandbox"])
        yield b
        b.close()


@pytest.fixture(scope="session", autouse=True)
def _screenshot_folder() -> None:
    SCREENSHOTS.mkdir(exist_ok=True)
