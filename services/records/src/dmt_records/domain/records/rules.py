"""The rules of a DMT record, as data and small pure functions (no database, no HTTP).

- The paper form has five sections; each role may edit some of them:
  Inspector 1 and 2, Operator 3, Tech Engineer 3 and 4, Quality Engineer 5, Admin all.
- Inspectors and Admins create records; Quality Engineers and Admins close and reopen them;
  Admins delete them (a tombstone: the record leaves every list, its history stays).
- Some fields are required when a record is created and may never be emptied afterwards.
- A record closes only when its disposition, failure code and engineer are set and the approval
  date and approver are given, whoever closes it (Admins too). A closed record is read-only
  until it is reopened, explicitly, with a reason.
- Closing and reopening are electronic signatures (21 CFR 11.50, 11.200): the signer types the
  password again, and the signature keeps the printed name, the time and what it means.
- Every change names the version it was made on (If-Match or ``version``), so nobody silently
  overwrites what someone else saved meanwhile.
- The status follows from what is filled: closed, reopened (until closed again), dispositioned,
  in_analysis or open.
- A few fields fill themselves in from the person writing (who analysed, which engineer, who approved).
- Report numbers are ``DMT-{year}-{n:05d}``, counted per year of creation.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Mapping
from typing import Any

from dmt_shared.tokens import Role


class Status(enum.StrEnum):
    OPEN = "open"
    IN_ANALYSIS = "in_analysis"
    DISPOSITIONED = "dispositioned"
    CLOSED = "closed"
    #: Closed once, then reopened with a reason; stays so until it is closed again.
    REOPENED = "reopened"


#: The fields of each section of the form, in the form's order. ``report_number`` belongs to
#: section 1 on paper but is given by the server, so nobody edits it.
SECTIONS: dict[int, tuple[str, ...]] = {
    1: (
        "part_number_id",
        "work_center_id",
        "customer_id",
        "level_id",
        "area_id",
        "prepared_by_id",
        "operation",
        "quantity",
        "serial_number",
        "date",
        "inspection_item_id",
        "process_code_id",
    ),
    2: ("defect_description",),
    3: ("process_description", "analysis", "analysis_by_id"),
    4: (
        "final_disposition_id",
        "disposition_date",
        "engineer_id",
        "failure_code_id",
        "rework_hours",
        "responsible_department",
        "material_scrap_cost",
        "other_cost",
        "engineering_remarks",
        "repair_process",
    ),
    5: ("disposition_approval_date", "disposition_approved_by_id", "sdr_number"),
}

ALL_FIELDS: tuple[str, ...] = tuple(f for fields in SECTIONS.values() for f in fields)

#: Which sections each role may edit.
ROLE_SECTIONS: dict[Role, tuple[int, ...]] = {
    Role.INSPECTOR: (1, 2),
    Role.OPERATOR: (3,),
    Role.TECH_ENGINEER: (3, 4),
    Role.QUALITY_ENGINEER: (5,),
    Role.ADMIN: (1, 2, 3, 4, 5),
}

CREATE_ROLES: tuple[Role, ...] = (Role.INSPECTOR, Role.ADMIN)
CLOSE_ROLES: tuple[Role, ...] = (Role.QUALITY_ENGINEER, Role.ADMIN)
REOPEN_ROLES: tuple[Role, ...] = (Role.QUALITY_ENGINEER, Role.ADMIN)
DELETE_ROLES: tuple[Role, ...] = (Role.ADMIN,)
#: Only these may give a report number of their own (a legacy number) on creation.
REPORT_NUMBER_ROLES: tuple[Role, ...] = (Role.ADMIN,)

#: Fields kept per language (en, es, zh) in record_text rather than as columns.
TEXT_FIELDS: tuple[str, ...] = (
    "defect_description",
    "process_description",
    "analysis",
    "engineering_remarks",
    "repair_process",
)
TEXT_MAX_LENGTH = 4000

REQUIRED_AT_CREATION: tuple[str, ...] = (
    "part_number_id",
    "work_center_id",
    "customer_id",
    "prepared_by_id",
    "operation",
    "quantity",
    "date",
    "inspection_item_id",
    "process_code_id",
    "defect_description",
)

REQUIRED_TO_CLOSE: tuple[str, ...] = (
    "final_disposition_id",
    "failure_code_id",
    "engineer_id",
    "disposition_approval_date",
    "disposition_approved_by_id",
)

#: Section 4 fields that together make a decision: all three set = dispositioned.
DISPOSITION_FIELDS: tuple[str, ...] = ("final_disposition_id", "failure_code_id", "engineer_id")

#: Text fields whose writing by an Operator or Tech Engineer names them as the analyst.
ANALYSIS_TEXTS: tuple[str, ...] = ("process_description", "analysis")
ANALYST_ROLES: tuple[Role, ...] = (Role.OPERATOR, Role.TECH_ENGINEER)

CLOSED_READ_ONLY = "closed records are read-only"
NOT_CLOSED = "only a closed record can be reopened"
VERSION_REQUIRED = (
    "say which version of the record you read: send it as If-Match (the ETag) or as `version`, "
    "so a change someone else saved meanwhile is not overwritten"
)

#: What a signature means (21 CFR 11.50(a)(3)), as stored and as printed.
MEANING_APPROVED_DISPOSITION = "approved_disposition"
MEANING_REOPENED = "reopened"
SIGNATURE_MEANINGS: dict[str, str] = {
    MEANING_APPROVED_DISPOSITION: "Approved disposition",
    MEANING_REOPENED: "Reopened",
}
#: Reopening withdraws the approval of the disposition: closing again gives it anew.
WITHDRAWN_ON_REOPEN: tuple[str, ...] = ("disposition_approval_date", "disposition_approved_by_id")
#: Why a record is reopened or deleted: required, kept in its history.
REASON_MAX_LENGTH = 2000

REPORT_NUMBER_PREFIX = "DMT"


def is_blank(value: Any) -> bool:
    """Nothing there: ``None``, or a string of only spaces."""
    return value is None or (isinstance(value, str) and not value.strip())


def section_of(field: str) -> int:
    for number, fields in SECTIONS.items():
        if field in fields:
            return number
    raise KeyError(field)


def editable_fields(role: Role) -> tuple[str, ...]:
    """The fields ``role`` may set or clear, in the form's order."""
    sections = ROLE_SECTIONS.get(role, ())
    return tuple(f for number in sections for f in SECTIONS[number])


def forbidden_fields(role: Role, fields: Iterable[str]) -> list[str]:
    """The given fields that ``role`` may not edit, in the order given."""
    allowed = set(editable_fields(role))
    return [f for f in fields if f not in allowed]


def may_create(role: Role) -> bool:
    return role in CREATE_ROLES


def may_close(role: Role) -> bool:
    return role in CLOSE_ROLES


def may_reopen(role: Role) -> bool:
    return role in REOPEN_ROLES


def may_correct_text(role: Role, field: str) -> bool:
    """A translation of a text is corrected by those who may edit the text itself."""
    return field in TEXT_FIELDS and field in editable_fields(role)


def meaning_text(meaning: str) -> str:
    return SIGNATURE_MEANINGS[meaning]


def may_delete(role: Role) -> bool:
    return role in DELETE_ROLES


def may_give_report_number(role: Role) -> bool:
    return role in REPORT_NUMBER_ROLES


def missing_at_creation(values: Mapping[str, Any]) -> list[str]:
    """Required fields that are absent or blank in a new record."""
    return [f for f in REQUIRED_AT_CREATION if is_blank(values.get(f))]


def emptied_required(changes: Mapping[str, Any]) -> list[str]:
    """Required fields that a change would empty (set to null or blank)."""
    return [f for f in REQUIRED_AT_CREATION if f in changes and is_blank(changes[f])]


def missing_to_close(values: Mapping[str, Any]) -> list[str]:
    """What a record still lacks to be closed (``values``: the record with the closing data applied)."""
    return [f for f in REQUIRED_TO_CLOSE if is_blank(values.get(f))]


def derive_status(values: Mapping[str, Any], *, is_closed: bool, reopened: bool = False) -> Status:
    """The status that what is filled in says; ``values`` holds the record's fields (texts as strings).

    A reopened record says so until it is closed again, whatever is filled: readers must see that
    a decision once approved is open again.
    """
    if is_closed:
        return Status.CLOSED
    if reopened:
        return Status.REOPENED
    if all(not is_blank(values.get(f)) for f in DISPOSITION_FIELDS):
        return Status.DISPOSITIONED
    if any(not is_blank(values.get(f)) for f in (*SECTIONS[3], *SECTIONS[4])):
        return Status.IN_ANALYSIS
    return Status.OPEN


def filled_in_for(role: Role, caller_id: int, current: Mapping[str, Any], changes: Mapping[str, Any]) -> dict[str, Any]:
    """Fields that fill themselves in from the caller, given the record and the caller's changes.

    - An Operator or Tech Engineer writing the analysis or process description becomes the
      analyst, when nobody is named and the change does not name anyone.
    - A Tech Engineer setting the final disposition becomes the engineer, likewise.
    """
    extra: dict[str, Any] = {}
    if (
        role in ANALYST_ROLES
        and any(f in changes and not is_blank(changes[f]) for f in ANALYSIS_TEXTS)
        and "analysis_by_id" not in changes
        and is_blank(current.get("analysis_by_id"))
    ):
        extra["analysis_by_id"] = caller_id
    if (
        role == Role.TECH_ENGINEER
        and not is_blank(changes.get("final_disposition_id"))
        and "engineer_id" not in changes
        and is_blank(current.get("engineer_id"))
    ):
        extra["engineer_id"] = caller_id
    return extra


def report_number(year: int, value: int) -> str:
    """The server's report number: ``DMT-2026-00042`` (the year of creation, UTC)."""
    return f"{REPORT_NUMBER_PREFIX}-{year}-{value:05d}"


def rules_document() -> dict[str, Any]:
    """The rules as data, for a form that locks what the signed-in role may not edit."""
    roles = list(ROLE_SECTIONS)
    return {
        "create_roles": [r.value for r in CREATE_ROLES],
        "close_roles": [r.value for r in CLOSE_ROLES],
        "reopen_roles": [r.value for r in REOPEN_ROLES],
        "delete_roles": [r.value for r in DELETE_ROLES],
        "sections": {str(n): list(fields) for n, fields in SECTIONS.items()},
        "role_sections": {r.value: list(ROLE_SECTIONS[r]) for r in roles},
        "editable_fields": {r.value: list(editable_fields(r)) for r in roles},
        "required_at_creation": list(REQUIRED_AT_CREATION),
        "required_to_close": list(REQUIRED_TO_CLOSE),
        "text_fields": list(TEXT_FIELDS),
        "text_max_length": TEXT_MAX_LENGTH,
        "statuses": [s.value for s in Status],
        "signature_meanings": dict(SIGNATURE_MEANINGS),
    }
