"""Electronic signatures (21 CFR 11.50, 11.200): closing and reopening re-ask for the password,
auth checks it, and a refused signature changes nothing."""

from __future__ import annotations

from typing import Any

from litestar.testing import AsyncTestClient

from dmt_shared.tokens import Role

RECORDS = "/api/v1/records"
WRONG = [{"field": "password", "message": "the password is not right"}]


async def decided_record(client: Any, headers: dict, new_record: Any, catalog_id: Any, write: Any) -> int:
    """A record with everything needed to close it, at version 2."""
    rid = (await client.post(RECORDS, json=new_record(), headers=headers[Role.INSPECTOR])).json()["id"]
    decided = await write.patch(
        rid,
        {"final_disposition_id": catalog_id("dispositions"), "failure_code_id": catalog_id("failure-codes")},
        headers[Role.TECH_ENGINEER],
    )
    assert decided.json()["version"] == 2
    return rid


async def trail(client: Any, rid: int, headers: dict) -> list[dict[str, Any]]:
    return (await client.get(f"{RECORDS}/{rid}/history", headers=headers[Role.ADMIN])).json()["items"]


async def test_closing_asks_auth_for_the_signers_own_password(
    client: AsyncTestClient, headers: dict, upstreams: Any, new_record: Any, catalog_id: Any, write: Any
) -> None:
    rid = await decided_record(client, headers, new_record, catalog_id, write)
    quality = {**headers[Role.QUALITY_ENGINEER], "If-Match": '"2"'}
    url = f"{RECORDS}/{rid}/close"
    close = {"disposition_approval_date": "2026-03-17"}
    before = await trail(client, rid, headers)

    for body in (close, {**close, "password": ""}, {**close, "password": "x" * 257}):
        unsigned = await client.post(url, json=body, headers=quality)
        assert unsigned.status_code == 400, body
        assert [e["field"] for e in unsigned.json()["errors"]] == ["password"]
    assert upstreams.calls["password"] == 0

    # a wrong password, and someone else's, prove nothing
    for guess in ("pw-qua001", "pw-ADM001", "Maria Quality"):
        refused = await client.post(url, json={**close, "password": guess}, headers=quality)
        assert refused.status_code == 403, guess
        assert refused.headers["content-type"].startswith("application/problem+json")
        assert refused.json()["errors"] == WRONG
    assert upstreams.calls["password"] == 3
    assert upstreams.seen_headers[-1]["authorization"] == quality["Authorization"]  # checked for the caller

    unchanged = (await client.get(f"{RECORDS}/{rid}", headers=quality)).json()
    assert (unchanged["status"], unchanged["version"], unchanged["signatures"]) == ("dispositioned", 2, [])
    assert await trail(client, rid, headers) == before

    signed = await client.post(url, json={**close, "password": "pw-QUA001"}, headers=quality)
    assert signed.status_code == 200, signed.text
    [signature] = signed.json()["signatures"]
    assert {k: v for k, v in signature.items() if k not in ("id", "signed_at")} == {
        "meaning": "approved_disposition",
        "meaning_text": "Approved disposition",
        "signer_id": 5,
        "signer_username": "QUA001",
        "signer_name": "Maria Quality",
        "signer_role": "Quality Engineer",
        "reason": None,
        "record_version": 3,
    }
    assert signature["signed_at"] == signed.json()["closed_at"]
    [line] = [x for x in await trail(client, rid, headers) if x["action"] == "signed"]
    assert (line["at"], line["version"], line["new_value"], line["actor_name"]) == (
        signature["signed_at"],
        3,
        "approved_disposition",
        "Maria Quality",
    )


async def test_auths_refusals_reach_the_signer_and_nothing_is_saved(
    client: AsyncTestClient, headers: dict, upstreams: Any, new_record: Any, catalog_id: Any, write: Any, tokens: Any
) -> None:
    rid = await decided_record(client, headers, new_record, catalog_id, write)
    url = f"{RECORDS}/{rid}/close"
    close = {"disposition_approval_date": "2026-03-17", "password": "pw-QUA001", "version": 2}
    before = await trail(client, rid, headers)

    upstreams.locked.add(5)  # too many wrong passwords lately
    locked = await client.post(url, json=close, headers=headers[Role.QUALITY_ENGINEER])
    assert (locked.status_code, locked.headers["retry-after"]) == (429, "30")
    assert "too many wrong passwords" in locked.json()["detail"]
    upstreams.locked.clear()

    upstreams.down.add("auth")
    down = await client.post(url, json=close, headers=headers[Role.QUALITY_ENGINEER])
    assert (down.status_code, down.json()["service"]) == (503, "auth")
    upstreams.down.clear()

    # a token still valid for an account deactivated since
    gone = tokens.headers(Role.QUALITY_ENGINEER, user_id=9, username="OPR099", full_name="Gone Person")
    deactivated = await client.post(url, json={**close, "password": "pw-OPR099"}, headers=gone)
    assert deactivated.status_code == 401
    assert deactivated.json()["detail"] == "this account no longer exists or is deactivated"

    shown = (await client.get(f"{RECORDS}/{rid}", headers=headers[Role.ADMIN])).json()
    assert (shown["is_closed"], shown["version"], shown["signatures"]) == (False, 2, [])
    assert await trail(client, rid, headers) == before

    signed = await client.post(url, json=close, headers=headers[Role.QUALITY_ENGINEER])
    assert signed.status_code == 200, signed.text


async def test_only_a_closed_record_is_reopened_by_quality_or_an_admin_with_a_reason_and_a_signature(
    client: AsyncTestClient, headers: dict, upstreams: Any, new_record: Any, catalog_id: Any, write: Any
) -> None:
    rid = await decided_record(client, headers, new_record, catalog_id, write)
    url = f"{RECORDS}/{rid}/reopen"
    quality = headers[Role.QUALITY_ENGINEER]
    reopen = {"password": "pw-QUA001", "reason": "The customer rejected the repair"}

    still_open = await client.post(url, json={**reopen, "version": 2}, headers=quality)
    assert (still_open.status_code, still_open.json()["detail"]) == (409, "only a closed record can be reopened")
    assert (await write.close(rid, {"disposition_approval_date": "2026-03-17"}, quality)).status_code == 200
    calls = upstreams.calls["password"]

    for role in (Role.INSPECTOR, Role.OPERATOR, Role.TECH_ENGINEER):
        refused = await client.post(url, json={**reopen, "version": 3}, headers=headers[role])
        assert refused.status_code == 403, role
    for body in (
        {"password": "pw-QUA001", "version": 3},
        {**reopen, "reason": "", "version": 3},
        {**reopen, "reason": "   ", "version": 3},
        {**reopen, "reason": "x" * 2001, "version": 3},
    ):
        refused = await client.post(url, json=body, headers=quality)
        assert refused.status_code == 400, body
        assert [e["field"] for e in refused.json()["errors"]] == ["reason"]
    assert upstreams.calls["password"] == calls  # nothing above needed a password checked

    wrong = await client.post(url, json={**reopen, "password": "pw-ADM001", "version": 3}, headers=quality)
    assert (wrong.status_code, wrong.json()["errors"]) == (403, WRONG)
    assert (await client.get(f"{RECORDS}/{rid}", headers=quality)).json()["status"] == "closed"

    reopened = await client.post(url, json={**reopen, "reason": "  Customer rejected  ", "version": 3}, headers=quality)
    assert reopened.status_code == 200, reopened.text
    assert (reopened.json()["status"], reopened.headers["etag"]) == ("reopened", '"4"')
    assert reopened.json()["signatures"][-1]["reason"] == "Customer rejected"
    again = await client.post(url, json={**reopen, "version": 4}, headers=quality)
    assert again.status_code == 409

    # open again for every role's edits; an Admin's reopening is signed by the Admin
    edited = await write.patch(rid, {"analysis": "Second look: mould wear"}, headers[Role.OPERATOR])
    assert (edited.status_code, edited.json()["status"]) == (200, "reopened")
    assert (await write.close(rid, {"disposition_approval_date": "2026-03-20"}, quality)).status_code == 200
    by_admin = await write.reopen(rid, "Audit finding 12", headers[Role.ADMIN])
    assert by_admin.status_code == 200
    assert [(s["meaning"], s["signer_username"]) for s in by_admin.json()["signatures"]] == [
        ("approved_disposition", "QUA001"),
        ("reopened", "QUA001"),
        ("approved_disposition", "QUA001"),
        ("reopened", "ADM001"),
    ]
