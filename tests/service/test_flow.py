"""The path a new user follows: log in, add a household and its holdings, plan, approve, read
the audit trail; on SQLite and PostgreSQL."""

from __future__ import annotations

from poise.app import RebalanceRequest, rebalance
from poise.io import household_from_dict, read_holdings, read_prices
from poise.report import rebalance_to_dict
from tests.conftest import EXAMPLES
from tests.service.conftest import Api, FirmClient, household_body


def test_plan_is_the_rebalance_json_plus_id_and_status(firm: FirmClient) -> None:
    hid = firm.household()
    imported = firm.holdings(hid)
    assert imported["lots"] == 13
    assert imported["version"] == 1
    plan = firm.plan(hid, prices="sp500")
    assert plan["status"] == "proposed"
    assert len(plan["id"]) == 32
    # the same plan through app/ directly
    hh = household_from_dict(household_body())
    expected = rebalance_to_dict(
        rebalance(
            RebalanceRequest(
                household=hh,
                holdings=read_holdings(EXAMPLES / "holdings.csv", hh),
                prices=read_prices("sp500"),
                prices_source="prices sp500",
            )
        )
    )
    for key, value in expected.items():
        assert plan[key] == value, key
    assert plan["trades"], "the example household is out of balance"
    got = firm.call("viewer", "GET", f"/plans/{plan['id']}").json()
    assert got["trades"] == plan["trades"]
    assert got["status"] == "proposed"


def test_approve_then_audit_trail(firm: FirmClient) -> None:
    hid = firm.household()
    firm.holdings(hid)
    plan = firm.plan(hid)
    r = firm.call("advisor", "POST", f"/plans/{plan['id']}/approve")
    assert r.status_code == 200
    assert r.json()["status"] == "approved"
    r = firm.call("advisor", "POST", f"/plans/{plan['id']}/approve")
    assert r.status_code == 409
    events = firm.call("viewer", "GET", "/audit?limit=500").json()["items"]
    actions = [e["action"] for e in events]
    for action in (
        "auth.login",
        "household.create",
        "holdings.import",
        "plan.create",
        "plan.approved",
    ):
        assert action in actions
    assert [e["seq"] for e in events] == sorted(e["seq"] for e in events)


def test_approving_after_holdings_changed_is_409(firm: FirmClient) -> None:
    hid = firm.household()
    firm.holdings(hid)
    plan = firm.plan(hid)
    firm.holdings(hid)  # a new import, even with the same content
    r = firm.call("advisor", "POST", f"/plans/{plan['id']}/approve")
    assert r.status_code == 409
    assert "holdings" in r.json()["detail"]


def test_approving_after_prices_changed_is_409(firm: FirmClient) -> None:
    prices = "date,AAPL,MSFT\n2024-01-02,100,200\n2024-01-03,101,201\n2024-01-04,102,199\n"
    put = firm.call(
        "advisor", "PUT", "/prices/mine", content=prices, headers={"content-type": "text/csv"}
    )
    assert put.status_code == 201, put.text
    body = household_body()
    body["targets"] = {"AAPL": 0.5, "MSFT": 0.5}
    body.pop("harvest", None)
    r = firm.call("advisor", "POST", "/households", json=body)
    hid = r.json()["id"]
    firm.holdings(
        hid,
        "account,symbol,quantity,cost_basis,acquired\nbrokerage,AAPL,10,900,2023-01-05\nbrokerage,CASH,500,,\n",
    )
    plan = firm.plan(hid, prices="mine")
    again = firm.call(
        "advisor",
        "PUT",
        "/prices/mine",
        content=prices + "2024-01-05,103,198\n",
        headers={"content-type": "text/csv"},
    )
    assert again.status_code == 200
    r = firm.call("advisor", "POST", f"/plans/{plan['id']}/approve")
    assert r.status_code == 409
    assert "prices" in r.json()["detail"]


def test_idempotency_key_returns_the_first_plan(firm: FirmClient) -> None:
    hid = firm.household()
    firm.holdings(hid)
    headers = {"Idempotency-Key": "abc-123"}
    a = firm.call("advisor", "POST", f"/households/{hid}/plans", json={}, headers=headers)
    b = firm.call("advisor", "POST", f"/households/{hid}/plans", json={}, headers=headers)
    assert a.status_code == b.status_code == 201
    assert a.json() == b.json()
    listed = firm.call("viewer", "GET", f"/plans?household_id={hid}").json()
    assert listed["total"] == 1


def test_viewer_cannot_change_anything(firm: FirmClient) -> None:
    r = firm.call("viewer", "POST", "/households", json=household_body())
    assert r.status_code == 403
    r = firm.call("advisor", "POST", "/broker-connections", json={"kind": "paper"})
    assert r.status_code == 403


def test_no_token_is_401(api: Api) -> None:
    r = api.client.get("/api/v1/households")
    assert r.status_code == 401
    r = api.client.get("/api/v1/households", headers={"Authorization": "Bearer nonsense"})
    assert r.status_code == 401


def test_drift_sorted_worst_first(firm: FirmClient) -> None:
    ids = []
    for quantity in ("60", "600", "6"):
        hid = firm.household()
        text = HOLDINGS.replace("brokerage,AAPL,60,", f"brokerage,AAPL,{quantity},")
        firm.holdings(hid, text)
        ids.append(hid)
    empty = firm.household()
    rows = firm.call("viewer", "GET", "/drift").json()["items"]
    assert [r["id"] for r in rows][-1] == empty
    drifts = [abs(r["worst"]["drift"]) for r in rows if r["worst"]]
    assert drifts == sorted(drifts, reverse=True)
    assert len(drifts) == 3
    # the worst breach, recomputed independently from the holdings and the day's closes
    prices = read_prices("sp500").iloc[-1]
    hh = household_from_dict(household_body())
    lots = read_holdings(EXAMPLES / "holdings.csv", hh)
    values: dict[str, float] = {}
    for lot in lots.lots:
        values[lot.symbol] = values.get(lot.symbol, 0.0) + lot.quantity * float(prices[lot.symbol])
    total = sum(values.values()) + lots.total_cash
    drift = {s: values.get(s, 0.0) / total - t for s, t in hh.targets.items() if s != "CASH"}
    drift["CASH"] = lots.total_cash / total - hh.targets.get("CASH", 0.0)
    worst = max(drift, key=lambda s: abs(drift[s]))
    row = next(r for r in rows if r["id"] == ids[0])
    assert row["worst"]["symbol"] == worst
    assert abs(row["worst"]["drift"] - drift[worst]) < 1e-9
    assert row["triggered"] is True


HOLDINGS = (EXAMPLES / "holdings.csv").read_text()


def test_accounts_follow_the_document_and_link_to_connections(api: Api, firm: FirmClient) -> None:
    hid = firm.household()
    accounts = firm.call("viewer", "GET", f"/households/{hid}/accounts").json()
    assert [a["name"] for a in accounts] == ["brokerage", "ira", "roth"]
    conn = firm.call("admin", "POST", "/broker-connections", json={"kind": "paper"}).json()["id"]
    r = firm.call(
        "admin", "PUT", f"/households/{hid}/accounts/ira", json={"broker_connection": conn}
    )
    assert r.status_code == 200
    assert {a["name"]: a["broker_connection"] for a in r.json()}["ira"] == conn
    other = api.firm(("admin",))
    theirs = other.call("admin", "POST", "/broker-connections", json={"kind": "paper"}).json()["id"]
    r = firm.call(
        "admin", "PUT", f"/households/{hid}/accounts/ira", json={"broker_connection": theirs}
    )
    assert r.status_code == 422
    assert r.json()["detail"][0]["loc"] == ["body", "broker_connection"]
    body = household_body()
    body["accounts"] = [a for a in body["accounts"] if a["id"] != "roth"]
    assert firm.call("advisor", "PUT", f"/households/{hid}", json=body).status_code == 200
    accounts = firm.call("viewer", "GET", f"/households/{hid}/accounts").json()
    assert {a["name"]: a["broker_connection"] for a in accounts} == {"brokerage": None, "ira": conn}


def test_long_names_are_422_not_database_errors(firm: FirmClient) -> None:
    body = household_body()
    body["accounts"][0]["id"] = "b" * 101
    r = firm.call("advisor", "POST", "/households", json=body)
    assert r.status_code == 422
    assert r.json()["detail"][0]["loc"] == ["body", "accounts", 0, "id"]
    hid = firm.household()
    text = (
        "account,symbol,quantity,cost_basis,acquired\nbrokerage," + "X" * 40 + ",1,1,2020-01-01\n"
    )
    r = firm.call(
        "advisor",
        "PUT",
        f"/households/{hid}/holdings",
        content=text,
        headers={"content-type": "text/csv"},
    )
    assert r.status_code == 422


def test_export_then_delete_leaves_nothing_but_the_audit_record(api: Api, firm: FirmClient) -> None:
    hid = firm.household(name="Privacy household")
    firm.holdings(hid)
    txs = (
        "date,account,symbol,side,quantity,price,cost_basis\n2022-12-01,brokerage,AAPL,buy,1,140,\n"
    )
    r = firm.call(
        "advisor",
        "POST",
        f"/households/{hid}/transactions",
        content=txs,
        headers={"content-type": "text/csv"},
    )
    assert r.status_code == 201
    assert r.json() == {"transactions": 1}
    r = firm.call(
        "advisor",
        "POST",
        f"/households/{hid}/plans",
        json={},
        headers={"Idempotency-Key": "priv-1"},
    )
    plan_id = r.json()["id"]
    export = firm.call("viewer", "GET", f"/households/{hid}/export").json()
    assert export["household"]["name"] == "Privacy household"
    assert len(export["holdings"]) == 1
    assert len(export["holdings"][0]["lots"]) == 13
    assert export["transactions"][0]["symbol"] == "AAPL"
    assert [p["id"] for p in export["plans"]] == [plan_id]
    assert firm.call("advisor", "DELETE", f"/households/{hid}").status_code == 204
    assert firm.call("viewer", "GET", f"/households/{hid}").status_code == 404
    assert firm.call("viewer", "GET", f"/plans/{plan_id}").status_code == 404
    from sqlalchemy import text

    with api.engine.connect() as conn:
        for table, column in (
            ("households", "id"),
            ("holdings_snapshots", "household_id"),
            ("transactions", "household_id"),
            ("plans", "household_id"),
            ("accounts", "household_id"),
        ):
            count = conn.execute(
                text(f"SELECT count(*) FROM {table} WHERE {column} = :h"), {"h": hid}
            )
            assert count.scalar_one() == 0, table
        left = conn.execute(
            text("SELECT count(*) FROM idempotency_keys WHERE path LIKE :p"), {"p": f"%{hid}%"}
        )
        assert left.scalar_one() == 0
        events = conn.execute(
            text("SELECT action, detail FROM audit_events WHERE object = :o"),
            {"o": f"household:{hid}"},
        ).all()
    assert "household.delete" in [e[0] for e in events]
    assert all("Privacy" not in str(e[1]) for e in events)
