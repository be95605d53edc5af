"""What record lists, exports and analytics narrow by: one set of filters, parsed once, applied once.

``provide_filters`` turns the query string into :class:`RecordFilters` (400 naming the parameter
for anything it cannot read); ``record_conditions`` turns those into SQL conditions. A deleted
record matches no filter: every list, export and chart built on these conditions leaves it out.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import zoneinfo
from collections.abc import Mapping
from decimal import Decimal, InvalidOperation
from typing import Annotated, Any

from litestar import Request
from litestar.params import Parameter
from sqlalchemy import Boolean, ColumnElement, String, exists, func, literal, or_
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.functions import FunctionElement

from dmt_records.db.models import Record, RecordText
from dmt_records.domain.records import rules
from dmt_shared.problems import FieldError, ProblemError

MAX_FILTER_VALUES = 200
MAX_PAGE = 1_000_000
#: Above any cost a record can hold (two NUMERIC(12, 2) columns), so a bound never overflows a database.
MAX_COST = Decimal("100000000000")
MAX_QUANTITY = 2**31 - 1
#: The escape character of LIKE patterns made from a search text.
LIKE_ESCAPE = "/"

IdFilter = Annotated[
    list[str] | None,
    Parameter(description="One id, several (repeat the parameter) or a comma list: `5`, `5,7`", required=False),
]

STATUS_NAMES = ", ".join(s.value for s in rules.Status)


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


def parse_zone(raw: str | None) -> zoneinfo.ZoneInfo:
    """An IANA time zone name (``Europe/Madrid``); none given: UTC."""
    name = (raw or "").strip() or "UTC"
    try:
        return zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        raise bad_query("tz", f"{name[:60]!r} is not a time zone name such as Europe/Madrid or UTC") from None


def profile_zone(request: Request[Any, Any, Any]) -> zoneinfo.ZoneInfo:
    """The time zone of the signed-in person's profile (auth checked it); UTC if it cannot be used."""
    principal = request.scope.get("user")
    name = getattr(principal, "time_zone", None) or "UTC"
    try:
        return zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        return zoneinfo.ZoneInfo("UTC")


def parse_moment(
    field: str, raw: str | None, *, end: bool, zone: dt.tzinfo = dt.UTC
) -> tuple[dt.datetime | None, bool]:
    """A plain date is that whole local day in ``zone``; an ISO date-time with an offset is taken as
    given, one without is local time in ``zone``.

    Returns the moment and whether it is an exclusive end (the start of the day after a plain
    ``end`` date), so "created_to=2026-03-14" holds everything of the 14th however late.
    """
    if raw is None or not raw.strip():
        return None, False
    text = raw.strip()
    try:
        if len(text) == 10:
            day = dt.date.fromisoformat(text)
            if end:
                # The next local midnight, worked out from the date: a day is not always 24 hours.
                return dt.datetime.combine(day + dt.timedelta(days=1), dt.time.min, tzinfo=zone), True
            return dt.datetime.combine(day, dt.time.min, tzinfo=zone), False
        moment = dt.datetime.fromisoformat(text)
    except (ValueError, OverflowError):
        raise bad_query(field, "use a date (YYYY-MM-DD) or an ISO date-time") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=zone)
    return moment, False


def parse_cost(field: str, raw: str | None) -> Decimal | None:
    """``"12.5"`` -> ``Decimal("12.5")``: an amount from 0, in the currency of the record costs."""
    if raw is None or not raw.strip():
        return None
    try:
        value = Decimal(raw.strip())
    except InvalidOperation:
        value = Decimal("NaN")
    if not value.is_finite() or not 0 <= value <= MAX_COST:
        raise bad_query(field, f"an amount from 0 to {MAX_COST}, such as 150 or 99.95")
    return value


def check_range(low_field: str, low: Any, high_field: str, high: Any, *, exclusive: bool = False) -> None:
    """Refuse a range that can hold nothing, naming its lower bound: it is surely a mistake."""
    if low is None or high is None:
        return
    if low > high or (exclusive and low == high):
        raise bad_query(low_field, f"is after {high_field}")


def provide_filters(
    request: Request[Any, Any, Any],
    status: Annotated[
        list[str] | None,
        Parameter(description=f"{STATUS_NAMES}; repeat or comma list", required=False),
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
    tz: Annotated[
        str | None,
        Parameter(
            max_length=64,
            description="IANA time zone (`Europe/Madrid`) of the plain dates and offset-less times of "
            "created_from/created_to/closed_from/closed_to; default: the time zone of your profile",
        ),
    ] = None,
    created_from: Annotated[
        str | None,
        Parameter(max_length=40, description="Created from: a date (that local day, see `tz`) or an ISO date-time"),
    ] = None,
    created_to: Annotated[
        str | None,
        Parameter(max_length=40, description="Created up to: a date (that whole local day) or an ISO date-time"),
    ] = None,
    closed_from: Annotated[
        str | None,
        Parameter(max_length=40, description="Closed from: a date (that local day, see `tz`) or an ISO date-time"),
    ] = None,
    closed_to: Annotated[
        str | None,
        Parameter(max_length=40, description="Closed up to: a date (that whole local day) or an ISO date-time"),
    ] = None,
    quantity_min: Annotated[
        int | None, Parameter(ge=0, le=MAX_QUANTITY, description="Quantity at least (inclusive)")
    ] = None,
    quantity_max: Annotated[
        int | None, Parameter(ge=0, le=MAX_QUANTITY, description="Quantity at most (inclusive)")
    ] = None,
    cost_min: Annotated[
        str | None,
        Parameter(
            max_length=20,
            description="Material scrap cost + other cost (a missing one counts as 0) at least, e.g. `100.50`",
        ),
    ] = None,
    cost_max: Annotated[
        str | None,
        Parameter(max_length=20, description="Material scrap cost + other cost at most (inclusive)"),
    ] = None,
    q: Annotated[
        str | None,
        Parameter(
            max_length=200,
            description="Contained, any case, in the report, serial or SDR number, the operation or any text "
            "in any language (the original or a translation)",
        ),
    ] = None,
) -> RecordFilters:
    statuses = split_values("status", status)
    known = {s.value for s in rules.Status}
    for value in statuses:
        if value not in known:
            raise bad_query("status", f"{value[:40]!r} is not one of {STATUS_NAMES}")
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
    zone = parse_zone(tz) if tz and tz.strip() else profile_zone(request)
    created_start, _ = parse_moment("created_from", created_from, end=False, zone=zone)
    created_stop, created_exclusive = parse_moment("created_to", created_to, end=True, zone=zone)
    closed_start, _ = parse_moment("closed_from", closed_from, end=False, zone=zone)
    closed_stop, closed_exclusive = parse_moment("closed_to", closed_to, end=True, zone=zone)
    low_cost = parse_cost("cost_min", cost_min)
    high_cost = parse_cost("cost_max", cost_max)
    check_range("date_from", date_from, "date_to", date_to)
    check_range("created_from", created_start, "created_to", created_stop, exclusive=created_exclusive)
    check_range("closed_from", closed_start, "closed_to", closed_stop, exclusive=closed_exclusive)
    check_range("quantity_min", quantity_min, "quantity_max", quantity_max)
    check_range("cost_min", low_cost, "cost_max", high_cost)
    return RecordFilters(
        statuses=tuple(dict.fromkeys(statuses)),
        is_closed=is_closed,
        ids={field: values for field, values in ids.items() if values},
        date_from=date_from,
        date_to=date_to,
        tz=zone.key,
        created_from=created_start,
        created_to=created_stop,
        created_to_exclusive=created_exclusive,
        closed_from=closed_start,
        closed_to=closed_stop,
        closed_to_exclusive=closed_exclusive,
        quantity_min=quantity_min,
        quantity_max=quantity_max,
        cost_min=low_cost,
        cost_max=high_cost,
        q=(q or "").strip() or None,
    )


@dataclasses.dataclass(frozen=True)
class RecordFilters:
    """What lists, exports and charts of records narrow by; every given filter must hold."""

    statuses: tuple[str, ...] = ()
    is_closed: bool | None = None
    #: record field (catalog or user id) -> the ids it may hold
    ids: Mapping[str, tuple[int, ...]] = dataclasses.field(default_factory=dict)
    date_from: dt.date | None = None
    date_to: dt.date | None = None
    #: The reader's time zone (IANA name) the moments below were read in.
    tz: str = "UTC"
    created_from: dt.datetime | None = None
    #: exclusive when ``created_to_exclusive`` (a whole day was asked for), else inclusive
    created_to: dt.datetime | None = None
    created_to_exclusive: bool = False
    closed_from: dt.datetime | None = None
    closed_to: dt.datetime | None = None
    closed_to_exclusive: bool = False
    quantity_min: int | None = None
    quantity_max: int | None = None
    #: bounds of material_scrap_cost + other_cost (a missing one counts as 0)
    cost_min: Decimal | None = None
    cost_max: Decimal | None = None
    q: str | None = None


class contains_any_case(FunctionElement[bool]):
    """``haystack`` contains ``needle``, ignoring case: the one text search of lists, exports and charts.

    PostgreSQL and SQLite compare ``lower()`` of both sides code point by code point. MariaDB and
    MySQL compare under the column's collation, and the usual ones there are unsafe for Chinese:
    ``utf8mb4_general_ci`` (a server's default) weighs every character beyond the Basic
    Multilingual Plane the same, so searching 𠀀 would find 𠮷, and the ``_ai_`` ones fold accents.
    So there both sides are lower-cased, then compared with ``utf8mb4_bin`` (code points), whatever
    the table's collation: the same answer on every database. (SQLite's ``lower()`` knows only ASCII
    letters: there "any case" holds for those, and other letters must match as written.)
    """

    type = Boolean()
    inherit_cache = True
    name = "contains_any_case"

    def __init__(self, haystack: Any, needle: str) -> None:
        escaped = (
            needle.replace(LIKE_ESCAPE, LIKE_ESCAPE * 2).replace("%", LIKE_ESCAPE + "%").replace("_", LIKE_ESCAPE + "_")
        )
        super().__init__(haystack, literal(f"%{escaped}%", String()))


@compiles(contains_any_case)
def _contains_lowered(element: contains_any_case, compiler: SQLCompiler, **kw: Any) -> str:
    haystack, pattern = element.clauses
    return compiler.process(func.lower(haystack).like(func.lower(pattern), escape=LIKE_ESCAPE), **kw)


@compiles(contains_any_case, "mysql")
@compiles(contains_any_case, "mariadb")
def _contains_code_points(element: contains_any_case, compiler: SQLCompiler, **kw: Any) -> str:
    haystack, pattern = element.clauses
    return (
        f"CONVERT(LOWER({compiler.process(haystack, **kw)}) USING utf8mb4) COLLATE utf8mb4_bin "
        f"LIKE CONVERT(LOWER({compiler.process(pattern, **kw)}) USING utf8mb4) COLLATE utf8mb4_bin "
        f"ESCAPE '{LIKE_ESCAPE}'"
    )


def record_cost_without_rework() -> ColumnElement[Any]:
    """What a record's filter cost is: material scrap + other cost, a missing one as 0."""
    return func.coalesce(Record.material_scrap_cost, 0) + func.coalesce(Record.other_cost, 0)


def record_conditions(filters: RecordFilters) -> list[ColumnElement[bool]]:
    """The SQL conditions of ``filters`` over :class:`Record`; never a deleted record."""
    conditions: list[ColumnElement[bool]] = [Record.deleted_at.is_(None)]
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
    conditions += _moment_range(
        Record.created_at, filters.created_from, filters.created_to, filters.created_to_exclusive
    )
    conditions += _moment_range(Record.closed_at, filters.closed_from, filters.closed_to, filters.closed_to_exclusive)
    if filters.quantity_min is not None:
        conditions.append(Record.quantity >= filters.quantity_min)
    if filters.quantity_max is not None:
        conditions.append(Record.quantity <= filters.quantity_max)
    if filters.cost_min is not None:
        conditions.append(record_cost_without_rework() >= filters.cost_min)
    if filters.cost_max is not None:
        conditions.append(record_cost_without_rework() <= filters.cost_max)
    if filters.q:
        q = filters.q
        conditions.append(
            or_(
                contains_any_case(Record.report_number, q),
                contains_any_case(Record.serial_number, q),
                contains_any_case(Record.operation, q),
                contains_any_case(Record.sdr_number, q),
                exists().where(RecordText.record_id == Record.id, contains_any_case(RecordText.text, q)),
            )
        )
    return conditions


def _moment_range(
    column: Any, start: dt.datetime | None, stop: dt.datetime | None, exclusive: bool
) -> list[ColumnElement[bool]]:
    conditions: list[ColumnElement[bool]] = []
    if start is not None:
        conditions.append(column >= start)
    if stop is not None:
        conditions.append(column < stop if exclusive else column <= stop)
    return conditions
