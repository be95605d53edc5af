"""Deleting a record leaves a tombstone: gone for everyone, its history kept for Admins."""

from __future__ import annotations

import datetime as dt
from typing import Any

from litestar.testing import AsyncTestClient

from dmt_shared.tokens import Role

RECORDS = "/api/v1/records"


async def test_an_admin_deletes_with_a_reason_and_the_record_is_gone_for_everyone_but_its_history(
    client: AsyncTestClient, headers: dict, new_record: Any, write: Any
) -> None:
    admin = headers[Role.ADMIN]
    kept = (await client.post(RECORDS, json=new_record(serial_number="SN-KEEP"), headers=admin)).json()
    doomed = (await client.post(RECORDS, json=new_record(serial_number="SN-GONE"), headers=admin)).json()
    rid = doomed["id"]
    await write.patch(rid, {"quantity": 8}, headers[Role.INSPECTOR])  # version 2

    for role in (Role.INSPECTOR, Role.OPERATOR, Role.TECH_ENGINEER, Role.QUALITY_ENGINEER):
        refused = await write.delete(rid, "duplicate", headers[role])
        assert refused.status_code == 403, role
    for body in (None, {}, {"reason": ""}, {"reason": "  "}, {"reason": "x" * 2001}, {"reason": "dup", "colour": 1}):
        refused = await client.request("DELETE", f"{RECORDS}/{rid}", json=body, headers=admin)
        assert refused.status_code == 400, body
        assert refused.headers["content-type"].startswith("application/problem+json")
        assert [e["field"] for e in refused.json()["errors"]] in (["reason"], ["colour"]), body
    stale = await client.request("DELETE", f"{RECORDS}/{rid}", json={"reason": "dup", "version": 1}, headers=admin)
    assert (stale.status_code, stale.json()["current_version"]) == (412, 2)
    stale = await client.request(
        "DELETE", f"{RECORDS}/{rid}", json={"reason": "dup"}, headers={**admin, "If-Match": '"1"'}
    )
    assert stale.status_code == 412
    assert (await client.get(f"{RECORDS}/{rid}", headers=admin)).status_code == 200

    deleted = await client.request(
        "DELETE", f"{RECORDS}/{rid}", json={"reason": " Entered twice "}, headers={**admin, "If-Match": '"2"'}
    )
    assert (deleted.status_code, deleted.content) == (204, b"")

    for role in Role:
        who = headers[role]
        assert (await client.get(f"{RECORDS}/{rid}", headers=who)).status_code == 404
        listed = (await client.get(RECORDS, headers=who)).json()
        assert ([item["id"] for item in listed["items"]], listed["total"]) == ([kept["id"]], 1)
        assert (await client.get(RECORDS, params={"q": "SN-GONE"}, headers=who)).json()["total"] == 0
    gone = [
        await write.patch(rid, {"quantity": 9}, headers[Role.INSPECTOR]),
        await client.patch(f"{RECORDS}/{rid}", json={"quantity": 9, "version": 3}, headers=headers[Role.INSPECTOR]),
        await client.post(
            f"{RECORDS}/{rid}/close",
            json={"password": "pw-QUA001", "version": 3},
            headers=headers[Role.QUALITY_ENGINEER],
        ),
        await client.post(
            f"{RECORDS}/{rid}/reopen",
            json={"password": "pw-QUA001", "reason": "x", "version": 3},
            headers=headers[Role.QUALITY_ENGINEER],
        ),
        await client.put(
            f"{RECORDS}/{rid}/texts/defect_description/es", json={"text": "Poro", "version": 3}, headers=admin
        ),
        await write.delete(rid, "again", admin),
    ]
    assert [r.status_code for r in gone] == [404] * len(gone), [r.text for r in gone]

    # its history: for Admins only, ending with who deleted it, when and why
    for role in (Role.INSPECTOR, Role.OPERATOR, Role.TECH_ENGINEER, Role.QUALITY_ENGINEER):
        assert (await client.get(f"{RECORDS}/{rid}/history", headers=headers[role])).status_code == 404
    lines = (await client.get(f"{RECORDS}/{rid}/history", headers=admin)).json()["items"]
    last = lines[-1]
    assert {k: last[k] for k in ("action", "actor_username", "actor_name", "reason", "version", "field")} == {
        "action": "deleted",
        "actor_username": "ADM001",
        "actor_name": "Ana Admin",
        "reason": "Entered twice",
        "version": 3,
        "field": None,
    }
    assert dt.datetime.fromisoformat(last["at"]) >= dt.datetime.fromisoformat(lines[0]["at"])  # MariaDB: seconds
    assert [(x["action"], x["field"]) for x in lines[-3:-1]] == [("created", "status"), ("changed", "quantity")]
    assert {x["action"] for x in lines[:-2]} == {"created"}

    # its report number is never given again
    after = (await client.post(RECORDS, json=new_record(), headers=headers[Role.INSPECTOR])).json()
    assert after["report_number"] not in (kept["report_number"], doomed["report_number"])


async def test_a_closed_record_can_be_deleted_and_usage_still_counts_it(
    client: AsyncTestClient, headers: dict, new_record: Any, catalog_id: Any, write: Any
) -> None:
    admin = headers[Role.ADMIN]
    rid = (await client.post(RECORDS, json=new_record(), headers=admin)).json()["id"]
    decided = {
        "final_disposition_id": catalog_id("dispositions"),
        "failure_code_id": catalog_id("failure-codes"),
        "engineer_id": 4,
    }
    await write.patch(rid, decided, admin)
    assert (await write.close(rid, {"disposition_approval_date": "2026-03-17"}, admin)).status_code == 200
    assert (await write.delete(rid, "Test record", admin)).status_code == 204
    # the tombstone's history still names the entry, so it may not be deleted from the catalog
    usage = await client.get(
        f"{RECORDS}/usage", params={"kind": "dispositions", "id": decided["final_disposition_id"]}, headers=admin
    )
    assert usage.json()["records"] == 1
    actions = [x["action"] for x in (await client.get(f"{RECORDS}/{rid}/history", headers=admin)).json()["items"]]
    assert actions[-3:] == ["closed", "signed", "deleted"]
