"""Read a household from TOML, refusing anything ambiguous with a precise message."""

from __future__ import annotations

import math
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from poise._errors import InputError
from poise._numbers import number_problem
from poise.io._text import read_text_file
from poise.model import (
    MAX_SPREAD_BPS,
    Account,
    AccountKind,
    HarvestRules,
    Household,
    LotMethod,
    OptimizeRules,
    PlanMethod,
    TaxRules,
    TradingRules,
)
from poise.policy import ThresholdPolicy, policy_from_table

__all__ = ["household_from_dict", "read_household"]

_TOP_KEYS = {
    "name",
    "accounts",
    "targets",
    "policy",
    "trading",
    "tax",
    "harvest",
    "identical",
    "plan",
    "allocation",
    "risk_profile",
    "goals",
    "risk",
    "location",
}


def read_household(path: str | Path, *, text: str | None = None) -> Household:
    """Read and validate a household TOML file (or its ``text``, named by ``path``).

    Raises
    ------
    InputError
        With the file, the key and the fix, for anything missing, unknown or out of range.
    """
    src = str(path)
    if text is None:
        text = read_text_file(path, "TOML")
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise InputError(f"not valid TOML: {exc}", source=src) from None
    return household_from_dict(data, source=src)


def _check_keys(table: Mapping[str, Any], allowed: set[str], src: str, path: str) -> None:
    unknown = sorted(set(table) - allowed)
    if unknown:
        where = f"[{path}]" if path else "top level"
        raise InputError(
            f"unknown key(s) {', '.join(unknown)} in {where}; "
            f"allowed: {', '.join(sorted(allowed))}",
            source=src,
            field=f"{path}.{unknown[0]}" if path else unknown[0],
        )


def _table(data: Mapping[str, Any], key: str, src: str) -> dict[str, Any]:
    value = data.get(key, {})
    if not isinstance(value, dict):
        raise InputError(f"must be a table, e.g. [{key}]", source=src, field=key)
    return value


def _number(table: Mapping[str, Any], key: str, default: float, src: str, path: str) -> float:
    value = table.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise InputError(f"must be a number, got {value!r}", source=src, field=f"{path}.{key}")
    problem = number_problem(float(value))
    if problem is not None:
        raise InputError(f"{value!r} {problem}", source=src, field=f"{path}.{key}")
    if value < 0:
        raise InputError(f"must not be negative, got {value!r}", source=src, field=f"{path}.{key}")
    return float(value)


def _rate(table: Mapping[str, Any], key: str, src: str) -> float:
    value = _number(table, key, 0.0, src, "tax")
    if value >= 1:
        raise InputError(
            f"is a fraction (0.15 for 15%), got {value!r}", source=src, field=f"tax.{key}"
        )
    return value


def _spread_bps(table: Mapping[str, Any], src: str) -> float:
    value = _number(table, "spread_bps", 0.0, src, "trading")
    if value >= MAX_SPREAD_BPS:
        raise InputError(
            f"is in basis points of each trade's value (5 for 0.05%); {value:g} would cost "
            f"the whole trade or more: use less than {MAX_SPREAD_BPS:g}",
            source=src,
            field="trading.spread_bps",
        )
    return value


def _bool(table: Mapping[str, Any], key: str, default: bool, src: str, path: str) -> bool:
    value = table.get(key, default)
    if not isinstance(value, bool):
        raise InputError(f"must be true or false, got {value!r}", source=src, field=f"{path}.{key}")
    return value


def _accounts(data: Mapping[str, Any], src: str) -> tuple[Account, ...]:
    raw = data.get("accounts")
    if not isinstance(raw, list) or not raw:
        raise InputError(
            'needs at least one account: [[accounts]] with id = "..." and kind = "taxable"',
            source=src,
            field="accounts",
        )
    accounts: list[Account] = []
    kinds = " | ".join(k.value for k in AccountKind)
    for i, table in enumerate(raw):
        path = f"accounts[{i}]"
        if not isinstance(table, dict):
            raise InputError("each account must be a [[accounts]] table", source=src, field=path)
        _check_keys(table, {"id", "kind"}, src, path)
        acc_id = table.get("id")
        if not isinstance(acc_id, str) or not acc_id.strip():
            raise InputError('needs an id, e.g. id = "brokerage"', source=src, field=f"{path}.id")
        try:
            kind = AccountKind(str(table.get("kind")))
        except ValueError:
            raise InputError(
                f"unknown account kind {table.get('kind')!r}; use {kinds}",
                source=src,
                field=f"{path}.kind",
            ) from None
        if any(a.id == acc_id for a in accounts):
            raise InputError(
                f"account id {acc_id!r} is used twice; give each account its own id",
                source=src,
                field=f"{path}.id",
            )
        accounts.append(Account(acc_id, kind))
    return tuple(accounts)


def parse_targets(raw: Any, src: str, path: str = "targets") -> dict[str, float]:
    """Validate a symbol → weight mapping that must sum to 1 (``CASH`` allowed)."""
    if not isinstance(raw, dict) or not raw:
        raise InputError(
            "needs target weights, e.g. [targets] VTI = 0.6, BND = 0.4", source=src, field=path
        )
    targets: dict[str, float] = {}
    for sym, weight in raw.items():
        if isinstance(weight, bool) or not isinstance(weight, int | float):
            raise InputError(
                f"weight must be a number, got {weight!r}", source=src, field=f"{path}.{sym}"
            )
        if not math.isfinite(weight) or weight < 0:
            raise InputError(
                f"weight must be ≥ 0 (long-only), got {weight!r}",
                source=src,
                field=f"{path}.{sym}",
            )
        problem = number_problem(float(weight))
        if problem is not None:
            raise InputError(f"weight {weight!r} {problem}", source=src, field=f"{path}.{sym}")
        targets[sym.upper() if sym.lower() == "cash" else sym] = float(weight)
    total = sum(targets.values())
    if abs(total - 1.0) > 1e-6:
        raise InputError(
            f"weights sum to {total:.6g}, not 1; adjust them (add CASH = {1 - total:.6g} "
            "if the rest is meant as cash)"
            if total < 1
            else f"weights sum to {total:.6g}, not 1; reduce them so they sum to 1",
            source=src,
            field=path,
        )
    return targets


def household_from_dict(data: Mapping[str, Any], source: str = "<household>") -> Household:
    """Build a household from parsed TOML (see ``read_household``)."""
    src = source
    _check_keys(data, _TOP_KEYS, src, "")
    name = data.get("name", Path(src).stem)
    if not isinstance(name, str):
        raise InputError("must be a string", source=src, field="name")
    accounts = _accounts(data, src)

    allocation = None
    if "allocation" in data:
        from poise.allocate import allocation_from_table

        allocation = allocation_from_table(
            _table(data, "allocation", src),
            src,
            risk_profile=data.get("risk_profile"),
            goals=data.get("goals"),
        )
        targets = (
            parse_targets(data["targets"], src)
            if "targets" in data
            else allocation.initial_targets()
        )
    else:
        if "risk_profile" in data or "goals" in data:
            from poise.allocate import goals_from_list, risk_profile_from_table

            # validated even when static [targets] rule: `poise profile` reads them
            if "risk_profile" in data:
                risk_profile_from_table(data["risk_profile"], src)
            if "goals" in data:
                goals_from_list(data["goals"], src)
        if "targets" not in data:
            raise InputError(
                "needs [targets] (symbol = weight, summing to 1) or an [allocation] model",
                source=src,
                field="targets",
            )
        targets = parse_targets(data["targets"], src)

    policy_table = _table(data, "policy", src)
    policy = policy_from_table(policy_table, src) if policy_table else ThresholdPolicy(0.05)

    trading_t = _table(data, "trading", src)
    _check_keys(
        trading_t,
        {"fractional", "min_trade_value", "cash_reserve", "commission", "spread_bps"},
        src,
        "trading",
    )
    trading = TradingRules(
        fractional=_bool(trading_t, "fractional", True, src, "trading"),
        min_trade_value=_number(trading_t, "min_trade_value", 0.0, src, "trading"),
        cash_reserve=_number(trading_t, "cash_reserve", 0.0, src, "trading"),
        commission=_number(trading_t, "commission", 0.0, src, "trading"),
        spread_bps=_spread_bps(trading_t, src),
    )

    tax_t = _table(data, "tax", src)
    _check_keys(
        tax_t,
        {
            "lot_method",
            "short_term_rate",
            "long_term_rate",
            "ordinary_income_offset",
            "defer_days",
            "ordinary_income_rate",
        },
        src,
        "tax",
    )
    try:
        lot_method = LotMethod(tax_t.get("lot_method", "fifo"))
    except ValueError:
        raise InputError(
            f"unknown lot method {tax_t.get('lot_method')!r}; "
            "use fifo | lifo | hifo | tax_min | tax_order",
            source=src,
            field="tax.lot_method",
        ) from None
    tax = TaxRules(
        lot_method=lot_method,
        short_term_rate=_rate(tax_t, "short_term_rate", src),
        long_term_rate=_rate(tax_t, "long_term_rate", src),
        ordinary_income_offset=_number(tax_t, "ordinary_income_offset", 3000.0, src, "tax"),
        defer_days=int(_number(tax_t, "defer_days", 0, src, "tax")),
        ordinary_income_rate=(
            _rate(tax_t, "ordinary_income_rate", src) if "ordinary_income_rate" in tax_t else None
        ),
    )

    harvest_t = _table(data, "harvest", src)
    _check_keys(
        harvest_t,
        {"enabled", "min_loss", "min_loss_fraction", "min_net_benefit", "swap_back", "substitutes"},
        src,
        "harvest",
    )
    subs_raw = harvest_t.get("substitutes", {})
    if not isinstance(subs_raw, dict):
        raise InputError(
            'must be a table of symbol = ["ALT1", "ALT2"]', source=src, field="harvest.substitutes"
        )
    substitutes: dict[str, tuple[str, ...]] = {}
    for sym, alts in subs_raw.items():
        if not isinstance(alts, list) or not all(isinstance(a, str) for a in alts):
            raise InputError(
                f'must be a list of symbols, e.g. {sym} = ["ITOT", "SCHB"]',
                source=src,
                field=f"harvest.substitutes.{sym}",
            )
        # A target harvested into another target would overweight it; a substitute held in a
        # target's place may name that target (the way back, e.g. MSFT = ["AAPL"]).
        targeted = [a for a in alts if targets.get(a, 0.0) > 0] if targets.get(sym, 0) else []
        if targeted:
            raise InputError(
                f"substitute {targeted[0]} for {sym} is itself a target; harvesting {sym} into "
                f"it would overweight {targeted[0]} and re-trigger the bands until the wash-sale "
                "window ends; choose a similar symbol that is not in [targets]",
                source=src,
                field=f"harvest.substitutes.{sym}",
            )
        substitutes[sym] = tuple(alts)
    harvest = HarvestRules(
        enabled=_bool(harvest_t, "enabled", False, src, "harvest"),
        min_loss=_number(harvest_t, "min_loss", 0.0, src, "harvest"),
        min_loss_fraction=_number(harvest_t, "min_loss_fraction", 0.0, src, "harvest"),
        min_net_benefit=_number(harvest_t, "min_net_benefit", 0.0, src, "harvest"),
        swap_back=_bool(harvest_t, "swap_back", False, src, "harvest"),
        substitutes=substitutes,
    )

    ident_t = _table(data, "identical", src)
    _check_keys(ident_t, {"groups"}, src, "identical")
    groups_raw = ident_t.get("groups", [])
    if not isinstance(groups_raw, list) or not all(
        isinstance(g, list) and all(isinstance(s, str) for s in g) for g in groups_raw
    ):
        raise InputError(
            'must be a list of symbol lists, e.g. groups = [["SPY", "IVV"]]',
            source=src,
            field="identical.groups",
        )
    identical = tuple(frozenset(g) for g in groups_raw if len(g) > 1)

    plan_t = _table(data, "plan", src)
    _check_keys(plan_t, {"method", "lambda_tracking", "lambda_cost", "lambda_tax"}, src, "plan")
    try:
        plan_method = PlanMethod(plan_t.get("method", "heuristic"))
    except ValueError:
        raise InputError(
            f"unknown plan method {plan_t.get('method')!r}; use heuristic | optimize",
            source=src,
            field="plan.method",
        ) from None
    optimize = OptimizeRules(
        **{
            key: _number(plan_t, key, default, src, "plan")
            for key, default in (
                ("lambda_tracking", 50.0),
                ("lambda_cost", 1.0),
                ("lambda_tax", 1.0),
            )
        }
    )
    from poise.tax import location_from_table

    location = location_from_table(_table(data, "location", src), src)

    risk = None
    if "risk" in data:
        from poise.risk import risk_from_table

        risk = risk_from_table(data["risk"], src)

    return Household(
        name=name,
        accounts=accounts,
        targets=targets,
        policy=policy,
        trading=trading,
        tax=tax,
        harvest=harvest,
        identical_groups=identical,
        plan_method=plan_method,
        allocation=allocation,
        source=src,
        risk=risk,
        location=location,
        optimize=optimize,
    )
