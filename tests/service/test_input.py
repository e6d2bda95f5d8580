"""Bad input is 422 with the field's path (or 413 for a huge body), never 500."""

from __future__ import annotations

from typing import Any

import pytest

from tests.service.conftest import FirmClient, household_body


def _loc(r: Any) -> list[Any]:
    assert r.status_code == 422, r.text
    return list(r.json()["detail"][0]["loc"])


def test_unknown_household_key(firm: FirmClient) -> None:
    r = firm.call("advisor", "POST", "/households", json=household_body(colour="blue"))
    assert _loc(r)[0] == "body"
    assert "colour" in r.json()["detail"][0]["msg"]


def test_wrong_type_names_the_field(firm: FirmClient) -> None:
    body = household_body()
    body["trading"]["cash_reserve"] = "lots"
    r = firm.call("advisor", "POST", "/households", json=body)
    assert _loc(r) == ["body", "trading", "cash_reserve"]


@pytest.mark.parametrize(
    "body",
    [
        ["not", "an", "object"],
        {"accounts": "nope", "targets": {"A": 1}},
        {"accounts": [{"id": 3}], "targets": {"A": 1}},
        {"accounts": [{"id": "a", "kind": "taxable"}], "targets": {"A": "x"}},
        {"accounts": [{"id": "a", "kind": "taxable"}], "targets": [1, 2]},
        {"accounts": [{"id": "a", "kind": "taxable"}], "targets": {"A": 1}, "policy": 5},
        {"accounts": [{"id": "a", "kind": "taxable"}], "targets": {"A": 1}, "name": 7},
        {"accounts": [{"id": "a", "kind": "taxable"}], "targets": {"A": 1}, "prices": 7},
    ],
)
def test_malformed_households_are_422(firm: FirmClient, body: Any) -> None:
    r = firm.call("advisor", "POST", "/households", json=body)
    assert r.status_code == 422, r.text


def test_nul_characters_are_422_with_their_path(firm: FirmClient) -> None:
    body = household_body(name="Ri\x00vera")
    assert _loc(firm.call("advisor", "POST", "/households", json=body)) == ["body", "name"]
    hid = firm.household()
    r = firm.call(
        "advisor",
        "PUT",
        f"/households/{hid}/holdings",
        content="account,symbol,quantity,cost_basis,acquired\nbrokerage,AA\x00PL,1,1,2020-01-01\n",
        headers={"content-type": "text/csv"},
    )
    assert r.status_code == 422
    r = firm.call("advisor", "POST", f"/households/{hid}/plans", json={"prices": "sp\x00500"})
    assert _loc(r) == ["body", "prices"]
    r = firm.call("advisor", "GET", "/households/abc%00def")
    assert r.status_code == 422


def test_holdings_errors_name_the_line_or_item(firm: FirmClient) -> None:
    hid = firm.household()
    text = (
        "account,symbol,quantity,cost_basis,acquired\n"
        "brokerage,AAPL,1,1,2020-01-01\nmars,AAPL,1,1,2020-01-01\n"
    )
    r = firm.call(
        "advisor",
        "PUT",
        f"/households/{hid}/holdings",
        content=text,
        headers={"content-type": "text/csv"},
    )
    assert _loc(r) == ["body", "line 3"]
    lots = [
        {
            "account": "brokerage",
            "symbol": "AAPL",
            "quantity": 1,
            "cost_basis": 1,
            "acquired": "2020-01-01",
        },
        {
            "account": "brokerage",
            "symbol": "MSFT",
            "quantity": "many",
            "cost_basis": 1,
            "acquired": "2020-01-01",
        },
    ]
    r = firm.call("advisor", "PUT", f"/households/{hid}/holdings", json=lots)
    assert _loc(r) == ["body", 1]
    lots[1] = {"account": "brokerage", "symbol": "MSFT", "quantity": 1, "colour": "red"}
    assert _loc(firm.call("advisor", "PUT", f"/households/{hid}/holdings", json=lots)) == [
        "body",
        1,
        "colour",
    ]
    lots[1] = {"account": "brokerage", "symbol": "CASH", "quantity": 250.0}
    r = firm.call("advisor", "PUT", f"/households/{hid}/holdings", json=lots)
    assert r.status_code == 200, r.text
    assert r.json()["lots"] == 1
    assert r.json()["cash"]["brokerage"] == 250.0


def test_plan_request_errors(firm: FirmClient) -> None:
    hid = firm.household()
    r = firm.call("advisor", "POST", f"/households/{hid}/plans", json={})
    assert _loc(r) == ["body", "holdings"]  # nothing imported yet
    firm.holdings(hid)
    assert _loc(firm.call("advisor", "POST", f"/households/{hid}/plans", json={"colour": 1})) == [
        "body",
        "colour",
    ]
    r = firm.call(
        "advisor",
        "POST",
        f"/households/{hid}/plans",
        json={"deposit": {"amount": -5, "account": "ira"}},
    )
    assert _loc(r) == ["body", "deposit", "amount"]
    r = firm.call("advisor", "POST", f"/households/{hid}/plans", json={"deposit": {"amount": 5}})
    assert _loc(r) == ["body", "deposit", "account"]
    r = firm.call(
        "advisor",
        "POST",
        f"/households/{hid}/plans",
        json={"withdraw": {"amount": 1e9, "account": "ira"}},
    )
    assert _loc(r) == ["body", "withdraw", "amount"]
    r = firm.call("advisor", "POST", f"/households/{hid}/plans", json={"as_of": "yesterday"})
    assert _loc(r) == ["body", "as_of"]
    r = firm.call("advisor", "POST", f"/households/{hid}/plans", json={"prices": "nope"})
    assert _loc(r) == ["body", "prices"]
    for loose in ("maybe", "yes", "true", 1, 0):  # only a JSON true or false
        r = firm.call("advisor", "POST", f"/households/{hid}/plans", json={"force": loose})
        assert r.status_code == 422, (loose, r.text)
        assert _loc(r) == ["body", "force"]
    r = firm.call(
        "advisor",
        "POST",
        f"/households/{hid}/plans",
        content=b"{not json",
        headers={"content-type": "application/json"},
    )
    assert r.status_code == 422


def test_prices_csv_errors(firm: FirmClient) -> None:
    r = firm.call(
        "advisor",
        "PUT",
        "/prices/bad",
        content="date,A\n2024-01-02,-3\n",
        headers={"content-type": "text/csv"},
    )
    assert _loc(r) == ["body", "line 2"]


def test_huge_body_is_413(firm: FirmClient) -> None:
    limit = firm.api.settings.max_body_bytes
    r = firm.call(
        "advisor",
        "PUT",
        "/prices/huge",
        content="x" * (limit + 1),
        headers={"content-type": "text/csv"},
    )
    assert r.status_code == 413


def test_huge_streamed_body_is_413(firm: FirmClient) -> None:
    limit = firm.api.settings.max_body_bytes

    def chunks() -> Any:
        for _ in range(limit // 65536 + 2):
            yield b"y" * 65536

    r = firm.call(
        "advisor", "PUT", "/prices/huge", content=chunks(), headers={"content-type": "text/csv"}
    )
    assert r.status_code == 413


def test_pagination(firm: FirmClient) -> None:
    ids = [firm.household() for _ in range(5)]
    first = firm.call("viewer", "GET", "/households?limit=2").json()
    assert first["total"] == 5
    assert [h["id"] for h in first["items"]] == ids[:2]
    last = firm.call("viewer", "GET", "/households?limit=2&offset=4").json()
    assert [h["id"] for h in last["items"]] == ids[4:]
    assert firm.call("viewer", "GET", "/households?limit=0").status_code == 422
    assert firm.call("viewer", "GET", "/households?limit=100000").status_code == 422


def test_deep_nesting_and_huge_numbers_are_422(firm: FirmClient) -> None:
    deep = b"[" * 100_000 + b"]" * 100_000
    for path in ("/households", f"/households/{firm.household()}/plans"):
        r = firm.call(
            "advisor", "POST", path, content=deep, headers={"content-type": "application/json"}
        )
        assert r.status_code == 422, (path, r.status_code)
    body = household_body()
    body["trading"]["commission"] = 10**400
    r = firm.call("advisor", "POST", "/households", json=body)
    assert r.status_code == 422


@pytest.mark.parametrize("name", ["sp500", "sp500_index", "factors"])
def test_a_price_set_may_not_take_a_bundled_name(firm: FirmClient, name: str) -> None:
    # a stored set is resolved before a bundled one: under "sp500" it would silently replace
    # the bundled prices for every household and plan of the firm
    r = firm.call(
        "advisor",
        "PUT",
        f"/prices/{name}",
        content="date,A\n2024-01-02,3\n",
        headers={"content-type": "text/csv"},
    )
    assert _loc(r) == ["path", "name"]
    assert "bundled data set" in r.json()["detail"][0]["msg"]
    assert firm.call("advisor", "GET", "/prices").json()["items"] == []
