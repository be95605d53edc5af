"""``/api/v1/records/export.csv`` and ``/export.xlsx``: the records a list would show, as a file.

Any signed-in user may export (everyone may read every record). The file is streamed while the
records are read, so it has no row cap and the service's memory does not grow with it. Static
paths win over ``/{record_id:int}`` in Litestar's router (and ``export.csv`` is no int anyway).
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from litestar import Controller, Request, get
from litestar.datastructures import State
from litestar.di import Provide
from litestar.params import Parameter
from litestar.response import Stream

from dmt_records.domain.export import csvfile, xlsx
from dmt_records.domain.export.columns import COLUMNS, headers
from dmt_records.domain.export.services import ExportQuery, RecordExport
from dmt_records.domain.records.filters import RecordFilters, provide_filters
from dmt_records.domain.records.labels import Labels
from dmt_records.domain.records.languages import Language, reader_language
from dmt_records.domain.records.schemas import RecordSort, SortOrder
from dmt_shared.http import forwarded_headers
from dmt_shared.security import principal_of

#: The sheet's name in each language.
SHEET_NAMES: dict[str, str] = {"en": "Records", "es": "Registros", "zh": "记录"}

DESCRIPTION = (
    "The records the list would show with the same filters and `sort`/`order` (newest first by "
    "default), all of them, in the predecessor's 34 columns. Headers, catalog names and texts in "
    "`language` (else the Accept-Language, else English); a text not yet translated is given as "
    "written. Catalog entries as `item_number - item_name`, users as `username - full_name`, dates "
    "ISO, Created At in UTC, Is Closed `true`/`false`, hours and money with two decimals. Text that "
    "a spreadsheet would run as a formula starts with an apostrophe. If masterdata or auth cannot be "
    "reached, their columns hold bare ids and the `X-DMT-Unresolved` header names the service."
)

ExportLanguage = Annotated[
    Language | None,
    Parameter(description="en, es or zh; default: the Accept-Language, else en", required=False),
]


def export_headers(extension: str, labels: Labels) -> dict[str, str]:
    day = dt.datetime.now(dt.UTC).date().isoformat()
    answer = {
        "Content-Disposition": f'attachment; filename="dmt-records-{day}.{extension}"',
        # the file holds the plant's records: no shared cache keeps a copy
        "Cache-Control": "no-store",
    }
    if labels.unresolved:
        answer["X-DMT-Unresolved"] = ", ".join(labels.unresolved)
    return answer


class ExportController(Controller):
    path = "/api/v1/records"
    tags = ["Records"]
    dependencies = {"filters": Provide(provide_filters, sync_to_thread=False)}

    async def _prepare(
        self,
        request: Request[Any, Any, Any],
        state: State,
        filters: RecordFilters,
        sort: str,
        order: str,
        language: Language | None,
    ) -> tuple[RecordExport, ExportQuery, Labels]:
        export = RecordExport(state.database.engine, masterdata=state.masterdata_client, auth=state.auth_client)
        query = ExportQuery(
            filters=filters,
            sort=sort,
            order=order,
            language=language
            or reader_language(request.headers.get("accept-language"), principal_of(request).language),
        )
        # Labels first: the header that says whether they were found leaves before the first row.
        labels = await export.labels(query, forwarded_headers(request))
        return export, query, labels

    @get(
        "/export.csv",
        summary="Export records as CSV (UTF-8 with BOM, RFC 4180)",
        description=DESCRIPTION,
        media_type=csvfile.MEDIA_TYPE,
    )
    async def export_csv(
        self,
        request: Request[Any, Any, Any],
        state: State,
        filters: RecordFilters,
        sort: RecordSort = "created_at",
        order: SortOrder = "desc",
        language: ExportLanguage = None,
    ) -> Stream:
        export, query, labels = await self._prepare(request, state, filters, sort, order, language)
        return Stream(
            csvfile.csv_stream(headers(query.language), export.batches(query, labels)),
            media_type=csvfile.MEDIA_TYPE,
            headers=export_headers("csv", labels),
        )

    @get(
        "/export.xlsx",
        summary="Export records as an Excel workbook",
        description=DESCRIPTION + " Ids, quantities, hours and money are numbers in the workbook.",
        media_type=xlsx.MEDIA_TYPE,
    )
    async def export_xlsx(
        self,
        request: Request[Any, Any, Any],
        state: State,
        filters: RecordFilters,
        sort: RecordSort = "created_at",
        order: SortOrder = "desc",
        language: ExportLanguage = None,
    ) -> Stream:
        export, query, labels = await self._prepare(request, state, filters, sort, order, language)
        return Stream(
            xlsx.xlsx_stream(
                sheet_name=SHEET_NAMES[query.language],
                header=headers(query.language),
                widths=[column.width for column in COLUMNS],
                batches=export.batches(query, labels),
            ),
            media_type=xlsx.MEDIA_TYPE,
            headers=export_headers("xlsx", labels),
        )
