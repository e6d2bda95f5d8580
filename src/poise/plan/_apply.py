"""Move holdings forward: apply trades and cash flows."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import date

from poise.model import Holdings, Lot, Side, Trade

__all__ = ["apply_trades", "group_lots", "holdings_after_sells"]


def group_lots(lots: Iterable[Lot] | Holdings) -> dict[tuple[str, str], list[Lot]]:
    """Lots per (account, symbol), in their original order (new lists, free to modify; from
    a ``Holdings``, copied from its groups built once)."""
    if isinstance(lots, Holdings):
        return {key: list(group) for key, group in lots.groups().items()}
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


def _cash_after(
    holdings: Holdings, trades: Iterable[Trade], cash_flows: Iterable[tuple[str, float]]
) -> dict[str, float]:
    """Each account's cash after the flows, then the trades in order (in that order summed)."""
    cash = dict(holdings.cash)
    for account, amount in cash_flows:
        cash[account] = cash.get(account, 0.0) + amount
    for trade in trades:
        cash[trade.account] = cash.get(trade.account, 0.0) + trade.cash_change
    return cash


def apply_trades(
    holdings: Holdings,
    trades: Iterable[Trade],
    as_of: date,
    cash_flows: Iterable[tuple[str, float]] = (),
) -> Holdings:
    """The holdings after ``trades`` fill on ``as_of`` and ``cash_flows`` (account, amount) land.

    A buy opens a new lot whose basis is its value plus its cost; a sell removes the shares of
    the lots recorded in ``trade.lot_sales`` (or, without them, oldest first). Only the
    positions traded are touched: the lot groups of ``holdings`` are reused.
    """
    trades = list(trades)
    cash = _cash_after(holdings, trades, cash_flows)
    source = holdings.groups()
    groups: dict[tuple[str, str], list[Lot] | tuple[Lot, ...]] = dict(source)
    for trade in trades:
        key = (trade.account, trade.symbol)
        found = groups.get(key)
        group = found if isinstance(found, list) else [*found] if found is not None else []
        groups[key] = group
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
    return Holdings.from_groups(groups, cash)


def holdings_after_sells(
    holdings: Holdings,
    open_lots: Mapping[tuple[str, str], list[Lot]],
    trades: Iterable[Trade],
    as_of: date,
    cash_flows: Iterable[tuple[str, float]] = (),
) -> Holdings:
    """``apply_trades`` for a plan whose sells were already taken out of ``open_lots`` (the
    lot groups of ``holdings``, every sell of ``trades`` applied in order, as
    ``apply_trades`` applies them): only the buys are added. ``open_lots`` is modified."""
    trades = list(trades)
    cash = _cash_after(holdings, trades, cash_flows)
    groups: dict[tuple[str, str], list[Lot] | tuple[Lot, ...]] = dict(holdings.groups())
    groups.update(open_lots)
    for trade in trades:
        if trade.side is Side.BUY:
            key = (trade.account, trade.symbol)
            group = groups.get(key)
            if group is None or isinstance(group, tuple):
                group = [*group] if group is not None else []
                groups[key] = group
            group.append(
                Lot(trade.account, trade.symbol, trade.quantity, trade.value + trade.cost, as_of)
            )
    return Holdings.from_groups(groups, cash)
