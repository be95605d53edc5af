"""The answers of ``/api/v1/analytics``: numbers ready for a chart, names in the reader's language.

Money and hours are numbers rounded to 2 decimals, shares fractions of 1 rounded to 4, days
rounded to 2. An ``id`` of ``null`` is the group of records where the field is not set.
"""

from __future__ import annotations

import datetime as dt
from typing import Literal

import msgspec

#: What a Pareto or a trend can be split by: the record's catalog fields.
GroupBy = Literal[
    "failure_code",
    "part_number",
    "work_center",
    "customer",
    "disposition",
    "process_code",
    "inspection_item",
    "area",
    "level",
]
Measure = Literal["count", "cost"]
Interval = Literal["week", "month"]


class ParetoItem(msgspec.Struct):
    #: The catalog entry's id; ``null``: records where the field is not set.
    id: int | None
    #: ``item_number - item_name`` in the reader's language (the bare id if masterdata did not answer).
    label: str
    count: int
    cost: float
    #: The count or the cost, as ``measure`` says: what the bars are sorted by.
    value: float
    #: ``value`` over the value of all records the filters hold.
    share: float
    #: The share of this bar and every bar before it.
    cumulative_share: float


class ParetoOther(msgspec.Struct):
    """The groups beyond ``limit``, together."""

    groups: int
    count: int
    cost: float
    value: float
    share: float


class Pareto(msgspec.Struct):
    by: GroupBy
    measure: Measure
    #: Records the filters hold, and what they cost.
    total_count: int
    total_cost: float
    items: list[ParetoItem]
    other: ParetoOther | None
    #: Services whose names could not be had ("masterdata"): their labels are bare ids.
    unresolved: list[str]


class TrendPoint(msgspec.Struct):
    #: The first day of the week (a Monday) or of the month.
    period_start: dt.date
    count: int
    cost: float


class TrendSeries(msgspec.Struct):
    id: int | None
    label: str
    count: int
    cost: float
    #: The same periods as the trend's ``items``, zeros included.
    items: list[TrendPoint]


class Trend(msgspec.Struct):
    interval: Interval
    by: GroupBy | None
    #: Every period from the first record's to the last one's, in order, empty periods as zeros.
    items: list[TrendPoint]
    #: With ``by``: the ``limit`` groups with most records, one line each.
    series: list[TrendSeries]
    unresolved: list[str]


class CostMonth(msgspec.Struct):
    period_start: dt.date
    count: int
    rework_hours: float
    rework_cost: float
    scrap_cost: float
    other_cost: float
    total: float


class CostOfPoorQuality(msgspec.Struct):
    #: RECORDS_REWORK_HOURLY_RATE: what an hour of rework costs.
    hourly_rate: float
    count: int
    rework_hours: float
    rework_cost: float
    scrap_cost: float
    other_cost: float
    total: float
    #: Month by month (by record date), from the first record's month to the last one's.
    by_month: list[CostMonth]


class DispositionShare(msgspec.Struct):
    id: int | None
    label: str
    count: int
    share: float


class AgeBucket(msgspec.Struct):
    #: ``0-7``, ``8-30``, ``31-90`` or ``91+`` whole days since the record was created.
    bucket: str
    min_days: int
    max_days: int | None
    count: int


class OldestOpen(msgspec.Struct):
    id: int
    report_number: str
    status: str
    created_at: dt.datetime
    age_days: int


class OpenByAge(msgspec.Struct):
    #: Records not closed (open, in analysis, dispositioned, reopened) the filters hold.
    open: int
    buckets: list[AgeBucket]
    oldest: OldestOpen | None


class TimeToClose(msgspec.Struct):
    #: Closed records the filters hold (a reopened record counts again once it is closed again).
    closed: int
    #: Days from creation to closing; ``null`` when no record is closed.
    average_days: float | None
    median_days: float | None
    min_days: float | None
    max_days: float | None
