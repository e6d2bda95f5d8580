"""A fake Alpaca (trading and market-data routes) on loopback, for tests.

It answers the routes the adapter uses with Alpaca's status codes and JSON shapes: orders
(``POST /v2/orders``, ``GET /v2/orders:by_client_order_id``, ``GET|DELETE /v2/orders/{id}``,
``DELETE /v2/orders``), ``GET /v2/account``, ``GET /v2/positions``, ``GET /v2/clock``,
``GET /v2/account/activities/FILL``, ``GET /v2/stocks/bars`` and
``GET /v2/stocks/quotes/latest`` (from ``quotes``: symbol → (bid, ask), else the symbol's
price on both sides; ``quote_fault`` set to a status answers that status instead). A repeated
client_order_id is 422 ``client_order_id must be unique``; an unknown one is 404.

Faults, consumed one per ``POST /v2/orders`` (``faults`` list): ``"504_after_accept"`` (stores
the order, answers 504), ``"429"`` (stores nothing, 429), ``"500_before_accept"``,
``"delay:SECONDS"`` (stores the order, then sleeps before answering). ``drop_fills`` hides FILL
activities (the order still says filled) until it is set back to False.
"""

from __future__ import annotations

import json
import threading
import time
import uuid
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlparse


def _now() -> str:
    return datetime.now(UTC).isoformat().replace("+00:00", "Z")


class FakeAlpaca:
    """State and behaviour of the fake; ``url`` is its origin (``http://127.0.0.1:PORT``)."""

    def __init__(self, prices: dict[str, float] | None = None, cash: float = 100_000.0):
        self.prices = dict(prices or {})
        self.cash = cash
        self.orders: dict[str, dict[str, Any]] = {}  # by id
        self.activities: list[dict[str, Any]] = []
        self.faults: list[str] = []
        self.drop_fills = False
        self.is_open = True
        self.bars: dict[str, list[tuple[str, float]]] = {}
        self.bar_requests: list[dict[str, str]] = []
        self.quotes: dict[str, tuple[float, float]] = {}
        self.quote_requests: list[dict[str, str]] = []
        self.quote_fault: int | None = None
        self.posts = 0
        self.lock = threading.Lock()
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def do_GET(self) -> None:
                fake._route(self, "GET")

            def do_POST(self) -> None:
                fake._route(self, "POST")

            def do_DELETE(self) -> None:
                fake._route(self, "DELETE")

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    # -- routes ----------------------------------------------------------------------------

    def _route(self, req: BaseHTTPRequestHandler, method: str) -> None:
        parsed = urlparse(req.path)
        query = {k: v[0] for k, v in parse_qs(parsed.query).items()}
        body = None
        if method == "POST":
            length = int(req.headers.get("Content-Length") or 0)
            body = json.loads(req.rfile.read(length) or b"{}")
        if not req.headers.get("APCA-API-KEY-ID"):
            return self._send(req, 401, {"code": 40110000, "message": "request is not authorized"})
        path = parsed.path
        if method == "POST" and path == "/v2/orders":
            return self._post_order(req, body or {})
        if method == "GET" and path == "/v2/orders:by_client_order_id":
            order = self._by_client_id(query.get("client_order_id", ""))
            if order is None:
                return self._send(req, 404, {"code": 40410000, "message": "order not found"})
            return self._send(req, 200, order)
        if path.startswith("/v2/orders/"):
            order = self.orders.get(path.rsplit("/", 1)[1])
            if order is None:
                return self._send(req, 404, {"code": 40410000, "message": "order not found"})
            if method == "DELETE":
                if order["status"] in ("filled", "canceled", "rejected", "expired"):
                    return self._send(
                        req, 422, {"code": 42210000, "message": "order is not cancelable"}
                    )
                order["status"], order["canceled_at"] = "canceled", _now()
                return self._send(req, 204, None)
            return self._send(req, 200, order)
        if method == "DELETE" and path == "/v2/orders":
            out = []
            for order in self.orders.values():
                if order["status"] in ("new", "accepted", "partially_filled"):
                    order["status"] = "canceled"
                    out.append({"id": order["id"], "status": 200})
            return self._send(req, 207, out)
        if path == "/v2/account":
            return self._send(req, 200, self._account())
        if path == "/v2/positions":
            return self._send(req, 200, self._positions())
        if path == "/v2/clock":
            return self._send(
                req,
                200,
                {
                    "timestamp": _now(),
                    "is_open": self.is_open,
                    "next_open": "2030-01-02T14:30:00Z",
                    "next_close": "2030-01-02T21:00:00Z",
                },
            )
        if path == "/v2/account/activities/FILL":
            return self._send(req, 200, self._fills(query))
        if path == "/v2/stocks/quotes/latest":
            self.quote_requests.append(query)
            if self.quote_fault is not None:
                return self._send(req, self.quote_fault, {"code": 50010000, "message": "down"})
            return self._send(req, 200, self._latest_quotes(query))
        if path == "/v2/stocks/bars":
            self.bar_requests.append(query)
            return self._send(req, 200, self._bars(query))
        return self._send(req, 404, {"code": 40410000, "message": "route not found"})

    def _send(self, req: BaseHTTPRequestHandler, status: int, payload: Any) -> None:
        data = b"" if payload is None else json.dumps(payload).encode()
        try:
            req.send_response(status)
            req.send_header("Content-Type", "application/json")
            req.send_header("Content-Length", str(len(data)))
            req.end_headers()
            req.wfile.write(data)
        except (BrokenPipeError, ConnectionResetError):
            pass

    def _by_client_id(self, cid: str) -> dict[str, Any] | None:
        return next((o for o in self.orders.values() if o["client_order_id"] == cid), None)

    def _post_order(self, req: BaseHTTPRequestHandler, body: dict[str, Any]) -> None:
        with self.lock:
            self.posts += 1
            fault = self.faults.pop(0) if self.faults else ""
            if fault == "429":
                return self._send(req, 429, {"code": 42910000, "message": "rate limit exceeded"})
            if fault == "500_before_accept":
                return self._send(req, 500, {"code": 50010000, "message": "internal error"})
            cid = body.get("client_order_id") or str(uuid.uuid4())
            if self._by_client_id(cid) is not None:
                return self._send(
                    req, 422, {"code": 40010001, "message": "client_order_id must be unique"}
                )
            qty = float(body["qty"])
            symbol = body["symbol"]
            price = self.prices.get(symbol, 100.0)
            if body["side"] == "buy" and qty * price > self.cash:
                return self._send(
                    req, 403, {"code": 40310000, "message": "insufficient buying power"}
                )
            order = self._new_order(cid, symbol, body["side"], qty)
            self.orders[order["id"]] = order
            self._fill(order, price)
        if fault.startswith("delay:"):
            time.sleep(float(fault.split(":")[1]))
        if fault == "504_after_accept":
            return self._send(req, 504, None)
        return self._send(req, 200, order)

    def _new_order(self, cid: str, symbol: str, side: str, qty: float) -> dict[str, Any]:
        now = _now()
        return {
            "id": str(uuid.uuid4()),
            "client_order_id": cid,
            "created_at": now,
            "updated_at": now,
            "submitted_at": now,
            "filled_at": None,
            "expired_at": None,
            "canceled_at": None,
            "failed_at": None,
            "replaced_at": None,
            "replaced_by": None,
            "replaces": None,
            "asset_id": str(uuid.uuid5(uuid.NAMESPACE_DNS, symbol)),
            "symbol": symbol,
            "asset_class": "us_equity",
            "notional": None,
            "qty": f"{qty:g}",
            "filled_qty": "0",
            "filled_avg_price": None,
            "order_class": "",
            "order_type": "market",
            "type": "market",
            "side": side,
            "time_in_force": "day",
            "limit_price": None,
            "stop_price": None,
            "status": "accepted",
            "extended_hours": False,
            "legs": None,
            "trail_percent": None,
            "trail_price": None,
            "hwm": None,
        }

    def _fill(self, order: dict[str, Any], price: float) -> None:
        qty = float(order["qty"])
        now = _now()
        order.update(
            status="filled", filled_qty=order["qty"], filled_avg_price=f"{price}", filled_at=now
        )
        self.cash += -qty * price if order["side"] == "buy" else qty * price
        self.activities.append(
            {
                "id": f"{now.replace('-', '').replace(':', '')}::{uuid.uuid4()}",
                "activity_type": "FILL",
                "transaction_time": now,
                "type": "fill",
                "price": f"{price}",
                "qty": order["qty"],
                "side": order["side"],
                "symbol": order["symbol"],
                "leaves_qty": "0",
                "order_id": order["id"],
                "cum_qty": order["qty"],
                "order_status": "filled",
            }
        )

    def _fills(self, query: dict[str, str]) -> list[dict[str, Any]]:
        if self.drop_fills:
            return []
        rows = [a for a in self.activities if a["transaction_time"] >= query.get("after", "")]
        size = int(query.get("page_size", 100))
        token = query.get("page_token")
        if token:
            index = next(i for i, a in enumerate(rows) if a["id"] == token)
            rows = rows[index + 1 :]
        return rows[:size]

    def _account(self) -> dict[str, Any]:
        return {
            "id": "c8f1ef5d-edc0-4f23-9ee4-378f19cb92a4",
            "account_number": "PA0000000",
            "status": "ACTIVE",
            "currency": "USD",
            "cash": f"{self.cash:.2f}",
            "buying_power": f"{self.cash:.2f}",
            "portfolio_value": f"{self.cash:.2f}",
            "pattern_day_trader": False,
            "trading_blocked": False,
            "account_blocked": False,
        }

    def _positions(self) -> list[dict[str, Any]]:
        held: dict[str, float] = {}
        for a in self.activities:
            sign = 1.0 if a["side"] == "buy" else -1.0
            held[a["symbol"]] = held.get(a["symbol"], 0.0) + sign * float(a["qty"])
        return [
            {
                "asset_id": str(uuid.uuid5(uuid.NAMESPACE_DNS, s)),
                "symbol": s,
                "exchange": "NASDAQ",
                "asset_class": "us_equity",
                "qty": f"{q:g}",
                "side": "long",
            }
            for s, q in held.items()
            if q
        ]

    def _bars(self, query: dict[str, str]) -> dict[str, Any]:
        symbols = query.get("symbols", "").split(",")
        start = query.get("start", "")[:10]
        end = query.get("end", "9999")[:10]
        out = {}
        for sym in symbols:
            rows = [(d, c) for d, c in self.bars.get(sym, []) if start <= d <= end]
            if rows:
                out[sym] = [
                    {
                        "t": f"{d}T05:00:00Z",
                        "o": c,
                        "h": c,
                        "l": c,
                        "c": c,
                        "v": 1000,
                        "n": 10,
                        "vw": c,
                    }
                    for d, c in rows
                ]
        return {"bars": out, "next_page_token": None}

    def _latest_quotes(self, query: dict[str, str]) -> dict[str, Any]:
        now = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f") + "123Z"  # nanoseconds
        out = {}
        for sym in query.get("symbols", "").split(","):
            if sym in self.quotes:
                bid, ask = self.quotes[sym]
            elif sym in self.prices:
                bid = ask = self.prices[sym]
            else:
                continue
            out[sym] = {
                "t": now,
                "ax": "V",
                "ap": ask,
                "as": 1,
                "bx": "V",
                "bp": bid,
                "bs": 1,
                "c": ["R"],
                "z": "C",
            }
        return {"quotes": out}
