"""What the masterdata service refuses to start with in production, and what it starts with."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient
from prometheus_client.parser import text_string_to_metric_families

from dmt_masterdata.asgi import create_app
from dmt_masterdata.config import PREFIX, Settings
from dmt_shared.settings import SettingsError, from_env
from dmt_shared.testing import TokenFactory


@pytest.fixture(autouse=True)
def production(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DMT_ENV", "production")
    for name in ("MASTERDATA_DEMO_DATA", "MASTERDATA_DEBUG", "MASTERDATA_DATABASE_URL"):
        monkeypatch.delenv(name, raising=False)


@pytest.mark.parametrize(
    ("variable", "value", "says"),
    [
        ("MASTERDATA_DEMO_DATA", "true", "MASTERDATA_DEMO_DATA would fill the catalogs with made-up entries"),
        ("MASTERDATA_DEBUG", "on", "MASTERDATA_DEBUG would show internals"),
        (
            "MASTERDATA_DATABASE_URL",
            "postgresql+asyncpg://postgres:Postgres@db:5432/dmt_masterdata",
            "MASTERDATA_DATABASE_URL gives the database user postgres a well-known password",
        ),
        (
            "MASTERDATA_DATABASE_URL",
            "mysql+asyncmy://dmt_masterdata:secret@db:3306/dmt_masterdata",
            "MASTERDATA_DATABASE_URL gives the database user dmt_masterdata a well-known password",
        ),
    ],
)
def test_unsafe_settings_are_refused_saying_what_to_set(
    monkeypatch: pytest.MonkeyPatch, variable: str, value: str, says: str
) -> None:
    monkeypatch.setenv(variable, value)
    with pytest.raises(SettingsError) as excinfo:
        create_app(from_env(Settings, PREFIX))
    message = str(excinfo.value)
    assert message.startswith(f"DMT_ENV=production: {says}")
    fix = "put that in MASTERDATA_DATABASE_URL" if variable.endswith("URL") else "set it to false"
    assert fix in message


def test_a_server_database_without_a_password_or_with_a_generated_one_is_accepted() -> None:
    for url in (
        "postgresql+asyncpg://dmt_masterdata@db/dmt_masterdata",
        "postgresql+asyncpg://dmt_masterdata:Zq7%40rT1-pW9x@db/dmt_masterdata",
    ):
        Settings(database_url=url).check_production()


async def test_in_production_it_starts_and_reports_its_database_pool(
    make_app: Callable[..., Litestar], tokens: TokenFactory
) -> None:
    async with AsyncTestClient(make_app()) as client:
        assert (await client.get("/health/ready")).status_code == 200
        listed = await client.get("/api/v1/catalogs/part-numbers", headers=tokens.headers())
        assert listed.status_code == 200
        assert listed.json()["total"] == 0
        metrics = (await client.get("/metrics")).text
    pool = next(f for f in text_string_to_metric_families(metrics) if f.name == "dmt_db_pool_connections")
    states = {s.labels["state"]: s.value for s in pool.samples if s.labels["component"] == "masterdata"}
    assert set(states) == {"size", "checked_out", "overflow", "idle"}
    assert states["size"] >= 1
    assert states["checked_out"] == 0  # every request gave its connection back
