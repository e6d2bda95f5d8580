"""Two ``POST /plans/{id}/orders`` for the same plan at the same moment (threads against the
real app, on SQLite and PostgreSQL): the paper venue ends with exactly one order per leg,
every fill is recorded once, the plan is sent (and audited) once, and the caller that did not
ask first is answered 200 with the same orders."""

from __future__ import annotations

import threading
from typing import Any

import pytest

from tests.service.conftest import Api, FirmClient
from tests.service.test_orders_route import (
    _approved_plan,
    _connection,
    _expected_ids,
    _venue_orders,
)


def _race(firm: FirmClient, path: str, body: dict[str, Any], keys: list[str | None]) -> list[Any]:
    """Send one POST per key from its own thread, all released at the same moment."""
    barrier = threading.Barrier(len(keys))
    out: list[Any] = [None] * len(keys)

    def post(i: int, key: str | None) -> None:
        headers = {"Idempotency-Key": key} if key else {}
        barrier.wait()
        out[i] = firm.call("advisor", "POST", path, json=body, headers=headers)

    threads = [threading.Thread(target=post, args=(i, k)) for i, k in enumerate(keys)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    return out


@pytest.mark.parametrize(
    "keys",
    [[None, None], ["same", "same"], ["one", "two"]],
    ids=["no-key", "same-key", "other-keys"],
)
def test_two_concurrent_sends_make_one_order_per_leg(
    api: Api, firm: FirmClient, keys: list[str | None]
) -> None:
    plan = _approved_plan(firm)
    conn = _connection(firm)
    path = f"/plans/{plan['id']}/orders"
    answers = _race(firm, path, {"connection": conn}, keys)
    for r in answers:
        assert r is not None, "a request did not finish"
        assert r.status_code in (200, 201), r.text
    statuses = sorted(r.status_code for r in answers)
    if keys[0] is not None and keys[0] == keys[1]:
        assert statuses[0] == statuses[1]  # one key: one answer, twice
        assert answers[0].json() == answers[1].json()
    else:
        assert statuses == [200, 201]  # one caller asked first
    legs = len(plan["trades"])
    ids = _expected_ids(plan["id"], legs)
    for r in answers:
        assert [o["client_order_id"] for o in r.json()["orders"]] == ids
    # the venue has exactly one order per leg
    at_venue = _venue_orders(api, plan["id"])
    assert sorted(o.client_order_id for o in at_venue) == ids
    # every fill recorded once: distinct execution ids, adding up to each order's fill
    listed = firm.call("viewer", "GET", path).json()
    assert listed["status"] == "filled"
    by_id = {o.client_order_id: o for o in at_venue}
    executions = []
    for o in listed["orders"]:
        assert o["state"] == "filled"
        total = sum(f["quantity"] for f in o["fills"])
        assert abs(total - o["filled_quantity"]) < 1e-9
        assert abs(total - by_id[o["client_order_id"]].filled_quantity) < 1e-9
        executions += [f["execution_id"] for f in o["fills"]]
    assert len(executions) == len(set(executions))
    events = firm.call("viewer", "GET", "/audit?limit=500").json()["items"]
    actions = [e["action"] for e in events]
    assert actions.count("plan.send") == 1
    assert actions.count("plan.sent") == 1
    assert actions.count("order.fill") == len(executions)
