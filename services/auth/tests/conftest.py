"""Fixtures of the auth service's tests: an app on a fresh database with the demo users,
cheap password hashing, and a signing key the tests know (to mint expired or forged tokens)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient
from sqlalchemy.ext.asyncio import AsyncSession

from dmt_auth.asgi import create_app
from dmt_auth.config import Settings
from dmt_shared.db import create_engine
from dmt_shared.testing import TokenFactory
from dmt_shared.tokens import generate_private_key_pem

PASSWORDS = {"ADM001": "admin123", "ENG001": "engineer123", "QUA001": "quality123"}

SettingsFactory = Callable[..., Settings]


@pytest.fixture(autouse=True)
def _isolated_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("DMT_ENV", "development")
    monkeypatch.setenv("DMT_DATA_DIR", str(tmp_path / "data"))
    for name in ("AUTH_SIGNING_KEY", "AUTH_SIGNING_KEY_FILE", "AUTH_DATABASE_URL", "AUTH_DEMO_DATA"):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture(scope="session")
def auth_key() -> TokenFactory:
    """Signs exactly as the service under test does (same private key)."""
    return TokenFactory(generate_private_key_pem())


def cheap_settings(database_url: str, key: TokenFactory, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "database_url": database_url,
        "signing_key": key.pem.decode(),
        "argon2_time_cost": 1,
        "argon2_memory_kib": 8,
        "argon2_parallelism": 1,
        "db_pool_size": 2,
    }
    values.update(overrides)
    return Settings(**values)


@pytest.fixture
def make_settings(database_url: str, auth_key: TokenFactory) -> SettingsFactory:
    def make(**overrides: Any) -> Settings:
        return cheap_settings(database_url, auth_key, **overrides)

    return make


@pytest.fixture
def app(make_settings: SettingsFactory) -> Litestar:
    return create_app(make_settings())


@pytest.fixture
async def client(app: Litestar) -> AsyncIterator[AsyncTestClient[Litestar]]:
    async with AsyncTestClient(app) as test_client:
        yield test_client


class Api:
    """The calls most tests make, on one test client."""

    def __init__(self, client: AsyncTestClient[Litestar], app: Litestar) -> None:
        self.client = client
        self.app = app

    @staticmethod
    def password_of(username: str) -> str:
        return PASSWORDS.get(username, "employee123")

    async def login(self, username: str, password: str | None = None) -> dict[str, Any]:
        response = await self.client.post(
            "/api/v1/auth/login", json={"username": username, "password": password or self.password_of(username)}
        )
        assert response.status_code == 200, response.text
        return response.json()

    async def bearer(self, username: str, password: str | None = None) -> dict[str, str]:
        body = await self.login(username, password)
        return {"Authorization": f"Bearer {body['access_token']}"}

    async def user_id(self, headers: dict[str, str], username: str) -> int:
        response = await self.client.get("/api/v1/users", params={"q": username}, headers=headers)
        assert response.status_code == 200, response.text
        matches = [u["id"] for u in response.json()["items"] if u["username"] == username]
        assert matches, f"no user {username}"
        return matches[0]


@pytest.fixture
def api(client: AsyncTestClient[Litestar], app: Litestar) -> Api:
    return Api(client, app)


@pytest.fixture
def start(make_settings: SettingsFactory) -> Callable[..., Any]:
    """``async with start(**settings) as api``: the service with other settings, on the same database."""

    @asynccontextmanager
    async def started(**overrides: Any) -> AsyncIterator[Api]:
        app = create_app(make_settings(**overrides))
        async with AsyncTestClient(app) as test_client:
            yield Api(test_client, app)

    return started


@pytest.fixture
def db(database_url: str) -> Callable[[], Any]:
    """``async with db() as session``: the test's own connection to the service's database
    (the app's engine belongs to the test client's event loop)."""

    @asynccontextmanager
    async def session() -> AsyncIterator[AsyncSession]:
        engine = create_engine(database_url, pool_size=1)
        try:
            async with AsyncSession(engine, expire_on_commit=False) as db_session:
                yield db_session
        finally:
            await engine.dispose()

    return session
