"""Changes need the version read; stale ones are refused; the services asked may be down."""

from __future__ import annotations

from typing import Any

from litestar.testing import AsyncTestClient

from dmt_shared.tokens import Role

RECORDS = "/api/v1/records"


async def test_a_change_made_on_a_stale_version_is_refused_with_412(
    client: AsyncTestClient, headers: dict, new_record: Any
) -> None:
    inspector = headers[Role.INSPECTOR]
    created = await client.post(RECORDS, json=new_record(), headers=inspector)
    rid = created.json()["id"]
    assert created.headers["etag"] == '"1"'

    first = await client.patch(f"{RECORDS}/{rid}", json={"quantity": 4}, headers={**inspector, "If-Match": '"1"'})
    assert first.status_code == 200
    assert first.headers["etag"] == '"2"'

    for stale in ({"If-Match": '"1"'}, {"If-Match": "1"}, {"If-Match": 'W/"1"'}):
        refused = await client.patch(f"{RECORDS}/{rid}", json={"quantity": 5}, headers={**inspector, **stale})
        assert refused.status_code == 412, stale
        assert refused.json()["current_version"] == 2
        assert refused.headers["etag"] == '"2"'
    in_body = await client.patch(f"{RECORDS}/{rid}", json={"quantity": 5, "version": 1}, headers=inspector)
    assert in_body.status_code == 412
    assert in_body.json()["current_version"] == 2

    close_stale = await client.post(
        f"{RECORDS}/{rid}/close",
        json={"disposition_approval_date": "2026-03-17", "version": 1, "password": "pw-QUA001"},
        headers=headers[Role.QUALITY_ENGINEER],
    )
    assert close_stale.status_code == 412
    assert close_stale.json()["current_version"] == 2

    current = await client.patch(
        f"{RECORDS}/{rid}", json={"quantity": 6, "version": 2}, headers={**inspector, "If-Match": "*"}
    )
    assert current.status_code == 200
    assert current.json()["quantity"] == 6
    assert current.json()["version"] == 3

    for unsaid in ({}, {"If-Match": "*"}, {"If-Match": ""}):  # "*" says nothing of which version was read
        refused = await client.patch(f"{RECORDS}/{rid}", json={"quantity": 7}, headers={**inspector, **unsaid})
        assert refused.status_code == 428, unsaid
        assert refused.headers["content-type"].startswith("application/problem+json")
        assert [e["field"] for e in refused.json()["errors"]] == ["version"]

    garbled = await client.patch(f"{RECORDS}/{rid}", json={"quantity": 7}, headers={**inspector, "If-Match": "abc"})
    assert garbled.status_code == 400
    assert [e["field"] for e in garbled.json()["errors"]] == ["If-Match"]
    shown = await client.get(f"{RECORDS}/{rid}", headers=inspector)
    assert (shown.json()["quantity"], shown.headers["etag"]) == (6, '"3"')


async def test_when_masterdata_or_auth_is_down_writes_answer_503_and_save_nothing(
    client: AsyncTestClient, headers: dict, upstreams: Any, new_record: Any, catalog_id: Any
) -> None:
    inspector = {**headers[Role.INSPECTOR], "Accept-Language": "zh-CN"}
    created = await client.post(RECORDS, json=new_record(), headers=inspector)
    assert created.status_code == 201
    rid = created.json()["id"]
    asked = upstreams.seen_headers[-1]
    assert asked["authorization"] == inspector["Authorization"]  # asked on the caller's behalf
    assert asked["accept-language"] == "zh-CN"

    upstreams.down.add("masterdata")
    refused = await client.post(RECORDS, json=new_record(), headers=inspector)
    assert refused.status_code == 503
    assert refused.headers["content-type"].startswith("application/problem+json")
    assert refused.json()["service"] == "masterdata"
    moved = await client.patch(
        f"{RECORDS}/{rid}", json={"part_number_id": catalog_id("part-numbers", 2), "version": 1}, headers=inspector
    )
    assert moved.status_code == 503
    # what needs no catalog look-up still works
    counted = await client.patch(f"{RECORDS}/{rid}", json={"quantity": 8, "version": 1}, headers=inspector)
    assert counted.status_code == 200

    upstreams.down = {"auth"}
    engineer = await client.patch(
        f"{RECORDS}/{rid}",
        json={"engineer_id": 6, "rework_hours": 3, "version": 2},
        headers=headers[Role.TECH_ENGINEER],
    )
    assert engineer.status_code == 503
    assert engineer.json()["service"] == "auth"
    approver = await client.post(
        f"{RECORDS}/{rid}/close",
        json={
            "disposition_approval_date": "2026-03-17",
            "disposition_approved_by_id": 6,
            "version": 2,
            "password": "pw-QUA001",
        },
        headers=headers[Role.QUALITY_ENGINEER],
    )
    assert approver.status_code == 503

    shown = (await client.get(f"{RECORDS}/{rid}", headers=inspector)).json()
    assert (shown["part_number_id"], shown["quantity"], shown["engineer_id"], shown["rework_hours"]) == (
        catalog_id("part-numbers"),
        8,
        None,
        None,
    )
    assert (shown["version"], shown["is_closed"]) == (2, False)
    assert (await client.get(RECORDS, headers=inspector)).json()["total"] == 1
