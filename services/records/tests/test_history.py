"""A record's history as a reader gets it: every value as text, page by page, in the reader's
time zone; and the line the predecessor import leaves."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import pytest
from litestar.testing import AsyncTestClient
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from dmt_records.db.models import RecordHistory
from dmt_records.domain.records.history import as_text
from dmt_records.domain.records.legacy import import_records
from dmt_records.domain.records.rules import Status
from dmt_shared.contracts import RECORD_CATALOG_FIELDS
from dmt_shared.tokens import Role

RECORDS = "/api/v1/records"


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (None, None),
        (12, "12"),
        (Decimal("12.5"), "12.50"),
        (Decimal("0"), "0.00"),
        (2.5, "2.50"),
        (True, "true"),
        (False, "false"),
        (dt.date(2026, 3, 14), "2026-03-14"),
        (dt.datetime(2026, 3, 14, 9, 30, tzinfo=dt.UTC), "2026-03-14T09:30:00+00:00"),
        ("Porosity", "Porosity"),
        (Status.REOPENED, "reopened"),
    ],
)
def test_values_are_kept_as_text_the_same_way_every_time(value: Any, text: str | None) -> None:
    assert as_text(value) == text


async def test_the_history_is_paged_oldest_first_and_told_in_the_readers_time_zone(
    client: AsyncTestClient, headers: dict, new_record: Any, write: Any
) -> None:
    spanish = {**headers[Role.INSPECTOR], "Accept-Language": "es"}
    created = await client.post(
        RECORDS, json=new_record(level_id=None, serial_number=None, defect_description="Grieta"), headers=spanish
    )
    rid = created.json()["id"]
    await write.patch(rid, {"rework_hours": 0, "responsible_department": "Fundición"}, headers[Role.TECH_ENGINEER])
    url = f"{RECORDS}/{rid}/history"

    everything = (await client.get(url, headers=headers[Role.OPERATOR])).json()
    lines = everything["items"]
    # no line for what was left empty at creation; the text says which language it was written in
    created_fields = [x["field"] for x in lines if x["action"] == "created"]
    assert {"level_id", "serial_number"}.isdisjoint(created_fields)
    text_line = next(x for x in lines if x["field"] == "defect_description")
    assert (text_line["language"], text_line["new_value"]) == ("es", "Grieta")
    assert [(x["field"], x["old_value"], x["new_value"]) for x in lines if x["action"] == "changed"] == [
        ("rework_hours", None, "0.00"),
        ("responsible_department", None, "Fundición"),
        ("status", "open", "in_analysis"),
    ]
    assert everything["total"] == len(lines)
    # no tz asked: the zone of the reader's profile (UTC for this one)
    assert all(
        dt.datetime.fromisoformat(x["at_local"]) == dt.datetime.fromisoformat(x["at"].replace("Z", "+00:00"))
        and dt.datetime.fromisoformat(x["at_local"]).utcoffset() == dt.timedelta(0)
        for x in lines
    )
    assert {(x["actor_id"], x["actor_name"], x["actor_role"]) for x in lines[:2]} == {
        (2, "Ivan Inspector", "Inspector")
    }

    pages = []
    for page in (1, 2, 3, 4):
        answer = (await client.get(url, params={"page": page, "page_size": 5}, headers=headers[Role.OPERATOR])).json()
        assert (answer["total"], answer["page"], answer["page_size"]) == (len(lines), page, 5)
        pages += answer["items"]
    assert pages == lines
    assert [x["id"] for x in lines] == sorted(x["id"] for x in lines)

    madrid = (await client.get(url, params={"tz": "Europe/Madrid"}, headers=headers[Role.OPERATOR])).json()["items"]
    for utc, local in zip(lines, madrid, strict=True):
        at = dt.datetime.fromisoformat(utc["at"])
        assert at.utcoffset() == dt.timedelta(0)
        in_madrid = dt.datetime.fromisoformat(local["at_local"])
        assert in_madrid == at
        assert in_madrid.utcoffset() in (dt.timedelta(hours=1), dt.timedelta(hours=2))

    for bad in ("Mars/Olympus", "../../etc/passwd", "x" * 65):
        refused = await client.get(url, params={"tz": bad}, headers=headers[Role.OPERATOR])
        assert refused.status_code == 400, bad
        assert [e["field"] for e in refused.json()["errors"]] == ["tz"]
    for params in ({"page": 0}, {"page_size": 201}):
        assert (await client.get(url, params=params, headers=headers[Role.OPERATOR])).status_code == 400
    assert (await client.get(f"{RECORDS}/424242/history", headers=headers[Role.ADMIN])).status_code == 404
    assert (await client.get(url)).status_code == 401


def legacy_row(legacy_id: int, catalog_id: Any, **overrides: Any) -> dict[str, Any]:
    row: dict[str, Any] = {
        "id": legacy_id,
        "report_number": f"DMT-2019-{legacy_id:05d}",
        **{
            name: catalog_id(RECORD_CATALOG_FIELDS[name])
            for name in (
                "part_number_id",
                "work_center_id",
                "customer_id",
                "prepared_by_id",
                "inspection_item_id",
                "process_code_id",
            )
        },
        "operation": "OP-10",
        "quantity": 2,
        "date": "2019-05-02",
        "defect_description_en": "Burr on the edge",
        "defect_description_es": "Rebaba en el borde",
        "created_by_id": 2,
        "created_at": "2019-05-02 08:00:00",
    }
    row.update(overrides)
    return row


async def test_an_imported_record_starts_its_history_with_one_imported_line_once(
    client: AsyncTestClient, headers: dict, catalog_id: Any, engine: AsyncEngine
) -> None:
    assert (await client.get(RECORDS, headers=headers[Role.ADMIN])).status_code == 200  # the app made the tables
    catalog_ids = {(kind, catalog_id(kind)): catalog_id(kind) for kind in RECORD_CATALOG_FIELDS.values()}
    rows = [legacy_row(41, catalog_id), legacy_row(42, catalog_id, quantity=5)]
    async with AsyncSession(engine) as session:
        first = await import_records(session, rows, catalog_ids=catalog_ids, user_ids={2: 2})
    async with AsyncSession(engine) as session:
        again = await import_records(session, rows, catalog_ids=catalog_ids, user_ids={2: 2})
    assert (first.imported, first.refused, again.imported, again.present) == (2, [], 0, 2)

    rid = first.ids[42]
    lines = (await client.get(f"{RECORDS}/{rid}/history", headers=headers[Role.ADMIN])).json()["items"]
    assert [
        {k: x[k] for k in ("action", "actor_id", "actor_username", "actor_name", "new_value", "version")} for x in lines
    ] == [
        {
            "action": "imported",
            "actor_id": None,
            "actor_username": "import",
            "actor_name": "Predecessor import",
            "new_value": "legacy record 42",
            "version": 1,
        }
    ]
    async with engine.connect() as conn:
        assert await conn.scalar(select(func.count()).select_from(RecordHistory)) == 2

    # the imported record lives on like any other: its next change follows the imported line
    edited = await client.patch(f"{RECORDS}/{rid}", json={"quantity": 6, "version": 1}, headers=headers[Role.INSPECTOR])
    assert edited.status_code == 200, edited.text
    lines = (await client.get(f"{RECORDS}/{rid}/history", headers=headers[Role.ADMIN])).json()["items"]
    assert [(x["action"], x["field"], x["old_value"], x["new_value"]) for x in lines] == [
        ("imported", None, None, "legacy record 42"),
        ("changed", "quantity", "5", "6"),
    ]
