"""The order dispatcher in one process: one leader per store, a clean hand-over when the
leader stops, a takeover after the lease runs out when it dies, and recovery by id first."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from poise.service import create_app
from poise.service._deps import ServiceState
from poise.service._sending import OrderDispatcher
from tests.service.conftest import make_settings


@pytest.fixture
def states(tmp_path: Path) -> Iterator[tuple[ServiceState, ServiceState]]:
    url = f"sqlite:///{tmp_path / 'd.db'}"
    apps = [create_app(make_settings(url, tmp_path / "home")) for _ in range(2)]
    yield apps[0].state.poise, apps[1].state.poise
    for app in apps:
        app.state.poise.engine.dispose()


def _until(check: Callable[[], bool], seconds: float) -> float:
    started = time.monotonic()
    while not check():
        assert time.monotonic() - started < seconds, "timed out"
        time.sleep(0.02)
    return time.monotonic() - started


def test_one_leader_and_a_clean_hand_over(states: tuple[ServiceState, ServiceState]) -> None:
    a = OrderDispatcher(states[0], lease_seconds=1.0, renew_seconds=0.2)
    b = OrderDispatcher(states[1], lease_seconds=1.0, renew_seconds=0.2)
    try:
        a.start()
        _until(lambda: a.leader, 5)
        b.start()
        deadline = time.monotonic() + 1.5  # several renewals: a keeps it, b never has it
        while time.monotonic() < deadline:
            assert a.leader
            assert not b.leader
            time.sleep(0.05)
        a.stop()  # gives the lease up: b takes it at its next try
        assert _until(lambda: b.leader, 2) < 0.5
    finally:
        a.stop()
        b.stop()


def test_a_dead_leader_is_replaced_once_its_lease_ends(
    states: tuple[ServiceState, ServiceState],
) -> None:
    a = OrderDispatcher(states[0], lease_seconds=1.0, renew_seconds=0.2)
    b = OrderDispatcher(states[1], lease_seconds=1.0, renew_seconds=0.2)
    try:
        a.start()
        _until(lambda: a.leader, 5)
        b.start()
        a._stop.set()  # dies: no more renewals, and no release
        for thread in a._threads:
            thread.join()
        took = _until(lambda: b.leader, 3)
        assert 0.3 < took < 2.5  # after the lease's end (1 s after a's last renewal)
        assert not a.leader
    finally:
        b.stop()
