"""What the records service refuses to start with in production, and what it starts with."""

from __future__ import annotations

import pytest
from litestar.testing import AsyncTestClient
from prometheus_client.parser import text_string_to_metric_families

from dmt_records.asgi import create_app
from dmt_records.config import PREFIX, Settings
from dmt_shared.settings import SettingsError, from_env
from dmt_shared.testing import TokenFactory

from .conftest import FakeUpstreams

UPSTREAMS = {"auth_url": "http://auth.test", "masterdata_url": "http://masterdata.test"}


@pytest.fixture(autouse=True)
def production(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DMT_ENV", "production")
    for name in ("RECORDS_DEBUG", "RECORDS_DATABASE_URL"):
        monkeypatch.delenv(name, raising=False)


@pytest.mark.parametrize(
    ("variable", "value", "says", "fix"),
    [
        ("RECORDS_DEBUG", "true", "RECORDS_DEBUG would show internals in error answers", "set it to false"),
        (
            "RECORDS_DATABASE_URL",
            "postgresql+asyncpg://dmt_records:CHANGEME@db:5432/dmt_records",
            "RECORDS_DATABASE_URL gives the database user dmt_records a well-known password",
            "put that in RECORDS_DATABASE_URL",
        ),
        (
            "RECORDS_DATABASE_URL",
            "mysql+asyncmy://dmt_records:dmt_records@db:3306/dmt_records",
            "RECORDS_DATABASE_URL gives the database user dmt_records a well-known password",
            "generated one",
        ),
    ],
)
def test_unsafe_settings_are_refused_saying_what_to_set(
    monkeypatch: pytest.MonkeyPatch, variable: str, value: str, says: str, fix: str
) -> None:
    monkeypatch.setenv(variable, value)
    with pytest.raises(SettingsError) as excinfo:
        create_app(from_env(Settings, PREFIX, **UPSTREAMS))
    message = str(excinfo.value)
    assert message.startswith(f"DMT_ENV=production: {says}")
    assert fix in message


async def test_in_production_it_starts_and_reports_its_database_pool(
    database_url: str, tokens: TokenFactory, upstreams: FakeUpstreams
) -> None:
    settings = from_env(Settings, PREFIX, database_url=database_url, **UPSTREAMS)
    app = create_app(settings, transports=upstreams.transports(), verifier=tokens.verifier())
    async with AsyncTestClient(app) as client:
        assert (await client.get("/health/ready")).status_code == 200
        assert (await client.get("/api/v1/records", headers=tokens.headers())).status_code == 200
        metrics = (await client.get("/metrics")).text
    pool = next(f for f in text_string_to_metric_families(metrics) if f.name == "dmt_db_pool_connections")
    states = {s.labels["state"]: s.value for s in pool.samples if s.labels["component"] == "records"}
    assert set(states) == {"size", "checked_out", "overflow", "idle"}
    assert states["size"] >= 1
    assert states["checked_out"] == 0  # every request gave its connection back
