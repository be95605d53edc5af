"""The filters every list, export and chart of records shares, on each database.

Records are inserted straight into the tables where a test needs moments, costs or statuses the
API would not give on demand (a creation time late on a given evening, a deleted record); the
search of a Chinese word also runs on a record written through the API.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from decimal import Decimal
from typing import Any

import pytest
from litestar.testing import AsyncTestClient
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker

from dmt_records.db.models import Record, RecordText
from dmt_records.domain.records.filters import parse_moment, parse_zone
from dmt_shared.problems import ProblemError
from dmt_shared.tokens import Role

RECORDS = "/api/v1/records"
UTC = dt.UTC


def at(text_: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text_).replace(tzinfo=UTC)


async def insert(engine: AsyncEngine, *, n: int, texts: dict[str, tuple[str, str]] | None = None, **fields: Any) -> int:
    """One record as the tables hold it; ``texts``: language -> (origin, text) of its defect description."""
    values: dict[str, Any] = {
        "report_number": f"DMT-2026-{n:05d}",
        "status": "open",
        "is_closed": False,
        "part_number_id": 101,
        "work_center_id": 201,
        "customer_id": 301,
        "prepared_by_id": 801,
        "operation": "OP-10",
        "quantity": 1,
        "date": dt.date(2026, 3, 14),
        "inspection_item_id": 701,
        "process_code_id": 901,
        "created_by_id": 2,
        **fields,
    }
    async with async_sessionmaker(engine, expire_on_commit=False)() as session:
        record = Record(**values)
        session.add(record)
        await session.flush()
        original = next((t for origin, t in (texts or {}).values() if origin == "author"), "")
        for language, (origin, body) in (texts or {}).items():
            session.add(
                RecordText(
                    record_id=record.id,
                    field="defect_description",
                    language=language,
                    text=body,
                    origin=origin,
                    state="done",
                    source_hash=hashlib.sha256(original.encode()).hexdigest(),
                )
            )
        await session.commit()
        return record.id


async def sample(engine: AsyncEngine) -> dict[str, int]:
    """Six records, one of them deleted. Costs are scrap + other (rework hours never count here)."""
    return {
        # 23:30 UTC on the 14th is 00:30 on the 15th in Madrid
        "A": await insert(engine, n=1, serial_number="SN-A", quantity=2, material_scrap_cost=Decimal("10.00"),
                          rework_hours=Decimal("10.00"), created_at=at("2026-03-14T23:30:00"),
                          texts={"en": ("author", "Crack on the web")}),
        # 22:30 UTC on the 14th is still the 14th in Madrid
        "B": await insert(engine, n=2, serial_number="SN-B", status="closed", is_closed=True, quantity=10,
                          material_scrap_cost=Decimal("100.00"), other_cost=Decimal("50.50"), sdr_number="SDR-77",
                          created_at=at("2026-03-14T22:30:00"), closed_at=at("2026-03-20T12:00:00"),
                          texts={"zh": ("author", "法兰面有气孔，深度两毫米"),
                                 "en": ("machine", "Porosity on the flange")}),
        "C": await insert(engine, n=3, serial_number="SN-C", status="reopened", quantity=0, operation="Soldadura TIG",
                          created_at=at("2026-03-15T10:00:00"), reopened_at=at("2026-03-21T09:00:00"),
                          texts={"es": ("author", "Grieta en el alma")}),
        # closed 23:30 UTC on the 15th: the 16th in Madrid
        "D": await insert(engine, n=4, serial_number="SN-D", status="closed", is_closed=True, quantity=5,
                          material_scrap_cost=Decimal("0"), other_cost=Decimal("20.00"),
                          created_at=at("2026-03-01T08:00:00"), closed_at=at("2026-03-15T23:30:00"),
                          texts={"en": ("author", "Weld crack"), "zh": ("machine", "焊缝裂纹")}),
        # deleted: matches everything below, and must never be found
        "E": await insert(engine, n=5, serial_number="SN-E", quantity=5, material_scrap_cost=Decimal("20.00"),
                          sdr_number="SDR-77", created_at=at("2026-03-14T23:45:00"),
                          deleted_at=at("2026-03-22T10:00:00"), deleted_by_id=1, delete_reason="entered twice",
                          texts={"zh": ("author", "法兰面有气孔"), "en": ("author", "Crack")}),
        "F": await insert(engine, n=6, serial_number="SN-F", status="in_analysis", quantity=7,
                          material_scrap_cost=Decimal("30.00"), other_cost=Decimal("0"),
                          created_at=at("2026-02-10T12:00:00"), texts={"zh": ("author", "吉祥 𠮷 標記")}),
    }  # fmt: skip


@pytest.fixture
async def records(client: AsyncTestClient, engine: AsyncEngine) -> dict[str, int]:
    """The sample, inserted once the app has made the tables (the client started it)."""
    return await sample(engine)


async def found(client: AsyncTestClient, headers: dict, records: dict[str, int], **params: Any) -> str:
    """The sample's letters the list gives for ``params``, in order ("" for none)."""
    response = await client.get(
        RECORDS, params={"sort": "id", "order": "asc", "page_size": 100, **params}, headers=headers[Role.OPERATOR]
    )
    assert response.status_code == 200, (params, response.text)
    body = response.json()
    assert body["total"] == len(body["items"])
    letters = {ident: letter for letter, ident in records.items()}
    return "".join(letters.get(item["id"], "?") for item in body["items"])


async def refused(client: AsyncTestClient, headers: dict, **params: Any) -> list[str]:
    response = await client.get(RECORDS, params=params, headers=headers[Role.OPERATOR])
    assert response.status_code == 400, (params, response.text)
    return [e["field"] for e in response.json()["errors"]]


async def test_a_deleted_record_is_in_no_list_whatever_the_filters(
    client: AsyncTestClient, headers: dict, records: dict[str, int]
) -> None:
    assert await found(client, headers, records) == "ABCDF"
    assert await found(client, headers, records, status="open") == "A"
    assert await found(client, headers, records, q="sdr-77") == "B"
    assert await found(client, headers, records, quantity_min=5, quantity_max=5) == "D"
    assert await found(client, headers, records, q="气孔") == "B"
    assert await found(client, headers, records, created_from="2026-03-14T23:40:00Z") == "C"


async def test_status_takes_reopened(client: AsyncTestClient, headers: dict, records: dict[str, int]) -> None:
    assert await found(client, headers, records, status="reopened") == "C"
    assert await found(client, headers, records, status="closed,reopened") == "BCD"
    assert await found(client, headers, records, status=["in_analysis", "reopened"]) == "CF"
    assert await found(client, headers, records, is_closed="false") == "ACF"
    assert await refused(client, headers, status="reopen") == ["status"]


async def test_plain_dates_are_whole_days_in_the_readers_time_zone(
    client: AsyncTestClient, headers: dict, records: dict[str, int]
) -> None:
    # A: 23:30 UTC on the 14th (the 15th in Madrid); B: 22:30 UTC on the 14th (the 14th in Madrid)
    assert await found(client, headers, records, created_from="2026-03-15") == "C"
    assert await found(client, headers, records, created_from="2026-03-15", tz="Europe/Madrid") == "AC"
    assert await found(client, headers, records, created_from="2026-03-15", tz="Asia/Shanghai") == "ABC"
    assert await found(client, headers, records, created_to="2026-03-14") == "ABDF"
    assert await found(client, headers, records, created_to="2026-03-14", tz="Europe/Madrid") == "BDF"
    assert await found(client, headers, records, created_from="2026-03-14", created_to="2026-03-14") == "AB"
    assert (
        await found(client, headers, records, created_from="2026-03-14", created_to="2026-03-14", tz="Europe/Madrid")
        == "B"
    )
    # a time without an offset is the reader's local time; one with an offset is taken as given
    assert await found(client, headers, records, created_from="2026-03-15T00:00:00", tz="Europe/Madrid") == "AC"
    assert await found(client, headers, records, created_from="2026-03-15T00:00:00+00:00", tz="Europe/Madrid") == "C"
    assert await found(client, headers, records, created_to="2026-03-14T23:00:00", tz="UTC") == "BDF"

    assert await refused(client, headers, tz="Mars/Olympus_Mons") == ["tz"]
    assert await refused(client, headers, tz="../../etc/passwd") == ["tz"]
    assert await refused(client, headers, created_from="2026-03-16", created_to="2026-03-15") == ["created_from"]
    assert await refused(client, headers, date_from="2026-03-16", date_to="2026-03-15") == ["date_from"]


async def test_closed_from_and_to_narrow_by_the_moment_of_closing(
    client: AsyncTestClient, headers: dict, records: dict[str, int]
) -> None:
    # D closed 23:30 UTC on the 15th (the 16th in Madrid); B on the 20th
    assert await found(client, headers, records, closed_to="2026-03-15") == "D"
    assert await found(client, headers, records, closed_to="2026-03-15", tz="Europe/Madrid") == ""
    assert await found(client, headers, records, closed_from="2026-03-16") == "B"
    assert await found(client, headers, records, closed_from="2026-03-16", tz="Europe/Madrid") == "BD"
    assert await found(client, headers, records, closed_from="2026-03-01", closed_to="2026-03-31") == "BD"
    assert await found(client, headers, records, closed_from="2026-03-20T12:00:00Z") == "B"
    assert await refused(client, headers, closed_from="last week") == ["closed_from"]
    assert await refused(client, headers, closed_from="2026-03-20", closed_to="2026-03-19") == ["closed_from"]


async def test_quantity_bounds_are_inclusive(client: AsyncTestClient, headers: dict, records: dict[str, int]) -> None:
    assert await found(client, headers, records, quantity_min=5) == "BDF"
    assert await found(client, headers, records, quantity_max=5) == "ACD"
    assert await found(client, headers, records, quantity_min=0, quantity_max=0) == "C"
    assert await found(client, headers, records, quantity_min=6, quantity_max=9) == "F"
    assert await refused(client, headers, quantity_min=-1) == ["quantity_min"]
    assert await refused(client, headers, quantity_max="many") == ["quantity_max"]
    assert await refused(client, headers, quantity_min=6, quantity_max=5) == ["quantity_min"]


async def test_cost_bounds_hold_scrap_plus_other_cost_a_missing_one_as_zero(
    client: AsyncTestClient, headers: dict, records: dict[str, int]
) -> None:
    # A 10 (its 10 rework hours do not count), B 150.50, C nothing (0), D 20, F 30
    assert await found(client, headers, records, cost_min=20) == "BDF"
    assert await found(client, headers, records, cost_max=20) == "ACD"
    assert await found(client, headers, records, cost_max="0") == "C"
    assert await found(client, headers, records, cost_min="150.50") == "B"
    assert await found(client, headers, records, cost_min="150.51") == ""
    assert await found(client, headers, records, cost_min="10", cost_max="29.99") == "AD"
    assert await refused(client, headers, cost_min="ten") == ["cost_min"]
    assert await refused(client, headers, cost_max="NaN") == ["cost_max"]
    assert await refused(client, headers, cost_max="-5") == ["cost_max"]
    assert await refused(client, headers, cost_max="1e999") == ["cost_max"]
    assert await refused(client, headers, cost_min="30", cost_max="20") == ["cost_min"]


async def test_search_finds_numbers_operations_and_texts_in_every_language(
    client: AsyncTestClient, headers: dict, records: dict[str, int]
) -> None:
    assert await found(client, headers, records, q="dmt-2026-00004") == "D"  # report number, any case
    assert await found(client, headers, records, q="sn-c") == "C"  # serial number
    assert await found(client, headers, records, q="tig") == "C"  # operation
    assert await found(client, headers, records, q="SDR-77") == "B"  # SDR number
    assert await found(client, headers, records, q="CRACK") == "AD"  # English texts
    assert await found(client, headers, records, q="grieta") == "C"  # a Spanish original
    assert await found(client, headers, records, q="气孔") == "B"  # a word of a Chinese original
    assert await found(client, headers, records, q="裂纹") == "D"  # a word of a Chinese translation
    assert await found(client, headers, records, q="flange") == "B"  # an English translation
    assert await found(client, headers, records, q="孔气") == ""  # the same characters, not the word
    assert await found(client, headers, records, q="crack", status="closed") == "D"


async def test_chinese_search_does_not_depend_on_the_mariadb_collation(
    client: AsyncTestClient, headers: dict, records: dict[str, int], engine: AsyncEngine, database_backend: str
) -> None:
    """A MariaDB server's default collation (utf8mb4_general_ci) holds every character beyond the
    Basic Multilingual Plane equal to every other: the search must not, nor fold accents."""
    if database_backend == "mariadb":
        async with engine.begin() as conn:
            await conn.execute(
                text("ALTER TABLE record_text MODIFY text TEXT CHARACTER SET utf8mb4 COLLATE utf8mb4_general_ci")
            )
    assert await found(client, headers, records, q="𠮷") == "F"  # U+20BB7, beyond the BMP
    assert await found(client, headers, records, q="𠀀") == ""  # U+20000: another one
    assert await found(client, headers, records, q="標記") == "F"
    assert await found(client, headers, records, q="法兰面") == "B"


async def test_a_chinese_description_written_through_the_api_is_found_by_one_of_its_words(
    client: AsyncTestClient, headers: dict, new_record: Any
) -> None:
    written = await client.post(
        RECORDS,
        json=new_record(defect_description="焊缝咬边超标，长度约十毫米", language="zh", serial_number="SN-ZH"),
        headers=headers[Role.INSPECTOR],
    )
    assert written.status_code == 201, written.text
    other = await client.post(RECORDS, json=new_record(defect_description="Burr"), headers=headers[Role.INSPECTOR])
    assert other.status_code == 201, other.text
    for word in ("咬边", "十毫米", "焊缝咬边超标"):
        response = await client.get(RECORDS, params={"q": word}, headers=headers[Role.OPERATOR])
        assert response.status_code == 200, response.text
        assert [item["id"] for item in response.json()["items"]] == [written.json()["id"]], word
    response = await client.get(RECORDS, params={"q": "咬合"}, headers=headers[Role.OPERATOR])
    assert response.json()["total"] == 0


def test_a_plain_end_date_ends_at_the_next_local_midnight_even_on_a_short_day() -> None:
    # Madrid moves its clocks on 2026-03-29: that day has 23 hours
    madrid = parse_zone("Europe/Madrid")
    start, exclusive = parse_moment("created_from", "2026-03-29", end=False, zone=madrid)
    stop, stop_exclusive = parse_moment("created_to", "2026-03-29", end=True, zone=madrid)
    assert start is not None
    assert stop is not None
    assert (start.astimezone(UTC), exclusive) == (at("2026-03-28T23:00:00"), False)
    assert (stop.astimezone(UTC), stop_exclusive) == (at("2026-03-29T22:00:00"), True)
    assert parse_zone(None).key == parse_zone("").key == "UTC"
    with pytest.raises(ProblemError):
        parse_zone("Europe/Atlantis")
