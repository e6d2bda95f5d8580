"""``poise stress``: how bad could it get? Data-quality checks, hypothetical shocks, crisis
replays, a Monte Carlo of the household's future and its drawdown overlay."""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from pathlib import Path
from typing import Any

import typer
from rich.markup import escape
from rich.table import Table

from poise._errors import InputError
from poise.allocate import resolve_targets
from poise.cli._app import app, console, parse_date_option, print_json, warn
from poise.cli._options import number
from poise.io import prices_on, read_holdings, read_household, read_prices, write_text_atomic
from poise.model import CASH, Holdings
from poise.risk import (
    Goal,
    MonteCarloSettings,
    apply_shock,
    backtest_overlay,
    check_concentration,
    check_prices,
    covered_windows,
    holdings_at_target,
    monte_carlo,
    parse_shock,
    parse_window,
    replay,
    risk_rules,
)

__all__ = ["parse_goal", "stress"]

_SUFFIX = {"k": 1e3, "m": 1e6}


def parse_goal(spec: str) -> Goal:
    """``AMOUNT@DATE``: ``1000000@2045-01-01``, ``1,500,000@2040-06-30`` or ``1.5m@2040-06-30``."""
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
    return Goal(amount, when)


def _pct(x: float | None) -> str:
    return "n/a" if x is None else f"{x:.1%}"


def _money(x: float) -> str:
    return f"{x:,.0f}"


def _report_path(path: Path) -> Path:
    if path.suffix.lower() not in {".html", ".htm"}:
        raise InputError(
            f"the report is an HTML file; give a name ending in .html, got {str(path)!r}",
            field="--report",
        )
    if not path.parent.exists():
        raise InputError(
            f"folder {str(path.parent)!r} does not exist; create it or choose another path",
            field="--report",
        )
    return path


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
    from poise.cli._backtest import show_progress

    hh = read_household(household)
    table = read_prices(prices)
    day = parse_date_option(as_of, "--as-of")
    report_path = _report_path(report) if report is not None else None
    rules = risk_rules(hh)
    shocks_in = [parse_shock(s) for s in shock]
    windows_in = [parse_window(w) for w in window]
    goals = tuple(parse_goal(g) for g in goal)
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
        raise InputError(f"must be a positive amount, got {initial:g}", field="--initial")

    universe = [s for s in hh.targets if s != CASH]
    if hh.allocation is not None:
        universe = list(dict.fromkeys([*universe, *hh.allocation.symbols]))
    lots: Holdings | None = None
    if holdings is not None:
        lots = read_holdings(holdings, hh)
        needed = list(dict.fromkeys([*universe, *lots.symbols]))
    else:
        needed = universe
    on, price_map = prices_on(table, day, needed, source=str(prices))
    backtested = hh  # crisis replays and the overlay refit an [allocation] model as they go
    if hh.allocation is not None:  # shocks and the Monte Carlo hold the as-of targets
        hh = replace(hh, targets=resolve_targets(hh, table, on), allocation=None)
    if lots is None:
        lots = holdings_at_target(hh, price_map, initial, on)
        start_weights = None
    else:
        start_weights = lots.weights(price_map)
    value = lots.value(price_map)
    history = table.loc[: str(on)]

    quality = check_prices(history, symbols=needed, as_of=on, source=str(prices))
    breaches = [
        b.message
        for b in (
            *check_concentration(dict(hh.targets), rules, what="targets"),
            *check_concentration(lots.weights(price_map), rules, what="holdings"),
        )
    ]
    shocks = [apply_shock(hh, lots, price_map, s, on) for s in shocks_in]

    crises = []
    skipped: list[tuple[Any, str]] = []
    if not no_crises:
        if windows_in:
            chosen = windows_in
        else:
            chosen, skipped = covered_windows(history, universe)
        crises = [replay(backtested, history, w, initial=value) for w in chosen]

    mc = None
    if settings is not None:
        mc = monte_carlo(
            hh,
            history,
            settings,
            initial_value=value,
            initial_weights=start_weights,
            start=on,
            progress=show_progress(),
        )
        for g in goals:
            mc.goal(g)  # a goal outside the horizon is bad input: say so before printing

    overlay = None
    if not no_overlay and rules.overlay is not None:
        overlay = backtest_overlay(backtested, history, rules.overlay, initial=value)

    written = None
    if report_path is not None:
        from poise.risk._report import stress_report

        text = stress_report(
            title=f"{hh.name}: stress test",
            subtitle=f"valued on {on} at {value:,.2f}; rule: {hh.policy.describe()}",
            quality=quality,
            breaches=breaches,
            shocks=shocks,
            crises=crises,
            montecarlo=mc,
            overlay=overlay,
        )
        write_text_atomic(report_path, text)
        written = report_path.resolve()

    if json_out:
        out: dict[str, Any] = {
            "household": hh.name,
            "policy": hh.policy.describe(),
            "as_of": on.isoformat(),
            "value": value,
            "weights": {k: float(v) for k, v in lots.weights(price_map).items()},
            "data_quality": [
                {
                    "issue": w.issue.value,
                    "symbol": w.symbol,
                    "date": w.day.isoformat() if w.day else None,
                    "message": w.message,
                }
                for w in quality
            ],
            "concentration": breaches,
            "shocks": [_shock_dict(s) for s in shocks],
            "crises": [c.to_dict() for c in crises],
            "crises_skipped": [{"name": w.name, "reason": reason} for w, reason in skipped],
            "monte_carlo": mc.to_dict() if mc is not None else None,
            "overlay": overlay.to_dict() if overlay is not None else None,
        }
        if written is not None:
            out["report"] = str(written)
        print_json(out)
        return
    _render(hh.name, on, value, quality, breaches, shocks, crises, skipped, mc, overlay)
    if written is not None:
        console.print(f"Report written to {escape(str(written))}")


def _shock_dict(s: Any) -> dict[str, Any]:
    plan = s.plan
    return {
        "name": s.name,
        "shock": dict(s.shock),
        "value_before": s.value_before,
        "value_after": s.value_after,
        "change_value": s.change_value,
        "change": s.change,
        "groups": {k: float(v) for k, v in s.group_change_value.items()},
        "weights_after": {k: float(v) for k, v in s.weights_after.items()},
        "triggered": plan.triggered,
        "reasons": list(plan.reasons),
        "trades": [
            {
                "account": t.account,
                "symbol": t.symbol,
                "side": t.side.value,
                "quantity": t.quantity,
                "price": t.price,
                "value": t.value,
                "cost": t.cost,
            }
            for t in plan.trades
        ],
        "total_cost": plan.total_cost,
        "estimated_tax": plan.estimated_tax,
        "concentration": [b.message for b in s.breaches],
    }


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
        d = mc.to_dict()
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
        d = overlay.to_dict()
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
