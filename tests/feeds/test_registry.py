"""The feeds are an adapter (``poise.feeds``) that a door registers with the data layer:
without registration a feed is refused with what to do; registered, ``--prices alpaca:...``
reaches Alpaca (a fake on loopback here) through the command line, cached in the store."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from poise._errors import InputError
from poise.data import _loader, feed_for
from poise.feeds import install_feeds
from tests.conftest import run_cli


@pytest.fixture
def registry(monkeypatch: pytest.MonkeyPatch) -> dict[str, object]:
    feeds: dict[str, object] = {}
    monkeypatch.setattr(_loader, "_feeds", feeds)
    return feeds


def test_an_unregistered_feed_is_refused_with_the_fix(registry: dict[str, object]) -> None:
    with pytest.raises(InputError, match=r"install_feeds\(\)") as info:
        feed_for("alpaca")
    assert info.value.field == "--prices"


def test_install_feeds_registers_alpaca_and_yahoo(
    registry: dict[str, object], monkeypatch: pytest.MonkeyPatch
) -> None:
    pytest.importorskip("alpaca")
    install_feeds()
    assert sorted(registry) == ["alpaca", "yahoo"]
    monkeypatch.delenv("APCA_API_KEY_ID", raising=False)
    with pytest.raises(InputError, match="APCA_API_KEY_ID"):
        feed_for("alpaca")  # made on demand: the keys are read when the feed is asked for
    monkeypatch.setenv("APCA_API_KEY_ID", "key")
    monkeypatch.setenv("APCA_API_SECRET_KEY", "secret")
    assert feed_for("alpaca").source == "alpaca"


def test_the_deprecated_data_names_are_the_adapters() -> None:
    import poise.data
    import poise.feeds

    for name in ("AlpacaBars", "YahooBars"):
        assert name not in poise.data.__all__
        with pytest.deprecated_call():
            assert getattr(poise.data, name) is getattr(poise.feeds, name)


def test_rebalance_on_alpaca_prices_through_the_command_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    pytest.importorskip("alpaca")
    from tests.broker.fake_alpaca import FakeAlpaca

    today = datetime.now(UTC).date()
    days = [today - timedelta(days=k) for k in range(6, -1, -1)]
    fake = FakeAlpaca()
    fake.bars = {
        "SPY": [(d.isoformat(), 400.0 + k) for k, d in enumerate(days)],
        "AGG": [(d.isoformat(), 100.0) for d in days],
    }
    try:
        monkeypatch.setenv("POISE_HOME", str(tmp_path))
        monkeypatch.setenv("POISE_DATABASE_URL", f"sqlite:///{tmp_path / 'poise.db'}")
        monkeypatch.setenv("POISE_ALPACA_DATA_URL", fake.url)
        monkeypatch.setenv("APCA_API_KEY_ID", "key")
        monkeypatch.setenv("APCA_API_SECRET_KEY", "secret")
        household = tmp_path / "household.toml"
        household.write_text(
            'name = "feed"\n[[accounts]]\nid = "ira"\nkind = "tax_deferred"\n'
            '[targets]\nSPY = 0.5\nAGG = 0.5\n[policy]\nkind = "threshold"\nabsolute = 0.05\n'
        )
        holdings = tmp_path / "holdings.csv"
        holdings.write_text(
            "account,symbol,quantity,cost_basis,acquired\n"
            "ira,SPY,10,3000,2020-01-02\nira,AGG,20,2000,2020-01-02\n"
        )
        args = ["rebalance", household, "--holdings", holdings, "--json"]
        out = run_cli([*args, "--prices", "alpaca:SPY,AGG"])
        assert out.code == 0, out.stderr
        plan = out.json()
        # the last closes: SPY 406, AGG 100; 10 x 406 = 4,060 and 20 x 100 = 2,000
        assert plan["as_of"] == today.isoformat()
        assert plan["total_value"] == pytest.approx(6_060.0)
        assert plan["weights_before"]["SPY"] == pytest.approx(4_060 / 6_060)
        assert plan["triggered"] is True  # 67% against 50% +- 5 points
        assert len(fake.bar_requests) == 1
        again = run_cli([*args, "--prices", "alpaca:SPY,AGG"])  # from the store's cache
        assert again.json()["total_value"] == pytest.approx(6_060.0)
        assert len(fake.bar_requests) == 1
    finally:
        fake.close()
