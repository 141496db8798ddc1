"""Duty (queues/membership): each seat's desired queues and pause, and time per state.

Revision ID: 0004_duty
Revises: 0003_call_log
Create Date: 2026-11-30
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004_duty"
down_revision: str | None = "0003_call_log"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "seat_duty",
        sa.Column("seat", sa.String(32), nullable=False),
        sa.Column("agent", sa.String(64), nullable=False),
        sa.Column("queues", sa.String(500), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("reason", sa.String(32), nullable=True),
        sa.Column("since", sa.DateTime(timezone=True), nullable=False),
        sa.Column("acw_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("acw_call_id", sa.String(64), nullable=True),
        sa.PrimaryKeyConstraint("seat", name=op.f("pk_seat_duty")),
    )
    op.create_index(op.f("ix_seat_duty_agent"), "seat_duty", ["agent"])
    op.create_table(
        "duty_period",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("agent", sa.String(64), nullable=False),
        sa.Column("seat", sa.String(32), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("reason", sa.String(32), nullable=True),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ended_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("seconds", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_duty_period")),
    )
    op.create_index(op.f("ix_duty_period_agent"), "duty_period", ["agent"])
    op.create_index(op.f("ix_duty_period_started_at"), "duty_period", ["started_at"])


def downgrade() -> None:
    op.drop_table("duty_period")
    op.drop_table("seat_duty")
