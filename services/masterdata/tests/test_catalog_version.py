"""The catalogs' content version: what lets the gateway keep catalog names between reads.

It changes with every change a look-up would show (an entry added or removed, its number, a
name or its active flag changed), whoever made it, and is the same on every replica."""

from __future__ import annotations

from collections.abc import Callable

from litestar import Litestar
from litestar.testing import AsyncTestClient
from sqlalchemy.ext.asyncio import AsyncSession

from dmt_masterdata.domain.catalogs.legacy import import_catalog_entries
from dmt_shared.contracts import CATALOG_LOOKUP_PATH, CATALOG_VERSION_PATH, WANT_VERSION_HEADER
from dmt_shared.db import create_engine

PARTS = "/api/v1/catalogs/part-numbers"


async def version_of(client: AsyncTestClient, headers: dict[str, str]) -> str:
    response = await client.get(CATALOG_VERSION_PATH, headers=headers)
    assert response.status_code == 200, response.text
    version = response.json()["version"]
    assert response.headers["etag"] == f'"{version}"'
    return version


async def test_any_signed_in_user_reads_the_version_and_a_matching_etag_gets_304(
    client: AsyncTestClient, api, inspector
) -> None:
    assert (await client.get(CATALOG_VERSION_PATH)).status_code == 401
    await api.create("part-numbers", "9151355", "Turbine blade")
    version = await version_of(client, inspector)

    unchanged = await client.get(CATALOG_VERSION_PATH, headers={**inspector, "If-None-Match": f'W/"{version}"'})
    assert unchanged.status_code == 304
    assert unchanged.content == b""
    assert unchanged.headers["etag"] == f'"{version}"'
    other = await client.get(CATALOG_VERSION_PATH, headers={**inspector, "If-None-Match": '"a", "b"'})
    assert other.status_code == 200
    assert other.json() == {"version": version}


async def test_the_version_path_is_not_taken_for_a_catalog(client: AsyncTestClient, admin) -> None:
    # Were /version taken for /{kind}, the answer would be a 404 naming the eleven catalogs.
    response = await client.get("/api/v1/catalogs/version", headers=admin)
    assert response.status_code == 200, response.text
    assert response.json().keys() == {"version"}
    assert (await client.get(PARTS, headers=admin)).json()["total"] == 0


async def test_the_look_up_answer_carries_the_version_as_its_etag_when_asked(
    client: AsyncTestClient, api, inspector
) -> None:
    part = await api.create("part-numbers", "9151355", "Turbine blade")
    version = await version_of(client, inspector)
    refs = {"items": [{"kind": "part-numbers", "id": part["id"]}, {"kind": "levels", "id": 77}]}
    looked_up = await client.post(CATALOG_LOOKUP_PATH, json=refs, headers={**inspector, WANT_VERSION_HEADER: "1"})
    assert looked_up.status_code == 200
    assert looked_up.headers["etag"] == f'"{version}"'
    # A caller keeping no copy (record validation) is not made to pay for the version.
    plain = await client.post(CATALOG_LOOKUP_PATH, json=refs, headers=inspector)
    assert plain.status_code == 200
    assert "etag" not in plain.headers
    assert [item["item_name"] for item in looked_up.json()["items"]] == ["Turbine blade"]


async def test_every_change_a_look_up_shows_gives_a_new_version(client: AsyncTestClient, api, admin) -> None:
    seen = [await version_of(client, admin)]

    async def changed() -> None:
        version = await version_of(client, admin)
        assert version != seen[-1]
        seen.append(version)

    part = await api.create("part-numbers", "9151355", "Turbine blade")
    await changed()
    other = await api.create("part-numbers", "9151356", "Vane")
    await changed()
    for entry, change in (
        (part, {"item_name": "Turbine blade, IN718"}),
        (other, {"item_name": "Vane, IN718"}),  # right after the last change: within the same second too
        (part, {"item_name_es": "Álabe de turbina"}),
        (part, {"item_name_zh": "涡轮叶片"}),
        (part, {"item_name_es": None}),
        (part, {"item_number": "9151355-A"}),
        (part, {"is_active": False}),
    ):
        response = await client.patch(f"{PARTS}/{entry['id']}", json=change, headers=admin)
        assert response.status_code == 200, response.text
        await changed()
    assert (await client.delete(f"{PARTS}/{other['id']}", headers=admin)).status_code == 204
    await changed()


async def test_entries_written_around_the_service_change_it_too(
    client: AsyncTestClient, api, admin, database_url: str
) -> None:
    before = await version_of(client, admin)
    await api.add("work-centers", [{"item_number": "WC-001", "item_name": "Wax Pattern"}])  # straight into the table
    added = await version_of(client, admin)
    assert added != before

    engine = create_engine(database_url)
    try:
        async with AsyncSession(engine) as session:  # an import of the predecessor's catalogs, keeping their dates
            rows = [{"id": 7, "item_number": "FC-01", "item_name": "Material Defect", "created_at": "2019-03-01"}]
            report = await import_catalog_entries(session, "failure-codes", rows)
    finally:
        await engine.dispose()
    assert report.imported == 1
    assert await version_of(client, admin) not in (before, added)


async def test_changes_a_look_up_does_not_show_keep_the_version(client: AsyncTestClient, api, admin) -> None:
    part = await api.create("part-numbers", "9151355", "Turbine blade")
    before = await version_of(client, admin)
    same = await client.patch(f"{PARTS}/{part['id']}", json={"item_name": "  Turbine blade "}, headers=admin)
    assert same.status_code == 200, same.text
    assert await version_of(client, admin) == before


async def test_every_replica_gives_the_same_version_and_sees_the_others_changes(
    client: AsyncTestClient, api, admin, make_app: Callable[..., Litestar]
) -> None:
    async with AsyncTestClient(make_app()) as other:
        before = await version_of(client, admin)
        assert await version_of(other, admin) == before
        created = await other.post(PARTS, json={"item_number": "9151355", "item_name": "Turbine blade"}, headers=admin)
        assert created.status_code == 201
        after = await version_of(client, admin)
        assert after != before
        assert await version_of(other, admin) == after
