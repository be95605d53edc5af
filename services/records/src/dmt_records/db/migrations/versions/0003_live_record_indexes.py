"""Indexes of the records a list shows (not deleted), in the list's default order.

A list page filtered by status sorted every matching record by creation before it could take
its 50 (SQLite: a temporary B-tree over all of them); with the status and the order in one
index it reads the 50 in order and stops. Where the database has partial indexes (SQLite,
PostgreSQL) they hold the records not deleted only, so counting a list reads the index, not
the table.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-24
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

LIVE = sa.text("deleted_at IS NULL")
INDEXES = {
    "ix_dmt_record_live_created": ["created_at", "id"],
    "ix_dmt_record_live_status": ["status", "created_at", "id"],
}


def upgrade() -> None:
    for name, columns in INDEXES.items():
        op.create_index(name, "dmt_record", columns, unique=False, sqlite_where=LIVE, postgresql_where=LIVE)


def downgrade() -> None:
    for name in reversed(INDEXES):
        op.drop_index(name, table_name="dmt_record")
