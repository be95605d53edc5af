"""Charts of records, counted and summed by the database: no record is loaded to draw them.

Every figure is one or two ``GROUP BY`` / ``SUM`` / ``COUNT`` queries over the records the list's
filters hold (deleted records never count). What differs between databases (the first day of a
week or month, days between two moments) is one small SQL construct each, compiled per dialect.
Names of catalog entries come from masterdata in one look-up per chart, after the numbers.

The cost of a record is ``rework_hours × RECORDS_REWORK_HOURLY_RATE + material_scrap_cost +
other_cost``, each missing part counting as 0.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from sqlalchemy import Date, Float, Numeric, and_, case, func, literal, or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql import ColumnElement
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.functions import FunctionElement

from dmt_records.db.models import Record
from dmt_records.domain.analytics.schemas import (
    AgeBucket,
    CostMonth,
    CostOfPoorQuality,
    DispositionShare,
    GroupBy,
    Interval,
    Measure,
    OldestOpen,
    OpenByAge,
    Pareto,
    ParetoItem,
    ParetoOther,
    TimeToClose,
    Trend,
    TrendPoint,
    TrendSeries,
)
from dmt_records.domain.records import labels as record_labels
from dmt_records.domain.records.filters import RecordFilters, record_conditions
from dmt_records.domain.records.labels import Labels
from dmt_shared.http import ServiceClient

#: ``by`` -> (the record's column, the catalog kind that names its values).
GROUPS: dict[str, tuple[str, str]] = {
    "failure_code": ("failure_code_id", "failure-codes"),
    "part_number": ("part_number_id", "part-numbers"),
    "work_center": ("work_center_id", "work-centers"),
    "customer": ("customer_id", "customers"),
    "disposition": ("final_disposition_id", "dispositions"),
    "process_code": ("process_code_id", "process-codes"),
    "inspection_item": ("inspection_item_id", "inspection-items"),
    "area": ("area_id", "areas"),
    "level": ("level_id", "levels"),
}

#: The label of the records where the grouped field is empty, in the reader's language.
NOT_SET: dict[str, str] = {"en": "not set", "es": "sin asignar", "zh": "未设置"}

#: Ages of open records, in whole days since creation: (name, from, to inclusive or None).
AGE_BUCKETS: tuple[tuple[str, int, int | None], ...] = (
    ("0-7", 0, 7),
    ("8-30", 8, 30),
    ("31-90", 31, 90),
    ("91+", 91, None),
)

CENT = Decimal("0.01")
SHARE = Decimal("0.0001")
#: Periods a trend may fill in between its first and last record (40 years of weeks).
MAX_PERIODS = 2100


# ---------------------------------------------------------------- SQL per dialect


class week_start(FunctionElement[dt.date]):
    """The Monday of the week of a date column (ISO weeks)."""

    type = Date()
    inherit_cache = True
    name = "week_start"


class month_start(FunctionElement[dt.date]):
    """The first day of the month of a date column."""

    type = Date()
    inherit_cache = True
    name = "month_start"


class days_between(FunctionElement[float]):
    """Days, with their fraction, from the first moment to the second."""

    type = Float()
    inherit_cache = True
    name = "days_between"


def _args(element: FunctionElement[Any], compiler: SQLCompiler, **kw: Any) -> list[str]:
    return [compiler.process(clause, **kw) for clause in element.clauses]


@compiles(week_start)
def _week_postgres(element: week_start, compiler: SQLCompiler, **kw: Any) -> str:
    # A date becomes a timestamp *without* zone first: the session's zone cannot move the day.
    (day,) = _args(element, compiler, **kw)
    return f"CAST(date_trunc('week', CAST({day} AS TIMESTAMP)) AS DATE)"


@compiles(week_start, "mysql")
@compiles(week_start, "mariadb")
def _week_mysql(element: week_start, compiler: SQLCompiler, **kw: Any) -> str:
    (day,) = _args(element, compiler, **kw)
    return f"SUBDATE({day}, WEEKDAY({day}))"  # WEEKDAY: Monday 0 .. Sunday 6


@compiles(week_start, "sqlite")
def _week_sqlite(element: week_start, compiler: SQLCompiler, **kw: Any) -> str:
    # 'weekday 0' moves to the next Sunday (or stays on one); six days before it is the Monday.
    (day,) = _args(element, compiler, **kw)
    return f"date({day}, 'weekday 0', '-6 days')"


@compiles(month_start)
def _month_postgres(element: month_start, compiler: SQLCompiler, **kw: Any) -> str:
    (day,) = _args(element, compiler, **kw)
    return f"CAST(date_trunc('month', CAST({day} AS TIMESTAMP)) AS DATE)"


@compiles(month_start, "mysql")
@compiles(month_start, "mariadb")
def _month_mysql(element: month_start, compiler: SQLCompiler, **kw: Any) -> str:
    (day,) = _args(element, compiler, **kw)
    return f"SUBDATE({day}, DAYOFMONTH({day}) - 1)"


@compiles(month_start, "sqlite")
def _month_sqlite(element: month_start, compiler: SQLCompiler, **kw: Any) -> str:
    (day,) = _args(element, compiler, **kw)
    return f"date({day}, 'start of month')"


@compiles(days_between)
def _days_postgres(element: days_between, compiler: SQLCompiler, **kw: Any) -> str:
    start, end = _args(element, compiler, **kw)
    return f"(EXTRACT(EPOCH FROM ({end} - {start})) / 86400.0)"


@compiles(days_between, "mysql")
@compiles(days_between, "mariadb")
def _days_mysql(element: days_between, compiler: SQLCompiler, **kw: Any) -> str:
    start, end = _args(element, compiler, **kw)
    return f"(TIMESTAMPDIFF(MICROSECOND, {start}, {end}) / 86400000000.0)"


@compiles(days_between, "sqlite")
def _days_sqlite(element: days_between, compiler: SQLCompiler, **kw: Any) -> str:
    # Moments are stored as UTC text that julianday() reads.
    start, end = _args(element, compiler, **kw)
    return f"(julianday({end}) - julianday({start}))"


# ---------------------------------------------------------------- numbers


def cents(value: Any) -> Decimal:
    """A sum from the database (Decimal, or float on SQLite; None for no rows) to the cent, half up
    as the databases' ROUND() does, so what is shown and what was sorted by agree."""
    return as_decimal(value).quantize(CENT, rounding=ROUND_HALF_UP)


def money(value: Any) -> float:
    return float(cents(value))


def as_decimal(value: Any) -> Decimal:
    if value is None:
        return Decimal(0)
    return value if isinstance(value, Decimal) else Decimal(str(value))


def fraction(part: Decimal | int, whole: Decimal | int) -> float:
    if not whole:
        return 0.0
    return float((Decimal(part) / Decimal(whole)).quantize(SHARE, rounding=ROUND_HALF_UP))


def top_groups(rows: Sequence[Any], measure: str, limit: int) -> list[Any]:
    """The ``limit`` rows of (group, count, cost) with the highest count or cost (to the cent);
    ties by id, "not set" last: the order `_top_groups` asks the database for."""

    def order(row: Any) -> tuple[Any, bool, int]:
        value = row[1] if measure == "count" else cents(row[2])
        return (-value, row[0] is None, row[0] or 0)

    return sorted(rows, key=order)[:limit]


def days(value: Any) -> float | None:
    """Days to two decimals; ``None`` stays (no closed record, no figure)."""
    return None if value is None else money(value)


def next_period(day: dt.date, interval: str) -> dt.date:
    if interval == "week":
        return day + dt.timedelta(days=7)
    return dt.date(day.year + day.month // 12, day.month % 12 + 1, 1)


def periods_of(found: Iterable[dt.date], interval: str) -> list[dt.date]:
    """Every period start from the first found to the last, so a chart shows empty periods as such;
    only the found ones when that would be more than MAX_PERIODS (a record dated in another century)."""
    known = sorted(found)
    if not known:
        return []
    out: list[dt.date] = []
    day = known[0]
    while day <= known[-1]:
        if len(out) == MAX_PERIODS:
            return known
        out.append(day)
        day = next_period(day, interval)
    return out


def as_date(value: Any) -> dt.date:
    """A period start as a date (SQLite gives the text of one when the type is not applied)."""
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    return dt.date.fromisoformat(str(value)[:10])


class RecordAnalytics:
    """The charts of the records ``filters`` hold, at ``hourly_rate`` per rework hour."""

    def __init__(
        self,
        session: AsyncSession,
        *,
        hourly_rate: Decimal,
        masterdata: ServiceClient,
        auth: ServiceClient,
    ) -> None:
        self.session = session
        self.hourly_rate = hourly_rate
        self.masterdata = masterdata
        self.auth = auth

    # ------------------------------------------------------------ building blocks

    def record_cost(self) -> ColumnElement[Decimal]:
        hours: ColumnElement[Decimal] = func.coalesce(Record.rework_hours, 0)
        rate = literal(self.hourly_rate, Numeric(14, 4))
        return hours * rate + func.coalesce(Record.material_scrap_cost, 0) + func.coalesce(Record.other_cost, 0)

    def total_cost(self) -> ColumnElement[Decimal]:
        return func.coalesce(func.sum(self.record_cost()), 0)

    async def _labels(
        self, kind: str, ids: Iterable[int | None], language: str | None, headers: Mapping[str, str]
    ) -> Labels:
        """One masterdata look-up for the entries a chart shows; none when it shows none."""
        wanted = sorted({i for i in ids if i is not None})
        if not wanted:
            return Labels(language=language)
        return await record_labels.resolve(
            self.masterdata, self.auth, catalog_ids={kind: wanted}, user_ids=(), language=language, headers=headers
        )

    @staticmethod
    def _label(labels: Labels, kind: str, ident: int | None) -> str:
        if ident is None:
            return NOT_SET.get(labels.language or "en", NOT_SET["en"])
        return labels.catalog_label(kind, ident)

    async def _top_groups(
        self, column: Any, conditions: Sequence[ColumnElement[bool]], measure: Measure, limit: int
    ) -> list[Any]:
        """The ``limit`` groups of ``column`` with the highest count or cost; ties by id, "not set" last."""
        count = func.count(Record.id)
        cost = self.total_cost()
        value = count if measure == "count" else func.round(cost, 2)
        query = (
            select(column, count, cost)
            .where(*conditions)
            .group_by(column)
            .order_by(value.desc(), column.is_(None), column)
            .limit(limit)
        )
        return list((await self.session.execute(query)).all())

    # ------------------------------------------------------------ charts

    async def pareto(
        self,
        filters: RecordFilters,
        *,
        by: GroupBy,
        measure: Measure,
        limit: int,
        language: str | None,
        headers: Mapping[str, str],
    ) -> Pareto:
        field, kind = GROUPS[by]
        column = getattr(Record, field)
        conditions = record_conditions(filters)
        # One pass over the records: every group with its count and cost (a group is a catalog
        # entry, so there are few), the totals and the top ones worked out here. Three queries
        # (totals, number of groups, top groups) read a million records three times.
        every_group = list(
            (
                await self.session.execute(
                    select(column, func.count(Record.id), self.total_cost()).where(*conditions).group_by(column)
                )
            ).all()
        )
        total_count = sum(row[1] for row in every_group)
        total_cost = sum((as_decimal(row[2]) for row in every_group), Decimal(0))
        groups = len(every_group)
        rows = top_groups(every_group, measure, limit)
        labels = await self._labels(kind, (row[0] for row in rows), language, headers)

        whole = Decimal(total_count) if measure == "count" else cents(total_cost)
        items: list[ParetoItem] = []
        running = Decimal(0)
        for ident, count, cost in rows:
            value = Decimal(count) if measure == "count" else cents(cost)
            running += value
            items.append(
                ParetoItem(
                    id=ident,
                    label=self._label(labels, kind, ident),
                    count=count,
                    cost=money(cost),
                    value=count if measure == "count" else float(value),
                    share=fraction(value, whole),
                    cumulative_share=fraction(running, whole),
                )
            )
        other = None
        rest = (groups or 0) - len(items)
        if rest > 0:
            rest_count = total_count - sum(i.count for i in items)
            rest_cost = as_decimal(total_cost) - sum((as_decimal(row[2]) for row in rows), Decimal(0))
            rest_value = Decimal(rest_count) if measure == "count" else cents(rest_cost)
            other = ParetoOther(
                groups=rest,
                count=rest_count,
                cost=money(rest_cost),
                value=rest_count if measure == "count" else float(rest_value),
                share=fraction(rest_value, whole),
            )
        return Pareto(
            by=by,
            measure=measure,
            total_count=total_count,
            total_cost=money(total_cost),
            items=items,
            other=other,
            unresolved=labels.unresolved,
        )

    async def trend(
        self,
        filters: RecordFilters,
        *,
        interval: Interval,
        by: GroupBy | None,
        limit: int,
        language: str | None,
        headers: Mapping[str, str],
    ) -> Trend:
        period = week_start(Record.date) if interval == "week" else month_start(Record.date)
        conditions = record_conditions(filters)
        count = func.count(Record.id)
        cost = self.total_cost()
        rows = (
            await self.session.execute(select(period, count, cost).where(*conditions).group_by(period).order_by(period))
        ).all()
        found = {as_date(p): (n, c) for p, n, c in rows}
        starts = periods_of(found, interval)
        items = [
            TrendPoint(period_start=p, count=found.get(p, (0, 0))[0], cost=money(found.get(p, (0, 0))[1]))
            for p in starts
        ]
        series: list[TrendSeries] = []
        unresolved: list[str] = []
        if by is not None and starts:
            field, kind = GROUPS[by]
            column = getattr(Record, field)
            top = await self._top_groups(column, conditions, "count", limit)
            ids = [row[0] for row in top]
            known = [i for i in ids if i is not None]
            chosen = [column.in_(known)] if known else []
            if None in ids:
                chosen.append(column.is_(None))
            split = (
                await self.session.execute(
                    select(period, column, count, cost).where(*conditions, or_(*chosen)).group_by(period, column)
                )
            ).all()
            cells = {(as_date(p), ident): (n, c) for p, ident, n, c in split}
            labels = await self._labels(kind, ids, language, headers)
            unresolved = labels.unresolved
            for ident, total, total_cost in top:
                points = [
                    TrendPoint(
                        period_start=p,
                        count=cells.get((p, ident), (0, 0))[0],
                        cost=money(cells.get((p, ident), (0, 0))[1]),
                    )
                    for p in starts
                ]
                series.append(
                    TrendSeries(
                        id=ident,
                        label=self._label(labels, kind, ident),
                        count=total,
                        cost=money(total_cost),
                        items=points,
                    )
                )
        return Trend(interval=interval, by=by, items=items, series=series, unresolved=unresolved)

    async def cost_of_poor_quality(self, filters: RecordFilters) -> CostOfPoorQuality:
        conditions = record_conditions(filters)
        month = month_start(Record.date)
        sums = (
            func.count(Record.id),
            func.coalesce(func.sum(func.coalesce(Record.rework_hours, 0)), 0),
            func.coalesce(func.sum(func.coalesce(Record.material_scrap_cost, 0)), 0),
            func.coalesce(func.sum(func.coalesce(Record.other_cost, 0)), 0),
        )
        whole = (await self.session.execute(select(*sums).where(*conditions))).one()
        rows = (
            await self.session.execute(select(month, *sums).where(*conditions).group_by(month).order_by(month))
        ).all()
        found = {as_date(row[0]): tuple(row[1:]) for row in rows}
        months = periods_of(found, "month")
        empty = (0, 0, 0, 0)
        by_month = [self._costs(CostMonth, found.get(m, empty), period_start=m) for m in months]
        return self._costs(CostOfPoorQuality, tuple(whole), hourly_rate=float(self.hourly_rate), by_month=by_month)

    def _costs(self, kind: Any, sums: Sequence[Any], **extra: Any) -> Any:
        count, hours, scrap, other = sums
        rework = cents(as_decimal(hours) * self.hourly_rate)
        scrap_cost = cents(scrap)
        other_cost = cents(other)
        return kind(
            count=count,
            rework_hours=money(hours),
            rework_cost=float(rework),
            scrap_cost=float(scrap_cost),
            other_cost=float(other_cost),
            total=float(rework + scrap_cost + other_cost),
            **extra,
        )

    async def disposition_mix(
        self, filters: RecordFilters, *, language: str | None, headers: Mapping[str, str]
    ) -> tuple[list[DispositionShare], list[str]]:
        """Each final disposition's share of the records (``null``: none decided yet), most first."""
        column = Record.final_disposition_id
        conditions = record_conditions(filters)
        count = func.count(Record.id)
        rows = (
            await self.session.execute(
                select(column, count)
                .where(*conditions)
                .group_by(column)
                .order_by(count.desc(), column.is_(None), column)
            )
        ).all()
        total = sum(n for _, n in rows)
        labels = await self._labels("dispositions", (ident for ident, _ in rows), language, headers)
        items = [
            DispositionShare(
                id=ident, label=self._label(labels, "dispositions", ident), count=n, share=fraction(n, total)
            )
            for ident, n in rows
        ]
        return items, labels.unresolved

    async def open_by_age(self, filters: RecordFilters, *, now: dt.datetime) -> OpenByAge:
        """Records not closed, by whole days since they were created, and the oldest of them."""
        conditions = [*record_conditions(filters), Record.is_closed.is_(False)]
        counts = []
        for _, low, high in AGE_BUCKETS:
            # Age in whole days >= low <=> created at least ``low`` days ago; <= high <=> less than
            # high + 1 days ago. The first bucket has no lower end: it also holds a record "from the
            # future" (the clock of imported data).
            held = [Record.created_at <= now - dt.timedelta(days=low)] if low else []
            if high is not None:
                held.append(Record.created_at > now - dt.timedelta(days=high + 1))
            counts.append(func.count(case((and_(*held), Record.id))))
        numbers = (await self.session.execute(select(func.count(Record.id), *counts).where(*conditions))).one()
        oldest_row = (
            await self.session.execute(
                select(Record.id, Record.report_number, Record.status, Record.created_at)
                .where(*conditions)
                .order_by(Record.created_at, Record.id)
                .limit(1)
            )
        ).first()
        oldest = None
        if oldest_row is not None:
            ident, number, status, created = oldest_row
            oldest = OldestOpen(
                id=ident,
                report_number=number,
                status=status,
                created_at=created,
                age_days=max(0, (now - created).days),
            )
        buckets = [
            AgeBucket(bucket=name, min_days=low, max_days=high, count=n)
            for (name, low, high), n in zip(AGE_BUCKETS, numbers[1:], strict=True)
        ]
        return OpenByAge(open=numbers[0], buckets=buckets, oldest=oldest)

    async def time_to_close(self, filters: RecordFilters) -> TimeToClose:
        """Days from creation to closing of the closed records; the median by ORDER BY / OFFSET,
        which every database has (PostgreSQL alone has percentile_cont)."""
        conditions = [*record_conditions(filters), Record.is_closed.is_(True), Record.closed_at.is_not(None)]
        elapsed = days_between(Record.created_at, Record.closed_at)
        closed, average, shortest, longest = (
            await self.session.execute(
                select(func.count(Record.id), func.avg(elapsed), func.min(elapsed), func.max(elapsed)).where(
                    *conditions
                )
            )
        ).one()
        median = None
        if closed:
            middle = (
                await self.session.scalars(
                    select(elapsed)
                    .where(*conditions)
                    .order_by(elapsed, Record.id)
                    .offset((closed - 1) // 2)
                    .limit(1 if closed % 2 else 2)
                )
            ).all()
            median = sum(as_decimal(v) for v in middle) / len(middle)
        return TimeToClose(
            closed=closed,
            average_days=days(average),
            median_days=days(median),
            min_days=days(shortest),
            max_days=days(longest),
        )
