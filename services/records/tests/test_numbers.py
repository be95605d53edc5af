"""Report numbers given by the server, and records changed by several people at the same moment."""

from __future__ import annotations

import asyncio
import datetime as dt
from typing import Any

import httpx
from litestar.testing import AsyncTestClient

from dmt_shared.tokens import Role

RECORDS = "/api/v1/records"


async def _create_twenty(http: httpx.AsyncClient, inspector: dict, new_record: Any) -> list[httpx.Response]:
    # open the connections first, so that the creations below meet in the database at once
    await asyncio.gather(*(http.get(RECORDS, headers=inspector) for _ in range(20)))
    return await asyncio.gather(
        *(http.post(RECORDS, json=new_record(serial_number=f"SN-{n}"), headers=inspector) for n in range(20))
    )


async def test_twenty_records_created_at_once_get_twenty_distinct_numbers(
    concurrent_client: Any, headers: dict, new_record: Any
) -> None:
    year = dt.datetime.now(dt.UTC).year
    inspector = headers[Role.INSPECTOR]
    async with concurrent_client() as http:
        responses = await _create_twenty(http, inspector, new_record)
        listed = await http.get(RECORDS, params={"page_size": 50}, headers=inspector)
    assert [r.status_code for r in responses] == [201] * 20, [r.text for r in responses if r.status_code != 201]
    numbers = sorted(r.json()["report_number"] for r in responses)
    assert numbers == [f"DMT-{year}-{n:05d}" for n in range(1, 21)]
    assert listed.json()["total"] == 20
    assert {item["serial_number"] for item in listed.json()["items"]} == {f"SN-{n}" for n in range(20)}


async def test_simultaneous_changes_to_one_version_let_one_through_and_lose_none(
    concurrent_client: Any, headers: dict, new_record: Any, catalog_id: Any, writer: Any
) -> None:
    changes = [
        (Role.INSPECTOR, {"quantity": 9}),
        (Role.INSPECTOR, {"serial_number": "SN-77"}),
        (Role.INSPECTOR, {"operation": "OP-50"}),
        (Role.OPERATOR, {"analysis": "Ramp too fast"}),
        (Role.TECH_ENGINEER, {"rework_hours": 2.5}),
        (Role.TECH_ENGINEER, {"failure_code_id": catalog_id("failure-codes")}),
        (Role.QUALITY_ENGINEER, {"sdr_number": "SDR-5"}),
        (Role.ADMIN, {"level_id": None}),
    ]
    async with concurrent_client() as http:
        rid = (await http.post(RECORDS, json=new_record(), headers=headers[Role.INSPECTOR])).json()["id"]
        responses = await asyncio.gather(
            *(
                http.patch(f"{RECORDS}/{rid}", json={**body, "version": 1}, headers=headers[role])
                for role, body in changes
            )
        )
        statuses = [r.status_code for r in responses]
        assert sorted(statuses) == [200] + [412] * (len(changes) - 1), [r.text for r in responses]
        assert {r.json()["current_version"] for r in responses if r.status_code == 412} == {2}
        # those refused read the record again and make their change on what they now see
        write = writer(http)
        for (role, body), status in zip(changes, statuses, strict=True):
            if status == 412:
                again = await write.patch(rid, body, headers[role])
                assert again.status_code == 200, again.text
        final = (await http.get(f"{RECORDS}/{rid}", headers=headers[Role.ADMIN])).json()
    for _, body in changes:
        for field, value in body.items():
            assert final[field] == value, field
    assert final["version"] == 1 + len(changes)


async def test_a_number_an_admin_already_gave_is_skipped(
    client: AsyncTestClient, headers: dict, new_record: Any
) -> None:
    year = dt.datetime.now(dt.UTC).year
    first = await client.post(RECORDS, json=new_record(), headers=headers[Role.INSPECTOR])
    assert first.json()["report_number"] == f"DMT-{year}-00001"
    taken = await client.post(RECORDS, json=new_record(report_number=f"DMT-{year}-00002"), headers=headers[Role.ADMIN])
    assert taken.status_code == 201
    after = await client.post(RECORDS, json=new_record(), headers=headers[Role.INSPECTOR])
    assert after.json()["report_number"] == f"DMT-{year}-00003"
