"""Request and response bodies of ``/api/v1/records``.

Every bound is in the type, so bad input is refused at the edge with a 400 naming the field.
Money and hours travel as JSON numbers rounded to 2 decimals (``1.5``, ``120.25``); at most
2 decimals are accepted.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Literal

import msgspec
from msgspec import UNSET, UnsetType

from dmt_records.domain.records.languages import Language
from dmt_records.domain.records.rules import REASON_MAX_LENGTH, TEXT_MAX_LENGTH
from dmt_records.domain.translation.schemas import TextSet

MAX_ID = 2**63 - 1

Id = Annotated[int, msgspec.Meta(ge=1, le=MAX_ID, description="Id of a catalog entry or a user", examples=[12])]
UserId = Annotated[int, msgspec.Meta(ge=1, le=MAX_ID, description="Id of a user", examples=[3])]
Operation = Annotated[
    str, msgspec.Meta(min_length=1, max_length=120, pattern=r"\S", examples=["OP-30 final machining"])
]
Quantity = Annotated[int, msgspec.Meta(ge=1, le=2_147_483_647, description="Pieces affected, at least 1")]
SerialNumber = Annotated[str, msgspec.Meta(max_length=64, examples=["SN-0001"])]
Text = Annotated[str, msgspec.Meta(max_length=TEXT_MAX_LENGTH)]
RequiredText = Annotated[
    str,
    msgspec.Meta(
        min_length=1, max_length=TEXT_MAX_LENGTH, pattern=r"\S", examples=["Porosity on the flange face, 2 mm"]
    ),
]
Hours = Annotated[float, msgspec.Meta(ge=0, le=99_999_999.99, description="At most 2 decimals", examples=[1.5])]
Money = Annotated[float, msgspec.Meta(ge=0, le=9_999_999_999.99, description="At most 2 decimals", examples=[120.0])]
Department = Annotated[str, msgspec.Meta(max_length=120, examples=["Casting"])]
SdrNumber = Annotated[str, msgspec.Meta(max_length=64, examples=["SDR-7781"])]
ReportNumber = Annotated[
    str,
    msgspec.Meta(
        min_length=1,
        max_length=32,
        pattern=r"^\S(.*\S)?$",
        description="A number of your own (Admin only), e.g. a legacy one; no surrounding spaces",
        examples=["DMT-2019-00412"],
    ),
]
Version = Annotated[
    int,
    msgspec.Meta(
        ge=1,
        description="The version you read (or send it as If-Match); a newer one on the server -> 412, none -> 428",
    ),
]
Password = Annotated[
    str,
    msgspec.Meta(min_length=1, max_length=256, description="Your password again: a signature needs it (403 if wrong)"),
]
Reason = Annotated[
    str,
    msgspec.Meta(
        min_length=1,
        max_length=REASON_MAX_LENGTH,
        pattern=r"\S",
        description="Why, in your words; kept in the record's history",
        examples=["Customer returned two more parts with the same defect"],
    ),
]

RecordSort = Literal["created_at", "date", "report_number", "quantity", "status", "updated_at", "id"]
SortOrder = Literal["asc", "desc"]


class RecordCreate(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """Sections 1 and 2. ``language``: the language the texts are written in (default: your
    Accept-Language, else English). ``report_number`` is given by the server unless an Admin gives one."""

    part_number_id: Id
    work_center_id: Id
    customer_id: Id
    prepared_by_id: Id
    operation: Operation
    quantity: Quantity
    date: dt.date
    inspection_item_id: Id
    process_code_id: Id
    defect_description: RequiredText
    level_id: Id | None = None
    area_id: Id | None = None
    serial_number: SerialNumber | None = None
    report_number: ReportNumber | UnsetType = UNSET
    language: Language | UnsetType = UNSET


class RecordUpdate(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """Only the fields given change; ``null`` (or ``""`` for a text) clears one. Required fields
    cannot be cleared. A text is stored in ``language`` (default: your Accept-Language) and
    replaces that field's texts in other languages. ``version`` (or an ``If-Match`` header): the
    version you read, refused with 412 when the record has changed since."""

    # section 1
    part_number_id: Id | UnsetType | None = UNSET
    work_center_id: Id | UnsetType | None = UNSET
    customer_id: Id | UnsetType | None = UNSET
    level_id: Id | UnsetType | None = UNSET
    area_id: Id | UnsetType | None = UNSET
    prepared_by_id: Id | UnsetType | None = UNSET
    operation: Annotated[str, msgspec.Meta(max_length=120)] | UnsetType | None = UNSET
    quantity: Quantity | UnsetType | None = UNSET
    serial_number: SerialNumber | UnsetType | None = UNSET
    date: dt.date | UnsetType | None = UNSET
    inspection_item_id: Id | UnsetType | None = UNSET
    process_code_id: Id | UnsetType | None = UNSET
    # section 2
    defect_description: Text | UnsetType | None = UNSET
    # section 3
    process_description: Text | UnsetType | None = UNSET
    analysis: Text | UnsetType | None = UNSET
    analysis_by_id: UserId | UnsetType | None = UNSET
    # section 4
    final_disposition_id: Id | UnsetType | None = UNSET
    disposition_date: dt.date | UnsetType | None = UNSET
    engineer_id: UserId | UnsetType | None = UNSET
    failure_code_id: Id | UnsetType | None = UNSET
    rework_hours: Hours | UnsetType | None = UNSET
    responsible_department: Department | UnsetType | None = UNSET
    material_scrap_cost: Money | UnsetType | None = UNSET
    other_cost: Money | UnsetType | None = UNSET
    engineering_remarks: Text | UnsetType | None = UNSET
    repair_process: Text | UnsetType | None = UNSET
    # section 5
    disposition_approval_date: dt.date | UnsetType | None = UNSET
    disposition_approved_by_id: UserId | UnsetType | None = UNSET
    sdr_number: SdrNumber | UnsetType | None = UNSET

    language: Language | UnsetType = UNSET
    version: Version | UnsetType = UNSET


class RecordClose(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """Approve the disposition and close: an electronic signature, so your password again.
    ``disposition_approval_date`` is required (unless the record already has one);
    ``disposition_approved_by_id`` defaults to you."""

    password: Password
    disposition_approval_date: dt.date | None = None
    disposition_approved_by_id: UserId | None = None
    sdr_number: SdrNumber | UnsetType | None = UNSET
    version: Version | UnsetType = UNSET


class RecordReopen(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """Reopen a closed record: an electronic signature (your password again) with the reason."""

    password: Password
    reason: Reason
    version: Version | UnsetType = UNSET


class RecordDelete(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """Delete a record: it leaves every list, export and chart; its history stays for Admins."""

    reason: Reason
    version: Version | UnsetType = UNSET


class TextCorrection(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """A person's translation of a text, which no machine translation replaces."""

    text: RequiredText
    version: Version | UnsetType = UNSET


class SignatureRead(msgspec.Struct, kw_only=True):
    """An electronic signature as 21 CFR 11.50 wants it shown: printed name, date and time, meaning."""

    id: int
    #: approved_disposition or reopened.
    meaning: str
    #: The meaning in words: "Approved disposition", "Reopened".
    meaning_text: str
    signer_id: int
    signer_username: str
    signer_name: str
    signer_role: str
    signed_at: dt.datetime
    reason: str | None
    #: The record's version that the signed change made.
    record_version: int


class HistoryLine(msgspec.Struct, kw_only=True):
    """One line of a record's history: who did what to which field, when, from what to what.

    ``action``: created, imported, changed, closed, reopened, signed, deleted or translated.
    Values are text: ids ``"12"``, dates ISO, money ``"12.50"``, booleans ``"true"``/``"false"``.
    """

    id: int
    #: When, in UTC.
    at: dt.datetime
    #: The same moment in the time zone asked for (``tz``), else null.
    at_local: str | None
    #: null for the system (machine translation, the predecessor import).
    actor_id: int | None
    actor_username: str
    actor_name: str
    actor_role: str | None
    action: str
    field: str | None
    language: str | None
    old_value: str | None
    new_value: str | None
    reason: str | None
    #: The record's version after the change.
    version: int | None


class RecordRead(msgspec.Struct, kw_only=True):
    """A record. Each text field is shown in your Accept-Language when that translation exists,
    else as written; ``texts`` holds every language. Money and hours are numbers (2 decimals)."""

    id: int
    report_number: str
    status: str
    is_closed: bool
    version: int
    # section 1
    part_number_id: int
    work_center_id: int
    customer_id: int
    level_id: int | None
    area_id: int | None
    prepared_by_id: int
    operation: str
    quantity: int
    serial_number: str | None
    date: dt.date
    inspection_item_id: int
    process_code_id: int
    # section 2
    defect_description: str | None
    # section 3
    process_description: str | None
    analysis: str | None
    analysis_by_id: int | None
    # section 4
    final_disposition_id: int | None
    disposition_date: dt.date | None
    engineer_id: int | None
    failure_code_id: int | None
    rework_hours: float | None
    responsible_department: str | None
    material_scrap_cost: float | None
    other_cost: float | None
    engineering_remarks: str | None
    repair_process: str | None
    # section 5
    disposition_approval_date: dt.date | None
    disposition_approved_by_id: int | None
    sdr_number: str | None

    #: Every language of every text field that has one: origin, state and whether it is outdated.
    texts: dict[str, TextSet]
    #: The language of the text shown in each flat text field (yours when translated, else the original's).
    text_languages: dict[str, str]
    #: Approvals and reopenings, oldest first.
    signatures: list[SignatureRead]
    created_by_id: int
    created_at: dt.datetime
    updated_by_id: int | None
    updated_at: dt.datetime
    closed_at: dt.datetime | None
    closed_by_id: int | None
    reopened_at: dt.datetime | None
    reopened_by_id: int | None


class RecordRules(msgspec.Struct):
    """Who may do what with a record, for forms that lock what the signed-in role may not edit."""

    create_roles: list[str]
    close_roles: list[str]
    reopen_roles: list[str]
    delete_roles: list[str]
    sections: dict[str, list[str]]
    role_sections: dict[str, list[int]]
    editable_fields: dict[str, list[str]]
    required_at_creation: list[str]
    required_to_close: list[str]
    text_fields: list[str]
    text_max_length: int
    statuses: list[str]
    #: meaning -> its words, as signatures show them.
    signature_meanings: dict[str, str]
