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
from sqlalchemy import (
    BigInteger,
    Boolean,
    Date,
    ForeignKey,
    Index,
    Integer,
    Numeric,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from dmt_shared.db import declarative_base

Base: Any = declarative_base()


#: A record not deleted: the condition of the partial indexes of the records a list shows.
LIVE = text("deleted_at IS NULL")


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
        Index("ix_dmt_record_quantity", "quantity"),
        Index("ix_dmt_record_scrap_cost", "material_scrap_cost"),
        Index("ix_dmt_record_other_cost", "other_cost"),
        Index("ix_dmt_record_closed_at", "closed_at"),
        Index("ix_dmt_record_serial", "serial_number"),
        # The records a list shows, in its default order, by status too (see migration 0003).
        Index("ix_dmt_record_live_created", "created_at", "id", sqlite_where=LIVE, postgresql_where=LIVE),
        Index("ix_dmt_record_live_status", "status", "created_at", "id", sqlite_where=LIVE, postgresql_where=LIVE),
    )

    #: ``DMT-2026-00042``, given by the server (or an Admin's legacy number).
    report_number: Mapped[str] = mapped_column(String(32))
    #: open | in_analysis | dispositioned | closed | reopened, derived from what is filled (see the rules).
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
    #: The last reopening (the signatures keep every one); a reopened record stays "reopened" until closed.
    reopened_at: Mapped[dt.datetime | None] = mapped_column(DateTimeUTC(timezone=True), default=None)
    reopened_by_id: Mapped[int | None] = mapped_column(BigInteger, default=None)
    #: Set when an Admin deletes the record: it leaves every list, its history stays (a tombstone).
    #: Not indexed on purpose: nearly every row is NULL, and an index on it made SQLite pick it over
    #: the sort index and sort the whole table for each list page.
    deleted_at: Mapped[dt.datetime | None] = mapped_column(DateTimeUTC(timezone=True), default=None)
    deleted_by_id: Mapped[int | None] = mapped_column(BigInteger, default=None)
    delete_reason: Mapped[str | None] = mapped_column(Text, default=None)
    #: 1 on creation, one more on every change; an update that finds another number changes nothing.
    version: Mapped[int] = mapped_column(Integer)

    __mapper_args__ = {"version_id_col": version}


class RecordText(IdentityPrimaryKey, Base):
    """One text field of a record in one language: the author's original, or a translation of it.

    A translation row is ``machine`` (the translator's, ``state`` pending / done / failed, no
    text until done) or ``human`` (a person's correction, which no machine translation replaces).
    ``source_hash`` is the sha256 of the original the row translates (the author row: of itself),
    so a translation of an original that has changed since is recognised.
    """

    __tablename__ = "record_text"
    __table_args__ = (
        UniqueConstraint("record_id", "field", "language", name="uq_record_text_field_lang"),
        Index("ix_record_text_work", "state", "next_attempt_at"),
    )

    record_id: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer(), "sqlite"),
        ForeignKey("dmt_record.id", name="fk_record_text_record_id", ondelete="CASCADE"),
    )
    #: defect_description, process_description, analysis, engineering_remarks or repair_process.
    field: Mapped[str] = mapped_column(String(32))
    #: en, es or zh.
    language: Mapped[str] = mapped_column(String(2))
    #: None while a machine translation is pending or has failed.
    text: Mapped[str | None] = mapped_column(Text, default=None)
    #: author (as written), machine or human (translations).
    origin: Mapped[str] = mapped_column(String(16))
    updated_at: Mapped[dt.datetime] = mapped_column(DateTimeUTC(timezone=True), default=utcnow)
    #: done (text is there), pending (waiting for the translator) or failed (it gave up for now).
    state: Mapped[str] = mapped_column(String(10), default="done")
    source_hash: Mapped[str | None] = mapped_column(String(64), default=None)
    #: Translation attempts made for the current original, when the next may start, and why the last failed.
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[dt.datetime | None] = mapped_column(DateTimeUTC(timezone=True), default=None)
    last_error: Mapped[str | None] = mapped_column(String(500), default=None)
    #: A translator process working on the row holds it until then (several records processes may run).
    claimed_until: Mapped[dt.datetime | None] = mapped_column(DateTimeUTC(timezone=True), default=None)


class RecordHistory(IdentityPrimaryKey, Base):
    """One line of a record's audit trail: written in the transaction of the change, never changed.

    ``action``: created, changed, closed, reopened, deleted, translated. A change of several
    fields is one line per field, all with the same ``version`` (the record's version after it).
    Values are kept as text (dates ISO, money with 2 decimals, ids as numbers) as they were then;
    the actor's username and name are copied, so the trail reads the same after a user is renamed.
    """

    __tablename__ = "record_history"
    __table_args__ = (Index("ix_record_history_record", "record_id", "id"),)

    record_id: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer(), "sqlite"),
        ForeignKey("dmt_record.id", name="fk_record_history_record_id"),
    )
    at: Mapped[dt.datetime] = mapped_column(DateTimeUTC(timezone=True), default=utcnow)
    #: None for the system (the translator).
    actor_id: Mapped[int | None] = mapped_column(BigInteger, default=None)
    actor_username: Mapped[str] = mapped_column(String(64))
    actor_name: Mapped[str] = mapped_column(String(200))
    actor_role: Mapped[str | None] = mapped_column(String(40), default=None)
    action: Mapped[str] = mapped_column(String(20))
    field: Mapped[str | None] = mapped_column(String(40), default=None)
    language: Mapped[str | None] = mapped_column(String(2), default=None)
    old_value: Mapped[str | None] = mapped_column(Text, default=None)
    new_value: Mapped[str | None] = mapped_column(Text, default=None)
    #: Why (reopen, delete), as the person gave it.
    reason: Mapped[str | None] = mapped_column(Text, default=None)
    version: Mapped[int | None] = mapped_column(Integer, default=None)
    request_id: Mapped[str | None] = mapped_column(String(64), default=None)


class RecordSignature(IdentityPrimaryKey, Base):
    """An electronic signature (21 CFR 11.50): who signed, when, and what the signature means.

    Made only after the signer re-entered the password; never changed or removed.
    """

    __tablename__ = "record_signature"
    __table_args__ = (Index("ix_record_signature_record", "record_id", "id"),)

    record_id: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer(), "sqlite"),
        ForeignKey("dmt_record.id", name="fk_record_signature_record_id"),
    )
    #: approved_disposition (closing) or reopened.
    meaning: Mapped[str] = mapped_column(String(40))
    signer_id: Mapped[int] = mapped_column(BigInteger)
    signer_username: Mapped[str] = mapped_column(String(64))
    signer_name: Mapped[str] = mapped_column(String(200))
    signer_role: Mapped[str] = mapped_column(String(40))
    signed_at: Mapped[dt.datetime] = mapped_column(DateTimeUTC(timezone=True))
    reason: Mapped[str | None] = mapped_column(Text, default=None)
    #: The record's version the signature belongs to (after the signed change).
    record_version: Mapped[int] = mapped_column(Integer)


class ReportCounter(Base):
    """The last report number given out in one year (``DMT-{year}-{n:05d}``)."""

    __tablename__ = "report_counter"

    year: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    last_value: Mapped[int] = mapped_column(Integer)
