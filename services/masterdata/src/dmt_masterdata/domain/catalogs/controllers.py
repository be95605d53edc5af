"""``/api/v1/catalogs``: read by everyone signed in, written by Admin only."""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Controller, Request, Response, delete, get, patch, post
from litestar.di import Provide
from litestar.openapi import ResponseSpec
from litestar.params import Parameter
from sqlalchemy.ext.asyncio import AsyncSession

from dmt_masterdata.db.models import CatalogEntry
from dmt_masterdata.domain.catalogs import rules
from dmt_masterdata.domain.catalogs.schemas import (
    CatalogEntryCreate,
    CatalogEntryRead,
    CatalogEntryUpdate,
    CatalogOverview,
    CatalogSummary,
)
from dmt_masterdata.domain.catalogs.services import CatalogEntryService, EntryQuery
from dmt_masterdata.domain.catalogs.usage import records_using
from dmt_shared.contracts import WANT_VERSION_HEADER, CatalogLookupRequest, CatalogLookupResponse, ContentVersion
from dmt_shared.http import ServiceClient, forwarded_headers
from dmt_shared.pagination import DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE, Page
from dmt_shared.problems import FieldError, ProblemError
from dmt_shared.security import require_admin

#: A page number so large that no catalog reaches it; it keeps the row offset within every database's range.
MAX_PAGE = 1_000_000


async def provide_catalog_service(db_session: AsyncSession) -> CatalogEntryService:
    return CatalogEntryService(session=db_session)


def to_read(entry: CatalogEntry) -> CatalogEntryRead:
    return CatalogEntryRead(
        id=entry.id,
        kind=entry.kind,
        item_number=entry.item_number,
        item_name=entry.item_name,
        item_name_es=entry.item_name_es,
        item_name_zh=entry.item_name_zh,
        is_active=entry.is_active,
        created_at=entry.created_at,
        updated_at=entry.updated_at,
    )


def _parse_ids(raw: str | None) -> list[int] | None:
    try:
        return rules.parse_ids(raw)
    except rules.RuleError as exc:
        raise ProblemError(400, str(exc), errors=[FieldError(exc.field, exc.message)]) from exc


class CatalogController(Controller):
    path = "/api/v1/catalogs"
    tags = ["Catalogs"]
    dependencies = {"catalogs": Provide(provide_catalog_service)}

    @get("/", summary="The eleven catalogs with their entry counts")
    async def overview(self, catalogs: CatalogEntryService) -> CatalogOverview:
        rows = await catalogs.overview()
        return CatalogOverview(items=[CatalogSummary(kind=k, title=t, total=n, active=a) for k, t, n, a in rows])

    @post(
        "/lookup",
        status_code=200,
        summary="Resolve references to entries of any catalogs at once",
        description=(
            "With the header `X-DMT-Want-Version`, the answer's ETag is the catalogs' content version "
            "(see `/api/v1/catalogs/version`)."
        ),
    )
    async def lookup(
        self, request: Request[Any, Any, Any], catalogs: CatalogEntryService, data: CatalogLookupRequest
    ) -> Response[CatalogLookupResponse]:
        # The version is read first: should an entry change meanwhile, the answer is newer than
        # its ETag says, so a copy of it is dropped at the next version check, never kept stale.
        wanted = WANT_VERSION_HEADER in request.headers
        version = await catalogs.version() if wanted else None
        items, missing = await catalogs.lookup(data.items)
        headers = {"ETag": version.etag} if version else {}
        return Response(CatalogLookupResponse(items=items, missing=missing), headers=headers)

    @get(
        "/version",
        summary="The catalogs' content version",
        description=(
            "Changes whenever any entry is added, removed, or changes its number, a name or its active flag. "
            "Sent as the ETag too; answers 304 to an If-None-Match naming the current version."
        ),
        responses={304: ResponseSpec(None, description="The version named in If-None-Match is the current one")},
    )
    async def version(
        self, request: Request[Any, Any, Any], catalogs: CatalogEntryService
    ) -> Response[ContentVersion | None]:
        body, status, headers = (await catalogs.version()).answer(request.headers.get("if-none-match"))
        return Response(body, status_code=status, headers=headers)

    @get(
        "/{kind:str}",
        summary="List one catalog",
        description="Ordered by item_number unless `sort` says otherwise; `q` searches the code and every name.",
    )
    async def list_entries(
        self,
        catalogs: CatalogEntryService,
        kind: str,
        q: Annotated[
            str | None,
            Parameter(max_length=255, description="Case-insensitive text in the code or any of the names"),
        ] = None,
        is_active: Annotated[bool | None, Parameter(description="Only active (true) or inactive (false)")] = None,
        ids: Annotated[
            str | None,
            Parameter(max_length=25_000, description="Only these ids, comma-separated (at most 1000)"),
        ] = None,
        sort: Annotated[rules.SortField, Parameter(description="Sort column")] = "item_number",
        order: Annotated[rules.SortOrder, Parameter(description="Sort direction")] = "asc",
        page: Annotated[int, Parameter(ge=1, le=MAX_PAGE)] = 1,
        page_size: Annotated[int, Parameter(ge=1, le=MAX_PAGE_SIZE)] = DEFAULT_PAGE_SIZE,
    ) -> Page[CatalogEntryRead]:
        query = EntryQuery(
            q=q, is_active=is_active, ids=_parse_ids(ids), sort=sort, order=order, page=page, page_size=page_size
        )
        entries, total = await catalogs.list_entries(kind, query)
        return Page(items=[to_read(e) for e in entries], total=total, page=page, page_size=page_size)

    @post("/{kind:str}", guards=[require_admin], summary="Add an entry (Admin)")
    async def create_entry(
        self, catalogs: CatalogEntryService, kind: str, data: CatalogEntryCreate
    ) -> CatalogEntryRead:
        fields: dict[str, Any] = {f: getattr(data, f) for f in data.__struct_fields__}
        return to_read(await catalogs.create_entry(kind, fields))

    @get("/{kind:str}/{id:int}", summary="One entry")
    async def get_entry(self, catalogs: CatalogEntryService, kind: str, id: int) -> CatalogEntryRead:
        return to_read(await catalogs.get_entry(kind, id))

    @patch(
        "/{kind:str}/{id:int}",
        guards=[require_admin],
        summary="Change an entry (Admin)",
        description="Only the fields given change; item_name_es and item_name_zh may be cleared with null.",
    )
    async def update_entry(
        self, catalogs: CatalogEntryService, kind: str, id: int, data: CatalogEntryUpdate
    ) -> CatalogEntryRead:
        return to_read(await catalogs.update_entry(kind, id, data.changes()))

    @delete(
        "/{kind:str}/{id:int}",
        guards=[require_admin],
        status_code=204,
        summary="Delete an entry no record uses (Admin)",
        description="Refused with 409 when records use it (deactivate it instead), 503 when that cannot be known.",
    )
    async def delete_entry(
        self, request: Request[Any, Any, Any], catalogs: CatalogEntryService, kind: str, id: int
    ) -> None:
        records: ServiceClient = request.app.state.records_client
        headers = forwarded_headers(request)

        async def count(entry_kind: str, entry_id: int) -> int:
            return await records_using(records, entry_kind, entry_id, headers)

        await catalogs.delete_unused(kind, id, count)
