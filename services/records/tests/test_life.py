"""A record's life through the API: inspection, analysis, disposition, approval, and the Admin."""

from __future__ import annotations

import re
from typing import Any

from litestar.testing import AsyncTestClient
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from dmt_records.db.models import RecordText
from dmt_shared.tokens import Role

RECORDS = "/api/v1/records"


def fields_named(response: Any) -> list[str]:
    return [e["field"] for e in response.json().get("errors", [])]


async def test_a_record_goes_from_inspection_to_closed(
    client: AsyncTestClient, headers: dict, upstreams: Any, new_record: Any, catalog_id: Any, write: Any
) -> None:
    created = await client.post(RECORDS, json=new_record(), headers=headers[Role.INSPECTOR])
    assert created.status_code == 201, created.text
    record = created.json()
    rid = record["id"]
    assert re.fullmatch(r"DMT-20\d\d-00001", record["report_number"])
    assert (record["status"], record["is_closed"], record["version"]) == ("open", False, 1)
    assert created.headers["etag"] == '"1"'
    assert record["created_by_id"] == record["updated_by_id"] == 2
    assert record["defect_description"] == "Porosity on the flange face, 2 mm"
    assert record["texts"] == {
        "defect_description": {
            "source_language": "en",
            "values": {
                "en": {
                    "text": "Porosity on the flange face, 2 mm",
                    "origin": "author",
                    "state": "done",
                    "outdated": False,
                },
                # waiting for the translator, which never holds up a save
                "es": {"text": None, "origin": "machine", "state": "pending", "outdated": False},
                "zh": {"text": None, "origin": "machine", "state": "pending", "outdated": False},
            },
        }
    }
    assert record["text_languages"] == {"defect_description": "en"}
    assert record["signatures"] == []
    assert upstreams.calls == {"masterdata": 1}

    analysed = await client.patch(
        f"{RECORDS}/{rid}",
        json={"process_description": "Shell cracked during dewax", "analysis": "Autoclave ramp too fast"},
        headers={**headers[Role.OPERATOR], "If-Match": '"1"'},
    )
    assert analysed.status_code == 200, analysed.text
    assert analysed.json()["status"] == "in_analysis"
    assert analysed.json()["analysis_by_id"] == 3  # the Operator who wrote it
    assert analysed.json()["version"] == 2
    assert upstreams.calls == {"masterdata": 1}  # texts only: nobody asked

    decided = await client.patch(
        f"{RECORDS}/{rid}",
        json={
            "final_disposition_id": catalog_id("dispositions"),
            "failure_code_id": catalog_id("failure-codes"),
            "disposition_date": "2026-03-16",
            "rework_hours": 1.5,
            "material_scrap_cost": 120.25,
            "other_cost": 0,
            "responsible_department": "Casting",
            "engineering_remarks": "Blend and re-inspect",
            "version": 2,
        },
        headers=headers[Role.TECH_ENGINEER],
    )
    assert decided.status_code == 200, decided.text
    body = decided.json()
    assert body["status"] == "dispositioned"
    assert body["engineer_id"] == 4  # the Tech Engineer who decided
    assert (body["rework_hours"], body["material_scrap_cost"], body["other_cost"]) == (1.5, 120.25, 0.0)
    assert body["analysis_by_id"] == 3
    assert upstreams.calls == {"masterdata": 2}  # one look-up for both catalog fields, no user look-up

    closed = await client.post(
        f"{RECORDS}/{rid}/close",
        json={"disposition_approval_date": "2026-03-17", "sdr_number": "SDR-7781", "password": "pw-QUA001"},
        headers={**headers[Role.QUALITY_ENGINEER], "If-Match": '"3"'},
    )
    assert closed.status_code == 200, closed.text
    body = closed.json()
    assert (body["status"], body["is_closed"]) == ("closed", True)
    assert body["disposition_approved_by_id"] == 5 == body["closed_by_id"]
    assert body["closed_at"] is not None
    assert body["sdr_number"] == "SDR-7781"
    assert body["version"] == 4
    assert closed.headers["etag"] == '"4"'
    [signature] = body["signatures"]
    assert {k: signature[k] for k in ("meaning", "meaning_text", "signer_name", "signer_role", "record_version")} == {
        "meaning": "approved_disposition",
        "meaning_text": "Approved disposition",
        "signer_name": "Maria Quality",
        "signer_role": "Quality Engineer",
        "record_version": 4,
    }
    assert upstreams.calls == {"masterdata": 2, "password": 1}

    for role in Role:
        refused = await client.patch(f"{RECORDS}/{rid}", json={"sdr_number": "X", "version": 4}, headers=headers[role])
        assert refused.status_code in (403, 409), (role, refused.text)
    for role in (Role.QUALITY_ENGINEER, Role.ADMIN):
        refused = await client.patch(f"{RECORDS}/{rid}", json={"sdr_number": "X", "version": 4}, headers=headers[role])
        assert refused.status_code == 409
        assert refused.json()["detail"] == "closed records are read-only"
        again = await write.close(rid, {"disposition_approval_date": "2026-03-18"}, headers[role])
        assert again.status_code == 409
    assert upstreams.calls["password"] == 1  # refused before any password was asked for

    shown = await client.get(f"{RECORDS}/{rid}", headers=headers[Role.OPERATOR])
    assert shown.status_code == 200
    assert shown.headers["etag"] == '"4"'
    assert {k: shown.json()[k] for k in ("status", "sdr_number", "analysis", "engineering_remarks")} == {
        "status": "closed",
        "sdr_number": "SDR-7781",
        "analysis": "Autoclave ramp too fast",
        "engineering_remarks": "Blend and re-inspect",
    }


async def test_only_inspectors_and_admins_create_and_only_admins_give_report_numbers(
    client: AsyncTestClient, headers: dict, new_record: Any
) -> None:
    for role in (Role.OPERATOR, Role.TECH_ENGINEER, Role.QUALITY_ENGINEER):
        refused = await client.post(RECORDS, json=new_record(), headers=headers[role])
        assert refused.status_code == 403, role
    by_admin = await client.post(RECORDS, json=new_record(), headers=headers[Role.ADMIN])
    assert by_admin.status_code == 201
    assert by_admin.json()["created_by_id"] == 1

    own = await client.post(RECORDS, json=new_record(report_number="DMT-2019-00412"), headers=headers[Role.INSPECTOR])
    assert own.status_code == 403
    assert fields_named(own) == ["report_number"]

    legacy = await client.post(RECORDS, json=new_record(report_number="DMT-2019-00412"), headers=headers[Role.ADMIN])
    assert legacy.status_code == 201
    assert legacy.json()["report_number"] == "DMT-2019-00412"
    duplicate = await client.post(RECORDS, json=new_record(report_number="DMT-2019-00412"), headers=headers[Role.ADMIN])
    assert duplicate.status_code == 409
    assert fields_named(duplicate) == ["report_number"]

    listed = await client.get(RECORDS, headers=headers[Role.OPERATOR])
    assert listed.json()["total"] == 2


async def test_close_refuses_with_every_missing_field_named_even_for_an_admin(
    client: AsyncTestClient, headers: dict, upstreams: Any, new_record: Any, catalog_id: Any, write: Any
) -> None:
    rid = (await client.post(RECORDS, json=new_record(), headers=headers[Role.INSPECTOR])).json()["id"]
    for role in (Role.INSPECTOR, Role.OPERATOR, Role.TECH_ENGINEER):
        refused = await write.close(rid, {"disposition_approval_date": "2026-03-17"}, headers[role])
        assert refused.status_code == 403, role

    bare = await write.close(rid, {}, headers[Role.ADMIN])
    assert bare.status_code == 422
    # the approver defaults to whoever closes, so only it is never missing
    assert fields_named(bare) == ["final_disposition_id", "failure_code_id", "engineer_id", "disposition_approval_date"]

    await write.patch(
        rid,
        {"final_disposition_id": catalog_id("dispositions"), "failure_code_id": catalog_id("failure-codes")},
        headers[Role.ADMIN],
    )  # an Admin is not made the engineer by default
    for missing in ("engineer_id", "disposition_approval_date"):
        body = {"disposition_approval_date": "2026-03-17"} if missing == "engineer_id" else {}
        refused = await write.close(rid, body, headers[Role.QUALITY_ENGINEER])
        assert refused.status_code == 422
        assert missing in fields_named(refused)
        assert missing in refused.json()["detail"]
    assert upstreams.calls["password"] == 0  # a close that cannot happen asks for no password

    await write.patch(rid, {"engineer_id": 6}, headers[Role.TECH_ENGINEER])
    # the approval date may already be on the record, set by the Quality Engineer beforehand
    await write.patch(rid, {"disposition_approval_date": "2026-03-17"}, headers[Role.QUALITY_ENGINEER])
    closed = await write.close(rid, {"disposition_approved_by_id": 6}, headers[Role.ADMIN])
    assert closed.status_code == 200, closed.text
    assert closed.json()["signatures"][0]["signer_name"] == "Ana Admin"  # the signer, not the approver named
    assert closed.json()["disposition_approval_date"] == "2026-03-17"
    assert closed.json()["disposition_approved_by_id"] == 6
    assert closed.json()["closed_by_id"] == 1


async def test_an_admin_edits_every_section_and_deletes_a_record_keeping_its_history(
    client: AsyncTestClient, headers: dict, new_record: Any, catalog_id: Any, engine: AsyncEngine, write: Any
) -> None:
    admin = headers[Role.ADMIN]
    rid = (await client.post(RECORDS, json=new_record(), headers=headers[Role.INSPECTOR])).json()["id"]
    everything = {
        "quantity": 7,
        "defect_description": "Crack on the web",
        "analysis": "Cooling too fast",
        "analysis_by_id": 3,
        "final_disposition_id": catalog_id("dispositions", 2),
        "failure_code_id": catalog_id("failure-codes", 2),
        "engineer_id": 4,
        "repair_process": "Weld and grind",
        "disposition_approval_date": "2026-03-20",
        "disposition_approved_by_id": 5,
        "sdr_number": "SDR-1",
    }
    changed = await write.patch(rid, everything, admin)
    assert changed.status_code == 200, changed.text
    assert {k: changed.json()[k] for k in everything} == everything
    assert changed.json()["status"] == "dispositioned"
    assert changed.json()["updated_by_id"] == 1

    closed = await write.close(rid, {}, admin)
    assert closed.status_code == 200, closed.text

    for role in (Role.INSPECTOR, Role.QUALITY_ENGINEER):
        assert (await write.delete(rid, "duplicate", headers[role])).status_code == 403
    assert (await write.delete(rid, "a duplicate of another record", admin)).status_code == 204
    gone = await client.get(f"{RECORDS}/{rid}", headers=admin)
    assert gone.status_code == 404
    assert gone.headers["content-type"].startswith("application/problem+json")
    assert (await write.delete(rid, "again", admin)).status_code == 404
    assert (await client.get(RECORDS, params={"q": "Weld and grind"}, headers=admin)).json()["total"] == 0
    async with engine.connect() as conn:  # a tombstone: the texts are kept with the history
        assert await conn.scalar(select(func.count()).select_from(RecordText).where(RecordText.record_id == rid)) > 0


async def test_the_rules_are_served_for_forms_to_lock_fields(client: AsyncTestClient, headers: dict) -> None:
    served = await client.get(f"{RECORDS}/rules", headers=headers[Role.OPERATOR])
    assert served.status_code == 200
    body = served.json()
    assert body["reopen_roles"] == ["Quality Engineer", "Admin"]
    assert body["statuses"] == ["open", "in_analysis", "dispositioned", "closed", "reopened"]
    assert body["signature_meanings"] == {"approved_disposition": "Approved disposition", "reopened": "Reopened"}
    assert body["editable_fields"]["Quality Engineer"] == [
        "disposition_approval_date",
        "disposition_approved_by_id",
        "sdr_number",
    ]
    assert body["role_sections"] == {
        "Admin": [1, 2, 3, 4, 5],
        "Inspector": [1, 2],
        "Operator": [3],
        "Tech Engineer": [3, 4],
        "Quality Engineer": [5],
    }
    assert (await client.get(f"{RECORDS}/rules")).status_code == 401
