"""Agent accounts (seats): a role, `agent` or `supervisor` (the wallboard needs the latter).

Revision ID: 0006_agent_role
Revises: 0005_call_log_rings
Create Date: 2026-12-01
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006_agent_role"
down_revision: str | None = "0005_call_log_rings"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("agent") as batch:
        batch.add_column(sa.Column("role", sa.String(16), nullable=False, server_default="agent"))


def downgrade() -> None:
    with op.batch_alter_table("agent") as batch:
        batch.drop_column("role")
