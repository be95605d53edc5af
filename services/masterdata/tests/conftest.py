"""The masterdata service on a fresh database per test, with the records service stood in for."""

from __future__ import annotations

import socket
from collections.abc import AsyncIterator, Callable
from typing import Any

import httpx
import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient
from sqlalchemy import insert

from dmt_masterdata.asgi import create_app
from dmt_masterdata.config import Settings
from dmt_masterdata.db.models import CatalogEntry
from dmt_shared.contracts import CATALOG_USAGE_PATH
from dmt_shared.db import create_engine
from dmt_shared.testing import TokenFactory
from dmt_shared.tokens import Role


class RecordsStub:
    """Answers ``GET /api/v1/records/usage`` the way the records service does, from ``usage``."""

    def __init__(self) -> None:
        self.usage: dict[tuple[str, int], int] = {}
        self.requests: list[httpx.Request] = []
        self.status = 200

    def handle(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        if request.url.path != CATALOG_USAGE_PATH:
            return httpx.Response(404, json={"detail": "not found"})
        if self.status != 200:
            return httpx.Response(self.status, json={"detail": "records is having a bad day"})
        kind = request.url.params["kind"]
        entry_id = int(request.url.params["id"])
        return httpx.Response(200, json={"kind": kind, "id": entry_id, "records": self.usage.get((kind, entry_id), 0)})

    def transport(self) -> httpx.MockTransport:
        return httpx.MockTransport(self.handle)


def closed_port_url() -> str:
    """The address of a local port nobody listens on."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}"


def make_settings(database_url: str, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "database_url": database_url,
        "demo_data": False,
        "auth_url": closed_port_url(),
        "records_url": "http://records.test",
    }
    values.update(overrides)
    return Settings(**values)


class CatalogApi:
    """Short ways to set up catalog entries in a test."""

    def __init__(self, client: AsyncTestClient, admin: dict[str, str], database_url: str) -> None:
        self.client = client
        self.admin = admin
        self.database_url = database_url

    async def create(self, kind: str, item_number: str, item_name: str, **extra: Any) -> dict[str, Any]:
        body = {"item_number": item_number, "item_name": item_name, **extra}
        response = await self.client.post(f"/api/v1/catalogs/{kind}", json=body, headers=self.admin)
        assert response.status_code == 201, response.text
        return response.json()

    async def add(self, kind: str, rows: list[dict[str, Any]]) -> None:
        """Put entries straight into the service's database (for lists too long to post one by one).

        Over a connection of the test's own: the app's pool belongs to the test client's event loop.
        """
        engine = create_engine(self.database_url)
        try:
            async with engine.begin() as conn:
                await conn.execute(insert(CatalogEntry), [{"kind": kind, "is_active": True, **row} for row in rows])
        finally:
            await engine.dispose()


@pytest.fixture
def records() -> RecordsStub:
    return RecordsStub()


@pytest.fixture
def make_app(database_url: str, records: RecordsStub, tokens: TokenFactory) -> Callable[..., Litestar]:
    """Builds the service on this test's database; keyword arguments override settings."""

    def build(*, transports: dict[str, httpx.AsyncBaseTransport] | None = None, **overrides: Any) -> Litestar:
        chosen = {"records": records.transport()} if transports is None else transports
        return create_app(make_settings(database_url, **overrides), transports=chosen, verifier=tokens.verifier())

    return build


@pytest.fixture
async def client(make_app: Callable[..., Litestar]) -> AsyncIterator[AsyncTestClient]:
    async with AsyncTestClient(make_app()) as test_client:
        yield test_client


@pytest.fixture
def admin(tokens: TokenFactory) -> dict[str, str]:
    return tokens.headers(Role.ADMIN, user_id=1, username="ADM001")


@pytest.fixture
def inspector(tokens: TokenFactory) -> dict[str, str]:
    return tokens.headers(Role.INSPECTOR, user_id=4, username="INS001")


@pytest.fixture
def api(client: AsyncTestClient, admin: dict[str, str], database_url: str) -> CatalogApi:
    return CatalogApi(client, admin, database_url)


@pytest.fixture
def closed_url() -> str:
    return closed_port_url()
