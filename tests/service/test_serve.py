"""End to end: a real ``poise serve`` process on a free loopback port, set up and driven the
way the README tells a new user (create-firm, create-user, serve, log in, household, holdings,
plan, approve, audit), over real HTTP."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.conftest import EXAMPLES
from tests.service.conftest import household_body


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _poise(
    env: dict[str, str], *args: str, stdin: str | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "poise", *args],
        env=env,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=180,
    )


@pytest.fixture
def server(tmp_path: Path) -> Iterator[tuple[str, dict[str, str]]]:
    env = {**os.environ, "POISE_HOME": str(tmp_path / "home"), "POISE_ARGON2_PROFILE": "test"}
    env.pop("POISE_DATABASE_URL", None)
    env.pop("POISE_SECRET_KEY", None)
    made = _poise(env, "admin", "create-firm", "Acme Advisers")
    assert made.returncode == 0, made.stderr
    user = _poise(
        env,
        "admin",
        "create-user",
        "ana@acme.test",
        "--firm",
        "Acme Advisers",
        "--role",
        "advisor",
        "--password-stdin",
        stdin="a long enough password\n",
    )
    assert user.returncode == 0, user.stderr
    port = _free_port()
    log = (tmp_path / "serve.log").open("w")
    proc = subprocess.Popen(
        [sys.executable, "-m", "poise", "serve", "--host", "127.0.0.1", "--port", str(port)],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                if httpx.get(f"{base}/api/v1/openapi.json", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert proc.poll() is None, (tmp_path / "serve.log").read_text()
            assert time.monotonic() < deadline, "poise serve did not start"
            time.sleep(0.3)
        yield base, env
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()
    assert "a long enough password" not in (tmp_path / "serve.log").read_text()


def test_new_user_walkthrough_over_loopback(server: tuple[str, dict[str, str]]) -> None:
    base, env = server
    with httpx.Client(base_url=f"{base}/api/v1", timeout=60) as http:
        login = http.post(
            "/auth/token", data={"username": "ana@acme.test", "password": "a long enough password"}
        )
        assert login.status_code == 200, login.text
        http.headers["Authorization"] = f"Bearer {login.json()['access_token']}"
        created = http.post("/households", json=household_body())
        assert created.status_code == 201
        hid = created.json()["id"]
        holdings = http.put(
            f"/households/{hid}/holdings",
            content=(EXAMPLES / "holdings.csv").read_bytes(),
            headers={"content-type": "text/csv"},
        )
        assert holdings.status_code == 200
        plan = http.post(f"/households/{hid}/plans", json={"prices": "sp500"})
        assert plan.status_code == 201
        assert plan.json()["status"] == "proposed"
        approved = http.post(f"/plans/{plan.json()['id']}/approve")
        assert approved.status_code == 200
        assert approved.json()["status"] == "approved"
        audit = http.get("/audit").json()["items"]
        actions = [e["action"] for e in audit]
        assert actions[-4:] == [
            "household.create",
            "holdings.import",
            "plan.create",
            "plan.approved",
        ]
        drift = http.get("/drift").json()["items"]
        assert drift[0]["id"] == hid
    verify = _poise(env, "audit", "verify")
    assert verify.returncode == 0, verify.stderr
