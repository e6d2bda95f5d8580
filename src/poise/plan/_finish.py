"""The last step every plan shares: holdings after the trades, weights, warnings, tax."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date

import numpy as np

from poise.model import Holdings, Household, Plan, Trade
from poise.policy import Decision
from poise.tax import estimate_tax

__all__ = ["finish_plan", "fmt_money", "unmet_withdrawals"]


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
    short_term = sum(t.realized_short_term for t in trades)
    long_term = sum(t.realized_long_term for t in trades)
    weights_after = after.weights(prices)
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
        targets={s: float(target_w[i]) for i, s in enumerate(names)},
        weights_before={s: float(w) for s, w in zip(names, weights_before, strict=True)},
        weights_after={s: float(weights_after[s]) for s in names},
        trades=tuple(trades),
        holdings_before=holdings,
        holdings_after=after,
        estimated_tax=estimate_tax(short_term, long_term, household.tax),
        warnings=tuple(warnings),
        unmet_withdrawals=dict(unmet),
    )
