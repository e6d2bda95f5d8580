"""Hypothetical shocks: what an instant move of some assets or groups does to a household as
it stands, and what its rule would trade afterwards.

A shock is a return per symbol or per group (``equities=-0.30,bonds=+0.05``); ``*`` sets every
non-cash symbol. A symbol's own entry wins over its group's, and a group's over ``*``. The
shocked household is then handed to the one planning engine (``poise.plan.plan_rebalance``)
at the shocked prices, so the trades, costs and taxes after the shock are the engine's.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date

from poise._errors import InputError
from poise.model import CASH, Holdings, Household, Lot, Plan
from poise.plan import plan_rebalance
from poise.risk._concentration import ConcentrationBreach, check_concentration
from poise.risk._config import RiskRules, risk_rules

__all__ = [
    "ShockResult",
    "apply_shock",
    "holdings_at_target",
    "parse_shock",
    "resolve_shock",
]

ALL = "*"


def parse_shock(spec: str, option: str = "shock") -> dict[str, float]:
    """Parse ``"equities=-0.30,bonds=+0.05"`` (or ``AAPL=-50%``) into key → return.

    Returns are fractions; a trailing ``%`` divides by 100. A return must be above -1.
    """
    out: dict[str, float] = {}
    for item in filter(None, (p.strip() for p in spec.split(","))):
        key, eq, text = item.partition("=")
        key, text = key.strip(), text.strip()
        if not eq or not key or not text:
            raise InputError(
                f"expected NAME=RETURN in {item!r}, e.g. equities=-0.30 or AAPL=-25%",
                field=option,
            )
        try:
            value = float(text[:-1]) / 100 if text.endswith("%") else float(text)
        except ValueError:
            raise InputError(
                f"return {text!r} for {key} is not a number; write -0.30 or -30%", field=option
            ) from None
        if not value > -1:
            raise InputError(
                f"return {text} for {key} would take the price to zero or below; "
                "use a number above -1 (-100%)",
                field=option,
            )
        if key in out:
            raise InputError(f"{key} is shocked twice in {spec!r}; keep one", field=option)
        out[key.upper() if key.lower() == "cash" else key] = value
    if not out:
        raise InputError("empty shock; write e.g. 'equities=-0.30,bonds=+0.05'", field=option)
    return out


def resolve_shock(
    shock: Mapping[str, float], symbols: Sequence[str], rules: RiskRules, option: str = "shock"
) -> dict[str, float]:
    """The return of every symbol in ``symbols`` (0 where the shock says nothing).

    Raises
    ------
    InputError
        For a key that is neither a symbol, a group of ``rules`` nor ``*``.
    """
    known_groups = set(rules.groups)
    for key in shock:
        if key != ALL and key not in symbols and key not in known_groups and key != CASH:
            groups = ", ".join(sorted(known_groups)) or "none declared in [risk.groups]"
            raise InputError(
                f"{key!r} is neither a held or targeted symbol ({', '.join(symbols)}) nor a "
                f"group ({groups}); fix the name or declare the group",
                field=option,
            )
    out: dict[str, float] = {}
    for sym in symbols:
        if sym in shock:
            out[sym] = shock[sym]
        elif sym != CASH and rules.group_of(sym) in shock:
            out[sym] = shock[rules.group_of(sym)]
        elif sym != CASH and ALL in shock:
            out[sym] = shock[ALL]
        else:
            out[sym] = 0.0
    return out


def holdings_at_target(
    household: Household, prices: Mapping[str, float], value: float, as_of: date
) -> Holdings:
    """A household invested exactly at its targets: ``value`` in the first account, each
    symbol bought at ``prices`` on ``as_of`` (the start a backtest assumes)."""
    account = household.accounts[0].id
    lots = [
        Lot(account, sym, value * w / prices[sym], value * w, as_of)
        for sym, w in household.targets.items()
        if sym != CASH and w > 0
    ]
    return Holdings(tuple(lots), {account: value * household.targets.get(CASH, 0.0)})


@dataclass(frozen=True, slots=True)
class ShockResult:
    """A household before and after a shock.

    ``change_value`` is the change in total value (negative for a loss); ``change`` is it as
    a fraction of the value before. ``plan`` is the engine's plan at the shocked prices: what
    the household's rule would do next.
    """

    name: str
    as_of: date
    shock: Mapping[str, float]
    value_before: float
    value_after: float
    symbol_values_before: Mapping[str, float]
    symbol_values_after: Mapping[str, float]
    group_change_value: Mapping[str, float]
    weights_before: Mapping[str, float]
    weights_after: Mapping[str, float]
    plan: Plan
    breaches: tuple[ConcentrationBreach, ...]

    @property
    def change_value(self) -> float:
        return self.value_after - self.value_before

    @property
    def change(self) -> float:
        return self.change_value / self.value_before if self.value_before else 0.0


def apply_shock(
    household: Household,
    holdings: Holdings,
    prices: Mapping[str, float],
    shock: Mapping[str, float],
    as_of: date,
    *,
    name: str | None = None,
) -> ShockResult:
    """Shock ``holdings`` (valued at ``prices`` on ``as_of``) and plan what follows.

    Parameters
    ----------
    household : Household
        Its ``[risk.groups]`` resolve group keys; its policy and rules drive the plan.
    holdings : Holdings
        Lots and cash as they stand.
    prices : mapping of symbol to float
        Closes on ``as_of`` for every held or targeted symbol.
    shock : mapping of key to return
        Keys are symbols, groups or ``*`` (see ``parse_shock``).
    as_of : date
        The valuation day; the shock is instant.
    name : str, optional
        A label (default: the shock written out).
    """
    rules = risk_rules(household)
    symbols = list(dict.fromkeys([*(s for s in household.targets if s != CASH), *holdings.symbols]))
    moves = resolve_shock(shock, [*symbols, CASH], rules)
    if moves.get(CASH, 0.0) != 0.0:
        raise InputError("cash cannot be shocked (its price is 1); remove CASH", field="shock")
    shocked = {s: prices[s] * (1.0 + moves[s]) for s in symbols}
    before = holdings.symbol_values(prices)
    after = holdings.symbol_values(shocked)
    value_before, value_after = sum(before.values()), sum(after.values())
    groups: dict[str, float] = {}
    for sym in after:
        group = CASH if sym == CASH else rules.group_of(sym)
        groups[group] = groups.get(group, 0.0) + after[sym] - before[sym]
    plan = plan_rebalance(household, holdings, shocked, as_of)
    weights_after = holdings.weights(shocked)
    breaches = check_concentration(weights_after, rules, what="after the shock")
    label = name or ", ".join(f"{k} {v:+.0%}" for k, v in shock.items())
    return ShockResult(
        name=label,
        as_of=as_of,
        shock=dict(shock),
        value_before=value_before,
        value_after=value_after,
        symbol_values_before=before,
        symbol_values_after=after,
        group_change_value=groups,
        weights_before=holdings.weights(prices),
        weights_after=weights_after,
        plan=plan,
        breaches=breaches,
    )
