"""``max_price_age`` in ``POST /households/{id}/plans``: a stored price set whose last MSFT
close is 7 days before the decision day is refused at the default 5 days (422 naming MSFT and
its last date, as ``--max-price-age`` does) and planned at 7 days or more with that close
carried to the day; a negative or non-integer age is 422 naming ``max_price_age``."""

from __future__ import annotations

from typing import Any

import pytest

from tests.service.conftest import FirmClient, household_body

# MSFT's last close is 2024-01-03 (201); AAPL trades through 2024-01-10: 7 days later
PRICES = (
    "date,AAPL,MSFT\n"
    "2024-01-02,100,200\n"
    "2024-01-03,101,201\n"
    "2024-01-04,102,\n"
    "2024-01-05,103,\n"
    "2024-01-08,104,\n"
    "2024-01-09,105,\n"
    "2024-01-10,106,\n"
)


def _household(firm: FirmClient, name: str) -> str:
    put = firm.call(
        "advisor", "PUT", f"/prices/{name}", content=PRICES, headers={"content-type": "text/csv"}
    )
    assert put.status_code == 201, put.text
    body = household_body()
    body["targets"] = {"AAPL": 0.5, "MSFT": 0.5}
    body.pop("harvest", None)
    r = firm.call("advisor", "POST", "/households", json=body)
    assert r.status_code == 201, r.text
    hid = str(r.json()["id"])
    firm.holdings(
        hid,
        "account,symbol,quantity,cost_basis,acquired\n"
        "brokerage,MSFT,10,1900,2023-01-05\nbrokerage,CASH,1000,,\n",
    )
    return hid


def _plan(firm: FirmClient, hid: str, name: str, **extra: Any) -> Any:
    body = {"prices": name, "as_of": "2024-01-10", "force": True, **extra}
    return firm.call("advisor", "POST", f"/households/{hid}/plans", json=body)


def test_an_old_last_price_is_refused_and_a_younger_one_carried(firm: FirmClient) -> None:
    hid = _household(firm, "stale")
    refused = _plan(firm, hid, "stale")  # default: 5 days
    assert refused.status_code == 422, refused.text
    msg = refused.json()["detail"][0]["msg"]
    assert "MSFT" in msg
    assert "2024-01-03" in msg
    assert "7 days" in msg
    assert _plan(firm, hid, "stale", max_price_age=6).status_code == 422
    carried = _plan(firm, hid, "stale", max_price_age=7)
    assert carried.status_code == 201, carried.text
    plan = carried.json()
    assert plan["as_of"] == "2024-01-10"
    prices = {t["symbol"]: t["price"] for t in plan["trades"]}
    assert prices["MSFT"] == pytest.approx(201.0)  # the 2024-01-03 close, carried
    assert prices["AAPL"] == pytest.approx(106.0)


@pytest.mark.parametrize("bad", [-1, 2.5, "5", True, None])
def test_a_bad_max_price_age_names_the_field(firm: FirmClient, bad: Any) -> None:
    hid = firm.household()
    firm.holdings(hid)
    r = firm.call("advisor", "POST", f"/households/{hid}/plans", json={"max_price_age": bad})
    assert r.status_code == 422, r.text
    assert r.json()["detail"][0]["loc"] == ["body", "max_price_age"]


def test_max_price_age_is_in_the_openapi_document(firm: FirmClient) -> None:
    doc = firm.api.client.get("/api/v1/openapi.json")
    if doc.status_code == 404:
        doc = firm.api.client.get("/openapi.json")
    schema = doc.json()["components"]["schemas"]["PlanRequest"]["properties"]["max_price_age"]
    assert schema["type"] == "integer"
    assert schema["minimum"] == 0
    assert schema["default"] == 5
