"""Change-sets (cti/admin): every applied version of the configuration.

Revision ID: 0009_admin_version
Revises: 0008_call_log_caller
Create Date: 2026-11-30
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009_admin_version"
down_revision: str | None = "0008_call_log_caller"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "admin_version",
        sa.Column("version", sa.Integer, nullable=False, autoincrement=False),
        sa.Column("author", sa.String(64), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("comment", sa.String(200), nullable=False),
        sa.Column("rollback_of", sa.Integer, nullable=True),
        sa.Column("asterisk_applied", sa.Boolean, nullable=False),
        sa.Column("results", sa.Text, nullable=False),
        sa.Column("config", sa.Text, nullable=False),
        sa.PrimaryKeyConstraint("version", name=op.f("pk_admin_version")),
    )


def downgrade() -> None:
    op.drop_table("admin_version")
