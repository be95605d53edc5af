"""Who may edit which field, through the API: every field a role may not edit is refused."""

from __future__ import annotations

from typing import Any

from litestar.testing import AsyncTestClient

from dmt_records.domain.records import rules
from dmt_shared.tokens import Role

RECORDS = "/api/v1/records"


def samples(catalog_id: Any) -> dict[str, Any]:
    """A valid new value for every editable field."""
    return {
        "part_number_id": catalog_id("part-numbers", 2),
        "work_center_id": catalog_id("work-centers", 2),
        "customer_id": catalog_id("customers", 2),
        "level_id": catalog_id("levels", 2),
        "area_id": catalog_id("areas", 2),
        "prepared_by_id": catalog_id("prepared-by", 2),
        "operation": "OP-40",
        "quantity": 2,
        "serial_number": "SN-9",
        "date": "2026-03-15",
        "inspection_item_id": catalog_id("inspection-items", 2),
        "process_code_id": catalog_id("process-codes", 2),
        "defect_description": "Crack",
        "process_description": "Casting",
        "analysis": "Cooling",
        "analysis_by_id": 3,
        "final_disposition_id": catalog_id("dispositions"),
        "disposition_date": "2026-03-16",
        "engineer_id": 4,
        "failure_code_id": catalog_id("failure-codes"),
        "rework_hours": 1,
        "responsible_department": "Casting",
        "material_scrap_cost": 1,
        "other_cost": 1,
        "engineering_remarks": "None",
        "repair_process": "Blend",
        "disposition_approval_date": "2026-03-17",
        "disposition_approved_by_id": 5,
        "sdr_number": "SDR-1",
    }


async def test_every_field_a_role_may_not_edit_is_refused_and_nothing_is_saved(
    client: AsyncTestClient, headers: dict, upstreams: Any, new_record: Any, catalog_id: Any
) -> None:
    values = samples(catalog_id)
    assert set(values) == set(rules.ALL_FIELDS)
    served = (await client.get(f"{RECORDS}/rules", headers=headers[Role.INSPECTOR])).json()
    created = await client.post(RECORDS, json=new_record(), headers=headers[Role.INSPECTOR])
    rid = created.json()["id"]
    calls = dict(upstreams.calls)
    refused = 0
    for role in Role:
        allowed = set(served["editable_fields"][role.value])
        for field in sorted(set(rules.ALL_FIELDS) - allowed):
            response = await client.patch(f"{RECORDS}/{rid}", json={field: values[field]}, headers=headers[role])
            assert response.status_code == 403, (role, field, response.text)
            assert [e["field"] for e in response.json()["errors"]] == [field], (role, field)
            refused += 1
    # 29 fields; Inspector may edit 13, Operator 3, Tech Engineer 13, Quality Engineer 3, Admin all
    assert refused == 16 + 26 + 16 + 26
    assert upstreams.calls == calls  # refused before anyone was asked

    mixed = await client.patch(
        f"{RECORDS}/{rid}",
        json={"analysis": "Cooling", "quantity": 9, "sdr_number": "SDR-2", "engineer_id": 4},
        headers=headers[Role.OPERATOR],
    )
    assert mixed.status_code == 403
    assert [e["field"] for e in mixed.json()["errors"]] == ["quantity", "engineer_id", "sdr_number"]  # form order
    unchanged = await client.get(f"{RECORDS}/{rid}", headers=headers[Role.OPERATOR])
    assert unchanged.json() == created.json()


async def test_each_role_may_edit_every_field_of_its_sections(
    client: AsyncTestClient, headers: dict, new_record: Any, catalog_id: Any, write: Any
) -> None:
    values = samples(catalog_id)
    for role in (Role.INSPECTOR, Role.OPERATOR, Role.TECH_ENGINEER, Role.QUALITY_ENGINEER):
        rid = (await client.post(RECORDS, json=new_record(), headers=headers[Role.INSPECTOR])).json()["id"]
        mine = {f: values[f] for f in rules.editable_fields(role)}
        response = await write.patch(rid, mine, headers[role])
        assert response.status_code == 200, (role, response.text)
        assert {f: response.json()[f] for f in mine} == mine, role
        assert response.json()["version"] == 2
