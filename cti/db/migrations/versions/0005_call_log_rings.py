"""Call log (cti/state): every ring of a call and how it ended, and who hung up.

Revision ID: 0005_call_log_rings
Revises: 0004_duty
Create Date: 2026-11-30
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005_call_log_rings"
down_revision: str | None = "0004_duty"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("call_log") as batch:
        batch.add_column(sa.Column("rings", sa.Text(), nullable=False, server_default="[]"))
        batch.add_column(sa.Column("hung_up_by", sa.String(16), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("call_log") as batch:
        batch.drop_column("hung_up_by")
        batch.drop_column("rings")
