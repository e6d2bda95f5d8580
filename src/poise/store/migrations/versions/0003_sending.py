"""sending: the order sender's lease and the queue of plans to send

Revision ID: 0003_sending
Revises: 0002_orders
Create Date: 2026-11-30 15:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003_sending"
down_revision = "0002_orders"
branch_labels = None
depends_on = None


def upgrade() -> None:
    lease = op.create_table(
        "sender_lease",
        sa.Column("name", sa.String(length=32), nullable=False),
        sa.Column("holder", sa.String(length=200), nullable=False),
        sa.Column("expires_at", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_sender_lease")),
    )
    op.bulk_insert(lease, [{"name": "orders", "holder": "", "expires_at": 0.0}])
    op.create_table(
        "send_requests",
        sa.Column("plan_id", sa.String(length=32), nullable=False),
        sa.Column("firm_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("actor", sa.String(length=320), nullable=False),
        sa.Column("connection", sa.String(length=32), nullable=False),
        sa.Column("routes", sa.JSON(), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("error", sa.String(length=500), nullable=False),
        sa.Column("requested_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("plan_id", name=op.f("pk_send_requests")),
    )
    op.create_index(op.f("ix_send_requests_firm_id"), "send_requests", ["firm_id"])
    op.create_index(op.f("ix_send_requests_state"), "send_requests", ["state"])


def downgrade() -> None:
    op.drop_index(op.f("ix_send_requests_state"), table_name="send_requests")
    op.drop_index(op.f("ix_send_requests_firm_id"), table_name="send_requests")
    op.drop_table("send_requests")
    op.drop_table("sender_lease")
