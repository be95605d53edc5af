"""The life of a record with its audit trail: every change in the history, signed approvals and
reopenings, versions that stop silent overwrites, and translations corrected by people."""

from __future__ import annotations

import asyncio
from typing import Any

from litestar.testing import AsyncTestClient

from dmt_shared.tokens import Role

RECORDS = "/api/v1/records"


def decision(catalog_id: Any) -> dict[str, Any]:
    return {"final_disposition_id": catalog_id("dispositions"), "failure_code_id": catalog_id("failure-codes")}


async def history_of(client: Any, rid: int, headers: dict[str, str]) -> list[dict[str, Any]]:
    answer = await client.get(f"{RECORDS}/{rid}/history", params={"page_size": 200}, headers=headers)
    assert answer.status_code == 200, answer.text
    assert answer.json()["total"] == len(answer.json()["items"])
    return answer.json()["items"]


def said(lines: list[dict[str, Any]]) -> list[tuple[Any, ...]]:
    """What each line says, without ids and times."""
    return [
        (line["version"], line["action"], line["actor_username"], line["field"], line["old_value"], line["new_value"])
        for line in lines
    ]


async def test_a_record_closed_reopened_and_closed_again_keeps_every_change_and_signature(
    client: AsyncTestClient, headers: dict, new_record: Any, catalog_id: Any, password: Any
) -> None:
    inspector, engineer = headers[Role.INSPECTOR], headers[Role.TECH_ENGINEER]
    quality, admin = headers[Role.QUALITY_ENGINEER], headers[Role.ADMIN]
    created = await client.post(RECORDS, json=new_record(), headers=inspector)
    rid, number = created.json()["id"], created.json()["report_number"]

    # three edits, each on the version the last one answered
    edits = [
        (inspector, {"quantity": 4}),
        (headers[Role.OPERATOR], {"analysis": "Ramp too fast"}),
        (engineer, {**decision(catalog_id), "material_scrap_cost": 12.5}),
    ]
    etag = created.headers["etag"]
    for who, body in edits:
        edited = await client.patch(f"{RECORDS}/{rid}", json=body, headers={**who, "If-Match": etag})
        assert edited.status_code == 200, edited.text
        etag = edited.headers["etag"]
    assert (etag, edited.json()["status"]) == ('"4"', "dispositioned")

    close = {"disposition_approval_date": "2026-03-17", "password": password(Role.QUALITY_ENGINEER)}
    closed = await client.post(f"{RECORDS}/{rid}/close", json={**close, "version": 4}, headers=quality)
    assert (closed.status_code, closed.json()["status"], closed.headers["etag"]) == (200, "closed", '"5"')

    reason = "Customer found two more parts with the same porosity"
    reopen = {"password": password(Role.QUALITY_ENGINEER), "reason": reason, "version": 5}
    reopened = await client.post(f"{RECORDS}/{rid}/reopen", json=reopen, headers=quality)
    assert reopened.status_code == 200, reopened.text
    body = reopened.json()
    assert (body["status"], body["is_closed"], body["reopened_by_id"], body["closed_at"]) == (
        "reopened",
        False,
        5,
        None,
    )
    assert body["reopened_at"] is not None
    # the approval is withdrawn: closing again approves anew
    assert (body["disposition_approval_date"], body["disposition_approved_by_id"]) == (None, None)

    edited = await client.patch(f"{RECORDS}/{rid}", json={"quantity": 6, "version": 6}, headers=inspector)
    assert (edited.status_code, edited.json()["status"]) == (200, "reopened")  # until closed again
    closed = await client.post(
        f"{RECORDS}/{rid}/close",
        json={"disposition_approval_date": "2026-03-21", "password": password(Role.ADMIN), "version": 7},
        headers=admin,
    )
    assert (closed.status_code, closed.json()["status"], closed.json()["version"]) == (200, "closed", 8)

    signatures = closed.json()["signatures"]
    assert [
        (s["meaning"], s["meaning_text"], s["signer_name"], s["record_version"], s["reason"]) for s in signatures
    ] == [
        ("approved_disposition", "Approved disposition", "Maria Quality", 5, None),
        ("reopened", "Reopened", "Maria Quality", 6, reason),
        ("approved_disposition", "Approved disposition", "Ana Admin", 8, None),
    ]
    assert signatures[0]["signed_at"] <= signatures[1]["signed_at"] <= signatures[2]["signed_at"]  # MariaDB: seconds

    lines = await history_of(client, rid, headers[Role.OPERATOR])
    assert said(lines) == [
        (1, "created", "INS001", "report_number", None, number),
        (1, "created", "INS001", "part_number_id", None, str(catalog_id("part-numbers"))),
        (1, "created", "INS001", "work_center_id", None, str(catalog_id("work-centers"))),
        (1, "created", "INS001", "customer_id", None, str(catalog_id("customers"))),
        (1, "created", "INS001", "level_id", None, str(catalog_id("levels"))),
        (1, "created", "INS001", "area_id", None, str(catalog_id("areas"))),
        (1, "created", "INS001", "prepared_by_id", None, str(catalog_id("prepared-by"))),
        (1, "created", "INS001", "operation", None, "OP-30 final machining"),
        (1, "created", "INS001", "quantity", None, "3"),
        (1, "created", "INS001", "serial_number", None, "SN-0001"),
        (1, "created", "INS001", "date", None, "2026-03-14"),
        (1, "created", "INS001", "inspection_item_id", None, str(catalog_id("inspection-items"))),
        (1, "created", "INS001", "process_code_id", None, str(catalog_id("process-codes"))),
        (1, "created", "INS001", "defect_description", None, "Porosity on the flange face, 2 mm"),
        (1, "created", "INS001", "status", None, "open"),
        (2, "changed", "INS001", "quantity", "3", "4"),
        (3, "changed", "OPR001", "analysis", None, "Ramp too fast"),
        (3, "changed", "OPR001", "analysis_by_id", None, "3"),
        (3, "changed", "OPR001", "status", "open", "in_analysis"),
        (4, "changed", "ENG001", "final_disposition_id", None, str(catalog_id("dispositions"))),
        (4, "changed", "ENG001", "engineer_id", None, "4"),
        (4, "changed", "ENG001", "failure_code_id", None, str(catalog_id("failure-codes"))),
        (4, "changed", "ENG001", "material_scrap_cost", None, "12.50"),
        (4, "changed", "ENG001", "status", "in_analysis", "dispositioned"),
        (5, "changed", "QUA001", "disposition_approval_date", None, "2026-03-17"),
        (5, "changed", "QUA001", "disposition_approved_by_id", None, "5"),
        (5, "closed", "QUA001", "status", "dispositioned", "closed"),
        (5, "signed", "QUA001", None, None, "approved_disposition"),
        (6, "changed", "QUA001", "disposition_approval_date", "2026-03-17", None),
        (6, "changed", "QUA001", "disposition_approved_by_id", "5", None),
        (6, "reopened", "QUA001", "status", "closed", "reopened"),
        (6, "signed", "QUA001", None, None, "reopened"),
        (7, "changed", "INS001", "quantity", "4", "6"),
        (8, "changed", "ADM001", "disposition_approval_date", None, "2026-03-21"),
        (8, "changed", "ADM001", "disposition_approved_by_id", None, "1"),
        (8, "closed", "ADM001", "status", "reopened", "closed"),
        (8, "signed", "ADM001", None, None, "approved_disposition"),
    ]
    assert [line["id"] for line in lines] == sorted(line["id"] for line in lines)
    by_action = {line["action"]: line for line in lines}
    assert (by_action["reopened"]["reason"], by_action["signed"]["reason"]) == (reason, None)
    assert [line["language"] for line in lines if line["field"] in ("defect_description", "analysis")] == ["en", "en"]
    assert {line["actor_name"] for line in lines if line["actor_username"] == "QUA001"} == {"Maria Quality"}
    assert {line["actor_role"] for line in lines if line["actor_username"] == "ENG001"} == {"Tech Engineer"}

    # nobody can change or remove the history, not even an Admin
    for method in ("PUT", "PATCH", "DELETE", "POST"):
        refused = await client.request(
            method, f"{RECORDS}/{rid}/history", json={"action": "nothing happened"}, headers=admin
        )
        assert refused.status_code in (404, 405), (method, refused.status_code)
    line_id = lines[0]["id"]
    for method in ("GET", "PUT", "PATCH", "DELETE"):
        refused = await client.request(method, f"{RECORDS}/{rid}/history/{line_id}", headers=admin)
        assert refused.status_code in (404, 405), (method, refused.status_code)
    assert await history_of(client, rid, admin) == lines


async def test_two_engineers_saving_the_same_version_at_once_one_is_told_and_nothing_is_lost(
    concurrent_client: Any, headers: dict, new_record: Any, tokens: Any
) -> None:
    second = tokens.headers(Role.TECH_ENGINEER, user_id=6, username="ENG002", full_name="Zhang Min")
    async with concurrent_client() as http:
        rid = (await http.post(RECORDS, json=new_record(), headers=headers[Role.INSPECTOR])).json()["id"]
        one, two = await asyncio.gather(
            http.patch(
                f"{RECORDS}/{rid}", json={"rework_hours": 2}, headers={**headers[Role.TECH_ENGINEER], "If-Match": '"1"'}
            ),
            http.patch(f"{RECORDS}/{rid}", json={"rework_hours": 5}, headers={**second, "If-Match": '"1"'}),
        )
        final = (await http.get(f"{RECORDS}/{rid}", headers=headers[Role.ADMIN])).json()
        lines = (await http.get(f"{RECORDS}/{rid}/history", headers=headers[Role.ADMIN])).json()["items"]
    assert sorted([one.status_code, two.status_code]) == [200, 412], (one.text, two.text)
    winner, loser = (one, two) if one.status_code == 200 else (two, one)
    assert loser.json()["current_version"] == 2
    assert loser.headers["etag"] == '"2"'
    assert final["version"] == 2
    assert final["rework_hours"] == winner.json()["rework_hours"]
    changed = [line for line in lines if line["action"] == "changed"]
    assert [(line["field"], line["new_value"]) for line in changed if line["field"] == "rework_hours"] == [
        ("rework_hours", f"{winner.json()['rework_hours']:.2f}")
    ]


async def test_close_reopen_and_corrections_need_the_version_read(
    client: AsyncTestClient, headers: dict, upstreams: Any, new_record: Any, catalog_id: Any, password: Any, write: Any
) -> None:
    quality = headers[Role.QUALITY_ENGINEER]
    rid = (await client.post(RECORDS, json=new_record(), headers=headers[Role.INSPECTOR])).json()["id"]
    await write.patch(rid, {**decision(catalog_id), "engineer_id": 4}, headers[Role.ADMIN])  # version 2
    close = {"disposition_approval_date": "2026-03-17", "password": password(Role.QUALITY_ENGINEER)}
    correction = {"text": "Porosidad en la cara de la brida"}
    texts = f"{RECORDS}/{rid}/texts/defect_description/es"

    for path, body, who in (
        (f"{RECORDS}/{rid}/close", close, quality),
        (texts, correction, headers[Role.INSPECTOR]),
    ):
        method = "PUT" if path == texts else "POST"
        missing = await client.request(method, path, json=body, headers=who)
        assert missing.status_code == 428, (path, missing.text)
        assert [e["field"] for e in missing.json()["errors"]] == ["version"]
        stale = await client.request(method, path, json={**body, "version": 1}, headers=who)
        assert (stale.status_code, stale.json()["current_version"], stale.headers["etag"]) == (412, 2, '"2"')
        stale = await client.request(method, path, json=body, headers={**who, "If-Match": '"1"'})
        assert stale.status_code == 412
    assert upstreams.calls["password"] == 0  # refused before any password was checked

    closed = await client.post(f"{RECORDS}/{rid}/close", json={**close, "version": 2}, headers=quality)
    assert closed.status_code == 200
    reopen = {"password": password(Role.QUALITY_ENGINEER), "reason": "Wrong disposition"}
    assert (await client.post(f"{RECORDS}/{rid}/reopen", json=reopen, headers=quality)).status_code == 428
    stale = await client.post(f"{RECORDS}/{rid}/reopen", json={**reopen, "version": 2}, headers=quality)
    assert (stale.status_code, stale.json()["current_version"]) == (412, 3)
    refused = await client.put(texts, json={**correction, "version": 3}, headers=headers[Role.INSPECTOR])
    assert (refused.status_code, refused.json()["detail"]) == (409, "closed records are read-only")
    assert upstreams.calls["password"] == 1
    shown = await client.get(f"{RECORDS}/{rid}", headers=quality)
    assert (shown.json()["status"], shown.json()["version"], len(shown.json()["signatures"])) == ("closed", 3, 1)


async def test_people_correct_translations_and_machines_never_overwrite_them(
    client: AsyncTestClient, headers: dict, new_record: Any, write: Any
) -> None:
    inspector = headers[Role.INSPECTOR]
    created = await client.post(RECORDS, json=new_record(), headers=inspector)
    rid = created.json()["id"]
    spanish = "Porosidad en la cara de la brida, 2 mm"

    for role in (Role.OPERATOR, Role.TECH_ENGINEER, Role.QUALITY_ENGINEER):  # section 2 is the Inspector's
        refused = await write.correct(rid, "defect_description", "es", spanish, headers[role])
        assert refused.status_code == 403, role
        assert [e["field"] for e in refused.json()["errors"]] == ["defect_description"]
    for field, language, who in (
        ("defect_description", "en", "language"),  # the original's own language: edit the original
        ("analysis", "es", "analysis"),  # nothing written to translate
        ("colour", "es", "field"),
        ("defect_description", "fr", "language"),
    ):
        refused = await write.correct(rid, field, language, spanish, headers[Role.ADMIN])
        assert refused.status_code == 422, (field, language, refused.text)
        assert [e["field"] for e in refused.json()["errors"]] == [who]
    for text in ("", "   ", "x" * 4001):
        refused = await write.correct(rid, "defect_description", "es", text, inspector)
        assert refused.status_code == 400
        assert [e["field"] for e in refused.json()["errors"]] == ["text"]

    corrected = await write.correct(rid, "defect_description", "es", spanish, inspector)
    assert corrected.status_code == 200, corrected.text
    assert corrected.headers["etag"] == '"2"'  # a person's correction is a change of the record
    assert corrected.json()["texts"]["defect_description"]["values"]["es"] == {
        "text": spanish,
        "origin": "human",
        "state": "done",
        "outdated": False,
    }
    in_spanish = await client.get(f"{RECORDS}/{rid}", headers={**inspector, "Accept-Language": "es"})
    assert (in_spanish.json()["defect_description"], in_spanish.json()["text_languages"]) == (
        spanish,
        {"defect_description": "es"},
    )
    lines = (await client.get(f"{RECORDS}/{rid}/history", headers=inspector)).json()["items"]
    assert [(x["action"], x["field"], x["language"], x["old_value"], x["new_value"], x["version"]) for x in lines][
        -1
    ] == ("changed", "defect_description", "es", None, spanish, 2)

    # the original is edited: the correction stays, marked as made for an earlier original
    rewritten = await write.patch(rid, {"defect_description": "Porosity on the flange face, 3 mm"}, inspector)
    values = rewritten.json()["texts"]["defect_description"]["values"]
    assert (values["es"]["text"], values["es"]["origin"], values["es"]["outdated"]) == (spanish, "human", True)
    assert (values["zh"]["origin"], values["zh"]["state"]) == ("machine", "pending")
