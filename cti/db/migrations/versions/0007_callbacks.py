"""Callbacks (cti/callbacks): abandoned callers to call back, and each placement.

Revision ID: 0007_callbacks
Revises: 0006_agent_role
Create Date: 2026-11-30
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007_callbacks"
down_revision: str | None = "0006_agent_role"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_TZ = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "callback",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("call_id", sa.String(64), nullable=False),
        sa.Column("number", sa.String(64)),
        sa.Column("queue", sa.String(64), nullable=False),
        sa.Column("language", sa.String(8)),
        sa.Column("resident_ids", sa.String(500), nullable=False, server_default=""),
        sa.Column("priority", sa.Integer, nullable=False),
        sa.Column("emergency", sa.Boolean, nullable=False, server_default=sa.false()),
        sa.Column("abandoned_at", _TZ, nullable=False),
        sa.Column("deadline_at", _TZ, nullable=False),
        sa.Column("repeats", sa.Integer, nullable=False, server_default="0"),
        sa.Column("status", sa.String(16), nullable=False, server_default="pending"),
        sa.Column("claimed_by", sa.String(64)),
        sa.Column("claimed_at", _TZ),
        sa.Column("first_placed_at", _TZ),
        sa.Column("outcome", sa.String(32)),
        sa.Column("note", sa.Text),
        sa.Column("closed_by", sa.String(64)),
        sa.Column("closed_at", _TZ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_callback")),
        sa.UniqueConstraint("call_id", name=op.f("uq_callback_call_id")),
    )
    op.create_index(op.f("ix_callback_number"), "callback", ["number"])
    op.create_index(op.f("ix_callback_priority"), "callback", ["priority"])
    op.create_index(op.f("ix_callback_abandoned_at"), "callback", ["abandoned_at"])
    op.create_index(op.f("ix_callback_status"), "callback", ["status"])
    op.create_table(
        "callback_attempt",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("callback_id", sa.Integer, nullable=False),
        sa.Column("agent", sa.String(64), nullable=False),
        sa.Column("seat", sa.String(32), nullable=False),
        sa.Column("number", sa.String(64), nullable=False),
        sa.Column("target", sa.String(16), nullable=False),
        sa.Column("placed_at", _TZ, nullable=False),
        sa.Column("result", sa.String(16), nullable=False, server_default="placing"),
        sa.Column("detail", sa.String(200)),
        sa.Column("ended_at", _TZ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_callback_attempt")),
        sa.ForeignKeyConstraint(
            ["callback_id"],
            ["callback.id"],
            name=op.f("fk_callback_attempt_callback_id_callback"),
        ),
    )
    op.create_index(op.f("ix_callback_attempt_callback_id"), "callback_attempt", ["callback_id"])


def downgrade() -> None:
    op.drop_table("callback_attempt")
    op.drop_table("callback")
