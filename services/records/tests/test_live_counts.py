"""The counts of live records per status that the database keeps (migration 0004) stay exact.

Whoever writes the records (the service, a bulk load, a statement typed by hand), the list's
total read from the kept counts is the number of records the list holds.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from typing import Any

import pytest
import sqlalchemy as sa
from litestar.testing import AsyncTestClient
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, AsyncSession

from dmt_records.db import MIGRATIONS, VERSION_TABLE
from dmt_records.db.counts import record_status_count
from dmt_records.db.models import Record
from dmt_records.domain.records.counts import counted_statuses, live_count
from dmt_records.domain.records.filters import RecordFilters, record_conditions
from dmt_records.domain.records.rules import Status
from dmt_shared.db import migrate
from dmt_shared.tokens import Role

RECORDS = "/api/v1/records"
STATUSES = [status.value for status in Status]
NOW = dt.datetime(2026, 3, 14, 9, 0, tzinfo=dt.UTC)
RECORD = Record.__table__

#: Lists filtered by status at most, as a user asks for them, and the filters they make.
LISTS: list[tuple[dict[str, str], RecordFilters]] = [
    ({}, RecordFilters()),
    ({"status": "open"}, RecordFilters(statuses=("open",))),
    ({"status": "open,closed"}, RecordFilters(statuses=("open", "closed"))),
    ({"is_closed": "true"}, RecordFilters(is_closed=True)),
    ({"is_closed": "false"}, RecordFilters(is_closed=False)),
    (
        {"status": "closed,reopened", "is_closed": "false"},
        RecordFilters(statuses=("closed", "reopened"), is_closed=False),
    ),
    ({"status": "in_analysis", "tz": "Asia/Shanghai"}, RecordFilters(statuses=("in_analysis",), tz="Asia/Shanghai")),
]


def raw_record(n: int, status: str, *, deleted: bool = False) -> dict[str, Any]:
    """A record row as a bulk load writes it, past the service (``bench/seed.py``)."""
    return {
        "report_number": f"RAW-{n:05d}", "status": status, "is_closed": status == "closed",
        "part_number_id": 101, "work_center_id": 201, "customer_id": 301, "prepared_by_id": 801,
        "operation": "OP-10", "quantity": 1, "record_date": dt.date(2026, 3, 1), "inspection_item_id": 701,
        "process_code_id": 901, "created_by_id": 2, "version": 1, "created_at": NOW, "updated_at": NOW,
        "deleted_at": NOW if deleted else None,
    }  # fmt: skip


async def real_counts(conn: AsyncConnection) -> dict[str, int]:
    rows = await conn.execute(
        sa.select(Record.status, sa.func.count()).where(Record.deleted_at.is_(None)).group_by(Record.status)
    )
    found = {status: int(count) for status, count in rows}
    return {status: found.get(status, 0) for status in STATUSES}


async def kept_counts(conn: AsyncConnection) -> dict[str, int]:
    rows = await conn.execute(sa.select(record_status_count.c.status, record_status_count.c.live))
    return {status: int(live) for status, live in rows}


async def counts_hold(
    engine: AsyncEngine, client: AsyncTestClient[Any] | None = None, who: dict[str, str] | None = None
) -> dict[str, int]:
    """Assert that the kept counts are the real ones, and that every list's total (read from them,
    counted, and as the list answers it) agrees; the counts."""
    async with engine.connect() as conn:
        real, kept = await real_counts(conn), await kept_counts(conn)
    assert kept == real
    async with AsyncSession(engine) as session:
        for params, filters in LISTS:
            counted = await session.scalar(
                sa.select(sa.func.count()).select_from(Record).where(*record_conditions(filters))
            )
            assert await live_count(session, filters) == counted, params
            if client is not None:
                listed = await client.get(RECORDS, params={**params, "page_size": 1}, headers=who)
                assert listed.json()["total"] == counted, params
    return real


async def raw(engine: AsyncEngine, statement: Any, rows: list[dict[str, Any]] | None = None) -> None:
    """One statement of its own, past the service."""
    async with engine.begin() as conn:
        await conn.execute(statement, rows)


async def test_every_way_of_writing_records_keeps_the_totals_exact(
    client: AsyncTestClient[Any], engine: AsyncEngine, headers: dict, new_record: Any, catalog_id: Any, write: Any
) -> None:
    inspector, admin, quality = headers[Role.INSPECTOR], headers[Role.ADMIN], headers[Role.QUALITY_ENGINEER]
    assert await counts_hold(engine, client, admin) == dict.fromkeys(STATUSES, 0)

    made = [(await client.post(RECORDS, json=new_record(serial_number=f"SN-{n}"), headers=inspector)).json()["id"]
            for n in range(5)]  # fmt: skip
    assert (await counts_hold(engine, client, admin))["open"] == 5
    assert (await write.patch(made[4], {"analysis": "Ramp too fast"}, headers[Role.OPERATOR])).status_code == 200
    assert (await counts_hold(engine, client, admin))["in_analysis"] == 1

    # through the workflow: analysed, decided, closed, reopened, closed again
    rid = made[0]
    assert (await write.patch(rid, {"analysis": "Ramp too fast"}, headers[Role.OPERATOR])).status_code == 200
    assert (await counts_hold(engine, client, admin))["in_analysis"] == 2
    decision = {"final_disposition_id": catalog_id("dispositions"), "failure_code_id": catalog_id("failure-codes")}
    assert (await write.patch(rid, decision, headers[Role.TECH_ENGINEER])).status_code == 200
    assert (await counts_hold(engine, client, admin))["dispositioned"] == 1
    closed = await write.close(rid, {"disposition_approval_date": "2026-03-17"}, quality)
    assert closed.json()["status"] == "closed"
    assert (await counts_hold(engine, client, admin))["closed"] == 1
    assert (await write.reopen(rid, "More parts found", quality)).json()["status"] == "reopened"
    assert (await counts_hold(engine, client, admin))["reopened"] == 1
    assert (await write.close(rid, {"disposition_approval_date": "2026-03-21"}, quality)).json()["status"] == "closed"
    # an edit that changes neither status nor deletion
    assert (await write.patch(made[1], {"quantity": 9}, inspector)).status_code == 200
    assert await counts_hold(engine, client, admin) == {
        "open": 3, "in_analysis": 1, "dispositioned": 0, "closed": 1, "reopened": 0,
    }  # fmt: skip

    # deleted (the tombstone), open or closed: gone from the totals
    assert (await write.delete(made[1], "entered twice", admin)).status_code == 204
    assert (await write.delete(rid, "entered twice", admin)).status_code == 204
    assert await counts_hold(engine, client, admin) == {
        "open": 2, "in_analysis": 1, "dispositioned": 0, "closed": 0, "reopened": 0,
    }  # fmt: skip

    # a bulk load's rows, deleted ones among them, in one statement
    loaded = [raw_record(n, STATUSES[n % 5], deleted=n % 7 == 0) for n in range(1, 36)]
    await raw(engine, RECORD.insert(), loaded)
    await counts_hold(engine, client, admin)

    # by hand: restored, statuses changed in bulk, removed outright
    await raw(engine, sa.update(RECORD).where(RECORD.c.id == made[1]).values(deleted_at=None))
    await raw(engine, sa.update(RECORD).where(RECORD.c.report_number.like("RAW-%"), RECORD.c.status == "open")
              .values(status="in_analysis"))  # fmt: skip
    await raw(engine, sa.update(RECORD).where(RECORD.c.report_number.in_(["RAW-00002", "RAW-00014"]))
              .values(deleted_at=NOW, status="reopened"))  # fmt: skip
    await raw(engine, sa.text("DELETE FROM dmt_record WHERE report_number LIKE 'RAW-%' AND status = 'closed'"))
    await raw(engine, sa.text("DELETE FROM dmt_record WHERE report_number IN ('RAW-00007', 'RAW-00010')"))
    real = await counts_hold(engine, client, admin)
    assert sum(real.values()) > 0


async def test_an_update_of_neither_status_nor_deletion_leaves_the_counts_unlocked_and_as_they_were(
    engine: AsyncEngine,
) -> None:
    await migrate(engine, MIGRATIONS, VERSION_TABLE)
    await raw(engine, RECORD.insert(), [raw_record(n, status) for n, status in enumerate(STATUSES, 1)])
    before = await counts_hold(engine)
    server = engine.dialect.name != "sqlite"
    async with engine.connect() as editing:
        await editing.begin()
        # status and deleted_at written with the values they had, and other columns changed
        await editing.execute(
            sa.update(RECORD).values(status=RECORD.c.status, deleted_at=None, quantity=RECORD.c.quantity + 1)
        )
        if server:  # a writer of the counts (a creation, say) is not kept waiting by the open edit
            async with engine.connect() as creating:
                await creating.begin()
                if engine.dialect.name == "postgresql":
                    await creating.execute(sa.text("SET LOCAL lock_timeout = '2s'"))
                else:
                    await creating.execute(sa.text("SET SESSION innodb_lock_wait_timeout = 2"))
                for status in STATUSES:
                    await creating.execute(
                        record_status_count.update().where(record_status_count.c.status == status).values(live=0)
                    )
                await creating.rollback()
        await editing.commit()
    assert await counts_hold(engine) == before == dict.fromkeys(STATUSES, 1)


async def test_the_migration_counts_the_records_already_there(engine: AsyncEngine) -> None:
    await migrate(engine, MIGRATIONS, VERSION_TABLE, "0003")
    rows = [raw_record(n, STATUSES[n % 5], deleted=n % 4 == 0) for n in range(1, 24)]
    await raw(engine, RECORD.insert(), rows)
    await migrate(engine, MIGRATIONS, VERSION_TABLE)
    expected = {s: sum(1 for r in rows if r["status"] == s and r["deleted_at"] is None) for s in STATUSES}
    assert await counts_hold(engine) == expected
    assert all(expected.values())


async def test_records_created_and_moved_at_the_same_time_are_all_counted(
    concurrent_client: Any, engine: AsyncEngine, headers: dict, new_record: Any, writer: Any,
    caplog: pytest.LogCaptureFixture,
) -> None:  # fmt: skip
    inspector, operator = headers[Role.INSPECTOR], headers[Role.OPERATOR]
    caplog.set_level(logging.INFO, logger="dmt.records")
    async with concurrent_client() as http:
        first = [(await http.post(RECORDS, json=new_record(), headers=inspector)).json()["id"] for _ in range(6)]
        write = writer(http)
        answers = await asyncio.gather(
            *(http.post(RECORDS, json=new_record(serial_number=f"SN-{n}"), headers=inspector) for n in range(12)),
            *(write.patch(rid, {"analysis": f"Cause {rid}"}, operator) for rid in first),
        )
    assert [a.status_code for a in answers] == [201] * 12 + [200] * 6, [a.text for a in answers]
    assert await counts_hold(engine) == {"open": 12, "in_analysis": 6, "dispositioned": 0, "closed": 0, "reopened": 0}
    retried = [r.getMessage() for r in caplog.records if "met a concurrent write" in r.getMessage()]
    print(f"{engine.dialect.name}: writes tried again after a deadlock or lock wait: {len(retried)}")


def test_only_lists_filtered_by_status_at_most_are_answered_from_the_counts() -> None:
    assert counted_statuses(RecordFilters(tz="Europe/Madrid")) == set(STATUSES)
    assert counted_statuses(RecordFilters(statuses=("open", "closed"), is_closed=True)) == {"closed"}
    assert counted_statuses(RecordFilters(statuses=("closed",), is_closed=False)) == set()
    assert counted_statuses(RecordFilters(is_closed=False)) == set(STATUSES) - {"closed"}
    others = [
        RecordFilters(q="porosity"),
        RecordFilters(statuses=("open",), ids={"customer_id": (301,)}),
        RecordFilters(date_from=dt.date(2026, 1, 1)),
        RecordFilters(created_from=NOW),
        RecordFilters(closed_to=NOW, is_closed=True),
        RecordFilters(quantity_min=2),
        RecordFilters(cost_max=None, quantity_max=3),
    ]
    assert [counted_statuses(filters) for filters in others] == [None] * len(others)


async def test_a_list_narrowed_by_anything_else_is_not_answered_from_the_counts() -> None:
    # None is answered before any query: the session is never used.
    assert await live_count(None, RecordFilters(q="x")) is None  # type: ignore[arg-type]
