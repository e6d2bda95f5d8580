"""Move holdings forward: apply trades and cash flows."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date

from poise.model import Holdings, Lot, Side, Trade

__all__ = ["apply_trades", "group_lots"]


def group_lots(lots: Iterable[Lot]) -> dict[tuple[str, str], list[Lot]]:
    """Lots per (account, symbol), in their original order."""
    groups: dict[tuple[str, str], list[Lot]] = {}
    for lot in lots:
        groups.setdefault((lot.account, lot.symbol), []).append(lot)
    return groups


def _find(group: list[Lot], lot: Lot, positions: dict[int, int]) -> int:
    """The index of ``lot`` in ``group``: by identity through ``positions`` (built once per
    trade, so that a sell of many lots stays linear), else the first equal lot."""
    i = positions.get(id(lot))
    if i is not None and group[i] is lot:
        return i
    return group.index(lot)


def apply_trades(
    holdings: Holdings,
    trades: Iterable[Trade],
    as_of: date,
    cash_flows: Iterable[tuple[str, float]] = (),
) -> Holdings:
    """The holdings after ``trades`` fill on ``as_of`` and ``cash_flows`` (account, amount) land.

    A buy opens a new lot whose basis is its value plus its cost; a sell removes the shares of
    the lots recorded in ``trade.lot_sales`` (or, without them, oldest first).
    """
    cash = dict(holdings.cash)
    groups = group_lots(holdings.lots)
    for account, amount in cash_flows:
        cash[account] = cash.get(account, 0.0) + amount
    for trade in trades:
        cash[trade.account] = cash.get(trade.account, 0.0) + trade.cash_change
        group = groups.setdefault((trade.account, trade.symbol), [])
        if trade.side is Side.BUY:
            group.append(
                Lot(trade.account, trade.symbol, trade.quantity, trade.value + trade.cost, as_of)
            )
            continue
        if trade.lot_sales:
            positions = {id(lot): i for i, lot in enumerate(group)}
            parts = [(_find(group, sale.lot, positions), sale.quantity) for sale in trade.lot_sales]
        else:
            parts = []
            remaining = trade.quantity
            for i in sorted(range(len(group)), key=lambda k: group[k].acquired):
                if remaining <= 1e-12:
                    break
                take = min(group[i].quantity, remaining)
                parts.append((i, take))
                remaining -= take
        gone = set()
        for index, quantity in parts:
            rest = group[index].take(quantity)[1]
            if rest is None:
                gone.add(index)
            else:
                group[index] = rest
        if gone:
            group[:] = [lot for i, lot in enumerate(group) if i not in gone]
    lots = tuple(lot for group in groups.values() for lot in group if lot.quantity > 1e-12)
    return Holdings(lots, cash)
