"""Order intents, venue fills and the books they move: the SQL :class:`OrderStore`.

Promises (see :mod:`poise.execute._store`): a plan's intents are written once, before any is
sent; each state change is committed before the sender goes on; new fills (unique per venue and
execution id), the book's lots and cash, and the intent's state are written in one transaction.
On SQLite a write transaction holds the write lock from its first statement; on PostgreSQL the
intent's row is locked (``SELECT ... FOR UPDATE``) while its fills are recorded.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import UTC, date, datetime
from typing import Any, cast

import pandas as pd
from sqlalchemy import (
    Boolean,
    Date,
    DateTime,
    Engine,
    Float,
    ForeignKey,
    Integer,
    String,
    Table,
    UniqueConstraint,
    delete,
    func,
    insert,
    select,
    update,
)
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Mapped, Session, mapped_column

from poise._errors import BrokerError
from poise.execute import (
    Intent,
    Order,
    OrderState,
    PlanRecord,
    apply_fills_with_basis,
    check_transition,
)
from poise.model import Fill, Holdings, Lot, Side
from poise.store._base import Base
from poise.store._engine import read_session, write_session
from poise.tax import Transaction

__all__ = [
    "BookCashRow",
    "BookLotRow",
    "OrderFillRow",
    "OrderIntentRow",
    "OrderPlanRow",
    "PriceBarRow",
    "SqlBarCache",
    "SqlOrderStore",
]


def _utc(moment: datetime | None) -> datetime | None:
    if moment is None:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


class OrderPlanRow(Base):
    """A plan being executed: its digest, whose book its fills move, and the venue."""

    __tablename__ = "order_plans"
    plan: Mapped[str] = mapped_column(String(64), primary_key=True)
    book: Mapped[str] = mapped_column(String(200), nullable=False)
    venue: Mapped[str] = mapped_column(String(16), nullable=False)
    as_of: Mapped[date] = mapped_column(Date, nullable=False)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)


class OrderIntentRow(Base):
    """One order intent and what is known of it (state, times, venue id, fills summed)."""

    __tablename__ = "order_intents"
    client_order_id: Mapped[str] = mapped_column(String(48), primary_key=True)
    plan: Mapped[str] = mapped_column(ForeignKey("order_plans.plan"), index=True, nullable=False)
    leg: Mapped[int] = mapped_column(Integer, nullable=False)
    account: Mapped[str] = mapped_column(String(100), nullable=False)
    symbol: Mapped[str] = mapped_column(String(32), nullable=False)
    side: Mapped[str] = mapped_column(String(4), nullable=False)
    quantity: Mapped[float] = mapped_column(Float, nullable=False)
    reference_price: Mapped[float] = mapped_column(Float, nullable=False)
    fractional: Mapped[bool] = mapped_column(Boolean, nullable=False)
    venue: Mapped[str] = mapped_column(String(16), nullable=False)
    state: Mapped[str] = mapped_column(String(20), index=True, nullable=False)
    decided_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    sent_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    acknowledged_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    first_fill_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    last_fill_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    venue_order_id: Mapped[str | None] = mapped_column(String(64))
    filled_quantity: Mapped[float] = mapped_column(Float, nullable=False, default=0.0)
    average_price: Mapped[float | None] = mapped_column(Float)
    reason: Mapped[str] = mapped_column(String(500), nullable=False, default="")


class OrderFillRow(Base):
    """One execution, recorded once: unique per venue and the venue's execution id."""

    __tablename__ = "order_fills"
    __table_args__ = (UniqueConstraint("venue", "execution_id"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    venue: Mapped[str] = mapped_column(String(16), nullable=False)
    execution_id: Mapped[str] = mapped_column(String(128), nullable=False)
    client_order_id: Mapped[str] = mapped_column(
        ForeignKey("order_intents.client_order_id"), index=True, nullable=False
    )
    account: Mapped[str] = mapped_column(String(100), nullable=False)
    symbol: Mapped[str] = mapped_column(String(32), nullable=False)
    side: Mapped[str] = mapped_column(String(4), nullable=False)
    quantity: Mapped[float] = mapped_column(Float, nullable=False)
    price: Mapped[float] = mapped_column(Float, nullable=False)
    cost: Mapped[float] = mapped_column(Float, nullable=False, default=0.0)
    cost_basis: Mapped[float | None] = mapped_column(Float)
    filled_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    recorded_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)


class BookLotRow(Base):
    """A lot of a book (a household's holdings moved by fills, or a plan file's own)."""

    __tablename__ = "order_book_lots"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    book: Mapped[str] = mapped_column(String(200), index=True, nullable=False)
    position: Mapped[int] = mapped_column(Integer, nullable=False)
    account: Mapped[str] = mapped_column(String(100), nullable=False)
    symbol: Mapped[str] = mapped_column(String(32), nullable=False)
    quantity: Mapped[float] = mapped_column(Float, nullable=False)
    cost_basis: Mapped[float] = mapped_column(Float, nullable=False)
    acquired: Mapped[date] = mapped_column(Date, nullable=False)


class BookCashRow(Base):
    """An account's cash in a book."""

    __tablename__ = "order_book_cash"
    book: Mapped[str] = mapped_column(String(200), primary_key=True)
    account: Mapped[str] = mapped_column(String(100), primary_key=True)
    amount: Mapped[float] = mapped_column(Float, nullable=False)


class PriceBarRow(Base):
    """A downloaded daily close (``alpaca:`` and ``yahoo:`` feeds), cached."""

    __tablename__ = "price_bars"
    source: Mapped[str] = mapped_column(String(16), primary_key=True)
    symbol: Mapped[str] = mapped_column(String(32), primary_key=True)
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    close: Mapped[float] = mapped_column(Float, nullable=False)


def _table(model: type[Base]) -> Table:
    return cast(Table, model.__table__)


def _intent(row: OrderIntentRow) -> Intent:
    order = Order(
        row.client_order_id,
        row.leg,
        row.account,
        row.symbol,
        Side(row.side),
        row.quantity,
        row.reference_price,
        row.fractional,
    )
    return Intent(
        row.plan,
        order,
        row.venue,
        OrderState(row.state),
        _utc(row.decided_at),
        _utc(row.sent_at),
        _utc(row.acknowledged_at),
        _utc(row.first_fill_at),
        _utc(row.last_fill_at),
        row.venue_order_id,
        row.filled_quantity,
        row.average_price,
        row.reason,
    )


def _intent_values(intent: Intent) -> dict[str, Any]:
    return {
        "quantity": intent.order.quantity,
        "reference_price": intent.order.reference_price,
        "state": intent.state.value,
        "decided_at": intent.decided_at,
        "sent_at": intent.sent_at,
        "acknowledged_at": intent.acknowledged_at,
        "first_fill_at": intent.first_fill_at,
        "last_fill_at": intent.last_fill_at,
        "venue_order_id": intent.venue_order_id,
        "filled_quantity": intent.filled_quantity,
        "average_price": intent.average_price,
        "reason": intent.reason[:500],
    }


def _write_intent(row: OrderIntentRow, intent: Intent) -> None:
    for key, value in _intent_values(intent).items():
        setattr(row, key, value)


def _fill(row: OrderFillRow) -> Fill:
    return Fill(
        row.account,
        row.symbol,
        Side(row.side),
        row.quantity,
        row.price,
        _utc(row.filled_at) or datetime.now(UTC),
        row.cost,
        row.execution_id,
        row.client_order_id,
    )


class SqlOrderStore:
    """The :class:`~poise.execute.OrderStore` in poise's database (SQLite or PostgreSQL)."""

    def __init__(
        self,
        engine: Engine,
        on_fills: Callable[[Session, Intent, Sequence[Fill]], None] | None = None,
        on_save: Callable[[Session, Intent, OrderState], None] | None = None,
    ) -> None:
        self.engine = engine
        self.on_fills = on_fills
        self.on_save = on_save
        """Called with the session, the intent written and its state before, in the
        transaction that writes it (e.g. to audit a cancel with the change itself)."""

    def add_plan(self, record: PlanRecord, intents: Sequence[Intent], book: Holdings) -> bool:
        try:
            return self._add_plan(record, intents, book)
        except IntegrityError:
            # Another process added the same plan at the same moment (PostgreSQL: its insert
            # waited for ours, then failed on the key, and rolled back all it wrote, the book
            # included); the plan is there now, so a second pass adds nothing but what is
            # missing.
            return self._add_plan(record, intents, book)

    def _add_plan(self, record: PlanRecord, intents: Sequence[Intent], book: Holdings) -> bool:
        with write_session(self.engine) as session:
            new = session.get(OrderPlanRow, record.plan) is None
            if new:
                session.add(
                    OrderPlanRow(
                        plan=record.plan,
                        book=record.book,
                        venue=record.venue,
                        as_of=record.as_of,
                        created_at=record.created_at,
                    )
                )
                session.flush()
            known = set(
                session.scalars(
                    select(OrderIntentRow.client_order_id).where(OrderIntentRow.plan == record.plan)
                )
            )
            for intent in intents:
                if intent.client_order_id in known:
                    continue
                new = True
                o = intent.order
                row = OrderIntentRow(
                    client_order_id=o.client_order_id,
                    plan=intent.plan,
                    leg=o.leg,
                    account=o.account,
                    symbol=o.symbol,
                    side=o.side.value,
                    reference_price=o.reference_price,
                    fractional=o.fractional,
                    venue=intent.venue,
                )
                _write_intent(row, intent)
                session.add(row)
            has_book = session.scalar(
                select(BookCashRow.account).where(BookCashRow.book == record.book).limit(1)
            ) or session.scalar(
                select(BookLotRow.id).where(BookLotRow.book == record.book).limit(1)
            )
            if not has_book:
                self._write_book(session, record.book, book)
        return new

    def plans(self) -> list[PlanRecord]:
        with read_session(self.engine) as session:
            rows = session.scalars(select(OrderPlanRow).order_by(OrderPlanRow.created_at)).all()
            return [
                PlanRecord(r.plan, r.book, r.venue, r.as_of, _utc(r.created_at) or r.created_at)
                for r in rows
            ]

    def intents(self, plan: str | None = None) -> list[Intent]:
        query = select(OrderIntentRow).order_by(OrderIntentRow.plan, OrderIntentRow.leg)
        if plan is not None:
            query = query.where(OrderIntentRow.plan == plan)
        with read_session(self.engine) as session:
            return [_intent(r) for r in session.scalars(query)]

    @staticmethod
    def _lock(
        session: Session, intent: Intent, expect: OrderState | None = None
    ) -> tuple[str, str, str]:
        """The stored (state, plan, venue) of the intent, its row locked; the move checked
        (and the stored state against ``expect``, when given)."""
        t = _table(OrderIntentRow)
        row = session.execute(
            select(t.c.state, t.c.plan, t.c.venue)
            .where(t.c.client_order_id == intent.client_order_id)
            .with_for_update()
        ).first()
        if row is None:
            raise BrokerError(f"no order intent {intent.client_order_id}")
        if expect is not None and row[0] != expect.value:
            raise BrokerError(f"order {intent.client_order_id} is {row[0]}, not {expect}")
        check_transition(OrderState(row[0]), intent.state)
        return row[0], row[1], row[2]

    @staticmethod
    def _update(session: Session, intent: Intent) -> None:
        t = _table(OrderIntentRow)
        session.execute(
            update(t)
            .where(t.c.client_order_id == intent.client_order_id)
            .values(**_intent_values(intent))
        )

    def save(self, intent: Intent, *, expect: OrderState | None = None) -> None:
        with write_session(self.engine) as session:
            before, _, _ = self._lock(session, intent, expect)
            self._update(session, intent)
            if self.on_save is not None:
                self.on_save(session, intent, OrderState(before))

    def record_fills(self, intent: Intent, fills: Sequence[Fill]) -> int:
        now = datetime.now(UTC)
        with write_session(self.engine) as session:
            _state, plan, venue = self._lock(session, intent)
            ids = [f.execution_id for f in fills]
            seen = set(
                session.scalars(
                    select(OrderFillRow.execution_id).where(
                        OrderFillRow.venue == venue, OrderFillRow.execution_id.in_(ids)
                    )
                )
            )
            new = [f for f in fills if f.execution_id not in seen]
            if new:
                book = session.scalar(select(OrderPlanRow.book).where(OrderPlanRow.plan == plan))
                if book is None:
                    raise BrokerError(f"no plan {plan} for order {intent.client_order_id}")
                self._apply(session, book, new, venue, now)
                if self.on_fills is not None:
                    self.on_fills(session, intent, new)  # e.g. audit them, same transaction
            self._update(session, intent)
            if self.on_save is not None:
                self.on_save(session, intent, OrderState(_state))
        return len(new)

    def _apply(
        self, session: Session, book: str, fills: Sequence[Fill], venue: str, now: datetime
    ) -> None:
        """Move only the positions and cash the fills touch; add the fill rows."""
        lots_t, cash_t = _table(BookLotRow), _table(BookCashRow)
        pairs = {(f.account, f.symbol) for f in fills}
        accounts = {f.account for f in fills}
        rows = [
            r
            for r in session.execute(
                select(lots_t)
                .where(lots_t.c.book == book, lots_t.c.account.in_(accounts))
                .order_by(lots_t.c.position)
            )
            if (r.account, r.symbol) in pairs
        ]
        cash: dict[str, float] = {
            account: amount
            for account, amount in session.execute(
                select(cash_t.c.account, cash_t.c.amount).where(
                    cash_t.c.book == book, cash_t.c.account.in_(accounts)
                )
            )
        }
        before = Holdings(
            tuple(Lot(r.account, r.symbol, r.quantity, r.cost_basis, r.acquired) for r in rows),
            cash,
        )
        after, bases = apply_fills_with_basis(before, fills)
        top = session.scalar(select(func.max(lots_t.c.position)).where(lots_t.c.book == book))
        start = -1 if top is None else top
        if rows:
            session.execute(delete(lots_t).where(lots_t.c.id.in_([r.id for r in rows])))
        kept = [r.position for r in rows]
        lot_values = []
        for k, lot in enumerate(after.lots):
            position = kept[k] if k < len(kept) else start + 1 + k - len(kept)
            lot_values.append(
                {
                    "book": book,
                    "position": position,
                    "account": lot.account,
                    "symbol": lot.symbol,
                    "quantity": lot.quantity,
                    "cost_basis": lot.cost_basis,
                    "acquired": lot.acquired,
                }
            )
        if lot_values:
            session.execute(insert(lots_t), lot_values)
        for account, amount in after.cash.items():
            if account in cash:
                session.execute(
                    update(cash_t)
                    .where(cash_t.c.book == book, cash_t.c.account == account)
                    .values(amount=amount)
                )
            else:
                session.execute(insert(cash_t).values(book=book, account=account, amount=amount))
        session.execute(
            insert(_table(OrderFillRow)),
            [
                {
                    "venue": venue,
                    "execution_id": fill.execution_id,
                    "client_order_id": fill.client_order_id,
                    "account": fill.account,
                    "symbol": fill.symbol,
                    "side": fill.side.value,
                    "quantity": fill.quantity,
                    "price": fill.price,
                    "cost": fill.cost,
                    "cost_basis": basis,
                    "filled_at": fill.filled_at,
                    "recorded_at": now,
                }
                for fill, basis in zip(fills, bases, strict=True)
            ],
        )

    def _fill_rows(self, plan: str | None) -> list[OrderFillRow]:
        query = select(OrderFillRow).order_by(OrderFillRow.id)
        if plan is not None:
            query = query.join(OrderIntentRow).where(OrderIntentRow.plan == plan)
        with read_session(self.engine) as session:
            return list(session.scalars(query))

    def fills(self, plan: str | None = None) -> list[Fill]:
        return [_fill(r) for r in self._fill_rows(plan)]

    def transactions(self, plan: str | None = None) -> list[Transaction]:
        return [
            Transaction(
                (_utc(r.filled_at) or r.filled_at).date(),
                r.account,
                r.symbol,
                Side(r.side),
                r.quantity,
                r.price,
                r.cost_basis,
            )
            for r in self._fill_rows(plan)
        ]

    def holdings(self, book: str) -> Holdings:
        with read_session(self.engine) as session:
            return self._read_book(session, book)

    @staticmethod
    def _read_book(session: Session, book: str) -> Holdings:
        lots = session.scalars(
            select(BookLotRow).where(BookLotRow.book == book).order_by(BookLotRow.position)
        )
        cash = session.scalars(select(BookCashRow).where(BookCashRow.book == book))
        return Holdings(
            tuple(Lot(r.account, r.symbol, r.quantity, r.cost_basis, r.acquired) for r in lots),
            {r.account: r.amount for r in cash},
        )

    @staticmethod
    def _write_book(session: Session, book: str, holdings: Holdings) -> None:
        session.execute(delete(BookLotRow).where(BookLotRow.book == book))
        session.execute(delete(BookCashRow).where(BookCashRow.book == book))
        for k, lot in enumerate(holdings.lots):
            session.add(
                BookLotRow(
                    book=book,
                    position=k,
                    account=lot.account,
                    symbol=lot.symbol,
                    quantity=lot.quantity,
                    cost_basis=lot.cost_basis,
                    acquired=lot.acquired,
                )
            )
        for account, amount in holdings.cash.items():
            session.add(BookCashRow(book=book, account=account, amount=amount))


class SqlBarCache:
    """The :class:`~poise.data.BarCache` in the store's ``price_bars`` table."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def last_day(self, source: str, symbol: str) -> date | None:
        with read_session(self.engine) as session:
            return session.scalar(
                select(func.max(PriceBarRow.day)).where(
                    PriceBarRow.source == source, PriceBarRow.symbol == symbol
                )
            )

    def put(self, source: str, closes: pd.DataFrame) -> None:
        rows = [
            {
                "source": source,
                "symbol": str(symbol),
                "day": pd.Timestamp(str(day)).date(),
                "close": float(value),
            }
            for symbol in closes.columns
            for day, value in closes[symbol].dropna().items()
        ]
        if not rows:
            return
        bars = _table(PriceBarRow)
        with write_session(self.engine) as session:
            for row in rows:  # a day already cached keeps its first close
                found = session.scalar(
                    select(bars.c.close).where(
                        bars.c.source == source,
                        bars.c.symbol == row["symbol"],
                        bars.c.day == row["day"],
                    )
                )
                if found is None:
                    session.execute(insert(bars).values(**row))

    def get(self, source: str, symbols: Sequence[str], end: date) -> pd.DataFrame:
        with read_session(self.engine) as session:
            rows = session.execute(
                select(PriceBarRow.symbol, PriceBarRow.day, PriceBarRow.close).where(
                    PriceBarRow.source == source,
                    PriceBarRow.symbol.in_(list(symbols)),
                    PriceBarRow.day <= end,
                )
            ).all()
        if not rows:
            return pd.DataFrame(columns=list(symbols))
        frame = pd.DataFrame(rows, columns=["symbol", "day", "close"])
        wide = frame.pivot(index="day", columns="symbol", values="close")
        wide.index = pd.DatetimeIndex(wide.index)
        return wide.reindex(columns=list(symbols)).sort_index()
