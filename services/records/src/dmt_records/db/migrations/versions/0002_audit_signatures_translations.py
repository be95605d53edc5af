"""Audit trail, electronic signatures, reopening and deletion, and translation state per text.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-24
"""

from __future__ import annotations

import advanced_alchemy.types
import sqlalchemy as sa
from alembic import op

sa.DateTimeUTC = advanced_alchemy.types.DateTimeUTC

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

RECORD_INDEXES = {
    "ix_dmt_record_quantity": "quantity",
    "ix_dmt_record_scrap_cost": "material_scrap_cost",
    "ix_dmt_record_other_cost": "other_cost",
    "ix_dmt_record_closed_at": "closed_at",
    "ix_dmt_record_serial": "serial_number",
}


def _identity() -> sa.Column:
    return sa.Column(
        "id",
        sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
        sa.Identity(always=False, start=1, increment=1),
        nullable=False,
    )


def upgrade() -> None:
    with op.batch_alter_table("dmt_record") as batch:
        batch.add_column(sa.Column("reopened_at", sa.DateTimeUTC(timezone=True), nullable=True))
        batch.add_column(sa.Column("reopened_by_id", sa.BigInteger(), nullable=True))
        batch.add_column(sa.Column("deleted_at", sa.DateTimeUTC(timezone=True), nullable=True))
        batch.add_column(sa.Column("deleted_by_id", sa.BigInteger(), nullable=True))
        batch.add_column(sa.Column("delete_reason", sa.Text(), nullable=True))
    for name, column in RECORD_INDEXES.items():
        op.create_index(name, "dmt_record", [column], unique=False)

    with op.batch_alter_table("record_text") as batch:
        batch.alter_column("text", existing_type=sa.Text(), nullable=True)
        batch.add_column(sa.Column("state", sa.String(length=10), nullable=False, server_default="done"))
        batch.add_column(sa.Column("source_hash", sa.String(length=64), nullable=True))
        batch.add_column(sa.Column("attempts", sa.Integer(), nullable=False, server_default="0"))
        batch.add_column(sa.Column("next_attempt_at", sa.DateTimeUTC(timezone=True), nullable=True))
        batch.add_column(sa.Column("last_error", sa.String(length=500), nullable=True))
        batch.add_column(sa.Column("claimed_until", sa.DateTimeUTC(timezone=True), nullable=True))
    # The server defaults only filled the rows that were there; the models give the values from now on.
    with op.batch_alter_table("record_text") as batch:
        batch.alter_column("state", existing_type=sa.String(length=10), existing_nullable=False, server_default=None)
        batch.alter_column("attempts", existing_type=sa.Integer(), existing_nullable=False, server_default=None)
    op.create_index("ix_record_text_work", "record_text", ["state", "next_attempt_at"], unique=False)

    op.create_table(
        "record_history",
        _identity(),
        sa.Column("record_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("at", sa.DateTimeUTC(timezone=True), nullable=False),
        sa.Column("actor_id", sa.BigInteger(), nullable=True),
        sa.Column("actor_username", sa.String(length=64), nullable=False),
        sa.Column("actor_name", sa.String(length=200), nullable=False),
        sa.Column("actor_role", sa.String(length=40), nullable=True),
        sa.Column("action", sa.String(length=20), nullable=False),
        sa.Column("field", sa.String(length=40), nullable=True),
        sa.Column("language", sa.String(length=2), nullable=True),
        sa.Column("old_value", sa.Text(), nullable=True),
        sa.Column("new_value", sa.Text(), nullable=True),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("version", sa.Integer(), nullable=True),
        sa.Column("request_id", sa.String(length=64), nullable=True),
        sa.ForeignKeyConstraint(["record_id"], ["dmt_record.id"], name="fk_record_history_record_id"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_record_history")),
    )
    op.create_index("ix_record_history_record", "record_history", ["record_id", "id"], unique=False)

    op.create_table(
        "record_signature",
        _identity(),
        sa.Column("record_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("meaning", sa.String(length=40), nullable=False),
        sa.Column("signer_id", sa.BigInteger(), nullable=False),
        sa.Column("signer_username", sa.String(length=64), nullable=False),
        sa.Column("signer_name", sa.String(length=200), nullable=False),
        sa.Column("signer_role", sa.String(length=40), nullable=False),
        sa.Column("signed_at", sa.DateTimeUTC(timezone=True), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("record_version", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["record_id"], ["dmt_record.id"], name="fk_record_signature_record_id"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_record_signature")),
    )
    op.create_index("ix_record_signature_record", "record_signature", ["record_id", "id"], unique=False)


def downgrade() -> None:
    # Their indexes go with them (MariaDB will not drop an index its foreign key uses).
    op.drop_table("record_signature")
    op.drop_table("record_history")
    op.drop_index("ix_record_text_work", table_name="record_text")
    # Texts without a text (pending translations) cannot stay once the column is required again.
    op.execute(sa.text("DELETE FROM record_text WHERE text IS NULL"))
    with op.batch_alter_table("record_text") as batch:
        batch.drop_column("claimed_until")
        batch.drop_column("last_error")
        batch.drop_column("next_attempt_at")
        batch.drop_column("attempts")
        batch.drop_column("source_hash")
        batch.drop_column("state")
        batch.alter_column("text", existing_type=sa.Text(), nullable=False)
    for name in reversed(RECORD_INDEXES):
        op.drop_index(name, table_name="dmt_record")
    with op.batch_alter_table("dmt_record") as batch:
        batch.drop_column("delete_reason")
        batch.drop_column("deleted_by_id")
        batch.drop_column("deleted_at")
        batch.drop_column("reopened_by_id")
        batch.drop_column("reopened_at")
