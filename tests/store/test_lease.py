"""The sender lease: one holder at a time, taken over only after it expires (database clock),
renewed by its holder, given up at once on release; on SQLite and PostgreSQL."""

from __future__ import annotations

import threading
import time

from sqlalchemy import Engine

from poise.store import SenderLease, make_engine


def test_one_holder_until_it_expires(engine: Engine) -> None:
    a = SenderLease(engine, "a", ttl=1.0, margin=0.3)
    b = SenderLease(engine, "b", ttl=1.0, margin=0.3)
    assert a.acquire()
    assert a.held
    assert not b.acquire()
    assert not b.held
    assert a.acquire()  # renewed by its holder
    current = a.current()
    assert current is not None
    assert current[0] == "a"
    assert 0.5 < current[1] <= 1.0
    time.sleep(0.75)
    assert not a.held  # the holder stops acting before the lease ends
    assert not b.acquire()  # ... and the lease has not ended yet
    time.sleep(0.4)
    assert b.acquire()  # expired: taken over
    assert not a.acquire()
    now = b.current()
    assert now is not None
    assert now[0] == "b"


def test_release_hands_over_at_once(engine: Engine) -> None:
    a = SenderLease(engine, "a", ttl=30.0)
    b = SenderLease(engine, "b", ttl=30.0)
    assert a.acquire()
    assert not b.acquire()
    a.release()
    assert not a.held
    assert a.current() is None
    assert b.acquire()


def test_racing_processes_never_share_it(engine: Engine) -> None:
    """Eight contenders, each on its own engine, try at once, many rounds: at most one holds
    the lease at any moment (each acquisition is checked against the others' holds)."""
    url = engine.url.render_as_string(hide_password=False)
    engines = [make_engine(url) for _ in range(8)]
    leases = [SenderLease(e, f"p{k}", ttl=0.4, margin=0.1) for k, e in enumerate(engines)]
    overlaps: list[tuple[str, str]] = []
    holds: list[tuple[str, float, float]] = []
    lock = threading.Lock()

    def contend(lease: SenderLease) -> None:
        end = time.monotonic() + 2.0
        while time.monotonic() < end:
            before = time.monotonic()
            if lease.acquire():
                after = time.monotonic()  # not before it really got the lease
                until = before + lease.ttl - lease.margin  # when it stops acting
                with lock:
                    for other, start, stop in holds:
                        if other != lease.holder and start < until and after < stop:
                            overlaps.append((lease.holder, other))
                    holds.append((lease.holder, after, until))
            time.sleep(0.05)

    threads = [threading.Thread(target=contend, args=(lease,)) for lease in leases]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for e in engines:
        e.dispose()
    assert holds, "somebody must have held the lease"
    assert overlaps == []
