"""``poise attribution``: where did the household's return come from?"""

from __future__ import annotations

from pathlib import Path

import typer
from rich.markup import escape
from rich.table import Table

from poise._errors import InputError
from poise.cli._app import app, console, flag_errors, parse_date_option, print_json, warn
from poise.cli._backtest import RUN_FLAGS, check_report_path, write_report
from poise.cli._options import (
    ACCOUNT,
    CONTRIBUTION,
    END,
    EVERY,
    INITIAL,
    PRICES,
    RISK_FREE_ALIAS,
    START,
    WITHDRAW_ALIAS,
    WITHDRAWAL,
    either,
    number,
)
from poise.cli._progress import progress_bars

__all__ = ["attribution"]


def _pct(x: float | None) -> str:
    return "n/a" if x is None else f"{x:.2%}"


def _num(x: float | None, fmt: str = ".2f") -> str:
    return "n/a" if x is None else format(x, fmt)


@app.command()
def attribution(
    household: Path = typer.Argument(..., metavar="HOUSEHOLD", help="Household TOML file."),
    prices: str = PRICES,
    benchmark: str = typer.Option(
        "sp500_index",
        "--benchmark",
        help="Benchmark prices: a CSV or a bundled data set. sp500_index is a price index "
        "(no dividends): pass a total-return CSV for a fair alpha.",
    ),
    benchmark_column: str | None = typer.Option(
        None, "--benchmark-column", help="The benchmark's column when its file has several."
    ),
    start: str | None = START,
    end: str | None = END,
    initial: float = INITIAL,
    contribution: float | None = CONTRIBUTION,
    withdrawal: float | None = WITHDRAWAL,
    withdrawal_old: float | None = WITHDRAW_ALIAS,
    every: str = EVERY,
    account: str | None = ACCOUNT,
    risk_free: float | None = typer.Option(
        None,
        "--risk-free-rate",
        parser=number,
        help="Annual risk-free rate, e.g. 0.02 (default 0).",
    ),
    risk_free_old: float | None = RISK_FREE_ALIAS,
    json_out: bool = typer.Option(False, "--json", help="Print one JSON object."),
    report: Path | None = typer.Option(None, "--report", help="Write an HTML report here."),
) -> None:
    """Backtest the household as `poise backtest` does and explain its return: CAPM against
    the benchmark, Brinson-Fachler by group against the targets, contribution per asset,
    the rebalancing effect against buy-and-hold, and the drag of costs and taxes."""
    from poise.app import AttributionRequest, check_window, scheduled_flows
    from poise.app import attribution as run
    from poise.io import read_household, read_prices
    from poise.report import attribution_to_dict
    from poise.risk import benchmark_series

    hh = read_household(household)
    first = parse_date_option(start, "--start")
    last = parse_date_option(end, "--end")
    with flag_errors(RUN_FLAGS):
        check_window(first, last, initial)
        flows = scheduled_flows(
            hh,
            contribution=contribution,
            withdrawal=either(withdrawal, withdrawal_old, "--withdraw", "--withdrawal"),
            every=every,
            account=account,
        )
    risk_free = either(risk_free, risk_free_old, "--risk-free-rate", "--risk-free") or 0.0
    if not -1 < risk_free < 1:
        raise InputError(
            f"is an annual rate as a fraction (0.02 for 2%), got {risk_free:g}",
            field="--risk-free-rate",
        )
    if report is not None:
        check_report_path(report)
    table = read_prices(prices)
    with flag_errors(RUN_FLAGS):
        bench = benchmark_series(read_prices(benchmark), benchmark_column, benchmark)
    name = benchmark if benchmark_column is None else f"{benchmark}:{benchmark_column}"
    with flag_errors(RUN_FLAGS), progress_bars() as progress:
        outcome = run(
            AttributionRequest(
                household=hh,
                prices=table,
                benchmark=bench,
                benchmark_name=name,
                start=first,
                end=last,
                initial=initial,
                flows=flows,
                risk_free=risk_free,
                progress=progress,
                report=report is not None,
            )
        )
    written = None
    if report is not None and outcome.report_html is not None:
        written = write_report(report, outcome.report_html)
    out = attribution_to_dict(outcome)
    if json_out:
        if written is not None:
            out["report"] = str(written)
        print_json(out)
        return
    console.print(
        f"[bold]{escape(out['household'])}[/] · {escape(out['policy'])} · {out['start']} → "
        f"{out['end']} · benchmark {escape(name)}"
    )
    t = Table(title="Against the benchmark (daily returns)")
    t.add_column("figure")
    t.add_column("value", justify="right")
    t.add_row("alpha (annualised)", f"{_pct(out['alpha'])}  (t = {_num(out['alpha_t'])})")
    t.add_row("beta", f"{_num(out['beta'], '.3f')}  (t = {_num(out['beta_t'])})")
    t.add_row("R²", _num(out["r_squared"], ".3f"))
    t.add_row("tracking error", _pct(out["tracking_error"]))
    t.add_row("information ratio", _num(out["information_ratio"]))
    t.add_row("CAGR / benchmark CAGR", f"{_pct(out['cagr'])} / {_pct(out['benchmark_cagr'])}")
    console.print(t)
    b = out["brinson"]
    t = Table(title="Brinson-Fachler against the targets (linked, share of the active return)")
    for col in ("group", "allocation", "selection", "interaction"):
        t.add_column(col, justify="left" if col == "group" else "right")
    for group, parts in b["groups"].items():
        t.add_row(group, *(_pct(parts[k]) for k in ("allocation", "selection", "interaction")))
    t.add_row("[bold]total[/]", *(_pct(b[k]) for k in ("allocation", "selection", "interaction")))
    console.print(t)
    console.print(
        f"holdings-based return {_pct(b['portfolio_return'])} vs targets held "
        f"{_pct(b['benchmark_return'])}: active {_pct(b['active_return'])}"
    )
    t = Table(title="Contribution to return per asset")
    t.add_column("asset")
    t.add_column("contribution", justify="right")
    for sym, c in sorted(out["contributions"].items(), key=lambda kv: -(kv[1] or 0.0)):
        t.add_row(sym, _pct(c))
    console.print(t)
    r = out["rebalancing_effect"]
    console.print(
        f"rebalancing effect: CAGR {_pct(r['cagr_rule'])} with the rule vs "
        f"{_pct(r['cagr_buy_and_hold'])} buy-and-hold of the initial target "
        f"({_pct(r['effect'])}); max drawdown {_pct(r['max_drawdown_rule'])} vs "
        f"{_pct(r['max_drawdown_buy_and_hold'])}"
    )
    console.print(
        f"cost drag {_pct(out['cost_drag'])} a year (costs {out['total_cost']:,.2f}); tax drag "
        f"{_pct(out['tax_drag'])} a year (taxes paid {out['taxes_paid']:,.2f})"
    )
    for note in out["notes"]:
        warn("note", note)
    if written is not None:
        console.print(f"Report written to {escape(str(written))}")
