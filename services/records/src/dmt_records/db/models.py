"""The records service's tables: DMT records, their texts per language, and report counters.

Catalog entries and users live in other services: their ids are plain integers here, checked
through those services' look-ups when set, never foreign keys.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from advanced_alchemy.mixins import AuditColumns, IdentityPrimaryKey
from advanced_alchemy.types import DateTimeUTC
from sqlalchemy import BigInteger, Boolean, Date, ForeignKey, Index, Integer, Numeric, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from dmt_shared.db import declarative_base

Base: Any = declarative_base()


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


class Record(IdentityPrimaryKey, AuditColumns, Base):
    """One DMT record (the five sections of the paper form). Its texts are in :class:`RecordText`."""

    __tablename__ = "dmt_record"
    __table_args__ = (
        UniqueConstraint("report_number", name="uq_dmt_record_report_number"),
        Index("ix_dmt_record_status", "status"),
        Index("ix_dmt_record_part_number", "part_number_id"),
        Index("ix_dmt_record_work_center", "work_center_id"),
        Index("ix_dmt_record_customer", "customer_id"),
        Index("ix_dmt_record_level", "level_id"),
        Index("ix_dmt_record_area", "area_id"),
        Index("ix_dmt_record_prepared_by", "prepared_by_id"),
        Index("ix_dmt_record_inspection_item", "inspection_item_id"),
        Index("ix_dmt_record_process_code", "process_code_id"),
        Index("ix_dmt_record_disposition", "final_disposition_id"),
        Index("ix_dmt_record_failure_code", "failure_code_id"),
        Index("ix_dmt_record_created_by", "created_by_id"),
        Index("ix_dmt_record_analysis_by", "analysis_by_id"),
        Index("ix_dmt_record_engineer", "engineer_id"),
        Index("ix_dmt_record_approved_by", "disposition_approved_by_id"),
        Index("ix_dmt_record_date", "record_date"),
        Index("ix_dmt_record_created_at", "created_at"),
        Index("ix_dmt_record_updated_at", "updated_at"),
    )

    #: ``DMT-2026-00042``, given by the server (or an Admin's legacy number).
    report_number: Mapped[str] = mapped_column(String(32))
    #: open | in_analysis | dispositioned | closed, derived from what is filled (see the rules).
    status: Mapped[str] = mapped_column(String(20))
    is_closed: Mapped[bool] = mapped_column(Boolean, default=False)

    # Section 1: general information (Inspector)
    part_number_id: Mapped[int] = mapped_column(BigInteger)
    work_center_id: Mapped[int] = mapped_column(BigInteger)
    customer_id: Mapped[int] = mapped_column(BigInteger)
    level_id: Mapped[int | None] = mapped_column(BigInteger, default=None)
    area_id: Mapped[int | None] = mapped_column(BigInteger, default=None)
    #: A prepared-by catalog entry, not a user.
    prepared_by_id: Mapped[int] = mapped_column(BigInteger)
    operation: Mapped[str] = mapped_column(String(120))
    quantity: Mapped[int] = mapped_column(Integer)
    serial_number: Mapped[str | None] = mapped_column(String(64), default=None)
    #: The record date (the column is not called ``date``, a reserved word in some databases).
    date: Mapped[dt.date] = mapped_column("record_date", Date)
    inspection_item_id: Mapped[int] = mapped_column(BigInteger)
    process_code_id: Mapped[int] = mapped_column(BigInteger)

    # Section 3: process analysis (Operator, Tech Engineer); its texts are in record_text
    analysis_by_id: Mapped[int | None] = mapped_column(BigInteger, default=None)

    # Section 4: engineering (Tech Engineer); its texts are in record_text
    final_disposition_id: Mapped[int | None] = mapped_column(BigInteger, default=None)
    disposition_date: Mapped[dt.date | None] = mapped_column(Date, default=None)
    engineer_id: Mapped[int | None] = mapped_column(BigInteger, default=None)
    failure_code_id: Mapped[int | None] = mapped_column(BigInteger, default=None)
    rework_hours: Mapped[Decimal | None] = mapped_column(Numeric(10, 2), default=None)
    responsible_department: Mapped[str | None] = mapped_column(String(120), default=None)
    material_scrap_cost: Mapped[Decimal | None] = mapped_column(Numeric(12, 2), default=None)
    other_cost: Mapped[Decimal | None] = mapped_column(Numeric(12, 2), default=None)

    # Section 5: quality (Quality Engineer)
    disposition_approval_date: Mapped[dt.date | None] = mapped_column(Date, default=None)
    disposition_approved_by_id: Mapped[int | None] = mapped_column(BigInteger, default=None)
    sdr_number: Mapped[str | None] = mapped_column(String(64), default=None)

    created_by_id: Mapped[int] = mapped_column(BigInteger)
    updated_by_id: Mapped[int | None] = mapped_column(BigInteger, default=None)
    closed_at: Mapped[dt.datetime | None] = mapped_column(DateTimeUTC(timezone=True), default=None)
    closed_by_id: Mapped[int | None] = mapped_column(BigInteger, default=None)
    #: 1 on creation, one more on every change; an update that finds another number changes nothing.
    version: Mapped[int] = mapped_column(Integer)

    __mapper_args__ = {"version_id_col": version}


class RecordText(IdentityPrimaryKey, Base):
    """One text field of a record in one language: the author's original, later translations."""

    __tablename__ = "record_text"
    __table_args__ = (UniqueConstraint("record_id", "field", "language", name="uq_record_text_field_lang"),)

    record_id: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer(), "sqlite"),
        ForeignKey("dmt_record.id", name="fk_record_text_record_id", ondelete="CASCADE"),
    )
    #: defect_description, process_description, analysis, engineering_remarks or repair_process.
    field: Mapped[str] = mapped_column(String(32))
    #: en, es or zh.
    language: Mapped[str] = mapped_column(String(2))
    text: Mapped[str] = mapped_column(Text)
    #: author (as written); later machine or human (translations).
    origin: Mapped[str] = mapped_column(String(16))
    updated_at: Mapped[dt.datetime] = mapped_column(DateTimeUTC(timezone=True), default=utcnow)


class ReportCounter(Base):
    """The last report number given out in one year (``DMT-{year}-{n:05d}``)."""

    __tablename__ = "report_counter"

    year: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    last_value: Mapped[int] = mapped_column(Integer)
