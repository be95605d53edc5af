"""Bad input is refused with the field named, never a 500, and nothing is saved."""

from __future__ import annotations

from typing import Any

from litestar.testing import AsyncTestClient

from dmt_records.domain.records import rules
from dmt_shared.tokens import Role

RECORDS = "/api/v1/records"
INACTIVE = 9


def fields_named(response: Any) -> list[str]:
    return [e["field"] for e in response.json().get("errors", [])]


async def test_bad_creations_name_the_field_and_save_nothing(
    client: AsyncTestClient, headers: dict, upstreams: Any, new_record: Any, catalog_id: Any
) -> None:
    inspector = headers[Role.INSPECTOR]
    shapes = {
        "quantity": [new_record(quantity=-4), new_record(quantity=0)],
        "operation": [new_record(operation="x" * 121), new_record(operation="   "), new_record(operation="")],
        "defect_description": [new_record(defect_description=""), new_record(defect_description="x" * 4001)],
        "serial_number": [new_record(serial_number="S" * 65)],
        "date": [new_record(date="yesterday"), new_record(date="2026-02-30"), new_record(date="14/03/2026")],
        "level_id": [new_record(level_id=0), new_record(level_id="L1")],
        "language": [new_record(language="fr")],
        "report_number": [new_record(report_number=" DMT-1")],
        "colour": [new_record(colour="red")],
    }
    for field in rules.REQUIRED_AT_CREATION:
        body = new_record()
        del body[field]
        shapes.setdefault(field, []).append(body)
    for field, bodies in shapes.items():
        for body in bodies:
            role = Role.ADMIN if field == "report_number" else Role.INSPECTOR
            response = await client.post(RECORDS, json=body, headers=headers[role])
            assert response.status_code == 400, (field, body.get(field), response.text)
            assert response.headers["content-type"].startswith("application/problem+json")
            assert fields_named(response) == [field], (field, response.text)
    assert upstreams.calls == {}  # refused at the edge

    references = {
        "part_number_id": (987654, "no part-numbers entry 987654"),
        "customer_id": (catalog_id("work-centers"), f"no customers entry {catalog_id('work-centers')}"),
        "area_id": (catalog_id("areas", INACTIVE), "inactive"),
        "prepared_by_id": (catalog_id("prepared-by", INACTIVE), "inactive"),
    }
    for field, (value, message) in references.items():
        response = await client.post(RECORDS, json=new_record(**{field: value}), headers=inspector)
        assert response.status_code == 422, (field, response.text)
        assert fields_named(response) == [field]
        assert message in response.json()["errors"][0]["message"]
    together = await client.post(
        RECORDS,
        json=new_record(**{field: value for field, (value, _) in references.items()}),
        headers=inspector,
    )
    assert together.status_code == 422
    assert sorted(fields_named(together)) == sorted(references)
    assert upstreams.calls == {"masterdata": len(references) + 1}  # one look-up per creation

    assert (await client.get(RECORDS, headers=inspector)).json()["total"] == 0
    garbage = await client.post(
        RECORDS, content=b"{not json", headers={**inspector, "content-type": "application/json"}
    )
    assert garbage.status_code == 400


async def test_bad_changes_name_the_field_and_change_nothing(
    client: AsyncTestClient, headers: dict, upstreams: Any, new_record: Any, catalog_id: Any
) -> None:
    created = await client.post(RECORDS, json=new_record(), headers=headers[Role.INSPECTOR])
    rid = created.json()["id"]
    v1 = {"If-Match": '"1"'}  # nothing below changes the record: it stays at version 1
    admin, engineer = {**headers[Role.ADMIN], **v1}, {**headers[Role.TECH_ENGINEER], **v1}

    for field in rules.REQUIRED_AT_CREATION:
        nulled = await client.patch(f"{RECORDS}/{rid}", json={field: None}, headers=admin)
        assert nulled.status_code == 422, (field, nulled.text)
        assert fields_named(nulled) == [field]
    for field in ("operation", "defect_description"):
        blanked = await client.patch(f"{RECORDS}/{rid}", json={field: "  "}, headers={**headers[Role.INSPECTOR], **v1})
        assert blanked.status_code == 422, field
        assert fields_named(blanked) == [field]

    edge = {
        "material_scrap_cost": [-1, 1e13],
        "other_cost": [-0.01],
        "rework_hours": [-2],
        "sdr_number": ["S" * 65],
        "engineering_remarks": ["x" * 4001],
        "disposition_date": ["soon"],
        "failure_code_id": [-5],
        "version": [0],
        "report_number": ["DMT-2026-99999"],
        "created_by_id": [4],
    }
    for field, bad_values in edge.items():
        for value in bad_values:
            response = await client.patch(f"{RECORDS}/{rid}", json={field: value}, headers=admin)
            assert response.status_code == 400, (field, value, response.text)
            assert fields_named(response) == [field], (field, response.text)

    cents = await client.patch(f"{RECORDS}/{rid}", json={"other_cost": 10.005, "rework_hours": 2.25}, headers=engineer)
    assert cents.status_code == 422
    assert fields_named(cents) == ["other_cost"]

    calls = dict(upstreams.calls)
    unknown = await client.patch(f"{RECORDS}/{rid}", json={"engineer_id": 987}, headers=engineer)
    assert unknown.status_code == 422
    assert unknown.json()["errors"] == [{"field": "engineer_id", "message": "no user 987"}]
    inactive = await client.patch(
        f"{RECORDS}/{rid}", json={"analysis_by_id": 9}, headers={**headers[Role.OPERATOR], **v1}
    )
    assert inactive.status_code == 422
    assert fields_named(inactive) == ["analysis_by_id"]
    assert "inactive" in inactive.json()["errors"][0]["message"]
    both = await client.patch(
        f"{RECORDS}/{rid}",
        json={"engineer_id": 987, "analysis_by_id": 3, "final_disposition_id": catalog_id("dispositions", INACTIVE)},
        headers=admin,
    )
    assert both.status_code == 422
    assert sorted(fields_named(both)) == ["engineer_id", "final_disposition_id"]
    assert upstreams.calls["auth"] == calls.get("auth", 0) + 3
    assert upstreams.calls["masterdata"] == calls["masterdata"] + 1

    missing = await client.patch(f"{RECORDS}/424242", json={"quantity": 2}, headers=admin)
    assert missing.status_code == 404

    after = await client.get(f"{RECORDS}/{rid}", headers=admin)
    assert after.json() == created.json()


async def test_an_entry_retired_later_blocks_only_when_newly_chosen(
    client: AsyncTestClient, headers: dict, upstreams: Any, new_record: Any, catalog_id: Any, write: Any
) -> None:
    inspector = headers[Role.INSPECTOR]
    area = catalog_id("areas", 2)
    rid = (await client.post(RECORDS, json=new_record(area_id=area), headers=inspector)).json()["id"]
    upstreams.catalog[("areas", area)].is_active = False
    calls = dict(upstreams.calls)

    other_edit = await write.patch(rid, {"quantity": 5}, inspector)
    assert other_edit.status_code == 200, other_edit.text
    same_again = await write.patch(rid, {"area_id": area, "quantity": 6}, inspector)
    assert same_again.status_code == 200, same_again.text
    assert upstreams.calls == calls  # nothing of a catalog changed: nobody asked

    newly = await write.patch(rid, {"level_id": catalog_id("levels", INACTIVE)}, inspector)
    assert newly.status_code == 422
    assert fields_named(newly) == ["level_id"]
    other = await write.patch(rid, {"area_id": catalog_id("areas", 3)}, inspector)
    assert other.status_code == 200
    back = await write.patch(rid, {"area_id": area}, inspector)
    assert back.status_code == 422
    assert "inactive" in back.json()["errors"][0]["message"]
