"""Move holdings forward by what actually filled."""

from __future__ import annotations

from collections.abc import Iterable

from poise.model import Fill, Holdings, Side
from poise.plan import apply_trades

__all__ = ["apply_fills", "apply_fills_with_basis"]


def apply_fills(holdings: Holdings, fills: Iterable[Fill]) -> Holdings:
    """The holdings after ``fills``, in the order given.

    A buy fill opens a lot acquired on its fill date with basis value + cost; a sell fill
    removes shares from the account's lots of that symbol, oldest first, and adds its proceeds
    less cost to the account's cash. This is :func:`poise.plan.apply_trades` applied fill by
    fill, so a plan filled in full at its own prices ends exactly where the plan said.
    """
    out = holdings
    for fill in fills:
        out = apply_trades(out, [fill.to_trade()], fill.filled_at.date())
    return out


def apply_fills_with_basis(
    holdings: Holdings, fills: Iterable[Fill]
) -> tuple[Holdings, list[float | None]]:
    """:func:`apply_fills`, and the basis each fill disposed of (None for buys): the
    ``cost_basis`` column of the transactions CSV."""
    out = holdings
    bases: list[float | None] = []
    for fill in fills:
        before = sum(lot.cost_basis for lot in out.lots_of(fill.account, fill.symbol))
        out = apply_trades(out, [fill.to_trade()], fill.filled_at.date())
        if fill.side is Side.SELL:
            after = sum(lot.cost_basis for lot in out.lots_of(fill.account, fill.symbol))
            bases.append(before - after)
        else:
            bases.append(None)
    return out, bases
