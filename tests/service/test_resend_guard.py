"""A plan made on holdings that another, already sent plan of the household was made on would
repeat its trades: approving or sending it answers 409 (once that plan fills, its fills make a
new holdings snapshot, and plans on the old one are stale). Found by a user who approved and
sent twice and sold the same shares twice at the paper venue."""

from __future__ import annotations

from tests.service.conftest import FirmClient
from tests.service.test_orders_route import _connection


def test_a_second_plan_on_the_same_holdings_is_not_sent_twice(firm: FirmClient) -> None:
    hid = firm.household()
    firm.holdings(hid)
    conn = _connection(firm)
    first = firm.plan(hid, force=True)
    second = firm.plan(hid, force=True)  # proposed before the first went out
    assert first["trades"]
    assert second["trades"] == first["trades"]
    assert firm.call("advisor", "POST", f"/plans/{first['id']}/approve").status_code == 200
    sent = firm.call("advisor", "POST", f"/plans/{first['id']}/orders", json={"connection": conn})
    assert sent.status_code == 201, sent.text

    again = firm.call("advisor", "POST", f"/plans/{second['id']}/approve")
    assert again.status_code == 409
    assert first["id"] in again.json()["detail"]
    # (the fills moved the holdings since: see tests/service/test_fills_move_holdings.py)

    # the holdings imported again (after the fills): planning and approving work again
    firm.holdings(hid)
    fresh = firm.plan(hid, force=True)
    assert firm.call("advisor", "POST", f"/plans/{fresh['id']}/approve").status_code == 200


def test_a_plan_approved_before_another_was_sent_is_not_sent(firm: FirmClient) -> None:
    hid = firm.household()
    firm.holdings(hid)
    conn = _connection(firm)
    first = firm.plan(hid, force=True)
    second = firm.plan(hid, force=True)
    for plan in (first, second):
        assert firm.call("advisor", "POST", f"/plans/{plan['id']}/approve").status_code == 200
    sent = firm.call("advisor", "POST", f"/plans/{first['id']}/orders", json={"connection": conn})
    assert sent.status_code == 201, sent.text
    twice = firm.call("advisor", "POST", f"/plans/{second['id']}/orders", json={"connection": conn})
    assert twice.status_code == 409
    assert "already sent on these holdings" in twice.json()["detail"]
