"""The last step every plan shares: holdings after the trades, weights, warnings, tax."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date

import numpy as np

from poise.model import CASH, Holdings, Household, Plan, Trade
from poise.policy import Decision
from poise.tax import estimate_tax

__all__ = ["finish_plan", "fmt_money", "unmet_withdrawals", "with_bought"]


def fmt_money(value: float) -> str:
    return f"{value:,.2f}"


def unmet_withdrawals(
    after: Holdings, withdrawals: Mapping[str, float], warnings: list[str]
) -> dict[str, float]:
    """Withdrawals an account's cash could not cover: the shortfall per account, each also
    said in ``warnings``."""
    unmet: dict[str, float] = {}
    for account, amount in withdrawals.items():
        if amount > 0 and after.cash.get(account, 0.0) < -1e-6:
            unmet[account] = -after.cash[account]
            warnings.append(
                f"withdrawal of {fmt_money(amount)} from {account} cannot be met: "
                f"short by {fmt_money(-after.cash[account])}"
            )
    return unmet


def with_bought(names: Sequence[str], weights_after: Mapping[str, float]) -> tuple[str, ...]:
    """``names`` (ending in CASH) with every other symbol held after the plan (e.g. a
    substitute bought in a target's place) inserted before CASH, so that the weights after
    sum to 1."""
    extra = [s for s in weights_after if s not in names and s != CASH]
    if not extra:
        return tuple(names)
    return (*names[:-1], *extra, names[-1])


def finish_plan(
    household: Household,
    holdings: Holdings,
    after: Holdings,
    trades: Sequence[Trade],
    prices: Mapping[str, float],
    as_of: date,
    decision: Decision,
    names: Sequence[str],
    target_w: np.ndarray,
    weights_before: np.ndarray,
    total_before: float,
    warnings: list[str],
    unmet: Mapping[str, float],
    targets: Mapping[str, float],
) -> Plan:
    """The ``Plan`` of ``trades`` that took ``holdings`` to ``after`` (``names`` end in CASH)."""
    before = dict(zip(names, weights_before, strict=True))
    goal = dict(zip(names, target_w, strict=True))
    short_term = sum(t.realized_short_term for t in trades)
    long_term = sum(t.realized_long_term for t in trades)
    weights_after = after.weights(prices)
    names = with_bought(names, weights_after)
    for sym in names:
        weights_after.setdefault(sym, 0.0)
    reasons = decision.reasons
    if not trades:
        reasons = (*reasons, "no trades needed")
    if household.risk is not None:  # [risk] concentration limits: warn, or refuse targets
        from poise.risk import concentration_guard

        warnings.extend(concentration_guard(household, targets, weights_after))
    return Plan(
        as_of=as_of,
        triggered=decision.triggered,
        reasons=tuple(reasons),
        total_value=total_before,
        targets={s: float(goal.get(s, 0.0)) for s in names},
        weights_before={s: float(before.get(s, 0.0)) for s in names},
        weights_after={s: float(weights_after[s]) for s in names},
        trades=tuple(trades),
        holdings_before=holdings,
        holdings_after=after,
        estimated_tax=estimate_tax(short_term, long_term, household.tax),
        warnings=tuple(warnings),
        unmet_withdrawals=dict(unmet),
    )
