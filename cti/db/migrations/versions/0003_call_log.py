"""Call log (cti/state): one row per finished call, with the agent's wrap-up.

Revision ID: 0003_call_log
Revises: 0002_agents
Create Date: 2026-11-23
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003_call_log"
down_revision: str | None = "0002_agents"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "call_log",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("call_id", sa.String(64), nullable=False),
        sa.Column("queue", sa.String(64), nullable=False),
        sa.Column("language", sa.String(8), nullable=True),
        sa.Column("caller_number", sa.String(64), nullable=True),
        sa.Column("caller_name", sa.String(200), nullable=True),
        sa.Column("resident_ids", sa.String(500), nullable=False),
        sa.Column("agent", sa.String(64), nullable=True),
        sa.Column("seat", sa.String(32), nullable=True),
        sa.Column("joined_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ended_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("waited_s", sa.Float(), nullable=False),
        sa.Column("talked_s", sa.Float(), nullable=True),
        sa.Column("outcome", sa.String(16), nullable=False),
        sa.Column("closed_on_resync", sa.Boolean(), nullable=False),
        sa.Column("wrapup_outcome", sa.String(32), nullable=True),
        sa.Column("wrapup_note", sa.Text(), nullable=True),
        sa.Column("wrapup_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_call_log")),
        sa.UniqueConstraint("call_id", name=op.f("uq_call_log_call_id")),
    )
    op.create_index(op.f("ix_call_log_queue"), "call_log", ["queue"])
    op.create_index(op.f("ix_call_log_agent"), "call_log", ["agent"])
    op.create_index(op.f("ix_call_log_joined_at"), "call_log", ["joined_at"])


def downgrade() -> None:
    op.drop_index(op.f("ix_call_log_joined_at"), table_name="call_log")
    op.drop_index(op.f("ix_call_log_agent"), table_name="call_log")
    op.drop_index(op.f("ix_call_log_queue"), table_name="call_log")
    op.drop_table("call_log")
