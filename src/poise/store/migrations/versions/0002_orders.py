"""orders: plans being executed, order intents, venue fills, books, cached price bars

Revision ID: 0002_orders
Revises: 0001
Create Date: 2026-11-30 12:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002_orders"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "order_plans",
        sa.Column("plan", sa.String(length=64), nullable=False),
        sa.Column("book", sa.String(length=200), nullable=False),
        sa.Column("venue", sa.String(length=16), nullable=False),
        sa.Column("as_of", sa.Date(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("plan", name=op.f("pk_order_plans")),
    )
    op.create_table(
        "order_intents",
        sa.Column("client_order_id", sa.String(length=48), nullable=False),
        sa.Column("plan", sa.String(length=64), nullable=False),
        sa.Column("leg", sa.Integer(), nullable=False),
        sa.Column("account", sa.String(length=100), nullable=False),
        sa.Column("symbol", sa.String(length=32), nullable=False),
        sa.Column("side", sa.String(length=4), nullable=False),
        sa.Column("quantity", sa.Float(), nullable=False),
        sa.Column("reference_price", sa.Float(), nullable=False),
        sa.Column("fractional", sa.Boolean(), nullable=False),
        sa.Column("venue", sa.String(length=16), nullable=False),
        sa.Column("state", sa.String(length=20), nullable=False),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("acknowledged_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("first_fill_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_fill_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("venue_order_id", sa.String(length=64), nullable=True),
        sa.Column("filled_quantity", sa.Float(), nullable=False),
        sa.Column("average_price", sa.Float(), nullable=True),
        sa.Column("reason", sa.String(length=500), nullable=False),
        sa.ForeignKeyConstraint(
            ["plan"], ["order_plans.plan"], name=op.f("fk_order_intents_plan_order_plans")
        ),
        sa.PrimaryKeyConstraint("client_order_id", name=op.f("pk_order_intents")),
    )
    op.create_index(op.f("ix_order_intents_plan"), "order_intents", ["plan"])
    op.create_index(op.f("ix_order_intents_state"), "order_intents", ["state"])
    op.create_table(
        "order_fills",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("venue", sa.String(length=16), nullable=False),
        sa.Column("execution_id", sa.String(length=128), nullable=False),
        sa.Column("client_order_id", sa.String(length=48), nullable=False),
        sa.Column("account", sa.String(length=100), nullable=False),
        sa.Column("symbol", sa.String(length=32), nullable=False),
        sa.Column("side", sa.String(length=4), nullable=False),
        sa.Column("quantity", sa.Float(), nullable=False),
        sa.Column("price", sa.Float(), nullable=False),
        sa.Column("cost", sa.Float(), nullable=False),
        sa.Column("cost_basis", sa.Float(), nullable=True),
        sa.Column("filled_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["client_order_id"],
            ["order_intents.client_order_id"],
            name=op.f("fk_order_fills_client_order_id_order_intents"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_order_fills")),
        sa.UniqueConstraint("venue", "execution_id", name=op.f("uq_order_fills_venue")),
    )
    op.create_index(op.f("ix_order_fills_client_order_id"), "order_fills", ["client_order_id"])
    op.create_table(
        "order_book_lots",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("book", sa.String(length=200), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("account", sa.String(length=100), nullable=False),
        sa.Column("symbol", sa.String(length=32), nullable=False),
        sa.Column("quantity", sa.Float(), nullable=False),
        sa.Column("cost_basis", sa.Float(), nullable=False),
        sa.Column("acquired", sa.Date(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_order_book_lots")),
    )
    op.create_index(op.f("ix_order_book_lots_book"), "order_book_lots", ["book"])
    op.create_table(
        "order_book_cash",
        sa.Column("book", sa.String(length=200), nullable=False),
        sa.Column("account", sa.String(length=100), nullable=False),
        sa.Column("amount", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("book", "account", name=op.f("pk_order_book_cash")),
    )
    op.create_table(
        "price_bars",
        sa.Column("source", sa.String(length=16), nullable=False),
        sa.Column("symbol", sa.String(length=32), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("close", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("source", "symbol", "day", name=op.f("pk_price_bars")),
    )


def downgrade() -> None:
    op.drop_table("price_bars")
    op.drop_table("order_book_cash")
    op.drop_index(op.f("ix_order_book_lots_book"), table_name="order_book_lots")
    op.drop_table("order_book_lots")
    op.drop_index(op.f("ix_order_fills_client_order_id"), table_name="order_fills")
    op.drop_table("order_fills")
    op.drop_index(op.f("ix_order_intents_state"), table_name="order_intents")
    op.drop_index(op.f("ix_order_intents_plan"), table_name="order_intents")
    op.drop_table("order_intents")
    op.drop_table("order_plans")
