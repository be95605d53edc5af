"""Initial schema: the catalog entries of all eleven catalogs.

Revision ID: 0001
Revises:
Create Date: 2026-11-24
"""

from __future__ import annotations

import advanced_alchemy.types
import sqlalchemy as sa
from alembic import op

sa.DateTimeUTC = advanced_alchemy.types.DateTimeUTC

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "catalog_entry",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            sa.Identity(always=False, start=1, increment=1),
            nullable=False,
        ),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("item_number", sa.String(length=64), nullable=False),
        sa.Column("item_name", sa.String(length=255), nullable=False),
        sa.Column("item_name_es", sa.String(length=255), nullable=True),
        sa.Column("item_name_zh", sa.String(length=255), nullable=True),
        sa.Column("is_active", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTimeUTC(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTimeUTC(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_catalog_entry")),
        sa.UniqueConstraint("kind", "item_number", name="uq_catalog_entry_kind_number"),
    )
    op.create_index("ix_catalog_entry_kind_name", "catalog_entry", ["kind", "item_name"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_catalog_entry_kind_name", table_name="catalog_entry")
    op.drop_table("catalog_entry")
