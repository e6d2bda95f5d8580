"""``GET /api/v1/drift`` and the dashboard's book read one valuation: for every household the
same day, value, verdict and reasons; the drift route's ``worst`` is the asset furthest from
its target (recomputed here from the holdings and the day's closes), the book's the asset
furthest beyond its band."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from poise.data import load_dataset
from poise.service.web._data import load_book
from poise.store import FirmScope, read_session
from poise.store._models import Firm
from tests.service.conftest import Api, FirmClient

HOLDINGS = (
    "account,symbol,quantity,cost_basis,acquired\n"
    "ira,KO,{ko},1000,2015-01-02\nira,PG,100,1000,2015-01-02\nira,CASH,{cash},,\n"
)


def test_drift_and_book_agree(api: Api, firm: FirmClient) -> None:
    body = {
        "name": "two assets",
        "accounts": [{"id": "ira", "kind": "tax_deferred"}],
        "targets": {"KO": 0.5, "PG": 0.5},
        "policy": {"kind": "threshold", "absolute": 0.05},
    }
    close = load_dataset("sp500").iloc[-1]
    ids = []
    for ko, cash in ((100, 0), (300, 500), (50, 20_000)):
        r = firm.call("advisor", "POST", "/households", json={**body, "name": f"KO {ko}"})
        hid = r.json()["id"]
        firm.holdings(hid, HOLDINGS.format(ko=ko, cash=cash))
        ids.append((hid, ko, cash))
    drift = {r["id"]: r for r in firm.call("viewer", "GET", "/drift").json()["items"]}
    with read_session(api.engine) as session:  # the firm's scope, as the page reads it
        firm_id = session.scalars(select(Firm.id).where(Firm.name == firm.name)).one()
        book = {r.id: r for r in load_book(FirmScope(session, firm_id, "test")).rows}
    for hid, ko, cash in ids:
        row, line = drift[hid], book[hid]
        assert row["as_of"] == line.as_of.isoformat()
        assert row["total_value"] == pytest.approx(line.total_value, rel=1e-12)
        assert row["triggered"] == line.triggered
        assert row["reasons"] == list(line.reasons)
        total = ko * float(close["KO"]) + 100 * float(close["PG"]) + cash
        weights = {
            "KO": ko * float(close["KO"]) / total,
            "PG": 100 * float(close["PG"]) / total,
            "CASH": cash / total,
        }
        targets = {"KO": 0.5, "PG": 0.5, "CASH": 0.0}
        worst = max(weights, key=lambda s: abs(weights[s] - targets[s]))
        assert row["worst"]["symbol"] == worst
        assert row["worst"]["drift"] == pytest.approx(weights[worst] - targets[worst], abs=1e-12)
        assert row["total_value"] == pytest.approx(total, rel=1e-12)
        assert row["triggered"] == (abs(weights[worst] - targets[worst]) > 0.05)
