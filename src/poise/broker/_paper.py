"""The paper venue: a remote broker simulated in its own database.

It lives in ``$POISE_HOME/paper.db`` (or ``POISE_PAPER_URL``), apart from poise's store, so it
outlives a crashed poise as a real broker would. A market order fills at the venue's price (the
plan's price unless ``--prices``) moved against it by ``POISE_PAPER_SLIPPAGE_BPS``; a repeated
``client_order_id`` is refused. It keeps no positions and checks no buying power.

On demand (environment, or the constructor's arguments):

- ``POISE_PAPER_SLICES=N``: each order fills in N equal executions, one when it is accepted and
  one per look-up (partial fills);
- ``POISE_PAPER_REJECT=SYM,...``: orders for these symbols are accepted, then rejected;
- ``POISE_PAPER_FAULT=NAME:K``: the K-th send of this process fails, NAME being
  ``timeout_after_accept`` (the order is stored, the caller hears nothing) or
  ``unavailable_before_accept`` (503, nothing stored);
- ``POISE_PAPER_MARKET=closed``: the clock says the market is closed.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

import sqlalchemy as sa

from poise._errors import InputError
from poise._numbers import number_problem
from poise.execute import (
    DuplicateOrderError,
    Order,
    OrderState,
    VenueFill,
    VenueOrder,
    VenueUnavailableError,
    slipped_price,
    utc_now,
)
from poise.model import Side

if TYPE_CHECKING:
    from poise.data import Quote

__all__ = ["PaperVenue", "paper_url"]

_metadata = sa.MetaData()
_orders = sa.Table(
    "paper_orders",
    _metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("client_order_id", sa.String(48), nullable=False, unique=True),
    sa.Column("symbol", sa.String(32), nullable=False),
    sa.Column("side", sa.String(4), nullable=False),
    sa.Column("quantity", sa.Float, nullable=False),
    sa.Column("price", sa.Float, nullable=False),
    sa.Column("status", sa.String(20), nullable=False),
    sa.Column("slices", sa.Integer, nullable=False),
    sa.Column("reason", sa.String(200), nullable=False, default=""),
    sa.Column("created_us", sa.BigInteger, nullable=False),
)
_fills = sa.Table(
    "paper_fills",
    _metadata,
    sa.Column("execution_id", sa.String(64), primary_key=True),
    sa.Column("order_id", sa.Integer, sa.ForeignKey("paper_orders.id"), nullable=False),
    sa.Column("quantity", sa.Float, nullable=False),
    sa.Column("price", sa.Float, nullable=False),
    sa.Column("filled_us", sa.BigInteger, nullable=False),
)

_STATUS = {
    "new": OrderState.SUBMITTED,
    "partially_filled": OrderState.PARTIALLY_FILLED,
    "filled": OrderState.FILLED,
    "cancelled": OrderState.CANCELLED,
    "rejected": OrderState.REJECTED,
}


def _us(moment: datetime) -> int:
    return round(moment.timestamp() * 1_000_000)


def _at(us: int) -> datetime:
    return datetime.fromtimestamp(us / 1_000_000, UTC)


def paper_url(home: Path) -> str:
    """``POISE_PAPER_URL``, else ``sqlite:///<home>/paper.db``."""
    return os.environ.get("POISE_PAPER_URL") or f"sqlite:///{home / 'paper.db'}"


def _shown_url(url: str) -> str:
    """``url`` with its password hidden (as given when it does not parse)."""
    try:
        return sa.engine.make_url(url).render_as_string(hide_password=True)
    except sa.exc.ArgumentError:
        return url


def _env_float(name: str, default: float) -> float:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = float(raw)
    except ValueError:
        raise InputError(f"must be a number, got {raw!r}", source=name) from None
    problem = number_problem(value)
    if problem is not None:
        raise InputError(f"{raw!r} {problem}", source=name)
    return value


class PaperVenue:
    """The paper venue (see the module docstring).

    Parameters
    ----------
    url : str
        SQLAlchemy URL of the venue's own database.
    prices : mapping of str to float, optional
        The price each symbol fills at before slippage; an order's reference price otherwise.
    slippage_bps, slices, reject, fault, market_open :
        Override the environment (``None`` reads it).
    clock : callable
        The venue's clock (fill times).
    """

    name = "paper"

    def __init__(
        self,
        url: str,
        prices: Mapping[str, float] | None = None,
        *,
        slippage_bps: float | None = None,
        slices: int | None = None,
        reject: frozenset[str] | None = None,
        fault: str | None = None,
        is_open: bool | None = None,
        clock: Callable[[], datetime] = utc_now,
    ) -> None:
        try:
            self.engine = sa.create_engine(url)
            if self.engine.dialect.name == "sqlite":
                sa.event.listen(self.engine, "connect", _sqlite_pragmas)
                sa.event.listen(self.engine, "begin", _sqlite_begin)
            _metadata.create_all(self.engine)
        except (sa.exc.ArgumentError, sa.exc.NoSuchModuleError, sa.exc.OperationalError) as exc:
            reason = str(getattr(exc, "orig", None) or exc).strip().splitlines()
            shown = _shown_url(url)
            raise InputError(
                f"cannot open the paper venue's database {shown}: "
                f"{reason[0] if reason else 'no reason given'}; check POISE_PAPER_URL "
                "(default: paper.db in POISE_HOME)",
                source="POISE_PAPER_URL",
            ) from None
        self.prices = dict(prices or {})
        env_slip = _env_float("POISE_PAPER_SLIPPAGE_BPS", 0.0)
        self.slippage_bps = env_slip if slippage_bps is None else slippage_bps
        self.slices = slices if slices is not None else int(_env_float("POISE_PAPER_SLICES", 1))
        if self.slices < 1:
            raise InputError("must be at least 1", source="POISE_PAPER_SLICES")
        env_reject = os.environ.get("POISE_PAPER_REJECT", "")
        self.reject = (
            reject
            if reject is not None
            else frozenset(s.strip() for s in env_reject.split(",") if s.strip())
        )
        spec = fault if fault is not None else os.environ.get("POISE_PAPER_FAULT", "")
        self._fault, _, k = spec.partition(":")
        self._fault_at = int(k or "1") if self._fault else 0
        self._sends = 0
        market = os.environ.get("POISE_PAPER_MARKET", "open") or "open"
        if is_open is None and market not in ("open", "closed"):
            raise InputError(f"must be open or closed, got {market!r}", source="POISE_PAPER_MARKET")
        self.is_open = is_open if is_open is not None else market != "closed"
        self.clock = clock

    def submit(self, order: Order) -> VenueOrder:
        self._sends += 1
        fault = self._fault if self._sends == self._fault_at else ""
        if fault == "unavailable_before_accept":
            raise VenueUnavailableError("503 service unavailable")
        base = self.prices.get(order.symbol, order.reference_price)
        status, reason = "new", ""
        if order.symbol in self.reject:
            status, reason = "rejected", f"{order.symbol} is not tradable at the paper venue"
        with self.engine.begin() as conn:
            exists = conn.execute(
                sa.select(_orders.c.id).where(_orders.c.client_order_id == order.client_order_id)
            ).first()
            if exists is not None:
                raise DuplicateOrderError("client_order_id must be unique")
            try:
                conn.execute(
                    _orders.insert().values(
                        client_order_id=order.client_order_id,
                        symbol=order.symbol,
                        side=order.side.value,
                        quantity=order.quantity,
                        price=slipped_price(base, order.side, self.slippage_bps),
                        status=status,
                        slices=self.slices,
                        reason=reason,
                        created_us=_us(self.clock()),
                    )
                )
            except sa.exc.IntegrityError:
                raise DuplicateOrderError("client_order_id must be unique") from None
            self._fill_slice(conn, order.client_order_id)
        if fault == "timeout_after_accept":
            raise VenueUnavailableError("504 gateway timeout (the order was accepted)")
        found = self.lookup(order.client_order_id, advance=False)
        if found is None:  # another process removed the database under us
            raise VenueUnavailableError("the paper venue lost the order it just accepted")
        return found

    def lookup(self, client_order_id: str, *, advance: bool = True) -> VenueOrder | None:
        with self.engine.begin() as conn:
            if advance:
                self._fill_slice(conn, client_order_id)
            row = conn.execute(
                sa.select(_orders).where(_orders.c.client_order_id == client_order_id)
            ).first()
            if row is None:
                return None
            fills = conn.execute(
                sa.select(_fills).where(_fills.c.order_id == row.id).order_by(_fills.c.filled_us)
            ).all()
        executions = tuple(
            VenueFill(f.execution_id, f.quantity, f.price, _at(f.filled_us)) for f in fills
        )
        return VenueOrder(
            row.client_order_id,
            f"paper-{row.id}",
            row.symbol,
            Side(row.side),
            row.quantity,
            _STATUS[row.status],
            sum(f.quantity for f in executions),
            executions,
            row.reason,
        )

    def cancel(self, client_order_id: str) -> None:
        with self.engine.begin() as conn:
            conn.execute(
                _orders.update()
                .where(_orders.c.client_order_id == client_order_id)
                .where(_orders.c.status.in_(["new", "partially_filled"]))
                .values(status="cancelled", reason="cancelled by user")
            )

    def market_open(self) -> bool:
        return self.is_open

    def latest_quote(self, symbols: Sequence[str]) -> dict[str, Quote]:
        """The venue's price of each symbol it has one for (before slippage), quoted now."""
        from poise.data import Quote

        now = self.clock()
        return {s: Quote(s, self.prices[s], now) for s in symbols if s in self.prices}

    def orders(self) -> list[VenueOrder]:
        """Every order the venue holds, oldest first (``poise paper orders``)."""
        with self.engine.connect() as conn:
            ids = conn.execute(sa.select(_orders.c.client_order_id).order_by(_orders.c.id)).all()
        out = []
        for (cid,) in ids:
            found = self.lookup(cid, advance=False)
            if found is not None:
                out.append(found)
        return out

    def _fill_slice(self, conn: sa.Connection, client_order_id: str) -> None:
        row = conn.execute(
            sa.select(_orders).where(_orders.c.client_order_id == client_order_id).with_for_update()
        ).first()
        if row is None or row.status not in ("new", "partially_filled"):
            return
        done = conn.execute(
            sa.select(sa.func.count(), sa.func.coalesce(sa.func.sum(_fills.c.quantity), 0.0)).where(
                _fills.c.order_id == row.id
            )
        ).one()
        count, filled = int(done[0]), float(done[1])
        last = count + 1 == row.slices
        quantity = row.quantity - filled if last else row.quantity / row.slices
        conn.execute(
            _fills.insert().values(
                execution_id=f"paper-{row.id}-{count + 1}",
                order_id=row.id,
                quantity=quantity,
                price=row.price,
                filled_us=_us(self.clock()),
            )
        )
        conn.execute(
            _orders.update()
            .where(_orders.c.id == row.id)
            .values(status="filled" if last else "partially_filled")
        )


def _sqlite_begin(conn: sa.Connection) -> None:
    # one writer at a time from the first statement: a look-up that fills a slice and a cancel
    # (or another look-up) cannot interleave their read and write (a lost update)
    conn.exec_driver_sql("BEGIN IMMEDIATE")


def _sqlite_pragmas(dbapi_connection: object, _record: object) -> None:
    dbapi_connection.isolation_level = None  # type: ignore[attr-defined]  # BEGIN is ours
    cursor = dbapi_connection.cursor()  # type: ignore[attr-defined]
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA busy_timeout=5000")
    cursor.close()
