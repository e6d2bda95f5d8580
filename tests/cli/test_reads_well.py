"""The command line reads well (issue "Right money in every case", kind 9)."""

from __future__ import annotations

import io
import math
import re
from datetime import date
from importlib.metadata import version

import pytest
from rich.console import Console

from poise.cli._app import trades_table
from poise.model import Side, Trade
from tests.conftest import run_cli

COMMANDS = (
    "attribution",
    "backtest",
    "compare",
    "demo",
    "harvest",
    "optimize",
    "profile",
    "rebalance",
    "stress",
    "admin create-user",
    "orders submit",
    "batch rebalance",
    "db upgrade",
)


@pytest.mark.parametrize("command", COMMANDS)
def test_help_has_no_bool_and_fits_the_terminal(monkeypatch, command) -> None:
    monkeypatch.setenv("COLUMNS", "72")
    out = run_cli([*command.split(), "--help"])
    assert out.code == 0
    assert "<bool>" not in out.stdout
    assert max(len(line) for line in out.stdout.splitlines()) <= 72


def test_help_wraps_by_the_terminal_not_by_source_lines(monkeypatch) -> None:
    monkeypatch.setenv("COLUMNS", "200")
    wide = run_cli(["backtest", "--help"]).stdout
    # the docstring's second paragraph breaks after "(CAPM against"; wide, the help does not
    assert any("With --report" in line and "Brinson-Fachler" in line for line in wide.splitlines())


def test_brackets_in_help_are_text_not_markup() -> None:
    assert "[risk.overlay]" in run_cli(["stress", "--help"]).stdout


def test_version() -> None:
    out = run_cli(["--version"])
    assert out.code == 0
    assert out.stdout.strip() == f"poise {version('poise')}"


def test_money_columns_are_never_cut_at_80_columns() -> None:
    trades = [
        Trade(
            "brokerage-long-name",
            sym,
            Side.SELL if k % 2 else Side.BUY,
            q,
            p,
            cost=q * p * 0.0005,
            reason=f"{sym} 12.7% vs target 10.0% (band ±2.50pp): sell to target, very long words",
            realized_short_term=-1234.56 if k % 2 else 0.0,
        )
        for k, (sym, q, p) in enumerate(
            [("JNJ", 17, 174.09), ("BRK.B", 1234.5678, 312.55), ("UNH", 12, 524.42)]
        )
    ]
    console = Console(width=80, file=io.StringIO(), highlight=False)
    console.print(trades_table(trades))
    text = console.file.getvalue()
    assert "…" not in text
    assert max(len(line) for line in text.splitlines()) <= 80
    for t in trades:
        for figure in (f"{t.value:,.2f}", f"{t.price:,.2f}", f"{t.cost:,.2f}"):
            assert figure in text, figure
    assert "-1,234.56" in text


def _distance(a: str, b: str) -> float:
    """Redmean colour distance (an independent, well-known approximation)."""
    x = [int(a[k : k + 2], 16) for k in (1, 3, 5)]
    y = [int(b[k : k + 2], 16) for k in (1, 3, 5)]
    rm = (x[0] + y[0]) / 2
    d = [p - q for p, q in zip(x, y, strict=True)]
    return math.sqrt(
        (2 + rm / 256) * d[0] ** 2 + 4 * d[1] ** 2 + (2 + (255 - rm) / 256) * d[2] ** 2
    )


def test_report_palette_has_25_distinct_colours() -> None:
    from poise.report._html import _color

    colours = [_color(i) for i in range(26)]
    assert len(set(colours)) == 26
    assert all(re.fullmatch(r"#[0-9a-f]{6}", c) for c in colours)
    closest = min(_distance(a, b) for i, a in enumerate(colours) for b in colours[i + 1 :])
    assert closest > 100  # clearly different to the eye


def test_old_spellings_stay_accepted_but_hidden() -> None:
    attribution = run_cli(["attribution", "--help"]).stdout
    assert "--risk-free-rate" in attribution
    assert not re.search(r"--risk-free\b(?!-)", attribution)
    assert "--withdraw " in run_cli(["backtest", "--help"]).stdout
    demo = run_cli(["demo", "--help"]).stdout
    assert "--report" in demo
    assert "--out" not in demo


def test_a_household_name_with_brackets_is_printed_as_it_is(tmp_path) -> None:
    toml = tmp_path / "h.toml"
    toml.write_text(
        'name = "Lee [joint] household"\n[[accounts]]\nid = "a"\nkind = "taxable"\n'
        "[targets]\nAAPL = 1.0\n"
    )
    lots = tmp_path / "l.csv"
    lots.write_text("account,symbol,quantity,cost_basis,acquired\na,AAPL,1,100,2020-01-02\n")
    out = run_cli(["rebalance", toml, "--holdings", lots, "--prices", "sp500"])
    assert out.code == 0, out.stderr
    assert "Lee [joint] household" in out.stdout
    assert date(2022, 12, 28).isoformat() in out.stdout
