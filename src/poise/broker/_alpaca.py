"""Alpaca through alpaca-py (extra ``poise[alpaca]``), made safe for orders.

alpaca-py re-sends a request on HTTP 429 and 504 by itself and sets no HTTP timeout: a POST
re-sent after a 504 can double an order, and a silent server can hang poise forever. This
adapter turns both off: every request has a timeout, nothing is re-sent by the client, every
order carries poise's ``client_order_id``, and Alpaca's "client_order_id must be unique" answer
is taken to mean "the first send got there: look it up". A timeout, a 5xx or a 429 after a send
raises :class:`~poise.execute.VenueUnavailableError`; the sender then looks the order up by id.

Executions come from the account's ``FILL`` activities (each has its own id); the order's own
``filled_qty`` says whether every execution has been reported yet.

``POISE_ALPACA_URL`` and ``POISE_ALPACA_DATA_URL`` override the trading and market-data origins
(scheme, host and port, without ``/v2``); keys come from ``APCA_API_KEY_ID`` and
``APCA_API_SECRET_KEY``. Paper trading unless ``live``.
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from poise._errors import DataError, InputError
from poise.execute import (
    DuplicateOrderError,
    Order,
    OrderRefusedError,
    OrderState,
    VenueFill,
    VenueOrder,
    VenueUnavailableError,
)
from poise.feeds._alpaca_http import alpaca_keys, make_safe, timeout_session
from poise.model import Side

if TYPE_CHECKING:
    from poise.data import Quote
    from poise.feeds import AlpacaBars

__all__ = ["AlpacaVenue", "alpaca_keys", "timeout_session"]

DEFAULT_TIMEOUT = 10.0
"""Seconds before an HTTP request to Alpaca is abandoned (connect and read)."""

_STATUS = {
    "new": OrderState.SUBMITTED,
    "accepted": OrderState.SUBMITTED,
    "pending_new": OrderState.SUBMITTED,
    "accepted_for_bidding": OrderState.SUBMITTED,
    "pending_cancel": OrderState.SUBMITTED,
    "pending_replace": OrderState.SUBMITTED,
    "pending_review": OrderState.SUBMITTED,
    "held": OrderState.SUBMITTED,
    "calculated": OrderState.SUBMITTED,
    "stopped": OrderState.SUBMITTED,
    "suspended": OrderState.SUBMITTED,
    "partially_filled": OrderState.PARTIALLY_FILLED,
    "done_for_day": OrderState.PARTIALLY_FILLED,
    "filled": OrderState.FILLED,
    "canceled": OrderState.CANCELLED,
    "expired": OrderState.EXPIRED,
    "replaced": OrderState.CANCELLED,
    "rejected": OrderState.REJECTED,
}


def _float(raw: Any) -> float:
    return 0.0 if raw in (None, "") else float(raw)


def _time(raw: Any) -> datetime:
    if isinstance(raw, datetime):
        return raw if raw.tzinfo else raw.replace(tzinfo=UTC)
    text = str(raw).replace("Z", "+00:00")
    if "." in text:  # Alpaca sends nanoseconds; Python reads microseconds
        head, _, tail = text.partition(".")
        digits = "".join(ch for ch in tail if ch.isdigit())
        zone = tail[len(digits) :]
        text = f"{head}.{digits[:6]}{zone}"
    moment = datetime.fromisoformat(text)
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


class AlpacaVenue:
    """An Alpaca account as a :class:`~poise.execute.Venue`.

    Parameters
    ----------
    key_id, secret : str
        API keys.
    live : bool
        Trade the live account (paper by default).
    url : str, optional
        Trading origin; ``POISE_ALPACA_URL`` by default, else Alpaca's.
    timeout : float
        Seconds per HTTP request.
    """

    name = "alpaca"

    def __init__(
        self,
        key_id: str,
        secret: str,
        *,
        live: bool = False,
        url: str | None = None,
        timeout: float = DEFAULT_TIMEOUT,
    ) -> None:
        try:
            from alpaca.trading.client import TradingClient
        except ImportError:
            raise InputError(
                "Alpaca needs the alpaca extra: pip install 'poise[alpaca]'", field="--broker"
            ) from None
        origin = url or os.environ.get("POISE_ALPACA_URL") or None
        self.live = live
        self._keys = (key_id, secret)
        self._origin = origin
        self._timeout = timeout
        self._data: AlpacaBars | None = None
        self.client = make_safe(
            TradingClient(key_id, secret, paper=not live, raw_data=True, url_override=origin),
            timeout,
        )

    def _call(self, method: str, path: str, data: Any = None) -> Any:
        from alpaca.common.exceptions import APIError
        from requests import RequestException

        try:
            return self.client._request(method, path, data)
        except RequestException as exc:
            raise VenueUnavailableError(f"Alpaca did not answer ({type(exc).__name__})") from None
        except APIError as exc:
            status = exc.status_code or 0
            message = _message(str(exc))
            if status == 429 or status >= 500:
                raise VenueUnavailableError(f"Alpaca answered {status}: {message}") from None
            if "client_order_id must be unique" in message:
                raise DuplicateOrderError(message) from None
            if status == 404:
                return None
            raise OrderRefusedError(f"Alpaca answered {status}: {message}") from None

    def submit(self, order: Order) -> VenueOrder:
        body = {
            "symbol": order.symbol,
            "qty": f"{order.quantity:.9f}".rstrip("0").rstrip("."),
            "side": order.side.value,
            "type": "market",
            "time_in_force": "day",
            "client_order_id": order.client_order_id,
        }
        answer = self._call("POST", "/orders", body)
        return self._venue_order(answer)

    def lookup(self, client_order_id: str) -> VenueOrder | None:
        answer = self._call(
            "GET", "/orders:by_client_order_id", {"client_order_id": client_order_id}
        )
        if answer is None:
            return None
        return self._venue_order(answer)

    def cancel(self, client_order_id: str) -> None:
        found = self._call(
            "GET", "/orders:by_client_order_id", {"client_order_id": client_order_id}
        )
        if found is None or _STATUS.get(found["status"], OrderState.SUBMITTED).ended:
            return
        try:
            self._call("DELETE", f"/orders/{found['id']}")
        except OrderRefusedError:  # 422: no longer cancelable (it has just ended)
            return

    def cancel_all(self) -> None:
        """Cancel every open order of the account (Alpaca's ``DELETE /v2/orders``)."""
        self._call("DELETE", "/orders")

    def market_open(self) -> bool:
        clock = self._call("GET", "/clock")
        return bool(clock and clock.get("is_open"))

    def latest_quote(self, symbols: Sequence[str]) -> dict[str, Quote]:
        """The latest quote of each symbol from Alpaca's market-data API (alpaca-py's
        ``StockLatestQuoteRequest``, with this adapter's timeout and no retries);
        ``VenueUnavailableError`` when it does not answer.

        The data origin is ``POISE_ALPACA_DATA_URL``; else, when the trading origin is
        overridden (a local server, a proxy), that same origin; else Alpaca's."""
        from poise.feeds import AlpacaBars

        if self._data is None:
            origin = os.environ.get("POISE_ALPACA_DATA_URL") or self._origin
            self._data = AlpacaBars(self._keys[0], self._keys[1], url=origin, timeout=self._timeout)
        try:
            return self._data.latest_quote(symbols)
        except DataError as exc:
            raise VenueUnavailableError(str(exc)) from None

    def account(self) -> dict[str, Any]:
        """The account: ``cash``, ``buying_power`` and the rest as Alpaca sends them."""
        return dict(self._call("GET", "/account") or {})

    def positions(self) -> dict[str, float]:
        """Shares held per symbol."""
        return {p["symbol"]: _float(p["qty"]) for p in self._call("GET", "/positions") or []}

    def _executions(self, order: dict[str, Any]) -> tuple[VenueFill, ...]:
        if _float(order.get("filled_qty")) <= 0:
            return ()
        after = _time(order.get("submitted_at") or order["created_at"]) - timedelta(seconds=1)
        params: dict[str, Any] = {
            "direction": "asc",
            "page_size": 100,
            "after": after.isoformat().replace("+00:00", "Z"),
        }
        out = []
        while True:
            page = self._call("GET", "/account/activities/FILL", params) or []
            for activity in page:
                if activity.get("order_id") == order["id"]:
                    out.append(
                        VenueFill(
                            str(activity["id"]),
                            _float(activity["qty"]),
                            _float(activity["price"]),
                            _time(activity["transaction_time"]),
                        )
                    )
            if len(page) < params["page_size"]:
                return tuple(out)
            params["page_token"] = page[-1]["id"]

    def _venue_order(self, answer: dict[str, Any]) -> VenueOrder:
        return VenueOrder(
            answer["client_order_id"],
            str(answer["id"]),
            answer["symbol"],
            Side(answer["side"]),
            _float(answer.get("qty")),
            _STATUS.get(answer["status"], OrderState.SUBMITTED),
            _float(answer.get("filled_qty")),
            self._executions(answer),
            "" if answer["status"] != "rejected" else "rejected by Alpaca",
        )


def _message(text: str) -> str:
    try:
        body = json.loads(text)
    except ValueError:
        return text[:200]
    if isinstance(body, dict):
        return str(body.get("message", text))[:200]
    return text[:200]
