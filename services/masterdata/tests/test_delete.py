"""Deleting an entry: only when the records service says no record uses it."""

from collections.abc import Callable

from litestar import Litestar
from litestar.testing import AsyncTestClient

from dmt_shared.contracts import CATALOG_USAGE_PATH


async def test_an_unused_entry_is_deleted_after_asking_records_on_the_callers_behalf(
    client: AsyncTestClient, api, records, admin
) -> None:
    entry = await api.create("failure-codes", "FC-09", "Obsolete")
    url = f"/api/v1/catalogs/failure-codes/{entry['id']}"
    response = await client.delete(url, headers={**admin, "Accept-Language": "es"})
    assert response.status_code == 204
    [asked] = records.requests
    assert asked.url.path == CATALOG_USAGE_PATH
    assert dict(asked.url.params) == {"kind": "failure-codes", "id": str(entry["id"])}
    assert asked.headers["authorization"] == admin["Authorization"]
    assert asked.headers["accept-language"] == "es"
    assert (await client.get(url, headers=admin)).status_code == 404


async def test_an_entry_records_use_is_kept_and_the_admin_told_to_deactivate_it(
    client: AsyncTestClient, api, records, admin
) -> None:
    entry = await api.create("failure-codes", "FC-01", "Material Defect")
    url = f"/api/v1/catalogs/failure-codes/{entry['id']}"
    for count, words in ((3, "used by 3 records"), (1, "used by 1 record:")):
        records.usage[("failure-codes", entry["id"])] = count
        response = await client.delete(url, headers=admin)
        assert response.status_code == 409
        problem = response.json()
        assert words in problem["detail"]
        assert "is_active=false" in problem["detail"]
        assert problem["records"] == count
        assert (await client.get(url, headers=admin)).json() == entry
    deactivated = await client.patch(url, json={"is_active": False}, headers=admin)
    assert deactivated.status_code == 200


async def test_when_records_fails_nothing_is_deleted(client: AsyncTestClient, api, records, admin) -> None:
    entry = await api.create("process-codes", "FAI", "First Article Inspection")
    url = f"/api/v1/catalogs/process-codes/{entry['id']}"
    for status in (500, 503):
        records.status = status
        response = await client.delete(url, headers=admin)
        assert response.status_code == 503, response.text
        assert response.headers["content-type"].startswith("application/problem+json")
        assert response.json()["service"] == "records"
    records.status = 404  # a records service that does not know the question
    assert (await client.delete(url, headers=admin)).status_code == 502
    assert (await client.get(url, headers=admin)).json() == entry


async def test_when_records_cannot_be_reached_the_answer_is_503_and_the_entry_stays(
    make_app: Callable[..., Litestar], closed_url: str, admin
) -> None:
    async with AsyncTestClient(make_app(records_url=closed_url, transports={})) as client:
        created = await client.post("/api/v1/catalogs/areas", json={"item_number": "AR-04", "item_name": "Finishing"},
                                    headers=admin)  # fmt: skip
        url = f"/api/v1/catalogs/areas/{created.json()['id']}"
        response = await client.delete(url, headers=admin)
        assert response.status_code == 503
        assert response.headers["retry-after"]
        assert "records" in response.json()["detail"]
        assert (await client.get(url, headers=admin)).status_code == 200
