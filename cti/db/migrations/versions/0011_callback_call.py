"""Callbacks: every abandoned call listed once (`callback_call`), whichever node saw it end.

Several CTI nodes each see every call end and each hands an abandoned one to the callback
list; a repeat caller's call only raises the open callback (no row of its own), so the call
ids already handled are kept here, and the first node's insert wins.

Revision ID: 0011_callback_call
Revises: 0010_agent_ends_on
Create Date: 2026-11-30
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011_callback_call"
down_revision: str | None = "0010_agent_ends_on"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "callback_call",
        sa.Column("call_id", sa.String(64), nullable=False),
        sa.Column("callback_id", sa.Integer(), sa.ForeignKey("callback.id"), nullable=True),
        sa.PrimaryKeyConstraint("call_id", name=op.f("pk_callback_call")),
    )


def downgrade() -> None:
    op.drop_table("callback_call")
