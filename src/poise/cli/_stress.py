"""``poise stress``: how bad could it get? Data-quality checks, hypothetical shocks, crisis
replays, a Monte Carlo of the household's future and its drawdown overlay."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer
from rich.markup import escape
from rich.table import Table

from poise._errors import InputError
from poise.cli._app import (
    REQUEST_FLAGS,
    app,
    console,
    flag_errors,
    parse_date_option,
    print_json,
    warn,
)
from poise.cli._backtest import check_report_path, write_report
from poise.cli._options import number
from poise.cli._progress import progress_bars

if TYPE_CHECKING:
    from poise.risk import ValueGoal

__all__ = ["parse_goal", "stress"]

_FLAGS = REQUEST_FLAGS

_SUFFIX = {"k": 1e3, "m": 1e6}


def parse_goal(spec: str) -> ValueGoal:
    """``AMOUNT@DATE``: ``1000000@2045-01-01``, ``1,500,000@2040-06-30`` or ``1.5m@2040-06-30``."""
    from poise.risk import ValueGoal

    amount_text, sep, day_text = spec.partition("@")
    text = amount_text.strip().lower().replace(",", "").replace("_", "")
    scale = _SUFFIX.get(text[-1:], 1.0)
    if text[-1:] in _SUFFIX:
        text = text[:-1]
    try:
        amount = float(text) * scale
    except ValueError:
        amount = float("nan")
    if not sep or not amount > 0:
        raise InputError(
            f"{spec!r} is not a goal; write AMOUNT@DATE, e.g. 1000000@2045-01-01 or "
            "1.5m@2045-01-01",
            field="--goal",
        )
    try:
        when = date.fromisoformat(day_text.strip())
    except ValueError:
        raise InputError(
            f"goal date {day_text!r} is not an ISO date; write YYYY-MM-DD", field="--goal"
        ) from None
    return ValueGoal(amount, when)


def _pct(x: float | None) -> str:
    return "n/a" if x is None else f"{x:.1%}"


def _money(x: float) -> str:
    return f"{x:,.0f}"


@app.command()
def stress(
    household: Path = typer.Argument(..., metavar="HOUSEHOLD", help="Household TOML file."),
    prices: str = typer.Option(..., "--prices", help="Prices CSV or a bundled data set (sp500)."),
    holdings: Path | None = typer.Option(
        None, "--holdings", help="Holdings CSV; without it the household is at target."
    ),
    as_of: str | None = typer.Option(None, "--as-of", help="Valuation day (default: last)."),
    initial: float = typer.Option(
        100_000.0, "--initial", parser=number, help="Household value when no --holdings are given."
    ),
    shock: list[str] = typer.Option(
        [],
        "--shock",
        help="Instant returns per group or symbol, e.g. 'equities=-0.30,bonds=+0.05' "
        "or 'AAPL=-50%,*=-10%' (repeat for several scenarios).",
    ),
    window: list[str] = typer.Option(
        [],
        "--window",
        help="Crisis to replay: dotcom | gfc | covid | 2022 | START:END (repeatable; "
        "default: every built-in window the prices cover).",
    ),
    paths: int = typer.Option(10_000, "--paths", help="Monte Carlo paths."),
    years: int = typer.Option(30, "--years", help="Monte Carlo horizon in years (monthly steps)."),
    seed: int = typer.Option(0, "--seed", help="Random seed (same seed, same paths)."),
    block: int = typer.Option(12, "--block", help="Bootstrap block length in months."),
    contribution: float = typer.Option(
        0.0,
        "--contribution",
        parser=number,
        help="Monthly contribution in the Monte Carlo (negative withdraws).",
    ),
    goal: list[str] = typer.Option(
        [], "--goal", help="AMOUNT@DATE to reach, e.g. 1000000@2045-01-01 (repeatable)."
    ),
    level: list[float] = typer.Option(
        [],
        "--level",
        parser=number,
        help="VaR/CVaR confidence level (repeatable; default 0.95 and 0.99).",
    ),
    no_crises: bool = typer.Option(False, "--no-crises", help="Skip the crisis replays."),
    no_montecarlo: bool = typer.Option(False, "--no-montecarlo", help="Skip the Monte Carlo."),
    no_overlay: bool = typer.Option(
        False, "--no-overlay", help="Skip the [risk.overlay] backtest."
    ),
    json_out: bool = typer.Option(False, "--json", help="Print one JSON object."),
    report: Path | None = typer.Option(None, "--report", help="Write an HTML report here."),
) -> None:
    """Stress-test the household: data quality, shocks, crisis replays, Monte Carlo, overlay.

    Every section runs unless skipped: crisis replays of the windows the prices cover, a
    Monte Carlo (10,000 paths × 30 years by default) and, when the household has a
    [risk.overlay], the overlay backtested both ways. --shock adds hypothetical shocks.
    """
    from poise.app import StressRequest
    from poise.app import stress as run
    from poise.io import read_holdings, read_household, read_prices
    from poise.report import stress_to_dict
    from poise.risk import MonteCarloSettings, parse_shock, parse_window

    hh = read_household(household)
    table = read_prices(prices)
    day = parse_date_option(as_of, "--as-of")
    report_path = check_report_path(report) if report is not None else None
    with flag_errors(_FLAGS):
        shocks_in = [parse_shock(s) for s in shock]
        windows_in = [parse_window(w) for w in window]
    goals = tuple(parse_goal(g) for g in goal)
    with flag_errors(_FLAGS):
        settings = (
            MonteCarloSettings(
                paths=paths,
                years=years,
                block_months=block,
                contribution=contribution,
                seed=seed,
                levels=tuple(level) if level else (0.95, 0.99),
                goals=goals,
            )
            if not no_montecarlo
            else None
        )
        if not initial > 0:
            raise InputError(f"must be a positive amount, got {initial:g}", field="initial")
    lots = read_holdings(holdings, hh) if holdings is not None else None
    with flag_errors(_FLAGS), progress_bars() as progress:
        result = run(
            StressRequest(
                household=hh,
                prices=table,
                holdings=lots,
                as_of=day,
                initial=initial,
                shocks=shocks_in,
                windows=windows_in,
                crises=not no_crises,
                overlay=not no_overlay,
                montecarlo=settings,
                progress=progress,
                report=report_path is not None,
                prices_source=str(prices),
            )
        )
    written = None
    if report_path is not None and result.report_html is not None:
        written = write_report(report_path, result.report_html)
    if json_out:
        out = stress_to_dict(result)
        if written is not None:
            out["report"] = str(written)
        print_json(out)
        return
    _render(
        result.household.name,
        result.as_of,
        result.value,
        result.quality,
        list(result.concentration),
        list(result.shocks),
        list(result.crises),
        list(result.crises_skipped),
        result.montecarlo,
        result.overlay,
    )
    if written is not None:
        console.print(f"Report written to {escape(str(written))}")


def _render(
    name: str,
    on: date,
    value: float,
    quality: Any,
    breaches: list[str],
    shocks: list[Any],
    crises: list[Any],
    skipped: list[tuple[Any, str]],
    mc: Any,
    overlay: Any,
) -> None:
    console.print(f"[bold]{escape(name)}[/]: stress test on {on}, value {value:,.2f}")
    for w in quality[:8]:
        warn("data", w.message)
    if len(quality) > 8:
        console.print(f"[yellow]… and {len(quality) - 8} more data warnings (see --json)[/]")
    for b in breaches:
        warn("concentration", b)
    if shocks:
        t = Table(title="Hypothetical shocks")
        for col in ("shock", "before", "after", "change", "rule after", "trades", "est. tax"):
            t.add_column(col, justify="left" if col in {"shock", "rule after"} else "right")
        for s in shocks:
            t.add_row(
                s.name,
                _money(s.value_before),
                _money(s.value_after),
                _pct(s.change),
                "rebalance" if s.plan.triggered else "no rebalance",
                str(len(s.plan.trades)),
                _money(s.plan.estimated_tax),
            )
        console.print(t)
    if crises:
        t = Table(title="Crisis replay (with the rule / buy and hold)")
        for col in ("window", "rule", "loss", "max drawdown", "worst day", "recovered"):
            t.add_column(col, justify="left" if col in {"window", "rule"} else "right")
        for c in crises:
            for o in (c.rule, c.buy_and_hold):
                t.add_row(
                    c.window.label if o is c.rule else "",
                    o.policy,
                    _pct(o.loss),
                    _pct(o.max_drawdown),
                    f"{o.worst_day} {o.worst_day_return:+.1%}",
                    "not yet" if o.recovered_on is None else f"{o.days_to_recover} days",
                )
        console.print(t)
    for w, reason in skipped:
        console.print(f"[dim]skipped {escape(str(w))}: {escape(str(reason))}[/]")
    if mc is not None:
        from poise.report import monte_carlo_to_dict

        d = monte_carlo_to_dict(mc)
        tv = d["terminal_value"]
        t = Table(
            title=f"Monte Carlo: {d['paths']:,} paths × {d['years']} years, {escape(d['policy'])}"
        )
        t.add_column("figure")
        t.add_column("value", justify="right")
        t.add_row("put in (initial + contributions)", _money(d["total_invested"]))
        for k in ("p5", "p25", "p50", "p75", "p95"):
            t.add_row(f"terminal value, {k[1:]}th percentile", _money(tv[k]))
        t.add_row("annualised return, median", _pct(d["annualised_return"]["p50"]))
        t.add_row(
            "max drawdown, median / 5% worst",
            f"{d['max_drawdown']['p50']:.1%} / {d['max_drawdown']['p95']:.1%}",
        )
        t.add_row("probability of ending below what was put in", _pct(d["probability_of_loss"]))
        for v in d["var"]:
            t.add_row(
                f"VaR / CVaR {v['level']:.0%} over {v['months']} months",
                f"{_money(v['var'])} / {_money(v['cvar'])}",
            )
        for g in d["goals"]:
            t.add_row(f"reach {g['amount']:,.0f} by {g['date']}", _pct(g["probability"]))
        console.print(t)
        for note in d["notes"]:
            console.print(f"[dim]note: {escape(str(note))}[/]")
    if overlay is not None:
        from poise.report import overlay_to_dict

        d = overlay_to_dict(overlay)
        t = Table(title=f"Overlay: {escape(d['overlay'])}")
        for col in ("", "CAGR", "max drawdown", "final value"):
            t.add_column(col, justify="right" if col else "left")
        for label, side in (("without", d["without"]), ("with overlay", d["with_overlay"])):
            t.add_row(
                label, _pct(side["cagr"]), _pct(side["max_drawdown"]), _money(side["final_value"])
            )
        console.print(t)
        console.print(
            f"drawdown saved {_pct(d['drawdown_saved'])}, return given up "
            f"{_pct(d['return_given_up'])} a year, {len(d['switches'])} switches"
        )
