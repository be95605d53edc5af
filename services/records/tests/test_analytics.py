"""Charts of records on each database, checked against a count done here over the inserted data.

A varied set of records (a fixed random seed: every run the same) is inserted straight into the
tables, with costs, dates, statuses and ages the API would not give on demand, some deleted.
The test then counts, sums and buckets the same records in Python and compares.
"""

from __future__ import annotations

import datetime as dt
import random
import statistics
from collections import defaultdict
from collections.abc import AsyncIterator, Callable, Iterable
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

import pytest
from litestar.testing import AsyncTestClient
from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker

from dmt_records.asgi import create_app
from dmt_records.config import Settings
from dmt_records.db.models import Record
from dmt_shared.contracts import CatalogEntrySummary
from dmt_shared.settings import SettingsError, from_env
from dmt_shared.testing import TokenFactory
from dmt_shared.tokens import Role

ANALYTICS = "/api/v1/analytics"
#: Not the default 50; with quarter hours every cost stays in whole cents.
RATE = Decimal("42.4")
CENT = Decimal("0.01")
#: A failure code masterdata does not know: its label stays the bare id.
UNKNOWN_CODE = 1150

#: by -> the record field it groups
FIELDS = {
    "failure_code": "failure_code_id",
    "part_number": "part_number_id",
    "work_center": "work_center_id",
    "customer": "customer_id",
    "disposition": "final_disposition_id",
}


@dataclass
class Row:
    """What the test knows of one inserted record."""

    id: int
    report_number: str
    status: str
    is_closed: bool
    date: dt.date
    created_at: dt.datetime
    closed_at: dt.datetime | None
    deleted: bool
    fields: dict[str, int | None]
    rework_hours: Decimal | None
    scrap: Decimal | None
    other: Decimal | None

    @property
    def cost(self) -> Decimal:
        return (self.rework_hours or 0) * RATE + (self.scrap or 0) + (self.other or 0)


def cents(value: Decimal) -> float:
    return float(value.quantize(CENT, rounding=ROUND_HALF_UP))


def share(part: Decimal | int, whole: Decimal | int) -> float:
    return float((Decimal(part) / Decimal(whole)).quantize(Decimal("0.0001"), rounding=ROUND_HALF_UP))


def money_or_none(rng: random.Random, top: int) -> Decimal | None:
    return None if rng.random() < 0.3 else Decimal(rng.randint(0, top * 100)) / 100


async def insert_sample(engine: AsyncEngine, catalog_id: Callable[..., int], now: dt.datetime) -> list[Row]:
    """80 records (8 of them deleted) over late 2025 and early 2026, with every kind of gap."""
    rng = random.Random(20260314)
    codes = [catalog_id("failure-codes", 1)] * 5 + [catalog_id("failure-codes", 2)] * 3
    codes += [catalog_id("failure-codes", 3), UNKNOWN_CODE, None, None]
    dispositions = [catalog_id("dispositions", n) for n in (1, 1, 2, 3)] + [None]
    # dates on the edges: a Sunday, a Monday, the turn of the year, a month's last day
    fixed_days = [dt.date(2025, 12, 28), dt.date(2025, 12, 29), dt.date(2025, 12, 31), dt.date(2026, 1, 1),
                  dt.date(2026, 2, 28), dt.date(2026, 3, 1), dt.date(2026, 3, 2)]  # fmt: skip
    rows: list[Row] = []
    async with async_sessionmaker(engine, expire_on_commit=False)() as session:
        made: list[tuple[Record, bool]] = []
        for n in range(80):
            day = fixed_days[n] if n < len(fixed_days) else dt.date(2025, 11, 17) + dt.timedelta(rng.randint(0, 150))
            # ages of whole days plus some hours, never within an hour of a bucket's edge
            age = dt.timedelta(
                days=rng.choice([0, 3, 7, 8, 15, 30, 31, 60, 90, 91, 200, 400]),
                hours=rng.randint(1, 22),
                seconds=rng.randint(0, 3599),
            )
            created = (now - age).replace(microsecond=0)
            closed = rng.random() < 0.4
            fields = {
                "failure_code_id": rng.choice(codes),
                "part_number_id": rng.choice([catalog_id("part-numbers", k) for k in (1, 2, 3)]),
                "work_center_id": rng.choice([catalog_id("work-centers", k) for k in (1, 2)]),
                "customer_id": rng.choice([catalog_id("customers", k) for k in (1, 2, 3)]),
                "final_disposition_id": rng.choice(dispositions),
            }
            record = Record(
                report_number=f"DMT-2026-{n + 1:05d}",
                status="closed" if closed else rng.choice(["open", "in_analysis", "dispositioned", "reopened"]),
                is_closed=closed,
                level_id=None,
                area_id=None,
                prepared_by_id=catalog_id("prepared-by"),
                operation=f"OP-{n}",
                quantity=rng.randint(1, 20),
                date=day,
                inspection_item_id=catalog_id("inspection-items"),
                process_code_id=catalog_id("process-codes"),
                rework_hours=None if rng.random() < 0.3 else Decimal(rng.randint(0, 40)) / 4,
                material_scrap_cost=money_or_none(rng, 900),
                other_cost=money_or_none(rng, 300),
                created_by_id=2,
                created_at=created,
                closed_at=created + dt.timedelta(seconds=rng.randint(600, 40 * 86400)) if closed else None,
                deleted_at=now if n % 10 == 9 else None,
                **fields,
            )
            session.add(record)
            made.append((record, n % 10 == 9))
        await session.commit()
        for record, deleted in made:
            rows.append(
                Row(
                    id=record.id,
                    report_number=record.report_number,
                    status=record.status,
                    is_closed=record.is_closed,
                    date=record.date,
                    created_at=record.created_at,
                    closed_at=record.closed_at,
                    deleted=deleted,
                    fields={f: getattr(record, f) for f in FIELDS.values()},
                    rework_hours=record.rework_hours,
                    scrap=record.material_scrap_cost,
                    other=record.other_cost,
                )
            )
    return rows


@pytest.fixture
async def analytics_client(
    database_url: str, tokens: TokenFactory, upstreams: Any
) -> AsyncIterator[AsyncTestClient[Any]]:
    """The records service with an hourly rework rate of 42.40 (not the default 50)."""
    settings = Settings(
        database_url=database_url,
        auth_url="http://auth.test",
        masterdata_url="http://masterdata.test",
        rework_hourly_rate=float(RATE),
    )
    app = create_app(settings, transports=upstreams.transports(), verifier=tokens.verifier())
    async with AsyncTestClient(app) as test_client:
        yield test_client


@pytest.fixture
async def sample(analytics_client: AsyncTestClient, engine: AsyncEngine, catalog_id: Any) -> list[Row]:
    """Every record the test inserted, deleted ones included (``Row.deleted``)."""
    return await insert_sample(engine, catalog_id, dt.datetime.now(dt.UTC))


def live(rows: Iterable[Row], keep: Callable[[Row], bool] = lambda r: True) -> list[Row]:
    return [r for r in rows if not r.deleted and keep(r)]


def label(ident: int | None, kind_prefix: str, kind: str) -> str:
    """How the fake masterdata names an entry (conftest: ``FAI-1 - failure-codes 1``)."""
    if ident is None:
        return "not set"
    if ident == UNKNOWN_CODE:
        return str(ident)
    n = ident % 100
    return f"{kind_prefix}-{n} - {kind} {n}"


KINDS = {
    "failure_code": ("FAI", "failure-codes"),
    "part_number": ("PAR", "part-numbers"),
    "work_center": ("WOR", "work-centers"),
    "customer": ("CUS", "customers"),
    "disposition": ("DIS", "dispositions"),
}


def expected_pareto(rows: list[Row], by: str, measure: str, limit: int) -> dict[str, Any]:
    """The Pareto, counted here: groups by value descending, ties by id, "not set" last."""
    groups: dict[int | None, list[Row]] = defaultdict(list)
    for row in rows:
        groups[row.fields[FIELDS[by]]].append(row)

    def value(members: list[Row]) -> Decimal:
        if measure == "count":
            return Decimal(len(members))
        return sum((r.cost for r in members), Decimal(0)).quantize(CENT, rounding=ROUND_HALF_UP)

    ranked = sorted(groups.items(), key=lambda kv: (-value(kv[1]), kv[0] is None, kv[0] or 0))
    whole = Decimal(len(rows)) if measure == "count" else sum((r.cost for r in rows), Decimal(0)).quantize(CENT)
    items, running = [], Decimal(0)
    for ident, members in ranked[:limit]:
        running += value(members)
        items.append(
            {
                "id": ident,
                "label": label(ident, *KINDS[by]),
                "count": len(members),
                "cost": cents(sum((r.cost for r in members), Decimal(0))),
                "value": float(value(members)),
                "share": share(value(members), whole),
                "cumulative_share": share(running, whole),
            }
        )
    rest = [r for _, members in ranked[limit:] for r in members]
    other = None
    if rest:
        other = {
            "groups": len(ranked) - limit,
            "count": len(rest),
            "cost": cents(sum((r.cost for r in rest), Decimal(0))),
            "value": float(value(rest)),
            "share": share(value(rest), whole),
        }
    return {
        "by": by,
        "measure": measure,
        "total_count": len(rows),
        "total_cost": cents(sum((r.cost for r in rows), Decimal(0))),
        "items": items,
        "other": other,
        "unresolved": [],
    }


def monday(day: dt.date) -> dt.date:
    return day - dt.timedelta(days=day.weekday())


def first_of_month(day: dt.date) -> dt.date:
    return day.replace(day=1)


def every_period(first: dt.date, last: dt.date, interval: str) -> list[dt.date]:
    out, day = [], first
    while day <= last:
        out.append(day)
        day = day + dt.timedelta(days=7) if interval == "week" else (day + dt.timedelta(days=32)).replace(day=1)
    return out


def expected_points(rows: list[Row], starts: list[dt.date], interval: str) -> list[dict[str, Any]]:
    start_of = monday if interval == "week" else first_of_month
    return [
        {
            "period_start": p.isoformat(),
            "count": sum(1 for r in rows if start_of(r.date) == p),
            "cost": cents(sum((r.cost for r in rows if start_of(r.date) == p), Decimal(0))),
        }
        for p in starts
    ]


def by_value(items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Numbers compared to the cent / the ten-thousandth, the rest exactly."""
    return [{k: pytest.approx(v, abs=1e-6) if isinstance(v, float) else v for k, v in item.items()} for item in items]


async def get(client: AsyncTestClient, headers: dict, path: str, **params: Any) -> Any:
    response = await client.get(f"{ANALYTICS}/{path}", params=params, headers=headers[Role.OPERATOR])
    assert response.status_code == 200, (path, params, response.text)
    return response.json()


# ---------------------------------------------------------------- Pareto


@pytest.mark.parametrize("measure", ["count", "cost"])
async def test_the_pareto_of_each_field_matches_a_count_of_the_records(
    analytics_client: AsyncTestClient, headers: dict, sample: list[Row], measure: str
) -> None:
    rows = live(sample)
    for by in FIELDS:
        for limit in (10, 2):
            body = await get(analytics_client, headers, "pareto", by=by, measure=measure, limit=limit)
            expected = expected_pareto(rows, by, measure, limit)
            assert body["items"] == by_value(expected["items"]), (by, limit)
            assert body == {**expected, "items": body["items"]}, (by, limit)
            values = [item["value"] for item in body["items"]]
            assert values == sorted(values, reverse=True)
            counted = sum(item["count"] for item in body["items"]) + (body["other"] or {}).get("count", 0)
            assert counted == len(rows)


async def test_the_pareto_takes_the_list_filters_and_never_counts_a_deleted_record(
    analytics_client: AsyncTestClient, headers: dict, sample: list[Row], catalog_id: Any
) -> None:
    closed = live(sample, lambda r: r.is_closed)
    body = await get(analytics_client, headers, "pareto", by="failure_code", status="closed")
    assert body == {**expected_pareto(closed, "failure_code", "count", 10), "items": body["items"]}
    assert body["items"] == by_value(expected_pareto(closed, "failure_code", "count", 10)["items"])

    part = catalog_id("part-numbers", 2)
    march = live(sample, lambda r: r.fields["part_number_id"] == part and dt.date(2026, 3, 1) <= r.date)
    body = await get(
        analytics_client, headers, "pareto", by="customer", measure="cost", part_number_id=part, date_from="2026-03-01"
    )
    assert body["total_count"] == len(march)
    assert body["items"] == by_value(expected_pareto(march, "customer", "cost", 10)["items"])

    # every record of the list is in the chart: no more (deleted ones), no less
    listed = await analytics_client.get("/api/v1/records", params={"page_size": 1}, headers=headers[Role.OPERATOR])
    charted = await get(analytics_client, headers, "pareto")
    assert charted["total_count"] == listed.json()["total"] == len(live(sample))
    one = sample[0]
    body = await get(analytics_client, headers, "pareto", by="part_number", q=one.report_number)
    assert [(i["id"], i["count"]) for i in body["items"]] == [(one.fields["part_number_id"], 1)]


async def test_pareto_labels_are_in_the_readers_language_from_one_look_up(
    analytics_client: AsyncTestClient, headers: dict, sample: list[Row], upstreams: Any, catalog_id: Any
) -> None:
    for n, (es, zh) in enumerate([("Poro", "气孔"), ("Grieta", "裂纹"), ("Rebaba", "毛刺")], start=1):
        ident = catalog_id("failure-codes", n)
        upstreams.catalog[("failure-codes", ident)] = CatalogEntrySummary(
            id=ident, kind="failure-codes", item_number=f"FAI-{n}", item_name=f"failure-codes {n}",
            is_active=True, item_name_es=es, item_name_zh=zh,
        )  # fmt: skip
    before = upstreams.calls["masterdata"], upstreams.calls["auth"]
    body = await get(analytics_client, headers, "pareto", by="failure_code", language="zh")
    assert (upstreams.calls["masterdata"], upstreams.calls["auth"]) == (before[0] + 1, before[1])
    labels = {item["id"]: item["label"] for item in body["items"]}
    assert labels[catalog_id("failure-codes", 1)] == "FAI-1 - 气孔"
    assert labels[None] == "未设置"
    assert labels[UNKNOWN_CODE] == str(UNKNOWN_CODE)

    spanish = await analytics_client.get(
        f"{ANALYTICS}/pareto", headers={**headers[Role.OPERATOR], "Accept-Language": "es-MX,es;q=0.9"}
    )
    labels = {item["id"]: item["label"] for item in spanish.json()["items"]}
    assert labels[catalog_id("failure-codes", 2)] == "FAI-2 - Grieta"
    assert labels[None] == "sin asignar"

    upstreams.down.add("masterdata")
    body = await get(analytics_client, headers, "pareto", by="failure_code")
    assert body["unresolved"] == ["masterdata"]
    assert {item["label"] for item in body["items"]} == {
        str(i["id"]) if i["id"] is not None else "not set" for i in body["items"]
    }
    assert body["total_count"] == len(live(sample))


# ---------------------------------------------------------------- trend


@pytest.mark.parametrize("interval", ["week", "month"])
async def test_the_trend_buckets_records_by_week_from_monday_or_by_month(
    analytics_client: AsyncTestClient, headers: dict, sample: list[Row], interval: str
) -> None:
    rows = live(sample)
    start_of = monday if interval == "week" else first_of_month
    starts = every_period(min(start_of(r.date) for r in rows), max(start_of(r.date) for r in rows), interval)
    body = await get(analytics_client, headers, "trend", interval=interval)
    assert body["interval"] == interval
    assert body["series"] == []
    assert body["items"] == by_value(expected_points(rows, starts, interval))
    if interval == "week":
        # Sunday 2025-12-28 is the week of Monday the 22nd; Monday the 29th and 1 January share a week
        weeks = {item["period_start"] for item in body["items"] if item["count"]}
        assert {"2025-12-22", "2025-12-29"} <= weeks
        assert all(dt.date.fromisoformat(item["period_start"]).weekday() == 0 for item in body["items"])
    else:
        assert all(item["period_start"].endswith("-01") for item in body["items"])
    assert sum(item["count"] for item in body["items"]) == len(rows)

    # filtered: only January 2026, open records
    january = live(sample, lambda r: dt.date(2026, 1, 1) <= r.date <= dt.date(2026, 1, 31) and not r.is_closed)
    body = await get(
        analytics_client, headers, "trend", interval=interval, date_from="2026-01-01", date_to="2026-01-31",
        is_closed="false",
    )  # fmt: skip
    starts = every_period(min(start_of(r.date) for r in january), max(start_of(r.date) for r in january), interval)
    assert body["items"] == by_value(expected_points(january, starts, interval))


async def test_a_trend_split_by_failure_code_has_one_line_per_code(
    analytics_client: AsyncTestClient, headers: dict, sample: list[Row], upstreams: Any
) -> None:
    rows = live(sample)
    starts = every_period(min(monday(r.date) for r in rows), max(monday(r.date) for r in rows), "week")
    calls = upstreams.calls["masterdata"]
    body = await get(analytics_client, headers, "trend", interval="week", by="failure_code", limit=3)
    assert upstreams.calls["masterdata"] == calls + 1
    top = expected_pareto(rows, "failure_code", "count", 3)["items"]
    assert [(s["id"], s["label"], s["count"]) for s in body["series"]] == [
        (t["id"], t["label"], t["count"]) for t in top
    ]
    for line in body["series"]:
        members = [r for r in rows if r.fields["failure_code_id"] == line["id"]]
        assert line["items"] == by_value(expected_points(members, starts, "week"))
        assert line["cost"] == pytest.approx(cents(sum((r.cost for r in members), Decimal(0))))


# ---------------------------------------------------------------- cost of poor quality


async def test_cost_of_poor_quality_is_rework_at_the_rate_plus_scrap_plus_other_cost(
    analytics_client: AsyncTestClient, headers: dict, sample: list[Row]
) -> None:
    def costs(rows: list[Row]) -> dict[str, Any]:
        hours = sum((r.rework_hours or Decimal(0) for r in rows), Decimal(0))
        scrap = sum((r.scrap or Decimal(0) for r in rows), Decimal(0))
        other = sum((r.other or Decimal(0) for r in rows), Decimal(0))
        rework = (hours * RATE).quantize(CENT, rounding=ROUND_HALF_UP)
        return {
            "count": len(rows),
            "rework_hours": cents(hours),
            "rework_cost": cents(rework),
            "scrap_cost": cents(scrap),
            "other_cost": cents(other),
            "total": cents(rework + scrap + other),
        }

    rows = live(sample)
    body = await get(analytics_client, headers, "cost-of-poor-quality")
    assert body["hourly_rate"] == float(RATE)
    assert {k: v for k, v in body.items() if k not in ("hourly_rate", "by_month")} == costs(rows)
    assert body["total"] == pytest.approx(body["rework_cost"] + body["scrap_cost"] + body["other_cost"])
    assert body["total"] == pytest.approx(cents(sum((r.cost for r in rows), Decimal(0))))
    months = every_period(min(first_of_month(r.date) for r in rows), max(first_of_month(r.date) for r in rows), "month")
    assert [m["period_start"] for m in body["by_month"]] == [m.isoformat() for m in months]
    for month in body["by_month"]:
        start = dt.date.fromisoformat(month["period_start"])
        assert {k: v for k, v in month.items() if k != "period_start"} == costs(
            [r for r in rows if first_of_month(r.date) == start]
        ), start

    closed = await get(analytics_client, headers, "cost-of-poor-quality", status="closed")
    assert {k: v for k, v in closed.items() if k not in ("hourly_rate", "by_month")} == costs(
        live(sample, lambda r: r.is_closed)
    )


async def test_the_hourly_rate_is_a_setting_of_fifty_by_default(
    client: AsyncTestClient, headers: dict, new_record: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    created = await client.post("/api/v1/records", json=new_record(), headers=headers[Role.INSPECTOR])
    assert created.status_code == 201, created.text
    body = await get(client, headers, "cost-of-poor-quality")
    assert (body["hourly_rate"], body["count"], body["total"]) == (50.0, 1, 0.0)

    monkeypatch.setenv("RECORDS_REWORK_HOURLY_RATE", "61.25")
    assert from_env(Settings, "RECORDS").rework_hourly_rate == 61.25
    for wrong in (-1.0, float("nan"), float("inf")):
        with pytest.raises(SettingsError, match="RECORDS_REWORK_HOURLY_RATE"):
            Settings(rework_hourly_rate=wrong)
    assert Settings(rework_hourly_rate=0).rework_hourly_rate == 0


# ---------------------------------------------------------------- disposition mix, ages, time to close


async def test_the_disposition_mix_counts_each_final_disposition(
    analytics_client: AsyncTestClient, headers: dict, sample: list[Row], upstreams: Any
) -> None:
    rows = live(sample)
    counts: dict[int | None, int] = defaultdict(int)
    for row in rows:
        counts[row.fields["final_disposition_id"]] += 1
    ranked = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0] is None, kv[0] or 0))
    expected = [
        {"id": ident, "label": label(ident, "DIS", "dispositions"), "count": n, "share": share(n, len(rows))}
        for ident, n in ranked
    ]
    response = await analytics_client.get(f"{ANALYTICS}/disposition-mix", headers=headers[Role.INSPECTOR])
    assert response.status_code == 200
    assert response.json() == by_value(expected)
    assert "x-dmt-unresolved" not in response.headers
    assert sum(item["share"] for item in response.json()) == pytest.approx(1, abs=0.001)

    upstreams.down.add("masterdata")
    response = await analytics_client.get(
        f"{ANALYTICS}/disposition-mix", params={"status": "closed"}, headers=headers[Role.INSPECTOR]
    )
    assert response.headers["x-dmt-unresolved"] == "masterdata"
    assert sum(item["count"] for item in response.json()) == len(live(sample, lambda r: r.is_closed))


async def test_open_records_are_counted_by_age_with_the_oldest_named(
    analytics_client: AsyncTestClient, headers: dict, sample: list[Row]
) -> None:
    now = dt.datetime.now(dt.UTC)
    still_open = live(sample, lambda r: not r.is_closed)
    ages = [(now - r.created_at).days for r in still_open]
    body = await get(analytics_client, headers, "open-by-age")
    assert body["open"] == len(still_open)
    assert [(b["bucket"], b["min_days"], b["max_days"], b["count"]) for b in body["buckets"]] == [
        ("0-7", 0, 7, sum(a <= 7 for a in ages)),
        ("8-30", 8, 30, sum(8 <= a <= 30 for a in ages)),
        ("31-90", 31, 90, sum(31 <= a <= 90 for a in ages)),
        ("91+", 91, None, sum(a >= 91 for a in ages)),
    ]
    assert all(b["count"] for b in body["buckets"])  # the sample has records of every age
    oldest = min(still_open, key=lambda r: (r.created_at, r.id))
    assert body["oldest"]["id"] == oldest.id
    assert body["oldest"]["report_number"] == oldest.report_number
    assert body["oldest"]["age_days"] == (now - oldest.created_at).days

    reopened = live(sample, lambda r: r.status == "reopened")
    body = await get(analytics_client, headers, "open-by-age", status="reopened")
    assert body["open"] == len(reopened)
    assert (await get(analytics_client, headers, "open-by-age", status="closed")) == {
        "open": 0,
        "buckets": [
            {"bucket": "0-7", "min_days": 0, "max_days": 7, "count": 0},
            {"bucket": "8-30", "min_days": 8, "max_days": 30, "count": 0},
            {"bucket": "31-90", "min_days": 31, "max_days": 90, "count": 0},
            {"bucket": "91+", "min_days": 91, "max_days": None, "count": 0},
        ],
        "oldest": None,
    }


async def test_time_to_close_in_days_average_median_and_extremes(
    analytics_client: AsyncTestClient, headers: dict, sample: list[Row], catalog_id: Any
) -> None:
    def expected(rows: list[Row]) -> dict[str, Any]:
        spans = [(r.closed_at - r.created_at).total_seconds() / 86400 for r in rows if r.closed_at]
        if not spans:
            return {"closed": 0, "average_days": None, "median_days": None, "min_days": None, "max_days": None}
        return {
            "closed": len(spans),
            "average_days": pytest.approx(statistics.fmean(spans), abs=0.006),
            "median_days": pytest.approx(statistics.median(spans), abs=0.006),
            "min_days": pytest.approx(min(spans), abs=0.006),
            "max_days": pytest.approx(max(spans), abs=0.006),
        }

    closed = live(sample, lambda r: r.is_closed)
    parities = set()
    narrowing = [(None, None)] + [(field, catalog_id(kind, n)) for field, kind in
                                  (("part_number_id", "part-numbers"), ("customer_id", "customers"),
                                   ("work_center_id", "work-centers")) for n in (1, 2, 3)]  # fmt: skip
    for field, ident in narrowing:
        some = [r for r in closed if field is None or r.fields[field] == ident]
        params = {field: ident} if field else {}
        assert await get(analytics_client, headers, "time-to-close", **params) == expected(some), params
        parities.add(len(some) % 2)
    assert parities == {0, 1}  # a median of one middle record, and of two
    assert await get(analytics_client, headers, "time-to-close", status="open") == expected([])


# ---------------------------------------------------------------- how, and who


async def test_charts_are_counted_by_the_database_not_from_loaded_records(
    analytics_client: AsyncTestClient, headers: dict, sample: list[Row]
) -> None:
    statements: list[str] = []

    def seen(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        if statement.lstrip().upper().startswith("SELECT"):
            statements.append(" ".join(statement.split()).lower())

    engine = analytics_client.app.state.database.engine.sync_engine
    event.listen(engine, "before_cursor_execute", seen)
    try:
        for path, params in [
            ("pareto", {"by": "customer", "measure": "cost"}),
            ("trend", {"interval": "week", "by": "work_center"}),
            ("cost-of-poor-quality", {}),
            ("disposition-mix", {}),
            ("open-by-age", {}),
            ("time-to-close", {}),
        ]:
            statements.clear()
            response = await analytics_client.get(f"{ANALYTICS}/{path}", params=params, headers=headers[Role.ADMIN])
            assert response.status_code == 200, response.text
            assert 1 <= len(statements) <= 4, (path, statements)
            for statement in statements:
                aggregated = any(f"{fn}(" in statement for fn in ("count", "sum", "avg", "max"))
                assert aggregated or " limit " in statement, (path, statement)
    finally:
        event.remove(engine, "before_cursor_execute", seen)


async def test_every_role_may_read_charts_and_nobody_without_signing_in(
    analytics_client: AsyncTestClient, headers: dict
) -> None:
    paths = ["pareto", "trend", "cost-of-poor-quality", "disposition-mix", "open-by-age", "time-to-close"]
    for path in paths:
        assert (await analytics_client.get(f"{ANALYTICS}/{path}")).status_code == 401
        for role in Role:
            response = await analytics_client.get(f"{ANALYTICS}/{path}", headers=headers[role])
            assert response.status_code == 200, (path, role, response.text)
    empty = await get(analytics_client, headers, "pareto")
    assert (empty["total_count"], empty["items"], empty["other"]) == (0, [], None)
    assert (await get(analytics_client, headers, "trend"))["items"] == []
    assert (await get(analytics_client, headers, "cost-of-poor-quality"))["by_month"] == []
    assert (await get(analytics_client, headers, "disposition-mix")) == []


async def test_nonsense_chart_parameters_are_refused_naming_them(
    analytics_client: AsyncTestClient, headers: dict
) -> None:
    wrong = [
        ("pareto", "by", "colour"),
        ("pareto", "measure", "weight"),
        ("pareto", "limit", "0"),
        ("pareto", "limit", "101"),
        ("pareto", "language", "fr"),
        ("trend", "interval", "day"),
        ("trend", "by", "engineer"),
        ("pareto", "tz", "Moon/Base"),
        ("disposition-mix", "quantity_min", "-3"),
        ("time-to-close", "closed_from", "whenever"),
    ]
    for path, name, value in wrong:
        response = await analytics_client.get(f"{ANALYTICS}/{path}", params={name: value}, headers=headers[Role.ADMIN])
        assert response.status_code == 400, (path, name, response.text)
        assert [e["field"] for e in response.json()["errors"]] == [name], (path, name, response.text)
