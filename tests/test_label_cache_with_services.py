"""The gateway's label cache with the real masterdata and auth applications behind it: a warm
page of records costs them no call at all, and a name changed there shows once the labels are
checked again. The calls each application gets are counted.

The components are wired together in one process here, at the level of the whole system; the
cache alone is tested in ``gateway/tests/test_label_cache.py``.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
from litestar.testing import AsyncTestClient

from dmt_auth.asgi import create_app as create_auth_app
from dmt_auth.config import Settings as AuthSettings
from dmt_gateway.asgi import create_app
from dmt_gateway.config import Settings
from dmt_gateway.domain.records.services import RecordLabeller
from dmt_masterdata.asgi import create_app as create_masterdata_app
from dmt_masterdata.config import Settings as MasterdataSettings
from dmt_shared.contracts import CATALOG_LOOKUP_PATH, CATALOG_VERSION_PATH, USER_LOOKUP_PATH, USER_VERSION_PATH
from dmt_shared.testing import Clock, TokenFactory
from dmt_shared.tokens import Role

TTL = 30.0
GRACE = 300.0


class Counting(httpx.AsyncBaseTransport):
    """Passes calls to a service's application, noting each; ``down`` refuses them."""

    def __init__(self, app: Any) -> None:
        self.inner = httpx.ASGITransport(app=app)
        self.calls: list[tuple[str, str]] = []
        self.down = False

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if self.down:
            raise httpx.ConnectError("connection refused", request=request)
        self.calls.append((request.method, request.url.path))
        return await self.inner.handle_async_request(request)

    def count(self, method: str, path: str) -> int:
        return self.calls.count((method, path))


@dataclass
class Plant:
    """The gateway with masterdata and auth behind it, and a records service answering one page."""

    client: AsyncTestClient[Any]
    masterdata: Counting
    auth: Counting
    admin: dict[str, str]
    clock: Clock
    parts: list[dict[str, Any]] = field(default_factory=list)
    centers: list[dict[str, Any]] = field(default_factory=list)
    records: list[dict[str, Any]] = field(default_factory=list)

    async def page(self, headers: dict[str, str] | None = None) -> dict[str, Any]:
        response = await self.client.get("/api/v1/records", headers=headers or self.admin)
        assert response.status_code == 200, response.text
        return response.json()

    def calls(self) -> tuple[int, int, int, int]:
        """Look-ups and version calls so far: masterdata's, then auth's."""
        return (
            self.masterdata.count("POST", CATALOG_LOOKUP_PATH),
            self.masterdata.count("GET", CATALOG_VERSION_PATH),
            self.auth.count("POST", USER_LOOKUP_PATH),
            self.auth.count("GET", USER_VERSION_PATH),
        )


def record(ident: int, part: int, center: int, user: int) -> dict[str, Any]:
    return {"id": ident, "part_number_id": part, "work_center_id": center, "created_by_id": user, "engineer_id": None}


@pytest.fixture
def plant_settings() -> dict[str, Any]:
    return {"label_cache_seconds": TTL}


@pytest.fixture
async def plant(tmp_path: Path, tokens: TokenFactory, plant_settings: dict[str, Any]) -> AsyncIterator[Plant]:
    masterdata_app = create_masterdata_app(
        MasterdataSettings(
            database_url=f"sqlite+aiosqlite:///{tmp_path / 'masterdata.db'}",
            demo_data=False,
            auth_url="http://auth.test",
            records_url="http://records.test",
        ),
        verifier=tokens.verifier(),
    )
    auth_app = create_auth_app(
        AuthSettings(
            database_url=f"sqlite+aiosqlite:///{tmp_path / 'auth.db'}",
            signing_key=tokens.pem.decode(),
            demo_data=True,
            argon2_time_cost=1,
            argon2_memory_kib=8,
            argon2_parallelism=1,
        ),
        verifier=tokens.verifier(),
    )
    masterdata, auth = Counting(masterdata_app), Counting(auth_app)
    records: list[dict[str, Any]] = []

    def records_page(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json={"items": records, "total": len(records), "page": 1, "page_size": 50})

    settings = Settings(
        auth_urls=("http://auth.test",),
        masterdata_urls=("http://masterdata.test",),
        records_urls=("http://records.test",),
        health_interval=0,
        **plant_settings,
    )
    transports = {"masterdata": masterdata, "auth": auth, "records": httpx.MockTransport(records_page)}
    gateway = create_app(settings, transports=transports, verifier=tokens.verifier())
    clock = Clock()
    gateway.state.labeller = RecordLabeller(
        gateway.state.upstreams,
        timeout=settings.lookup_timeout,
        cache_seconds=settings.label_cache_seconds,
        cache_grace_seconds=GRACE,
        clock=clock,
    )
    async with (
        AsyncTestClient(masterdata_app),  # their start-up: tables made, demo users added
        AsyncTestClient(auth_app),
        AsyncTestClient(gateway) as client,
    ):
        admin = tokens.headers(Role.ADMIN, user_id=1, username="ADM001")
        plant = Plant(client, masterdata, auth, admin, clock, records=records)
        for number in range(1, 6):
            body = {"item_number": f"915135{number}", "item_name": f"Blade {number}", "item_name_es": f"Álabe {number}"}
            created = await client.post("/api/v1/catalogs/part-numbers", json=body, headers=admin)
            assert created.status_code == 201, created.text
            plant.parts.append(created.json())
        for number in range(1, 4):
            body = {"item_number": f"WC-00{number}", "item_name": f"Center {number}"}
            created = await client.post("/api/v1/catalogs/work-centers", json=body, headers=admin)
            plant.centers.append(created.json())
        users = (await client.get("/api/v1/users", headers=admin)).json()["items"]
        user_ids = [u["id"] for u in users[:3]]
        records.extend(
            record(i, plant.parts[i % 5]["id"], plant.centers[i % 3]["id"], user_ids[i % 3]) for i in range(1, 51)
        )
        yield plant


async def test_a_cold_page_costs_one_look_up_per_service_and_a_warm_page_none(plant: Plant) -> None:
    first = await plant.page()
    assert plant.calls() == (1, 0, 1, 0)
    assert "unresolved" not in first
    row = first["items"][0]  # record 1
    assert row["part_number"]["item_name"] == "Blade 2"
    assert row["work_center"]["item_number"] == "WC-002"
    assert row["created_by"]["username"]
    assert row["engineer"] is None

    assert await plant.page() == first
    assert plant.calls() == (1, 0, 1, 0)
    spanish = await plant.page({**plant.admin, "Accept-Language": "es"})
    assert spanish["items"][0]["part_number"]["item_name"] == "Álabe 2"  # the same copy, in Spanish
    assert spanish["items"][0]["work_center"]["item_name"] == "Center 2"  # no Spanish name: English
    assert plant.calls() == (1, 0, 1, 0)


async def test_a_renamed_entry_shows_after_one_version_call_and_one_look_up(plant: Plant) -> None:
    await plant.page()
    part = plant.parts[1]
    renamed = await plant.client.patch(
        f"/api/v1/catalogs/part-numbers/{part['id']}", json={"item_name": "Blade 2, IN718"}, headers=plant.admin
    )
    assert renamed.status_code == 200, renamed.text
    assert (await plant.page())["items"][0]["part_number"]["item_name"] == "Blade 2"  # within the TTL

    plant.clock.now += TTL
    page = await plant.page()
    assert page["items"][0]["part_number"]["item_name"] == "Blade 2, IN718"
    assert plant.calls() == (2, 1, 1, 1)  # users unchanged: auth answered 304, nothing looked up
    await plant.page()
    assert plant.calls() == (2, 1, 1, 1)


async def test_a_page_with_new_ids_looks_up_only_those(plant: Plant) -> None:
    await plant.page()
    created = await plant.client.post(
        "/api/v1/catalogs/part-numbers", json={"item_number": "7000001", "item_name": "Vane"}, headers=plant.admin
    )
    plant.records.append(record(51, created.json()["id"], plant.centers[0]["id"], plant.records[0]["created_by_id"]))
    page = await plant.page()
    assert page["items"][-1]["part_number"]["item_name"] == "Vane"
    assert plant.calls() == (2, 0, 1, 0)
    assert plant.masterdata.calls[-1] == ("POST", CATALOG_LOOKUP_PATH)


async def test_through_a_masterdata_outage_kept_names_still_show(plant: Plant) -> None:
    before = await plant.page()
    plant.masterdata.down = True
    plant.clock.now += TTL
    during = await plant.page()
    assert during == before  # the names kept, nothing named unresolved

    plant.records.append(record(51, 987_654, plant.centers[0]["id"], plant.records[0]["created_by_id"]))
    partly = await plant.page()
    assert partly["unresolved"] == ["masterdata"]  # one id it could not answer for
    assert partly["items"][0]["part_number"] == before["items"][0]["part_number"]
    assert partly["items"][-1]["part_number"] is None

    plant.clock.now += GRACE
    after = await plant.page()
    assert after["unresolved"] == ["masterdata"]
    assert after["items"][0]["part_number"] is None
    assert after["items"][0]["created_by"] == before["items"][0]["created_by"]


@pytest.mark.parametrize("plant_settings", [{"label_cache_seconds": 0}])
async def test_with_the_cache_off_every_page_looks_its_labels_up(plant: Plant) -> None:
    await plant.page()
    await plant.page()
    assert plant.calls() == (2, 0, 2, 0)
