"""``/api/v1/records``: DMT records, their rules, and how often a catalog entry is used."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from litestar import Controller, Request, Response, delete, get, patch, post
from litestar.di import Provide
from litestar.params import Parameter
from litestar.status_codes import HTTP_200_OK, HTTP_201_CREATED, HTTP_204_NO_CONTENT
from msgspec import UnsetType

from dmt_records.domain.records import rules
from dmt_records.domain.records.languages import Language, language_of, preferred_language
from dmt_records.domain.records.schemas import (
    RecordClose,
    RecordCreate,
    RecordRead,
    RecordRules,
    RecordSort,
    RecordUpdate,
    SortOrder,
)
from dmt_records.domain.records.services import RecordFilters, RecordService
from dmt_shared.contracts import CATALOG_KINDS, CatalogUsage
from dmt_shared.http import forwarded_headers
from dmt_shared.pagination import DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE, Page
from dmt_shared.problems import FieldError, ProblemError
from dmt_shared.security import principal_of, require_roles

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


def parse_if_match(value: str | None) -> int | None:
    """``If-Match: "3"`` (or ``3``, ``W/"3"``) -> 3; absent or ``*`` -> no condition."""
    if value is None or value.strip() in ("", "*"):
        return None
    version = as_whole_number(value.strip().removeprefix("W/").strip('"'))
    if version is None:
        raise ProblemError(
            400,
            'If-Match must be the record\'s version as its ETag gives it, e.g. "3"',
            errors=[FieldError("If-Match", "not a record version")],
        )
    return version


def writer_language(request: Request[Any, Any, Any], given: Language | UnsetType) -> Language:
    """The language texts are written in: as the body says, else the Accept-Language, else English."""
    return given if isinstance(given, str) else language_of(request.headers.get("accept-language"))


def reader_of(request: Request[Any, Any, Any]) -> Language | None:
    """The reader's language, when the Accept-Language names one of en/es/zh."""
    return preferred_language(request.headers.get("accept-language"))


def with_etag(record: RecordRead, status_code: int = HTTP_200_OK) -> Response[RecordRead]:
    return Response(record, status_code=status_code, headers={"ETag": f'"{record.version}"'})


class RecordController(Controller):
    path = "/api/v1/records"
    tags = ["Records"]

    @get("/rules", summary="Who may create, edit, close and delete records, as data", sync_to_thread=False)
    def record_rules(self) -> RecordRules:
        return RecordRules(**rules.rules_document())

    @get(
        "/usage",
        summary="How many records point to one catalog entry",
        description="Asked before a catalog entry is deleted. Calibrations are used by no record field.",
    )
    async def usage(
        self,
        records: RecordService,
        kind: Annotated[str, Parameter(description=f"One of: {', '.join(CATALOG_KINDS)}", max_length=40)],
        entry_id: Annotated[int, Parameter(query="id", ge=1, description="The catalog entry's id")],
    ) -> CatalogUsage:
        return CatalogUsage(kind=kind, id=entry_id, records=await records.usage(kind, entry_id))

    @get(
        "/",
        dependencies={"filters": Provide(provide_filters, sync_to_thread=False)},
        summary="List records",
        description=(
            "Newest first (`created_at` descending) unless `sort`/`order` say otherwise; ties by id. "
            "Every filter given must hold; id filters take one id or several."
        ),
    )
    async def list_records(
        self,
        request: Request[Any, Any, Any],
        records: RecordService,
        filters: RecordFilters,
        sort: RecordSort = "created_at",
        order: SortOrder = "desc",
        page: Annotated[int, Parameter(ge=1, le=MAX_PAGE)] = 1,
        page_size: Annotated[int, Parameter(ge=1, le=MAX_PAGE_SIZE)] = DEFAULT_PAGE_SIZE,
    ) -> Page[RecordRead]:
        return await records.list_records(
            filters, sort=sort, order=order, page=page, page_size=page_size, reader=reader_of(request)
        )

    @post(
        "/",
        guards=[require_roles(*rules.CREATE_ROLES)],
        status_code=HTTP_201_CREATED,
        summary="Create a record (Inspector, Admin)",
        description="Sections 1 and 2. The report number is given by the server (an Admin may give one).",
    )
    async def create_record(
        self, request: Request[Any, Any, Any], data: RecordCreate, records: RecordService
    ) -> Response[RecordRead]:
        created = await records.create(
            data,
            principal_of(request),
            language=writer_language(request, data.language),
            headers=forwarded_headers(request),
        )
        return with_etag(created, HTTP_201_CREATED)

    @get("/{record_id:int}", summary="One record")
    async def get_record(
        self, request: Request[Any, Any, Any], record_id: int, records: RecordService
    ) -> Response[RecordRead]:
        return with_etag(await records.read(record_id, reader_of(request)))

    @patch(
        "/{record_id:int}",
        summary="Change a record",
        description=(
            "Only the fields given change, and only those your role may edit (403 names the others; nothing is "
            'saved). `null` or `""` clears a field; required fields cannot be cleared. Closed records are '
            "read-only (409). Send the version you read as `If-Match` or `version` to be refused (412) when "
            "someone changed the record since."
        ),
    )
    async def update_record(
        self,
        request: Request[Any, Any, Any],
        record_id: int,
        data: RecordUpdate,
        records: RecordService,
        if_match: Annotated[str | None, Parameter(header="If-Match", required=False)] = None,
    ) -> Response[RecordRead]:
        updated = await records.update(
            record_id,
            data,
            principal_of(request),
            language=writer_language(request, data.language),
            if_match=parse_if_match(if_match),
            headers=forwarded_headers(request),
        )
        return with_etag(updated)

    @post(
        "/{record_id:int}/close",
        guards=[require_roles(*rules.CLOSE_ROLES)],
        status_code=HTTP_200_OK,
        summary="Approve and close a record (Quality Engineer, Admin)",
        description=(
            "Needs the final disposition, failure code and engineer set, and the approval date given (or already "
            "set); the approver defaults to you. 422 lists what is missing; 409 if already closed."
        ),
    )
    async def close_record(
        self,
        request: Request[Any, Any, Any],
        record_id: int,
        data: RecordClose,
        records: RecordService,
        if_match: Annotated[str | None, Parameter(header="If-Match", required=False)] = None,
    ) -> Response[RecordRead]:
        closed = await records.close(
            record_id,
            data,
            principal_of(request),
            reader=reader_of(request),
            if_match=parse_if_match(if_match),
            headers=forwarded_headers(request),
        )
        return with_etag(closed)

    @delete(
        "/{record_id:int}",
        guards=[require_roles(*rules.DELETE_ROLES)],
        status_code=HTTP_204_NO_CONTENT,
        summary="Delete a record and its texts (Admin)",
    )
    async def delete_record(self, request: Request[Any, Any, Any], record_id: int, records: RecordService) -> None:
        await records.remove(record_id, principal_of(request))
