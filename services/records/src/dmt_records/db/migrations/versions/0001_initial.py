"""Initial schema: DMT records, their texts per language, and the yearly report counters.

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
        "dmt_record",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            sa.Identity(always=False, start=1, increment=1),
            nullable=False,
        ),
        sa.Column("report_number", sa.String(length=32), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("is_closed", sa.Boolean(), nullable=False),
        sa.Column("part_number_id", sa.BigInteger(), nullable=False),
        sa.Column("work_center_id", sa.BigInteger(), nullable=False),
        sa.Column("customer_id", sa.BigInteger(), nullable=False),
        sa.Column("level_id", sa.BigInteger(), nullable=True),
        sa.Column("area_id", sa.BigInteger(), nullable=True),
        sa.Column("prepared_by_id", sa.BigInteger(), nullable=False),
        sa.Column("operation", sa.String(length=120), nullable=False),
        sa.Column("quantity", sa.Integer(), nullable=False),
        sa.Column("serial_number", sa.String(length=64), nullable=True),
        sa.Column("record_date", sa.Date(), nullable=False),
        sa.Column("inspection_item_id", sa.BigInteger(), nullable=False),
        sa.Column("process_code_id", sa.BigInteger(), nullable=False),
        sa.Column("analysis_by_id", sa.BigInteger(), nullable=True),
        sa.Column("final_disposition_id", sa.BigInteger(), nullable=True),
        sa.Column("disposition_date", sa.Date(), nullable=True),
        sa.Column("engineer_id", sa.BigInteger(), nullable=True),
        sa.Column("failure_code_id", sa.BigInteger(), nullable=True),
        sa.Column("rework_hours", sa.Numeric(precision=10, scale=2), nullable=True),
        sa.Column("responsible_department", sa.String(length=120), nullable=True),
        sa.Column("material_scrap_cost", sa.Numeric(precision=12, scale=2), nullable=True),
        sa.Column("other_cost", sa.Numeric(precision=12, scale=2), nullable=True),
        sa.Column("disposition_approval_date", sa.Date(), nullable=True),
        sa.Column("disposition_approved_by_id", sa.BigInteger(), nullable=True),
        sa.Column("sdr_number", sa.String(length=64), nullable=True),
        sa.Column("created_by_id", sa.BigInteger(), nullable=False),
        sa.Column("updated_by_id", sa.BigInteger(), nullable=True),
        sa.Column("closed_at", sa.DateTimeUTC(timezone=True), nullable=True),
        sa.Column("closed_by_id", sa.BigInteger(), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTimeUTC(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTimeUTC(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_dmt_record")),
        sa.UniqueConstraint("report_number", name="uq_dmt_record_report_number"),
    )
    op.create_index("ix_dmt_record_analysis_by", "dmt_record", ["analysis_by_id"], unique=False)
    op.create_index("ix_dmt_record_approved_by", "dmt_record", ["disposition_approved_by_id"], unique=False)
    op.create_index("ix_dmt_record_area", "dmt_record", ["area_id"], unique=False)
    op.create_index("ix_dmt_record_created_at", "dmt_record", ["created_at"], unique=False)
    op.create_index("ix_dmt_record_created_by", "dmt_record", ["created_by_id"], unique=False)
    op.create_index("ix_dmt_record_customer", "dmt_record", ["customer_id"], unique=False)
    op.create_index("ix_dmt_record_date", "dmt_record", ["record_date"], unique=False)
    op.create_index("ix_dmt_record_disposition", "dmt_record", ["final_disposition_id"], unique=False)
    op.create_index("ix_dmt_record_engineer", "dmt_record", ["engineer_id"], unique=False)
    op.create_index("ix_dmt_record_failure_code", "dmt_record", ["failure_code_id"], unique=False)
    op.create_index("ix_dmt_record_inspection_item", "dmt_record", ["inspection_item_id"], unique=False)
    op.create_index("ix_dmt_record_level", "dmt_record", ["level_id"], unique=False)
    op.create_index("ix_dmt_record_part_number", "dmt_record", ["part_number_id"], unique=False)
    op.create_index("ix_dmt_record_prepared_by", "dmt_record", ["prepared_by_id"], unique=False)
    op.create_index("ix_dmt_record_process_code", "dmt_record", ["process_code_id"], unique=False)
    op.create_index("ix_dmt_record_status", "dmt_record", ["status"], unique=False)
    op.create_index("ix_dmt_record_updated_at", "dmt_record", ["updated_at"], unique=False)
    op.create_index("ix_dmt_record_work_center", "dmt_record", ["work_center_id"], unique=False)

    op.create_table(
        "report_counter",
        sa.Column("year", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("last_value", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("year", name=op.f("pk_report_counter")),
    )
    op.create_table(
        "record_text",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            sa.Identity(always=False, start=1, increment=1),
            nullable=False,
        ),
        sa.Column("record_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("field", sa.String(length=32), nullable=False),
        sa.Column("language", sa.String(length=2), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("origin", sa.String(length=16), nullable=False),
        sa.Column("updated_at", sa.DateTimeUTC(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["record_id"], ["dmt_record.id"], name="fk_record_text_record_id", ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_record_text")),
        sa.UniqueConstraint("record_id", "field", "language", name="uq_record_text_field_lang"),
    )


def downgrade() -> None:
    op.drop_table("record_text")
    op.drop_table("report_counter")
    op.drop_index("ix_dmt_record_work_center", table_name="dmt_record")
    op.drop_index("ix_dmt_record_updated_at", table_name="dmt_record")
    op.drop_index("ix_dmt_record_status", table_name="dmt_record")
    op.drop_index("ix_dmt_record_process_code", table_name="dmt_record")
    op.drop_index("ix_dmt_record_prepared_by", table_name="dmt_record")
    op.drop_index("ix_dmt_record_part_number", table_name="dmt_record")
    op.drop_index("ix_dmt_record_level", table_name="dmt_record")
    op.drop_index("ix_dmt_record_inspection_item", table_name="dmt_record")
    op.drop_index("ix_dmt_record_failure_code", table_name="dmt_record")
    op.drop_index("ix_dmt_record_engineer", table_name="dmt_record")
    op.drop_index("ix_dmt_record_disposition", table_name="dmt_record")
    op.drop_index("ix_dmt_record_date", table_name="dmt_record")
    op.drop_index("ix_dmt_record_customer", table_name="dmt_record")
    op.drop_index("ix_dmt_record_created_by", table_name="dmt_record")
    op.drop_index("ix_dmt_record_created_at", table_name="dmt_record")
    op.drop_index("ix_dmt_record_area", table_name="dmt_record")
    op.drop_index("ix_dmt_record_approved_by", table_name="dmt_record")
    op.drop_index("ix_dmt_record_analysis_by", table_name="dmt_record")

    op.drop_table("dmt_record")
