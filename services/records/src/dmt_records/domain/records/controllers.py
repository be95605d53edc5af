"""``/api/v1/records``: DMT records, their rules, history, signatures, translations corrected by
people, and how often a catalog entry is used.

Every answer that is one record carries its version as ``ETag``; every change needs it back
(``If-Match`` or ``version``): none -> 428, an older one -> 412 with ``current_version``.
"""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Controller, Request, Response, delete, get, patch, post, put
from litestar.di import Provide
from litestar.params import Parameter
from litestar.status_codes import HTTP_200_OK, HTTP_201_CREATED, HTTP_204_NO_CONTENT
from msgspec import UnsetType

from dmt_records.domain.records import rules
from dmt_records.domain.records.filters import MAX_PAGE, RecordFilters, as_whole_number, provide_filters
from dmt_records.domain.records.languages import Language, reader_language
from dmt_records.domain.records.schemas import (
    HistoryLine,
    RecordClose,
    RecordCreate,
    RecordDelete,
    RecordRead,
    RecordReopen,
    RecordRules,
    RecordSort,
    RecordUpdate,
    SortOrder,
    TextCorrection,
)
from dmt_records.domain.records.services import RecordService
from dmt_shared.contracts import CATALOG_KINDS, CatalogUsage
from dmt_shared.http import forwarded_headers
from dmt_shared.pagination import DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE, Page
from dmt_shared.problems import FieldError, ProblemError
from dmt_shared.security import principal_of, require_roles

#: The refusals every change of a record may meet, for the summaries.
CHANGE_ERRORS = (
    "404: no such record (or deleted). 409: the record is closed. 412: it changed since the version you "
    "send (`current_version` says which it is now). 428: no version sent (If-Match or `version`)."
)
SIGN_ERRORS = (
    "A signature: your password again (checked by auth). 403 naming `password`: wrong password; 429 with "
    "Retry-After: too many wrong passwords; 401: your account is gone; 503: auth cannot be reached."
)


def parse_if_match(value: str | None) -> int | None:
    """``If-Match: "3"`` (or ``3``, ``W/"3"``) -> 3; absent or ``*`` -> no version given."""
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
    """The language texts are written in: as the body says, else the request's Accept-Language,
    else the writer's profile language, else English."""
    return given if isinstance(given, str) else reader_of(request)


def reader_of(request: Request[Any, Any, Any]) -> Language:
    """The reader's language: the Accept-Language's en/es/zh, else their profile's, else English."""
    return reader_language(request.headers.get("accept-language"), principal_of(request).language)


def with_etag(record: RecordRead, status_code: int = HTTP_200_OK) -> Response[RecordRead]:
    return Response(record, status_code=status_code, headers={"ETag": f'"{record.version}"'})


class RecordController(Controller):
    path = "/api/v1/records"
    tags = ["Records"]

    @get(
        "/rules",
        summary="Who may create, edit, close, reopen and delete records, as data (any signed-in role)",
        sync_to_thread=False,
    )
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
        summary="List records (any signed-in role)",
        description=(
            "Newest first (`created_at` descending) unless `sort`/`order` say otherwise; ties by id. "
            "Every filter given must hold; id filters take one id or several. Deleted records never appear."
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
        description=(
            "Sections 1 and 2. The report number is given by the server (an Admin may give one; 409 if taken). "
            "422 names each missing or unknown value; 503: masterdata cannot be reached. The history starts "
            "with a `created` line per field given."
        ),
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

    @get(
        "/{record_id:int}",
        summary="One record (any signed-in role)",
        description="With its texts in every language, its signatures and its version as ETag. 404: none or deleted.",
    )
    async def get_record(
        self, request: Request[Any, Any, Any], record_id: int, records: RecordService
    ) -> Response[RecordRead]:
        return with_etag(await records.read(record_id, reader_of(request)))

    @patch(
        "/{record_id:int}",
        summary="Change a record (the roles of the sections changed)",
        description=(
            "Only the fields given change, and only those your role may edit (403 names the others; nothing is "
            'saved). `null` or `""` clears a field; required fields cannot be cleared (422). The version you read '
            "is required. " + CHANGE_ERRORS + " Each changed field is a `changed` line of the history."
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
            "set); the approver defaults to you. 422 lists what is missing. "
            + CHANGE_ERRORS
            + " "
            + SIGN_ERRORS
            + " Signed as `approved_disposition`."
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

    @post(
        "/{record_id:int}/reopen",
        guards=[require_roles(*rules.REOPEN_ROLES)],
        status_code=HTTP_200_OK,
        summary="Reopen a closed record, with the reason (Quality Engineer, Admin)",
        description=(
            "The record becomes editable again and says `reopened` until it is closed again. 409: it is not "
            "closed. 404: no such record (or deleted). 412/428: as for every change. "
            + SIGN_ERRORS
            + " Signed as `reopened`, with the reason."
        ),
    )
    async def reopen_record(
        self,
        request: Request[Any, Any, Any],
        record_id: int,
        data: RecordReopen,
        records: RecordService,
        if_match: Annotated[str | None, Parameter(header="If-Match", required=False)] = None,
    ) -> Response[RecordRead]:
        reopened = await records.reopen(
            record_id,
            data,
            principal_of(request),
            reader=reader_of(request),
            if_match=parse_if_match(if_match),
            headers=forwarded_headers(request),
        )
        return with_etag(reopened)

    @get(
        "/{record_id:int}/history",
        summary="A record's history, oldest first (any signed-in role; a deleted record's: Admin only)",
        description=(
            "Every creation, change, closing, reopening, signature, deletion and machine translation, one line per "
            "field, with the old and new values as text. Nobody can change or remove a line. `tz` (an IANA name) "
            "adds each moment in that zone as `at_local`; an unknown one: 400 naming `tz`. 404: no such record, "
            "or deleted and you are not an Admin."
        ),
    )
    async def record_history(
        self,
        request: Request[Any, Any, Any],
        record_id: int,
        records: RecordService,
        page: Annotated[int, Parameter(ge=1, le=MAX_PAGE)] = 1,
        page_size: Annotated[int, Parameter(ge=1, le=MAX_PAGE_SIZE)] = DEFAULT_PAGE_SIZE,
        tz: Annotated[
            str | None, Parameter(max_length=64, description="IANA time zone, e.g. Europe/Madrid", required=False)
        ] = None,
    ) -> Page[HistoryLine]:
        principal = principal_of(request)
        return await records.history(record_id, principal, page=page, page_size=page_size, tz=tz or principal.time_zone)

    @put(
        "/{record_id:int}/texts/{field:str}/{language:str}",
        status_code=HTTP_200_OK,
        summary="Correct the translation of a text (the roles that may edit the field)",
        description=(
            "A person's translation: no machine translation replaces it; it shows as `outdated` once the original "
            "is edited. 422: not a text field or language, the original's own language (change the original with "
            "PATCH), or no original to translate. 403: your role may not edit the field. " + CHANGE_ERRORS
        ),
    )
    async def correct_text(
        self,
        request: Request[Any, Any, Any],
        record_id: int,
        field: str,
        language: str,
        data: TextCorrection,
        records: RecordService,
        if_match: Annotated[str | None, Parameter(header="If-Match", required=False)] = None,
    ) -> Response[RecordRead]:
        corrected = await records.correct_text(
            record_id,
            field,
            language,
            data,
            principal_of(request),
            reader=reader_of(request),
            if_match=parse_if_match(if_match),
        )
        return with_etag(corrected)

    @delete(
        "/{record_id:int}",
        guards=[require_roles(*rules.DELETE_ROLES)],
        status_code=HTTP_204_NO_CONTENT,
        summary="Delete a record, with the reason (Admin)",
        description=(
            "A tombstone: the record answers 404 and leaves every list, export and chart; its history stays, "
            "readable by Admins, ending with a `deleted` line and the reason. Body `{reason, version?}`; a version "
            "(or If-Match), when given, must be the current one (412). 404: no such record (or deleted already)."
        ),
    )
    async def delete_record(
        self,
        request: Request[Any, Any, Any],
        record_id: int,
        records: RecordService,
        data: RecordDelete | None = None,
        if_match: Annotated[str | None, Parameter(header="If-Match", required=False)] = None,
    ) -> None:
        if data is None:
            raise ProblemError(
                400, 'say why the record is deleted: send {"reason": ...}', errors=[FieldError("reason", "required")]
            )
        await records.remove(record_id, data, principal_of(request), if_match=parse_if_match(if_match))
