"""Read a plan file (the ``poise rebalance --json`` object) to send its orders."""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from poise._errors import InputError
from poise._numbers import number_problem
from poise.io._text import read_text_file
from poise.model import CASH, Holdings, Lot, Side, Trade

__all__ = ["PlanFile", "parse_plan", "read_plan"]


@dataclass(frozen=True, slots=True)
class PlanFile:
    """A plan read from JSON.

    ``data`` is the parsed JSON (its digest names its orders: ``poise.execute.plan_digest``);
    ``holdings`` is what its fills move: the lots its sells dispose of (from each sell's
    ``lots``) and each account's cash before the plan (``cash_after`` less the trades' cash).
    """

    data: Mapping[str, Any]
    as_of: date
    trades: tuple[Trade, ...]
    holdings: Holdings
    source: str


def read_plan(path: str | Path) -> PlanFile:
    """Read and check a plan JSON file.

    Raises
    ------
    InputError
        Naming the file, the field (``trades[2].quantity``) and the fix.
    """
    src = str(path)
    text = read_text_file(path, "JSON")
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise InputError(
            f"not JSON ({exc.msg} at line {exc.lineno}); give the output of poise rebalance --json",
            source=src,
        ) from None
    return parse_plan(data, src)


def _number(raw: Any, src: str, where: str, *, positive: bool = False) -> float:
    if isinstance(raw, bool) or not isinstance(raw, int | float):
        raise InputError(f"must be a number, got {raw!r}", source=src, field=where)
    if isinstance(raw, float) and not math.isfinite(raw):
        raise InputError(f"must be a number, got {raw!r}", source=src, field=where)
    try:
        value = float(raw)
    except OverflowError:  # an int beyond a float's range
        value = math.inf
    problem = number_problem(value)
    if problem is not None:
        shown = f"{value:g}" if isinstance(raw, int) else repr(raw)
        raise InputError(f"{shown} {problem}", source=src, field=where)
    if positive and not raw > 0:
        raise InputError(f"must be positive, got {raw!r}", source=src, field=where)
    return value


def _text(raw: Any, src: str, where: str) -> str:
    if not isinstance(raw, str) or not raw.strip():
        raise InputError(f"must be a non-empty string, got {raw!r}", source=src, field=where)
    return raw.strip()


def _date(raw: Any, src: str, where: str) -> date:
    try:
        return date.fromisoformat(_text(raw, src, where))
    except ValueError:
        raise InputError(
            f"{raw!r} is not an ISO date; write YYYY-MM-DD", source=src, field=where
        ) from None


def _trade(raw: Any, src: str, where: str, as_of: date) -> tuple[Trade, list[Lot]]:
    if not isinstance(raw, Mapping):
        raise InputError("must be an object", source=src, field=where)
    account = _text(raw.get("account"), src, f"{where}.account")
    symbol = _text(raw.get("symbol"), src, f"{where}.symbol")
    if symbol.upper() == CASH:
        raise InputError("cash is not traded; remove the trade", source=src, field=where)
    try:
        side = Side(str(raw.get("side")))
    except ValueError:
        raise InputError(
            f"must be buy or sell, got {raw.get('side')!r}", source=src, field=f"{where}.side"
        ) from None
    quantity = _number(raw.get("quantity"), src, f"{where}.quantity", positive=True)
    price = _number(raw.get("price"), src, f"{where}.price", positive=True)
    cost = _number(raw.get("cost", 0.0), src, f"{where}.cost")
    trade = Trade(account, symbol, side, quantity, price, cost, str(raw.get("reason", "")))
    lots = []
    if side is Side.SELL:
        entries = raw.get("lots") or []
        if not isinstance(entries, list):
            raise InputError("must be a list", source=src, field=f"{where}.lots")
        for k, entry in enumerate(entries):
            at = f"{where}.lots[{k}]"
            if not isinstance(entry, Mapping):
                raise InputError("must be an object", source=src, field=at)
            lots.append(
                Lot(
                    account,
                    symbol,
                    _number(entry.get("quantity"), src, f"{at}.quantity", positive=True),
                    _number(entry.get("basis", 0.0), src, f"{at}.basis"),
                    _date(entry.get("acquired"), src, f"{at}.acquired"),
                )
            )
        sold = sum(lot.quantity for lot in lots)
        if lots and sold < quantity - 1e-9:
            raise InputError(
                f"sells {quantity:g} but its lots hold {sold:g}; a plan sells only the lots it "
                "lists: make a new plan with poise rebalance --json",
                source=src,
                field=f"{where}.quantity",
            )
        if sold < quantity - 1e-9:  # lots not listed: the rest at an unknown (zero) basis
            lots.append(Lot(account, symbol, quantity - sold, 0.0, as_of))
    return trade, lots


def parse_plan(data: Any, src: str = "plan") -> PlanFile:
    """A :class:`PlanFile` from the parsed ``poise rebalance --json`` object."""
    if not isinstance(data, Mapping):
        raise InputError("must be a JSON object (the output of poise rebalance --json)", source=src)
    if "as_of" not in data:
        hint = (
            ' (a line of poise batch rebalance --out: save its "plan" object on its own)'
            if isinstance(data.get("plan"), Mapping)
            else ""
        )
        raise InputError(
            f"missing: this is not a plan; give the output of poise rebalance --json{hint}",
            source=src,
            field="as_of",
        )
    as_of = _date(data.get("as_of"), src, "as_of")
    if as_of > date.today() + timedelta(days=1):
        raise InputError(
            f"{as_of.isoformat()} is in the future; a plan is made on prices up to a past "
            "close: make a new plan with poise rebalance --json",
            source=src,
            field="as_of",
        )
    raw_trades = data.get("trades")
    if not isinstance(raw_trades, list):
        raise InputError("missing or not a list", source=src, field="trades")
    trades: list[Trade] = []
    lots: list[Lot] = []
    for k, raw in enumerate(raw_trades):
        trade, sold = _trade(raw, src, f"trades[{k}]", as_of)
        trades.append(trade)
        lots.extend(sold)
    cash_after = data.get("cash_after", {})
    if not isinstance(cash_after, Mapping):
        raise InputError("must be an object {account: cash}", source=src, field="cash_after")
    cash = {str(a): _number(v, src, f"cash_after.{a}") for a, v in cash_after.items()}
    if cash:  # every account a plan trades in has its cash after the plan
        for k, trade in enumerate(trades):
            if trade.account not in cash:
                raise InputError(
                    f"unknown account {trade.account!r}; the plan's accounts are "
                    f"{', '.join(sorted(cash))} (cash_after): fix the account or make a new plan",
                    source=src,
                    field=f"trades[{k}].account",
                )
    for trade in trades:
        cash[trade.account] = cash.get(trade.account, 0.0) - trade.cash_change
    return PlanFile(data, as_of, tuple(trades), Holdings.of(lots, cash), src)
