"""Reading and writing catalog entries over HTTP: who may, what is accepted, what clashes."""

import datetime as dt

from litestar.testing import AsyncTestClient

from dmt_shared.contracts import CATALOG_KINDS

ENTRY_FIELDS = {
    "id",
    "kind",
    "item_number",
    "item_name",
    "item_name_es",
    "item_name_zh",
    "is_active",
    "created_at",
    "updated_at",
}


def _when(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text)


async def test_an_admin_creates_reads_changes_and_deletes_an_entry(client: AsyncTestClient, admin, inspector) -> None:
    created = await client.post(
        "/api/v1/catalogs/work-centers",
        json={"item_number": "  WC-016 ", "item_name": " Heat treatment ", "item_name_es": "Tratamiento térmico"},
        headers=admin,
    )
    assert created.status_code == 201, created.text
    entry = created.json()
    assert set(entry) == ENTRY_FIELDS
    assert entry["kind"] == "work-centers"
    assert (entry["item_number"], entry["item_name"]) == ("WC-016", "Heat treatment")
    assert (entry["item_name_es"], entry["item_name_zh"], entry["is_active"]) == ("Tratamiento térmico", None, True)
    url = f"/api/v1/catalogs/work-centers/{entry['id']}"

    read = await client.get(url, headers=inspector)
    assert read.status_code == 200
    assert read.json() == entry

    changed = await client.patch(url, json={"item_name_zh": "热处理", "item_name_es": None}, headers=admin)
    assert changed.status_code == 200, changed.text
    after = changed.json()
    assert (after["item_name"], after["item_name_es"], after["item_name_zh"]) == ("Heat treatment", None, "热处理")
    assert _when(after["updated_at"]) >= _when(entry["updated_at"])
    assert (await client.get(url, headers=inspector)).json() == after

    retired = await client.patch(url, json={"is_active": False, "item_number": "wc-016b"}, headers=admin)
    assert retired.status_code == 200
    assert (retired.json()["is_active"], retired.json()["item_number"]) == (False, "wc-016b")
    assert (await client.get(url, headers=inspector)).json()["is_active"] is False

    nothing = await client.patch(url, json={}, headers=admin)
    assert nothing.status_code == 200
    assert nothing.json()["item_number"] == "wc-016b"

    assert (await client.delete(url, headers=admin)).status_code == 204
    gone = await client.get(url, headers=inspector)
    assert gone.status_code == 404
    assert gone.headers["content-type"].startswith("application/problem+json")


async def test_only_an_admin_writes_and_everyone_signed_in_reads(
    client: AsyncTestClient, api, tokens, admin, inspector
) -> None:
    entry = await api.create("customers", "A108", "Customer A108")
    url = f"/api/v1/catalogs/customers/{entry['id']}"
    for role in ("Inspector", "Operator", "Tech Engineer", "Quality Engineer"):
        headers = tokens.headers(role, user_id=9)
        posted = await client.post("/api/v1/catalogs/customers", json={"item_number": "X1", "item_name": "X"},
                                   headers=headers)  # fmt: skip
        assert posted.status_code == 403, role
        assert (await client.patch(url, json={"item_name": "Renamed"}, headers=headers)).status_code == 403
        assert (await client.delete(url, headers=headers)).status_code == 403
        assert (await client.get(url, headers=headers)).status_code == 200
        assert (await client.get("/api/v1/catalogs/customers", headers=headers)).status_code == 200
    listed = (await client.get("/api/v1/catalogs/customers", headers=inspector)).json()
    assert [(e["item_number"], e["item_name"]) for e in listed["items"]] == [("A108", "Customer A108")]


async def test_without_a_token_nothing_is_answered(client: AsyncTestClient, api) -> None:
    entry = await api.create("levels", "L1", "Critical")
    for method, url in (
        ("GET", "/api/v1/catalogs"),
        ("GET", "/api/v1/catalogs/levels"),
        ("GET", f"/api/v1/catalogs/levels/{entry['id']}"),
        ("POST", "/api/v1/catalogs/lookup"),
        ("DELETE", f"/api/v1/catalogs/levels/{entry['id']}"),
    ):
        response = await client.request(method, url)
        assert response.status_code == 401, (method, url)
        assert response.headers["content-type"].startswith("application/problem+json")
    bad = await client.get("/api/v1/catalogs/levels", headers={"Authorization": "Bearer not-a-token"})
    assert bad.status_code == 401


async def test_bad_input_is_a_400_naming_the_field(client: AsyncTestClient, api, admin) -> None:
    entry = await api.create("areas", "AR-01", "Production Floor")
    url = f"/api/v1/catalogs/areas/{entry['id']}"
    bodies = {
        "item_number": [
            {"item_number": "   ", "item_name": "Blank code"},
            {"item_number": "", "item_name": "Empty code"},
            {"item_number": "X" * 65, "item_name": "Long code"},
            {"item_name": "No code"},
            {"item_number": 17, "item_name": "Number, not text"},
        ],
        "item_name": [
            {"item_number": "AR-09", "item_name": "N" * 256},
            {"item_number": "AR-09", "item_name": " "},
            {"item_number": "AR-09", "item_name": "two\nlines"},
        ],
        "item_name_zh": [{"item_number": "AR-09", "item_name": "Ok", "item_name_zh": "长" * 256}],
        "colour": [{"item_number": "AR-09", "item_name": "Ok", "colour": "red"}],
        "is_active": [{"item_number": "AR-09", "item_name": "Ok", "is_active": "yes"}],
    }
    for field, cases in bodies.items():
        for body in cases:
            response = await client.post("/api/v1/catalogs/areas", json=body, headers=admin)
            assert response.status_code == 400, (body, response.text)
            assert response.headers["content-type"].startswith("application/problem+json")
            assert [e["field"] for e in response.json()["errors"]] == [field], (body, response.text)
    patches = {
        "item_name": {"item_name": None},
        "item_number": {"item_number": "  "},
        "is_active": {"is_active": None},
        "kind": {"kind": "levels"},
    }
    for field, body in patches.items():
        response = await client.patch(url, json=body, headers=admin)
        assert response.status_code == 400, (body, response.text)
        assert [e["field"] for e in response.json()["errors"]] == [field], (body, response.text)
    unchanged = (await client.get(url, headers=admin)).json()
    assert (unchanged["item_number"], unchanged["item_name"], unchanged["is_active"]) == (
        "AR-01",
        "Production Floor",
        True,
    )
    queries = {
        "page": {"page": 0},
        "page_size": {"page_size": 201},
        "sort": {"sort": "password"},
        "order": {"order": "sideways"},
        "is_active": {"is_active": "maybe"},
        "ids": {"ids": "1,two"},
        "q": {"q": "q" * 256},
    }
    for field, params in queries.items():
        response = await client.get("/api/v1/catalogs/areas", params=params, headers=admin)
        assert response.status_code == 400, (params, response.text)
        assert field in [e["field"] for e in response.json()["errors"]], (params, response.text)
    assert (await client.get("/api/v1/catalogs/areas", params={"page_size": 0}, headers=admin)).status_code == 400


async def test_a_code_is_unique_in_its_catalog_whatever_its_letter_case(client: AsyncTestClient, api, admin) -> None:
    first = await api.create("customers", "A108", "Customer A108")
    other = await api.create("customers", "A109", "Customer A109")
    for number in ("A108", "a108", " a108 "):
        response = await client.post("/api/v1/catalogs/customers", json={"item_number": number, "item_name": "Again"},
                                     headers=admin)  # fmt: skip
        assert response.status_code == 409, (number, response.text)
        assert response.headers["content-type"].startswith("application/problem+json")
        assert [e["field"] for e in response.json()["errors"]] == ["item_number"]
    renamed = await client.patch(f"/api/v1/catalogs/customers/{other['id']}", json={"item_number": "a108"},
                                 headers=admin)  # fmt: skip
    assert renamed.status_code == 409
    assert [e["field"] for e in renamed.json()["errors"]] == ["item_number"]
    # The same code in another catalog is no clash, and an entry may change its own letter case.
    await api.create("part-numbers", "A108", "Bracket")
    own = await client.patch(f"/api/v1/catalogs/customers/{first['id']}", json={"item_number": "a108"}, headers=admin)
    assert own.status_code == 200
    listed = (await client.get("/api/v1/catalogs/customers", headers=admin)).json()
    assert [e["item_number"] for e in listed["items"]] == ["a108", "A109"]


async def test_unknown_catalogs_and_entries_of_another_catalog_are_404(client: AsyncTestClient, api, admin) -> None:
    level = await api.create("levels", "L1", "Critical")
    for method, url in (
        ("GET", "/api/v1/catalogs/colours"),
        ("POST", "/api/v1/catalogs/colours"),
        ("GET", f"/api/v1/catalogs/colours/{level['id']}"),
        ("GET", "/api/v1/catalogs/Levels"),
    ):
        body = {"item_number": "R", "item_name": "Red"} if method == "POST" else None
        response = await client.request(method, url, json=body, headers=admin)
        assert response.status_code == 404, (method, url, response.text)
        problem = response.json()
        assert problem["kinds"] == list(CATALOG_KINDS)
        assert "part-numbers" in problem["detail"]
    elsewhere = f"/api/v1/catalogs/areas/{level['id']}"
    assert (await client.get(elsewhere, headers=admin)).status_code == 404
    assert (await client.patch(elsewhere, json={"item_name": "Hijacked"}, headers=admin)).status_code == 404
    assert (await client.delete(elsewhere, headers=admin)).status_code == 404
    for missing in ("987654", str(2**63), "0"):
        response = await client.get(f"/api/v1/catalogs/levels/{missing}", headers=admin)
        assert response.status_code == 404, (missing, response.text)
    still = await client.get(f"/api/v1/catalogs/levels/{level['id']}", headers=admin)
    assert still.json()["item_name"] == "Critical"
