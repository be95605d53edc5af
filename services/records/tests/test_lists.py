"""Lists of records: filters, search, order, pages, totals; and how often an entry is used."""

from __future__ import annotations

import datetime as dt
from typing import Any

from litestar.testing import AsyncTestClient
from sqlalchemy import event

from dmt_shared.tokens import Role

RECORDS = "/api/v1/records"


async def three_records(
    client: AsyncTestClient, headers: dict, new_record: Any, catalog_id: Any, write: Any
) -> list[dict]:
    """r1 open, r2 closed, r3 in analysis (created in that order, r3 by the Admin, in Spanish)."""
    inspector = headers[Role.INSPECTOR]
    r1 = await client.post(
        RECORDS,
        json=new_record(quantity=5, serial_number="SN-A1", operation="Grinding", date="2026-03-10",
                        defect_description="Crack on the web"),
        headers=inspector,
    )  # fmt: skip
    r2 = await client.post(
        RECORDS,
        json=new_record(part_number_id=catalog_id("part-numbers", 2), customer_id=catalog_id("customers", 2),
                        quantity=1, serial_number=None, operation="Welding", date="2026-03-12",
                        defect_description="Porosity 50%_off the spec"),
        headers=inspector,
    )  # fmt: skip
    r3 = await client.post(
        RECORDS,
        json=new_record(customer_id=catalog_id("customers", 2), quantity=9, serial_number="SN-C3",
                        operation="Cutting", date="2026-03-15", defect_description="Grieta en el alma",
                        language="es"),
        headers=headers[Role.ADMIN],
    )  # fmt: skip
    ids = [r.json()["id"] for r in (r1, r2, r3)]
    decided = await write.patch(
        ids[1],
        {"final_disposition_id": catalog_id("dispositions"), "failure_code_id": catalog_id("failure-codes")},
        headers[Role.TECH_ENGINEER],
    )
    closed = await write.close(
        ids[1], {"disposition_approval_date": "2026-03-13", "sdr_number": "SDR-77"}, headers[Role.QUALITY_ENGINEER]
    )
    analysed = await write.patch(ids[2], {"analysis": "Ramp too fast"}, headers[Role.OPERATOR])
    assert [decided.status_code, closed.status_code, analysed.status_code] == [200, 200, 200]
    return ids


async def test_filters_and_search_narrow_the_list_and_the_total(
    client: AsyncTestClient, headers: dict, new_record: Any, catalog_id: Any, write: Any
) -> None:
    r1, r2, r3 = await three_records(client, headers, new_record, catalog_id, write)
    reader = headers[Role.OPERATOR]

    async def ids_for(**params: Any) -> list[int]:
        response = await client.get(RECORDS, params=params, headers=reader)
        assert response.status_code == 200, (params, response.text)
        body = response.json()
        assert body["total"] == len(body["items"])
        return [item["id"] for item in body["items"]]

    today = dt.datetime.now(dt.UTC).date()
    assert await ids_for() == [r3, r2, r1]  # newest first
    assert await ids_for(status="closed") == [r2]
    assert await ids_for(status="open,in_analysis") == [r3, r1]
    assert await ids_for(status=["open", "dispositioned", "in_analysis"]) == [r3, r1]
    assert await ids_for(is_closed="false") == [r3, r1]
    assert await ids_for(part_number_id=catalog_id("part-numbers")) == [r3, r1]
    assert await ids_for(part_number_id=f"{catalog_id('part-numbers')},{catalog_id('part-numbers', 2)}") == [r3, r2, r1]
    assert await ids_for(part_number_id=catalog_id("part-numbers"), customer_id=catalog_id("customers", 2)) == [r3]
    assert await ids_for(final_disposition_id=catalog_id("dispositions")) == [r2]
    assert await ids_for(created_by_id=1) == [r3]
    assert await ids_for(engineer_id=4) == [r2]
    assert await ids_for(analysis_by_id=3) == [r3]
    assert await ids_for(disposition_approved_by_id=5) == [r2]
    assert await ids_for(date_from="2026-03-12", date_to="2026-03-15") == [r3, r2]
    assert await ids_for(date_to="2026-03-10") == [r1]
    assert await ids_for(created_from=today.isoformat(), created_to=today.isoformat()) == [r3, r2, r1]
    assert await ids_for(created_to=(today - dt.timedelta(days=1)).isoformat()) == []
    assert await ids_for(created_from=(today + dt.timedelta(days=1)).isoformat()) == []
    an_hour_ago = (dt.datetime.now(dt.UTC) - dt.timedelta(hours=1)).isoformat().replace("+00:00", "Z")
    assert await ids_for(created_from=an_hour_ago) == [r3, r2, r1]
    assert await ids_for(created_to=an_hour_ago) == []

    assert await ids_for(q="CRACK") == [r1]  # a text, any case
    assert await ids_for(q="grieta") == [r3]  # a text in Spanish
    assert await ids_for(q="ramp too") == [r3]  # the analysis
    assert await ids_for(q="sn-a") == [r1]  # the serial number
    assert await ids_for(q="weld") == [r2]  # the operation
    assert await ids_for(q="sdr-77") == [r2]
    assert await ids_for(q=f"DMT-{today.year}-0000") == [r3, r2, r1]
    assert await ids_for(q="50%_") == [r2]  # % and _ are letters here, not wildcards
    assert await ids_for(q="%") == [r2]
    assert await ids_for(q="crack", status="closed") == []

    bad = [
        ("status", "archived"),
        ("part_number_id", "abc"),
        ("part_number_id", "²"),
        ("customer_id", "9" * 30),
        ("engineer_id", "0"),
        ("date_from", "yesterday"),
        ("created_to", "soon"),
        ("is_closed", "maybe"),
        ("sort", "colour"),
        ("order", "up"),
        ("page", "0"),
        ("page_size", "201"),
    ]
    for name, value in bad:
        response = await client.get(RECORDS, params={name: value}, headers=reader)
        assert response.status_code == 400, (name, response.text)
        assert [e["field"] for e in response.json()["errors"]] == [name], (name, response.text)


async def test_lists_sort_page_and_count_and_usage_is_counted_per_entry(
    client: AsyncTestClient, headers: dict, new_record: Any, catalog_id: Any, write: Any
) -> None:
    r1, r2, r3 = await three_records(client, headers, new_record, catalog_id, write)
    reader = headers[Role.INSPECTOR]

    async def ids_for(**params: Any) -> list[int]:
        response = await client.get(RECORDS, params=params, headers=reader)
        assert response.status_code == 200, (params, response.text)
        return [item["id"] for item in response.json()["items"]]

    assert await ids_for(sort="quantity", order="asc") == [r2, r1, r3]
    assert await ids_for(sort="date") == [r3, r2, r1]
    assert await ids_for(sort="status", order="asc") == [r1, r3, r2]  # open, in analysis, closed
    assert await ids_for(sort="id", order="asc") == [r1, r2, r3]
    assert await ids_for(sort="updated_at", order="asc") == [r1, r2, r3]
    legacy = await client.post(RECORDS, json=new_record(report_number="AAA-1"), headers=headers[Role.ADMIN])
    assert (await ids_for(sort="report_number", order="asc"))[0] == legacy.json()["id"]

    pages = [await client.get(RECORDS, params={"page": n, "page_size": 2}, headers=reader) for n in (1, 2, 3)]
    assert [len(p.json()["items"]) for p in pages] == [2, 2, 0]
    assert {(p.json()["total"], p.json()["page_size"]) for p in pages} == {(4, 2)}
    assert [p.json()["page"] for p in pages] == [1, 2, 3]
    seen = [item["id"] for p in pages for item in p.json()["items"]]
    assert sorted(seen) == sorted([r1, r2, r3, legacy.json()["id"]])
    assert (await client.get(RECORDS, headers=reader)).json()["page_size"] == 50

    # the texts of a page come in one query, however many records it shows
    statements: list[str] = []

    def count(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        statements.append(statement)

    engine = client.app.state.database.engine.sync_engine
    event.listen(engine, "before_cursor_execute", count)
    try:
        await client.get(RECORDS, params={"page_size": 1}, headers=reader)
        one = len(statements)
        statements.clear()
        await client.get(RECORDS, params={"page_size": 4}, headers=reader)
        assert len(statements) == one
        assert sum("record_text" in s for s in statements) == 1
    finally:
        event.remove(engine, "before_cursor_execute", count)

    usage = {
        ("part-numbers", catalog_id("part-numbers")): 3,
        ("part-numbers", catalog_id("part-numbers", 2)): 1,
        ("customers", catalog_id("customers", 2)): 2,
        ("dispositions", catalog_id("dispositions")): 1,
        ("failure-codes", catalog_id("failure-codes", 2)): 0,
        ("calibrations", catalog_id("calibrations")): 0,
    }
    for (kind, entry), expected in usage.items():
        response = await client.get(f"{RECORDS}/usage", params={"kind": kind, "id": entry}, headers=reader)
        assert response.status_code == 200, response.text
        assert response.json() == {"kind": kind, "id": entry, "records": expected}
    unknown = await client.get(f"{RECORDS}/usage", params={"kind": "colours", "id": 1}, headers=reader)
    assert unknown.status_code == 400
    assert [e["field"] for e in unknown.json()["errors"]] == ["kind"]
    assert (await client.get(f"{RECORDS}/usage", params={"kind": "areas"}, headers=reader)).status_code == 400
