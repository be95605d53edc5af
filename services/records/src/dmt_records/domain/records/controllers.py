"""``/api/v1/records``: DMT records, their rules, and how often a catalog entry is used."""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Controller, Request, Response, delete, get, patch, post
from litestar.di import Provide
from litestar.params import Parameter
from litestar.status_codes import HTTP_200_OK, HTTP_201_CREATED, HTTP_204_NO_CONTENT
from msgspec import UnsetType

from dmt_records.domain.records import rules
from dmt_records.domain.records.filters import MAX_PAGE, RecordFilters, as_whole_number, provide_filters
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
from dmt_records.domain.records.services import RecordService
from dmt_shared.contracts import CATALOG_KINDS, CatalogUsage
from dmt_shared.http import forwarded_headers
from dmt_shared.pagination import DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE, Page
from dmt_shared.problems import FieldError, ProblemError
from dmt_shared.security import principal_of, require_roles


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
