"""``/api/v1/analytics``: Pareto, trend, cost of poor quality, disposition mix, ageing, time to close.

Any signed-in user may read them (everyone may read every record). Every chart takes the list's
filters (``status``, ``failure_code_id``, ``date_from``, ``q``, ...), so a chart and the list
always agree on which records they speak of.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Any

from litestar import Controller, Request, Response, get
from litestar.datastructures import State
from litestar.di import Provide
from litestar.params import Parameter
from sqlalchemy.ext.asyncio import AsyncSession

from dmt_records.db.models import utcnow
from dmt_records.domain.analytics.schemas import (
    CostOfPoorQuality,
    DispositionShare,
    GroupBy,
    Interval,
    Measure,
    OpenByAge,
    Pareto,
    TimeToClose,
    Trend,
)
from dmt_records.domain.analytics.services import RecordAnalytics
from dmt_records.domain.records.filters import RecordFilters, provide_filters
from dmt_records.domain.records.languages import Language, reader_language
from dmt_shared.http import forwarded_headers
from dmt_shared.security import principal_of

FILTERS = "Takes every filter of the record list (`GET /api/v1/records`); deleted records never count."
COST = "The cost of a record is rework hours × the hourly rate (RECORDS_REWORK_HOURLY_RATE) + scrap + other cost."
LABELS = (
    "Catalog entries are named `item_number - item_name` in `language` (else the Accept-Language, else "
    "English); if masterdata cannot be reached they stay bare ids and `unresolved` says so."
)

ChartLanguage = Annotated[
    Language | None,
    Parameter(description="en, es or zh: the language of the names; default: the Accept-Language, else en"),
]


def provide_analytics(db_session: AsyncSession, state: State) -> RecordAnalytics:
    return RecordAnalytics(
        db_session,
        hourly_rate=Decimal(str(state.settings.rework_hourly_rate)),
        masterdata=state.masterdata_client,
        auth=state.auth_client,
    )


def reader(request: Request[Any, Any, Any], language: Language | None) -> Language:
    return language or reader_language(request.headers.get("accept-language"), principal_of(request).language)


class AnalyticsController(Controller):
    path = "/api/v1/analytics"
    tags = ["Analytics"]
    dependencies = {
        "filters": Provide(provide_filters, sync_to_thread=False),
        "analytics": Provide(provide_analytics, sync_to_thread=False),
    }

    @get(
        "/pareto",
        summary="Pareto of records by failure code, part, work center, customer or disposition",
        description=(
            "Groups the records by `by`, sorted by `measure` (record count or cost) from the largest, ties by id; "
            "records where the field is empty are one group with id `null`. The `limit` largest come as `items` "
            "with their share and cumulative share; the rest together as `other` (`null` when none). "
            f"{COST} {FILTERS} {LABELS}"
        ),
    )
    async def pareto(
        self,
        request: Request[Any, Any, Any],
        analytics: RecordAnalytics,
        filters: RecordFilters,
        by: Annotated[GroupBy, Parameter(description="The record field to group by")] = "failure_code",
        measure: Annotated[Measure, Parameter(description="count: records; cost: their cost")] = "count",
        limit: Annotated[int, Parameter(ge=1, le=100, description="Bars before the rest becomes `other`")] = 10,
        language: ChartLanguage = None,
    ) -> Pareto:
        return await analytics.pareto(
            filters,
            by=by,
            measure=measure,
            limit=limit,
            language=reader(request, language),
            headers=forwarded_headers(request),
        )

    @get(
        "/trend",
        summary="Records and their cost per week or month",
        description=(
            "By record date; weeks start on Monday. Every period from the first record's to the last one's, "
            "in order, empty ones as zeros. With `by`, also one series for each of the `limit` groups with "
            f"most records (the same periods). {COST} {FILTERS} {LABELS}"
        ),
    )
    async def trend(
        self,
        request: Request[Any, Any, Any],
        analytics: RecordAnalytics,
        filters: RecordFilters,
        interval: Annotated[Interval, Parameter(description="week (from Monday) or month")] = "month",
        by: Annotated[GroupBy | None, Parameter(description="Split into one series per group")] = None,
        limit: Annotated[int, Parameter(ge=1, le=50, description="Series at most, with `by`")] = 10,
        language: ChartLanguage = None,
    ) -> Trend:
        return await analytics.trend(
            filters,
            interval=interval,
            by=by,
            limit=limit,
            language=reader(request, language),
            headers=forwarded_headers(request),
        )

    @get(
        "/cost-of-poor-quality",
        summary="Cost of poor quality: rework, scrap and other cost, in total and per month",
        description=(
            "rework_cost = rework hours × hourly_rate; total = rework_cost + scrap_cost + other_cost; a missing "
            f"value counts as 0. Months by record date, empty ones as zeros. {FILTERS}"
        ),
    )
    async def cost_of_poor_quality(self, analytics: RecordAnalytics, filters: RecordFilters) -> CostOfPoorQuality:
        return await analytics.cost_of_poor_quality(filters)

    @get(
        "/disposition-mix",
        summary="How records were dispositioned: count and share of each final disposition",
        description=(
            "Most frequent first, ties by id; records without a final disposition are one item with id `null`. "
            f"{FILTERS} Names as `item_number - item_name` in `language`; if masterdata cannot be reached they "
            "stay bare ids and the `X-DMT-Unresolved` header names it."
        ),
    )
    async def disposition_mix(
        self,
        request: Request[Any, Any, Any],
        analytics: RecordAnalytics,
        filters: RecordFilters,
        language: ChartLanguage = None,
    ) -> Response[list[DispositionShare]]:
        items, unresolved = await analytics.disposition_mix(
            filters, language=reader(request, language), headers=forwarded_headers(request)
        )
        headers = {"X-DMT-Unresolved": ", ".join(unresolved)} if unresolved else None
        return Response(items, headers=headers)

    @get(
        "/open-by-age",
        summary="Records not yet closed, by age: 0-7, 8-30, 31-90 and 91+ days, and the oldest",
        description=f"Age: whole days since the record was created, now. {FILTERS}",
    )
    async def open_by_age(self, analytics: RecordAnalytics, filters: RecordFilters) -> OpenByAge:
        return await analytics.open_by_age(filters, now=utcnow())

    @get(
        "/time-to-close",
        summary="Days from creation to closing of closed records: average, median, shortest, longest",
        description=f"Records closed now (a reopened one counts once it is closed again). {FILTERS}",
    )
    async def time_to_close(self, analytics: RecordAnalytics, filters: RecordFilters) -> TimeToClose:
        return await analytics.time_to_close(filters)
