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
from contextlib import contextmanager
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
    connection: str | None = None  # a paper broker connection, where the fixture made one


@dataclass
class Server:
    url: str
    firms: dict[str, Firm]
    log: Path
    home: Path | None = None
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


LAUNCH_WITH_SEND_TIMEOUT = (
    "import sys; import poise.service._orders as o; o.SEND_TIMEOUT = float(sys.argv.pop(1)); "
    "from poise.cli import run; run()"
)
"""``poise`` whose sends wait only the given seconds for open orders (tests that need orders
left open at the paper venue)."""


def _firms(url: str, names: tuple[str, ...]) -> dict[str, Firm]:
    from poise.store import make_engine, upgrade, write_session
    from poise.store._admin import create_firm, create_user

    engine = make_engine(url)
    upgrade(engine)
    firms = {}
    with write_session(engine) as session:
        for firm in names:
            create_firm(session, firm)
            emails = {}
            for role in ("admin", "advisor", "viewer"):
                slug = firm.split()[0].lower()
                emails[role] = f"{role}@{slug}.test"
                create_user(session, emails[role], firm=firm, role=role, password=PASSWORD)
            firms[firm.split()[0].lower()] = Firm(firm, emails)
    engine.dispose()
    return firms


@contextmanager
def running_server(
    home: Path,
    firm_names: tuple[str, ...],
    *,
    env: dict[str, str] | None = None,
    send_timeout: float | None = None,
) -> Iterator[Server]:
    """``poise serve`` on a free loopback port with a SQLite store in ``home``, with one
    admin, advisor and viewer in each firm; stopped on exit."""
    url = f"sqlite:///{home / 'poise.db'}"
    environ = {**os.environ, "POISE_HOME": str(home), "POISE_ARGON2_PROFILE": "test", **(env or {})}
    environ.pop("POISE_DATABASE_URL", None)
    os.environ["POISE_ARGON2_PROFILE"] = "test"
    firms = _firms(url, firm_names)
    port = _free_port()
    log = home / "server.log"
    command = [sys.executable, "-m", "poise"]
    if send_timeout is not None:
        command = [sys.executable, "-c", LAUNCH_WITH_SEND_TIMEOUT, str(send_timeout)]
    with log.open("w") as out:
        process = subprocess.Popen(
            [*command, "serve", "--host", "127.0.0.1", "--port", str(port)],
            env={**environ, "POISE_DATABASE_URL": url},
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
        yield Server(base, firms, log, home)
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()


def add_paper_connection(srv: Server, firm: str) -> str:
    """A broker connection of kind paper for ``firm``, made by its admin."""
    r = srv.api(srv.firms[firm].emails["admin"]).post("/broker-connections", json={"kind": "paper"})
    assert r.status_code == 201, r.text
    connection = str(r.json()["id"])
    srv.firms[firm].connection = connection
    return connection


@pytest.fixture(scope="session")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    home = tmp_path_factory.mktemp("poise-home")
    names = ("Alpha Advisors", "Beta Wealth", "Gamma Partners", "Delta Capital")
    with running_server(home, names) as srv:
        firms = srv.firms
        rivera = tomllib.loads((EXAMPLES / "household.toml").read_text())
        holdings = (EXAMPLES / "holdings.csv").read_text()
        alpha = srv.api(firms["alpha"].emails["advisor"])
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
        delta = srv.api(firms["delta"].emails["advisor"])  # sends to the paper venue
        firms["delta"].households["Rivera household"] = _add_household(delta, rivera, holdings)
        body, lots = balanced_household("Chen household")
        firms["delta"].households["Chen household"] = _add_household(delta, body, lots)
        add_paper_connection(srv, "delta")
        yield srv


@pytest.fixture(scope="session")
def open_orders_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """A server whose paper venue fills each order in 100,000 slices (one per look-up) and
    whose sends wait half a second: a sent plan's sells stay partly filled, its buys unsent."""
    home = tmp_path_factory.mktemp("poise-open-orders")
    with running_server(
        home, ("Epsilon Trust",), env={"POISE_PAPER_SLICES": "100000"}, send_timeout=0.5
    ) as srv:
        rivera = tomllib.loads((EXAMPLES / "household.toml").read_text())
        holdings = (EXAMPLES / "holdings.csv").read_text()
        firm = srv.firms["epsilon"]
        advisor = srv.api(firm.emails["advisor"])
        firm.households["Rivera household"] = _add_household(advisor, rivera, holdings)
        add_paper_connection(srv, "epsilon")
        yield srv


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
