"""``poise optimize``: target weights from an allocation model fitted on a price file."""

from __future__ import annotations

import json
import math
import re
import tomllib
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer
from rich.markup import escape
from rich.table import Table

from poise._errors import InputError
from poise._numbers import number_problem
from poise.cli._app import app, console, flag_errors, parse_date_option, print_json, warn
from poise.cli._options import number

if TYPE_CHECKING:
    from poise.allocate import FitResult, FrontierPoint, GroupLimit, ModelSpec, View

__all__ = ["optimize"]

_OPTION = {
    "symbols": "--symbols",
    "model": "--model",
    "min_weight": "--min-weight",
    "max_weight": "--max-weight",
    "groups": "--group",
    "target_volatility": "--target-volatility",
    "target_return": "--target-return",
    "risk_aversion": "--risk-aversion",
    "risk_budget": "--risk-budget",
    "views": "--view",
    "half_life": "--half-life",
    "tau": "--tau",
    "start": "--start",
    "end": "--end",
    "points": "--points",
}


def _label(key: str) -> str:
    return _OPTION.get(key, "--" + key.replace("_", "-"))


def _choice(value: str, enum: Any, option: str) -> Any:
    try:
        return enum(value)
    except ValueError:
        options = " | ".join(m.value for m in enum)
        raise InputError(f"unknown value {value!r}; use one of {options}", field=option) from None


def _number(text: str, option: str, what: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise InputError(f"{text!r} is not a number ({what})", field=option) from None
    problem = number_problem(value)
    if problem is not None:
        raise InputError(f"{text!r} {problem}", field=option)
    return value


def _bounds(values: Sequence[str], option: str) -> tuple[float | None, dict[str, float]]:
    """``0.3`` for every asset and/or ``AAPL=0.1`` for one."""
    default: float | None = None
    per_asset: dict[str, float] = {}
    for text in values:
        if "=" in text:
            sym, _, value = text.partition("=")
            per_asset[sym.strip()] = _number(value, option, f"write {option} SYM=0.1")
        else:
            if default is not None:
                raise InputError(
                    "give one value for all assets (and SYM=value for single assets)",
                    field=option,
                )
            default = _number(text, option, f"write {option} 0.3 or {option} SYM=0.1")
    return default, per_asset


_GROUP = re.compile(r"^\s*(?P<name>[^=]+?)\s*=\s*(?P<syms>[^<>=]+?)\s*(?P<op><=|>=)\s*(?P<x>.+)$")


def _groups(values: Sequence[str]) -> tuple[GroupLimit, ...]:
    from poise.allocate import GroupLimit

    merged: dict[str, GroupLimit] = {}
    for text in values:
        match = _GROUP.match(text)
        if match is None:
            raise InputError(
                f"{text!r} is not a group limit; write NAME=SYM1,SYM2<=0.4 (or >=0.1)",
                field="--group",
            )
        name = match["name"]
        symbols = tuple(s.strip() for s in match["syms"].split(",") if s.strip())
        value = _number(match["x"], "--group", "a weight between 0 and 1")
        if not 0 <= value <= 1:
            raise InputError(f"{text!r}: the limit must be between 0 and 1", field="--group")
        group = merged.get(name, GroupLimit(name, symbols))
        if set(group.symbols) != set(symbols):
            raise InputError(f"group {name} is given twice with different symbols", field="--group")
        if match["op"] == "<=":
            group = GroupLimit(name, symbols, group.min_weight, value)
        else:
            group = GroupLimit(name, symbols, value, group.max_weight)
        merged[name] = group
    return tuple(merged.values())


def _budgets(values: Sequence[str]) -> dict[str, float]:
    out = {}
    for text in values:
        sym, sep, value = text.partition("=")
        if not sep:
            raise InputError(f"{text!r}: write --risk-budget SYM=2", field="--risk-budget")
        out[sym.strip()] = _number(value, "--risk-budget", "a positive budget")
    return out


def _views_file(path: Path, symbols: Sequence[str]) -> tuple[list[View], float | None]:
    """Views from TOML or JSON: ``views = ["AAPL=0.10@0.6", {view = "...", confidence = x}]``
    and optionally ``tau``."""
    from poise.allocate import parse_view
    from poise.io._text import read_text_file

    src = str(path)
    text = read_text_file(path, "JSON" if path.suffix.lower() == ".json" else "TOML")
    try:
        data: Any = json.loads(text) if path.suffix.lower() == ".json" else tomllib.loads(text)
    except (json.JSONDecodeError, tomllib.TOMLDecodeError) as exc:
        kind = "JSON" if path.suffix.lower() == ".json" else "TOML"
        raise InputError(f"not valid {kind}: {exc}", source=src) from None
    if isinstance(data, list):
        data = {"views": data}
    if not isinstance(data, dict) or not isinstance(data.get("views"), list):
        raise InputError(
            'needs views = ["AAPL=0.10@0.6", ...] (a list of views)', source=src, field="views"
        )
    unknown = sorted(set(data) - {"views", "tau"})
    if unknown:
        raise InputError(
            f"unknown key(s) {', '.join(unknown)}; allowed: tau, views",
            source=src,
            field=unknown[0],
        )
    views = []
    for i, item in enumerate(data["views"]):
        where = f"views[{i}]"
        if isinstance(item, str):
            views.append(parse_view(item, symbols, source=src, field=where))
        elif isinstance(item, dict) and isinstance(item.get("view"), str):
            conf = item.get("confidence")
            if conf is not None and (isinstance(conf, bool) or not isinstance(conf, int | float)):
                raise InputError("confidence must be a number in (0, 1]", source=src, field=where)
            views.append(
                parse_view(
                    item["view"],
                    symbols,
                    confidence=None if conf is None else float(conf),
                    source=src,
                    field=where,
                )
            )
        else:
            raise InputError(
                'each view is "AAPL=0.10@0.6" or {"view": "AAPL=0.10", "confidence": 0.6}',
                source=src,
                field=where,
            )
    tau = data.get("tau")
    if tau is not None and (isinstance(tau, bool) or not isinstance(tau, int | float)):
        raise InputError("tau must be a number", source=src, field="tau")
    return views, None if tau is None else float(tau)


def _render(fit: FitResult, spec: ModelSpec, frontier: Sequence[FrontierPoint]) -> None:
    console.print(
        f"[bold]{fit.model}[/] ({fit.covariance} covariance) fitted on {fit.observations} daily "
        f"returns, {fit.start} to {fit.end}"
    )
    table = Table(title="Weights")
    for column in ("symbol", "weight", "risk contribution"):
        table.add_column(column, justify="left" if column == "symbol" else "right")
    for sym, w in sorted(fit.weights.items(), key=lambda kv: -kv[1]):
        rc = fit.risk_contributions[sym]
        table.add_row(sym, f"{w:.2%}", f"{rc:.2%}" if math.isfinite(rc) else "n/a")
    console.print(table)
    sharpe = "n/a" if fit.sharpe is None else f"{fit.sharpe:.2f}"
    console.print(
        f"Expected return {fit.expected_return:.2%} · volatility {fit.volatility:.2%} · "
        f"Sharpe {sharpe} (annual, risk-free rate {spec.risk_free_rate:.2%})"
    )
    for note in fit.notes:
        warn("note", note)
    if frontier:
        ft = Table(title="Efficient frontier")
        for column in ("volatility", "expected return", "Sharpe"):
            ft.add_column(column, justify="right")
        step = max(1, len(frontier) // 10)
        for p in list(frontier[::step]) + ([frontier[-1]] if (len(frontier) - 1) % step else []):
            s = (p.expected_return - spec.risk_free_rate) / p.volatility if p.volatility else 0.0
            ft.add_row(f"{p.volatility:.2%}", f"{p.expected_return:.2%}", f"{s:.2f}")
        console.print(ft)


@app.command()
def optimize(
    prices: str = typer.Option(..., "--prices", help="Prices CSV or a bundled data set (sp500)."),
    model: str = typer.Option(
        ...,
        "--model",
        help="min_variance | max_sharpe | mean_variance | risk_parity | hrp | black_litterman "
        "| equal_weight | inverse_volatility",
    ),
    json_out: bool = typer.Option(False, "--json", help="Print one JSON object."),
    symbols: str | None = typer.Option(
        None, "--symbols", help="Comma-separated universe (default: every column)."
    ),
    start: str | None = typer.Option(None, "--start", help="First day of prices to fit on."),
    end: str | None = typer.Option(None, "--end", help="Last day of prices to fit on."),
    covariance: str = typer.Option(
        "sample",
        "--covariance",
        help="sample | ledoit_wolf | ewma | regime (learned) | factor (principal components)",
    ),
    half_life: float = typer.Option(
        40.0, "--half-life", parser=number, help="EWMA half-life in days."
    ),
    factors: int = typer.Option(10, "--factors", help="Components of the factor covariance."),
    min_weight: list[str] | None = typer.Option(
        None, "--min-weight", help="Minimum weight: 0.02 for all, or SYM=0.05 (repeatable)."
    ),
    max_weight: list[str] | None = typer.Option(
        None, "--max-weight", help="Maximum weight: 0.3 for all, or SYM=0.1 (repeatable)."
    ),
    group: list[str] | None = typer.Option(
        None, "--group", help="Group limit NAME=SYM1,SYM2<=0.4 or >=0.1 (repeatable)."
    ),
    target_volatility: float | None = typer.Option(
        None, "--target-volatility", parser=number, help="Annual volatility cap, e.g. 0.12."
    ),
    target_return: float | None = typer.Option(
        None, "--target-return", parser=number, help="Annual expected-return floor, e.g. 0.08."
    ),
    risk_aversion: float | None = typer.Option(
        None, "--risk-aversion", parser=number, help="mean_variance: maximise return − λ·variance."
    ),
    risk_free_rate: float = typer.Option(
        0.0, "--risk-free-rate", parser=number, help="Annual, e.g. 0.02."
    ),
    risk_budget: list[str] | None = typer.Option(
        None, "--risk-budget", help="risk_parity budget SYM=2 (others 1; repeatable)."
    ),
    view: list[str] | None = typer.Option(
        None,
        "--view",
        help='black_litterman view, annual: "AAPL=0.10@0.6" or "AAPL-MSFT=0.02@0.5".',
    ),
    views: Path | None = typer.Option(None, "--views", help="Views file (TOML or JSON)."),
    tau: float | None = typer.Option(
        None, "--tau", parser=number, help="Black-Litterman tau (default 0.05)."
    ),
    frontier: bool = typer.Option(False, "--frontier", help="Compute the efficient frontier."),
    points: int = typer.Option(30, "--points", help="Portfolios on the frontier."),
    report: Path | None = typer.Option(
        None, "--report", help="Write an HTML report (frontier, weights, risk contributions)."
    ),
) -> None:
    """Fit an allocation model on daily returns (long-only, fully invested by default) and
    print its weights and risk contributions."""
    from poise.allocate import Constraints, CovarianceName, ModelName, ModelSpec, parse_view
    from poise.app import OptimizeRequest, select_universe
    from poise.app import optimize as run
    from poise.io import read_prices, write_text_atomic
    from poise.report import optimize_to_dict

    name = _choice(model, ModelName, "--model")
    cov = _choice(covariance, CovarianceName, "--covariance")
    table = read_prices(prices)
    wanted = None if symbols is None else [s.strip() for s in symbols.split(",") if s.strip()]
    with flag_errors(_label):
        universe = select_universe(table, wanted)
    first = parse_date_option(start, "--start")
    last = parse_date_option(end, "--end")
    if points < 2:
        raise InputError(f"must be at least 2, got {points}", field="--points")

    low_default, low_assets = _bounds(min_weight or [], "--min-weight")
    high_default, high_assets = _bounds(max_weight or [], "--max-weight")
    with flag_errors(_label):
        view_list = [parse_view(v, universe) for v in (view or [])]
    file_tau = None
    if views is not None:
        from_file, file_tau = _views_file(views, universe)
        view_list.extend(from_file)
    for key, value in (("--min-weight", low_default), ("--max-weight", high_default)):
        if value is not None and not -1 <= value <= 1:
            raise InputError(f"must be between -1 and 1, got {value:g}", field=key)
    spec = ModelSpec(
        model=name,
        covariance=cov,
        half_life=half_life,
        factors=factors,
        constraints=Constraints(
            min_weight=0.0 if low_default is None else low_default,
            max_weight=1.0 if high_default is None else high_default,
            asset_min=low_assets,
            asset_max=high_assets,
            groups=_groups(group or []),
            target_volatility=target_volatility,
            target_return=target_return,
        ),
        risk_budget=_budgets(risk_budget or []),
        views=tuple(view_list),
        tau=tau if tau is not None else (file_tau if file_tau is not None else 0.05),
        risk_aversion=risk_aversion,
        risk_free_rate=risk_free_rate,
    )
    with flag_errors(_label):
        result = run(
            OptimizeRequest(
                prices=table,
                spec=spec,
                symbols=wanted,
                start=first,
                end=last,
                frontier=frontier,
                points=points,
                report=report is not None,
            )
        )
    if report is not None and result.report_html is not None:
        write_text_atomic(report, result.report_html)
    if json_out:
        out = optimize_to_dict(result, frontier=frontier)
        if report is not None:
            out["report"] = str(report)
        print_json(out)
    else:
        _render(result.fit, spec, result.frontier if frontier else ())
        if report is not None:
            console.print(f"Report written to {escape(str(report))}")
