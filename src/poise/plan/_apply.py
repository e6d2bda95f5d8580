"""Move holdings forward: apply trades and cash flows."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace
from datetime import date

from poise.model import Holdings, Lot, Side, Trade

__all__ = ["apply_trades"]


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
    lots = list(holdings.lots)
    for account, amount in cash_flows:
        cash[account] = cash.get(account, 0.0) + amount
    for trade in trades:
        cash[trade.account] = cash.get(trade.account, 0.0) + trade.cash_change
        if trade.side is Side.BUY:
            lots.append(
                Lot(trade.account, trade.symbol, trade.quantity, trade.value + trade.cost, as_of)
            )
            continue
        if trade.lot_sales:
            for sale in trade.lot_sales:
                index = lots.index(sale.lot)
                lot = lots[index]
                _, rest = lot.take(sale.quantity)
                if rest is None:
                    del lots[index]
                else:
                    lots[index] = rest
            continue
        remaining = trade.quantity
        for index, lot in sorted(
            (
                (i, lot)
                for i, lot in enumerate(lots)
                if lot.account == trade.account and lot.symbol == trade.symbol
            ),
            key=lambda pair: pair[1].acquired,
        ):
            take = min(lot.quantity, remaining)
            lots[index] = replace(lot, quantity=0.0) if take >= lot.quantity else lot.take(take)[1]  # type: ignore[assignment]
            remaining -= take
            if remaining <= 1e-12:
                break
    return Holdings(tuple(lot for lot in lots if lot.quantity > 1e-12), cash)
