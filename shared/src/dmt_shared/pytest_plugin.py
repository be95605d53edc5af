"""Fixtures every component's tests use (registered by the repository's root conftest).

``database_url`` gives each test a database of its own, made before and dropped after:
a SQLite file always, and PostgreSQL / MariaDB when ``DMT_TEST_POSTGRES_URL`` /
``DMT_TEST_MARIADB_URL`` name a server (an admin URL such as
``postgresql+asyncpg://postgres@127.0.0.1:5432/postgres``). With
``DMT_TEST_REQUIRE_SERVERS=1`` (CI), a missing server URL is a failure, not a skip.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from dmt_shared.testing import TokenFactory

BACKENDS = ("sqlite", "postgres", "mariadb")
SERVER_URLS = {"postgres": "DMT_TEST_POSTGRES_URL", "mariadb": "DMT_TEST_MARIADB_URL"}


def _server_url(backend: str) -> str | None:
    return os.environ.get(SERVER_URLS[backend]) or None


async def create_server_database(admin_url: str) -> tuple[str, str]:
    from sqlalchemy import text
    from sqlalchemy.engine import make_url
    from sqlalchemy.ext.asyncio import create_async_engine

    name = f"dmt_test_{uuid.uuid4().hex[:12]}"
    url = make_url(admin_url)
    engine = create_async_engine(url, isolation_level="AUTOCOMMIT")
    try:
        async with engine.connect() as conn:
            if url.get_backend_name() == "postgresql":
                await conn.execute(text(f'CREATE DATABASE "{name}"'))
            else:
                await conn.execute(text(f"CREATE DATABASE `{name}` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci"))
    finally:
        await engine.dispose()
    return url.set(database=name).render_as_string(hide_password=False), name


async def drop_server_database(admin_url: str, name: str) -> None:
    from sqlalchemy import text
    from sqlalchemy.engine import make_url
    from sqlalchemy.ext.asyncio import create_async_engine

    url = make_url(admin_url)
    engine = create_async_engine(url, isolation_level="AUTOCOMMIT")
    try:
        async with engine.connect() as conn:
            if url.get_backend_name() == "postgresql":
                await conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            else:
                await conn.execute(text(f"DROP DATABASE IF EXISTS `{name}`"))
    finally:
        await engine.dispose()


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "database_url" in metafunc.fixturenames:
        metafunc.parametrize("database_backend", BACKENDS, indirect=True)


@pytest.fixture
def database_backend(request: pytest.FixtureRequest) -> str:
    backend: str = request.param
    if backend != "sqlite" and not _server_url(backend):
        if os.environ.get("DMT_TEST_REQUIRE_SERVERS") == "1":
            pytest.fail(f"{SERVER_URLS[backend]} is not set but DMT_TEST_REQUIRE_SERVERS=1")
        pytest.skip(f"{SERVER_URLS[backend]} not set: no {backend} server given")
    return backend


@pytest.fixture
async def database_url(database_backend: str, tmp_path: Path) -> AsyncIterator[str]:
    if database_backend == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path / 'test.db'}"
        return
    admin_url = _server_url(database_backend)
    assert admin_url
    url, name = await create_server_database(admin_url)
    try:
        yield url
    finally:
        await drop_server_database(admin_url, name)


@pytest.fixture(scope="session")
def tokens() -> TokenFactory:
    """Mints tokens signed by a key made for this test session."""
    return TokenFactory()
