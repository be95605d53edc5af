"""Batch look-up of entries of any catalogs, as records and the gateway use it."""

from litestar.testing import AsyncTestClient

from dmt_shared.contracts import MAX_LOOKUP


async def test_lookup_resolves_mixed_catalogs_and_names_what_is_missing(
    client: AsyncTestClient, api, admin, inspector
) -> None:
    part = await api.create("part-numbers", "9151355", "Turbine blade, IN718")
    await client.patch(
        f"/api/v1/catalogs/part-numbers/{part['id']}",
        json={"item_name_es": "Álabe de turbina, IN718", "item_name_zh": "涡轮叶片, IN718"},
        headers=admin,
    )
    center = await api.create("work-centers", "WC-003", "Cast")
    retired = await api.create("customers", "A146", "Customer A146")
    await client.patch(f"/api/v1/catalogs/customers/{retired['id']}", json={"is_active": False}, headers=admin)
    refs = [
        {"kind": "part-numbers", "id": part["id"]},
        {"kind": "work-centers", "id": center["id"]},
        {"kind": "customers", "id": retired["id"]},
        {"kind": "customers", "id": part["id"]},  # an id of another catalog
        {"kind": "levels", "id": 987654},  # no such id
        {"kind": "part-numbers", "id": part["id"]},  # asked twice
        {"kind": "areas", "id": 2**63},  # beyond any id
    ]
    response = await client.post("/api/v1/catalogs/lookup", json={"items": refs}, headers=inspector)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["items"] == [
        {"id": part["id"], "kind": "part-numbers", "item_number": "9151355", "item_name": "Turbine blade, IN718",
         "is_active": True, "item_name_es": "Álabe de turbina, IN718", "item_name_zh": "涡轮叶片, IN718"},
        {"id": center["id"], "kind": "work-centers", "item_number": "WC-003", "item_name": "Cast", "is_active": True,
         "item_name_es": None, "item_name_zh": None},
        {"id": retired["id"], "kind": "customers", "item_number": "A146", "item_name": "Customer A146",
         "is_active": False, "item_name_es": None, "item_name_zh": None},
    ]  # fmt: skip
    assert body["missing"] == [
        {"kind": "customers", "id": part["id"]},
        {"kind": "levels", "id": 987654},
        {"kind": "areas", "id": 2**63},
    ]
    empty = await client.post("/api/v1/catalogs/lookup", json={"items": []}, headers=inspector)
    assert empty.json() == {"items": [], "missing": []}


async def test_lookup_is_its_own_path_and_refuses_unknown_catalogs_and_oversized_batches(
    client: AsyncTestClient, inspector, admin
) -> None:
    # Were /lookup taken for /{kind}, an Inspector would get 403 and an Admin a new entry or a 404.
    for headers in (inspector, admin):
        response = await client.post("/api/v1/catalogs/lookup", json={"items": []}, headers=headers)
        assert response.status_code == 200, response.text
        assert response.json() == {"items": [], "missing": []}
    overview = (await client.get("/api/v1/catalogs", headers=admin)).json()
    assert all(c["total"] == 0 for c in overview["items"])
    refs = [{"kind": "levels", "id": 1}, {"kind": "colours", "id": 2}]
    unknown = await client.post("/api/v1/catalogs/lookup", json={"items": refs}, headers=inspector)
    assert unknown.status_code == 422
    assert [e["field"] for e in unknown.json()["errors"]] == ["items[1].kind"]
    too_many = [{"kind": "levels", "id": i} for i in range(1, MAX_LOOKUP + 2)]
    oversized = await client.post("/api/v1/catalogs/lookup", json={"items": too_many}, headers=inspector)
    assert oversized.status_code == 400
    malformed = await client.post("/api/v1/catalogs/lookup", json={"items": [{"kind": "levels"}]}, headers=inspector)
    assert malformed.status_code == 400
    assert "id" in malformed.json()["errors"][0]["field"]
