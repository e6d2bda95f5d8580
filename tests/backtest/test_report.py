"""The HTML report: self-contained, every section present, one plotly.js for all figures."""

from __future__ import annotations

import re
from html.parser import HTMLParser

import pandas as pd
import pytest

from poise.backtest import ScheduledFlow, run_backtest
from poise.data import load_dataset
from poise.model import AccountKind, TaxRules, TradingRules
from poise.policy import CalendarPolicy, Frequency, ThresholdPolicy
from poise.report import METRIC_ROWS, backtest_report, format_metric
from tests.conftest import make_household


@pytest.fixture(scope="module")
def results():  # type: ignore[no-untyped-def]
    prices = load_dataset("sp500")[["AAPL", "KO", "XOM"]].loc["2018-01-01":"2020-12-31"]
    hh = make_household(
        {"AAPL": 0.4, "KO": 0.3, "XOM": 0.3},
        accounts=(("brokerage", AccountKind.TAXABLE),),
        trading=TradingRules(spread_bps=5.0),
        tax=TaxRules(short_term_rate=0.3, long_term_rate=0.15),
    )
    flows = [ScheduledFlow(500.0, "month")]
    return {
        "quarterly": run_backtest(
            hh, prices, flows=flows, policy=CalendarPolicy(Frequency.QUARTERLY)
        ),
        "5/25": run_backtest(hh, prices, flows=flows, policy=ThresholdPolicy(0.05, 0.25)),
    }


class _Tags(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.scripts: list[dict[str, str | None]] = []
        self.headings: list[str] = []
        self._in_h2 = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "script":
            self.scripts.append(dict(attrs))
        self._in_h2 = tag == "h2"

    def handle_data(self, data: str) -> None:
        if self._in_h2:
            self.headings.append(data)
            self._in_h2 = False


def test_report_sections_and_offline(results) -> None:  # type: ignore[no-untyped-def]
    text = backtest_report(results, title="Test <report>", subtitle="[bold]sub[/] title")
    tags = _Tags()
    tags.feed(text)
    assert tags.headings == [
        "Metrics",
        "Value",
        "Drawdowns",
        "Weights against their bands",
        "Costs and taxes by year",
        "How these figures are made",
    ]
    assert all(s.get("src") is None for s in tags.scripts)  # nothing fetched from a network
    assert text.count("plotly.js v") == 1 or text.count("window.PlotlyConfig") == 1
    assert "Test &lt;report&gt;" in text
    assert "sub title" in text
    assert "[bold]" not in text
    # value, drawdown, one weights figure per rule, costs and taxes
    assert len(re.findall(r"Plotly\.newPlot\(", text)) == 5
    for label, _ in METRIC_ROWS:
        assert label in text
    final = format_metric("final_value", results["5/25"].final_value)
    assert final in text


def test_report_of_one_result(results) -> None:  # type: ignore[no-untyped-def]
    one = results["quarterly"]
    text = backtest_report(one)
    assert one.policy in text
    assert "dotted: target (no bands)" in text  # a calendar rule has no bands
    banded = backtest_report(results["5/25"])
    assert "shaded: target" in banded


def test_format_metric() -> None:
    assert format_metric("cagr", 0.1234) == "12.34%"
    assert format_metric("sharpe", 1.2345) == "1.23"
    assert format_metric("rebalances", 7) == "7"
    assert format_metric("total_cost", 1234.5) == "1,234.50"
    assert format_metric("calmar", None) == ""  # blank: no figure (e.g. below a year)
    assert format_metric("irr", float("nan")) == ""


def test_report_needs_a_result() -> None:
    with pytest.raises(ValueError, match="at least one"):
        backtest_report({})


def test_costs_and_taxes_by_year_come_from_the_result(results) -> None:  # type: ignore[no-untyped-def]
    r = results["5/25"]
    by_year = r.costs_by_year
    assert by_year.sum() == pytest.approx(r.total_cost)
    assert set(by_year.index) <= {2018, 2019, 2020}
    assert r.taxes_by_year.index.tolist() == [2018, 2019, 2020]
    assert isinstance(r.daily_targets(), pd.DataFrame)
    assert len(r.daily_targets()) == len(r.values)
