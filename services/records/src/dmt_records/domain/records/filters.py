"""What record lists, exports and analytics narrow by: one set of filters, parsed once, applied once.

``provide_filters`` turns the query string into :class:`RecordFilters` (400 naming the parameter
for anything it cannot read); ``record_conditions`` turns those into SQL conditions.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Mapping
from typing import Annotated

from litestar.params import Parameter
from sqlalchemy import ColumnElement, exists, or_

from dmt_records.db.models import Record, RecordText
from dmt_records.domain.records import rules
from dmt_shared.problems import FieldError, ProblemError

MAX_FILTER_VALUES = 200
MAX_PAGE = 1_000_000

IdFilter = Annotated[
    list[str] | None,
    Parameter(description="One id, several (repeat the parameter) or a comma list: `5`, `5,7`", required=False),
]


def bad_query(field: str, message: str) -> ProblemError:
    return ProblemError(400, f"{field}: {message}", errors=[FieldError(field, message)])


def split_values(field: str, raw: list[str] | None) -> list[str]:
    values = [part.strip() for item in raw or [] for part in item.split(",") if part.strip()]
    if len(values) > MAX_FILTER_VALUES:
        raise bad_query(field, f"at most {MAX_FILTER_VALUES} values")
    return values


def as_whole_number(text: str) -> int | None:
    """``"42"`` -> 42; anything but plain ASCII digits (up to 19 of them) -> ``None``."""
    if not (text.isascii() and text.isdigit() and len(text) <= 19):
        return None
    return int(text)


def parse_ids(field: str, raw: list[str] | None) -> tuple[int, ...]:
    ids: list[int] = []
    for value in split_values(field, raw):
        ident = as_whole_number(value)
        if ident is None or not 1 <= ident < 2**63:
            raise bad_query(field, f"{value[:40]!r} is not an id (a whole number from 1)")
        ids.append(ident)
    return tuple(dict.fromkeys(ids))


def parse_moment(field: str, raw: str | None, *, end: bool) -> tuple[dt.datetime | None, bool]:
    """A plain date is that whole day in UTC; a full ISO date-time is taken as given (UTC if naive).

    Returns the moment and whether it is an exclusive end (the day after a plain ``end`` date).
    """
    if raw is None or not raw.strip():
        return None, False
    text = raw.strip()
    try:
        if len(text) == 10:
            day = dt.date.fromisoformat(text)
            start = dt.datetime.combine(day, dt.time.min, tzinfo=dt.UTC)
            return (start + dt.timedelta(days=1), True) if end else (start, False)
        moment = dt.datetime.fromisoformat(text)
    except ValueError:
        raise bad_query(field, "use a date (YYYY-MM-DD) or an ISO date-time") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.UTC)
    return moment, False


def provide_filters(
    status: Annotated[
        list[str] | None,
        Parameter(description="open, in_analysis, dispositioned, closed; repeat or comma list", required=False),
    ] = None,
    is_closed: bool | None = None,
    part_number_id: IdFilter = None,
    work_center_id: IdFilter = None,
    customer_id: IdFilter = None,
    level_id: IdFilter = None,
    area_id: IdFilter = None,
    prepared_by_id: IdFilter = None,
    inspection_item_id: IdFilter = None,
    process_code_id: IdFilter = None,
    final_disposition_id: IdFilter = None,
    failure_code_id: IdFilter = None,
    created_by_id: IdFilter = None,
    analysis_by_id: IdFilter = None,
    engineer_id: IdFilter = None,
    disposition_approved_by_id: IdFilter = None,
    date_from: Annotated[dt.date | None, Parameter(description="Record date from (inclusive), YYYY-MM-DD")] = None,
    date_to: Annotated[dt.date | None, Parameter(description="Record date to (inclusive), YYYY-MM-DD")] = None,
    created_from: Annotated[
        str | None,
        Parameter(max_length=40, description="Created from: a date (that day, UTC) or an ISO date-time"),
    ] = None,
    created_to: Annotated[
        str | None,
        Parameter(max_length=40, description="Created up to: a date (that whole day, UTC) or an ISO date-time"),
    ] = None,
    q: Annotated[
        str | None,
        Parameter(
            max_length=200,
            description="Contained, any case, in the report, serial or SDR number, the operation or any text",
        ),
    ] = None,
) -> RecordFilters:
    statuses = split_values("status", status)
    known = {s.value for s in rules.Status}
    for value in statuses:
        if value not in known:
            raise bad_query("status", f"{value[:40]!r} is not one of {', '.join(s.value for s in rules.Status)}")
    raw_ids = {
        "part_number_id": part_number_id,
        "work_center_id": work_center_id,
        "customer_id": customer_id,
        "level_id": level_id,
        "area_id": area_id,
        "prepared_by_id": prepared_by_id,
        "inspection_item_id": inspection_item_id,
        "process_code_id": process_code_id,
        "final_disposition_id": final_disposition_id,
        "failure_code_id": failure_code_id,
        "created_by_id": created_by_id,
        "analysis_by_id": analysis_by_id,
        "engineer_id": engineer_id,
        "disposition_approved_by_id": disposition_approved_by_id,
    }
    ids = {field: parse_ids(field, raw) for field, raw in raw_ids.items()}
    start, _ = parse_moment("created_from", created_from, end=False)
    stop, exclusive = parse_moment("created_to", created_to, end=True)
    return RecordFilters(
        statuses=tuple(dict.fromkeys(statuses)),
        is_closed=is_closed,
        ids={field: values for field, values in ids.items() if values},
        date_from=date_from,
        date_to=date_to,
        created_from=start,
        created_to=stop,
        created_to_exclusive=exclusive,
        q=(q or "").strip() or None,
    )


@dataclasses.dataclass(frozen=True)
class RecordFilters:
    """What ``GET /api/v1/records`` narrows by; every given filter must hold."""

    statuses: tuple[str, ...] = ()
    is_closed: bool | None = None
    #: record field (catalog or user id) -> the ids it may hold
    ids: Mapping[str, tuple[int, ...]] = dataclasses.field(default_factory=dict)
    date_from: dt.date | None = None
    date_to: dt.date | None = None
    created_from: dt.datetime | None = None
    #: exclusive when ``created_to_exclusive`` (a whole day was asked for), else inclusive
    created_to: dt.datetime | None = None
    created_to_exclusive: bool = False
    q: str | None = None


def record_conditions(filters: RecordFilters) -> list[ColumnElement[bool]]:
    conditions: list[ColumnElement[bool]] = []
    if filters.statuses:
        conditions.append(Record.status.in_(filters.statuses))
    if filters.is_closed is not None:
        conditions.append(Record.is_closed == filters.is_closed)
    for field, ids in filters.ids.items():
        column = getattr(Record, field)
        conditions.append(column == ids[0] if len(ids) == 1 else column.in_(ids))
    if filters.date_from is not None:
        conditions.append(Record.date >= filters.date_from)
    if filters.date_to is not None:
        conditions.append(Record.date <= filters.date_to)
    if filters.created_from is not None:
        conditions.append(Record.created_at >= filters.created_from)
    if filters.created_to is not None:
        if filters.created_to_exclusive:
            conditions.append(Record.created_at < filters.created_to)
        else:
            conditions.append(Record.created_at <= filters.created_to)
    if filters.q:
        q = filters.q
        conditions.append(
            or_(
                Record.report_number.icontains(q, autoescape=True),
                Record.serial_number.icontains(q, autoescape=True),
                Record.operation.icontains(q, autoescape=True),
                Record.sdr_number.icontains(q, autoescape=True),
                exists().where(RecordText.record_id == Record.id, RecordText.text.icontains(q, autoescape=True)),
            )
        )
    return conditions
