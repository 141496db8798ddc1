"""Call log: who the caller was, as the agent recorded it with the wrap-up.

Revision ID: 0008_call_log_caller
Revises: 0007_callbacks
Create Date: 2026-11-30
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008_call_log_caller"
down_revision: str | None = "0007_callbacks"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("call_log") as batch:
        # The resident the agent chose (a household shares a number; a search may attach one).
        batch.add_column(sa.Column("caller_resident", sa.String(32), nullable=True))
        # "Someone else": the agent's words (a neighbour, the son).
        batch.add_column(sa.Column("caller_other", sa.String(200), nullable=True))
        batch.create_index("ix_call_log_caller_resident", ["caller_resident"])


def downgrade() -> None:
    with op.batch_alter_table("call_log") as batch:
        batch.drop_index("ix_call_log_caller_resident")
        batch.drop_column("caller_other")
        batch.drop_column("caller_resident")
