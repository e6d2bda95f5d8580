"""Pre-trade checks: what poise refuses to send, and how it sizes buys to the cash it has.

Guaranteed: buys never spend more than an account's cash above its reserve, counted after the
sells' fills and net of buys already sent, at the reference price raised by ``price_buffer_bps``
(a market order's fill price is not known in advance: cash stays above the reserve as long as
the fill price is within that buffer of the reference). Every refusal carries its reason.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date

from poise.execute._orders import Order
from poise.model import Side

__all__ = ["PreTradeRules", "refusal", "size_buys"]

_FRACTION_STEP = 1e-6
"""Fractional buys are rounded down to a millionth of a share."""


@dataclass(frozen=True, slots=True, kw_only=True)
class PreTradeRules:
    """What an order must pass before it is sent.

    Parameters
    ----------
    cash_reserve : float
        Currency left uninvested in each account; buys are sized to keep it.
    min_notional : float
        Smallest order value (currency) a venue accepts (Alpaca: 1.00).
    max_order_value : float, optional
        Largest order value (currency) poise sends; larger orders are refused.
    restricted : frozenset of str
        Symbols the user may not trade (e.g. an employer's stock in a blackout).
    require_open_market : bool
        Refuse to send while the venue's clock says the market is closed.
    price_buffer_bps : float
        Headroom on the reference price when sizing buys to the cash available.
    fractionable : frozenset of str, optional
        Symbols the venue trades in fractions; None means every symbol.
    loss_sales : mapping of str to date
        The household's latest loss sale per symbol: a buy within ``wash_window_days`` after
        it would wash that loss (IRC §1091) and is refused.
    wash_window_days : int
        The wash-sale window (30 days).
    """

    cash_reserve: float = 0.0
    min_notional: float = 1.0
    max_order_value: float | None = None
    restricted: frozenset[str] = frozenset()
    require_open_market: bool = True
    price_buffer_bps: float = 50.0
    fractionable: frozenset[str] | None = None
    loss_sales: Mapping[str, date] = field(default_factory=dict)
    wash_window_days: int = 30


def refusal(order: Order, rules: PreTradeRules, *, today: date) -> str | None:
    """Why ``order`` may not be sent, or None when it passes every check."""
    value = order.reference_value
    if order.symbol in rules.restricted:
        return f"{order.symbol} is on the restricted list"
    if order.quantity <= 0:
        return "nothing left to trade after sizing to the cash available"
    whole = float(order.quantity).is_integer()
    if not whole and rules.fractionable is not None and order.symbol not in rules.fractionable:
        return f"{order.symbol} trades in whole shares only; {order.quantity:g} is fractional"
    if value < rules.min_notional:
        return f"order value {value:,.2f} is below the venue's minimum {rules.min_notional:,.2f}"
    if rules.max_order_value is not None and value > rules.max_order_value:
        return f"order value {value:,.2f} is above the maximum {rules.max_order_value:,.2f}"
    if order.side is Side.BUY and order.symbol in rules.loss_sales:
        sold = rules.loss_sales[order.symbol]
        if 0 <= (today - sold).days <= rules.wash_window_days:
            return (
                f"buying {order.symbol} on {today} would wash the loss sold on {sold} "
                f"(within {rules.wash_window_days} days)"
            )
    return None


def size_buys(
    buys: Sequence[Order],
    available: Mapping[str, float],
    rules: PreTradeRules,
) -> dict[str, float]:
    """Quantities of ``buys`` that fit each account's ``available`` cash (above its reserve).

    Parameters
    ----------
    buys : sequence of Order
        Buy orders not yet sent.
    available : mapping of str to float
        Per account: cash less the reserve less what buys already sent may still spend.

    Returns
    -------
    dict
        ``client_order_id`` → quantity: unchanged when the account's buys fit, else every buy
        of that account scaled down by the same factor (whole shares rounded down, fractions
        to a millionth of a share).
    """
    factor = 1.0 + rules.price_buffer_bps * 1e-4
    need: dict[str, float] = {}
    for order in buys:
        need[order.account] = need.get(order.account, 0.0) + order.reference_value * factor
    out = {}
    for order in buys:
        room = max(available.get(order.account, 0.0), 0.0)
        total = need[order.account]
        if total <= room:
            out[order.client_order_id] = order.quantity
            continue
        quantity = order.quantity * room / total
        step = _FRACTION_STEP if order.fractional else 1.0
        out[order.client_order_id] = math.floor(quantity / step) * step
    return out
