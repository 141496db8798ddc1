"""Resident registry (locator): residents, phones, next of kin, households, views, version.

Revision ID: 0001_registry
Revises:
Create Date: 2026-11-23
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0001_registry"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "household",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("phone", sa.String(20), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_household")),
        sa.UniqueConstraint("phone", name=op.f("uq_household_phone")),
    )
    op.create_table(
        "resident",
        sa.Column("id", sa.String(32), nullable=False),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("sex", sa.String(1), nullable=True),
        sa.Column("birth_date", sa.Date(), nullable=True),
        sa.Column("community", sa.String(100), nullable=False),
        sa.Column("address", sa.String(300), nullable=False),
        sa.Column("addr_district", sa.String(50), nullable=False),
        sa.Column("addr_street", sa.String(100), nullable=False),
        sa.Column("addr_number", sa.String(50), nullable=False),
        sa.Column("addr_unit", sa.String(50), nullable=False),
        sa.Column("addr_room", sa.String(50), nullable=False),
        sa.Column("language", sa.String(8), nullable=False),
        sa.Column("lives_alone", sa.Boolean(), nullable=False),
        sa.Column("empty_nest", sa.Boolean(), nullable=False),
        sa.Column("lost_only_child", sa.Boolean(), nullable=False),
        sa.Column("health_notes", sa.Text(), nullable=False),
        sa.Column("household_id", sa.Integer(), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["household_id"],
            ["household.id"],
            name=op.f("fk_resident_household_id_household"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_resident")),
    )
    op.create_index(op.f("ix_resident_household_id"), "resident", ["household_id"])
    op.create_table(
        "resident_phone",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("resident_id", sa.String(32), nullable=False),
        sa.Column("e164", sa.String(20), nullable=False),
        sa.Column("kind", sa.String(10), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["resident_id"],
            ["resident.id"],
            name=op.f("fk_resident_phone_resident_id_resident"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_resident_phone")),
    )
    op.create_index(op.f("ix_resident_phone_e164"), "resident_phone", ["e164"])
    op.create_index(op.f("ix_resident_phone_resident_id"), "resident_phone", ["resident_id"])
    op.create_table(
        "next_of_kin",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("resident_id", sa.String(32), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("relation", sa.String(50), nullable=False),
        sa.Column("phones", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(
            ["resident_id"],
            ["resident.id"],
            name=op.f("fk_next_of_kin_resident_id_resident"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_next_of_kin")),
    )
    op.create_index(op.f("ix_next_of_kin_resident_id"), "next_of_kin", ["resident_id"])
    op.create_table(
        "resident_view",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("resident_id", sa.String(32), nullable=False),
        sa.Column("viewer", sa.String(64), nullable=False),
        sa.Column("call_id", sa.String(64), nullable=True),
        sa.Column("what", sa.String(20), nullable=False),
        sa.Column("viewed_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_resident_view")),
    )
    op.create_index(op.f("ix_resident_view_resident_id"), "resident_view", ["resident_id"])
    op.create_index(op.f("ix_resident_view_call_id"), "resident_view", ["call_id"])
    op.create_index(op.f("ix_resident_view_viewed_at"), "resident_view", ["viewed_at"])
    op.create_table(
        "registry_version",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_registry_version")),
    )
    op.bulk_insert(
        sa.table("registry_version", sa.column("id", sa.Integer), sa.column("version", sa.Integer)),
        [{"id": 1, "version": 0}],
    )


def downgrade() -> None:
    op.drop_table("registry_version")
    op.drop_table("resident_view")
    op.drop_table("next_of_kin")
    op.drop_table("resident_phone")
    op.drop_table("resident")
    op.drop_table("household")
