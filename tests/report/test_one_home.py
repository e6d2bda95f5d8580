"""The JSON of every result comes from ``report/`` (issue 9): result classes keep
``to_dict()`` only as deprecated delegates onto the ``poise.report`` functions, and the
functions give the figures worked out here by hand."""

from __future__ import annotations

import ast
from pathlib import Path

import pandas as pd
import pytest

from poise.backtest import run_backtest
from poise.policy import NeverPolicy
from poise.report import backtest_result_to_dict, metrics_to_dict
from tests.conftest import make_household

SRC = Path(__file__).resolve().parents[2] / "src" / "poise"


def _to_dict_methods() -> list[tuple[str, ast.FunctionDef]]:
    found = []
    for path in sorted(SRC.rglob("*.py")):
        if path.relative_to(SRC).parts[0] == "report":
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.FunctionDef) and node.name == "to_dict":
                found.append((str(path.relative_to(SRC)), node))
    return found


def test_every_to_dict_outside_report_is_a_deprecated_delegate() -> None:
    methods = _to_dict_methods()
    assert len(methods) >= 7  # backtest, metrics, attribution, Monte Carlo, overlay, replays
    for where, node in methods:
        text = ast.unparse(node)
        assert "DeprecationWarning" in text, f"{where}: to_dict builds JSON outside report/"
        assert "from poise.report import" in text, f"{where}: to_dict does not delegate"
        assert sum(isinstance(n, ast.Dict) for n in ast.walk(node)) == 0, where


def test_backtest_json_from_report_and_the_deprecated_delegate() -> None:
    # 10,000 in cash buys 100 shares at 100 on day one; the price ends at 110 (no costs)
    days = pd.bdate_range("2021-01-04", periods=5)
    prices = pd.DataFrame({"A": [100.0, 102.0, 99.0, 105.0, 110.0]}, index=days)
    result = run_backtest(
        make_household({"A": 1.0}, policy=NeverPolicy()), prices, initial=10_000.0
    )
    out = backtest_result_to_dict(result)
    assert out["initial_value"] == 10_000.0
    assert out["final_value"] == 11_000.0
    assert out["period_return"] == pytest.approx(0.1, abs=1e-12)
    assert out["cagr"] is None  # under a year: not annualised
    assert out["max_drawdown"] == pytest.approx(99 / 102 - 1, abs=1e-10)
    assert out["start"] == "2021-01-04"
    assert out["end"] == "2021-01-08"
    assert out["final_weights"] == {"A": 1.0, "CASH": 0.0}
    with pytest.deprecated_call():
        assert result.to_dict() == out
    metrics = metrics_to_dict(result.metrics)
    assert metrics["cagr"] is None
    assert metrics["max_drawdown_peak"] == "2021-01-05"
    with pytest.deprecated_call():
        assert result.metrics.to_dict() == metrics
