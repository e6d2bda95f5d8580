"""The household page's backtest through the app in this process: the fragment's figures
against the engine's own backtest of the same window, the report's content security policy,
the cache, and another firm's household (404)."""

from __future__ import annotations

import os
import tomllib
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest
from fastapi import FastAPI

from poise.app import BacktestRequest, backtest
from poise.data import load_dataset
from poise.io import household_from_dict
from poise.service import Settings, create_app
from poise.service.web import _backtest
from poise.service.web._format import money
from poise.store import write_session
from poise.store._admin import create_firm, create_user
from tests.conftest import EXAMPLES
from tests.web.test_orders_page import PASSWORD, _api, _browser


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[FastAPI]:
    os.environ["POISE_ARGON2_PROFILE"] = "test"
    home = tmp_path_factory.mktemp("backtest-page")
    app = create_app(Settings(database_url=f"sqlite:///{home / 'poise.db'}", home=Path(home)))
    with write_session(app.state.poise.engine) as session:
        for firm in ("one", "two"):
            create_firm(session, firm)
            for role in ("advisor", "viewer"):
                create_user(session, f"{role}@{firm}.test", firm=firm, role=role, password=PASSWORD)
    yield app
    app.state.poise.engine.dispose()


def test_backtest_fragment_and_report(app: FastAPI) -> None:
    document = tomllib.loads((EXAMPLES / "household.toml").read_text())
    hid = _api(app, "advisor@one.test").post("/households", json=document).json()["id"]
    viewer = _browser(app, "viewer@one.test")
    page = viewer.get(f"/households/{hid}")
    assert "Backtest this rule" in page.text
    assert "frame-src 'self'" in page.headers["content-security-policy"]
    _backtest._cache.clear()

    fragment = viewer.get(f"/households/{hid}/backtest", headers={"HX-Request": "true"})
    assert fragment.status_code == 200, fragment.text
    # the same backtest made here by the engine: the last ten years of sp500, 100,000 in cash
    prices = load_dataset("sp500")
    start = (prices.index[-1] - pd.DateOffset(years=10)).date()
    first = prices.index[prices.index >= pd.Timestamp(start)][0].date()
    expected = backtest(
        BacktestRequest(household=household_from_dict(document), prices=prices, start=start)
    ).result
    assert f"{first.isoformat()} to {prices.index[-1].date().isoformat()}" in fragment.text
    assert money(expected.final_value) in fragment.text
    assert f'src="/households/{hid}/backtest/report"' in fragment.text
    assert 'sandbox="allow-scripts"' in fragment.text

    report = viewer.get(f"/households/{hid}/backtest/report")
    assert report.status_code == 200
    policy = report.headers["content-security-policy"]
    assert policy == _backtest.REPORT_POLICY
    assert "sandbox allow-scripts" in policy
    assert "connect-src" not in policy
    assert "default-src 'none'" in policy
    assert report.headers["x-frame-options"] == "SAMEORIGIN"
    assert "Plotly" in report.text
    assert len(_backtest._cache) == 1  # computed once for the fragment and the report

    other = _browser(app, "viewer@two.test")
    for path in (f"/households/{hid}/backtest", f"/households/{hid}/backtest/report"):
        answer = other.get(path)
        assert answer.status_code == 404, path
        assert "Plotly" not in answer.text


def test_backtest_that_cannot_run_says_why(app: FastAPI) -> None:
    document = tomllib.loads((EXAMPLES / "household.toml").read_text())
    document["name"] = "No such symbol"
    document["targets"] = {"NOPE": 1.0}
    advisor = _api(app, "advisor@one.test")
    r = advisor.post("/households", json=document)
    assert r.status_code == 201, r.text
    viewer = _browser(app, "viewer@one.test")
    fragment = viewer.get(f"/households/{r.json()['id']}/backtest")
    assert fragment.status_code == 200
    assert "The backtest cannot run" in fragment.text
    assert "NOPE" in fragment.text
