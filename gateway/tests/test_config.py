"""Settings from the environment, refusals in production, and CORS only for the origins named."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest
from litestar.testing import AsyncTestClient

from dmt_gateway.asgi import create_app
from dmt_gateway.config import PREFIX, Settings
from dmt_shared.settings import SettingsError, from_env
from dmt_shared.testing import TokenFactory

from .conftest import Fakes


def test_service_addresses_and_limits_come_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DMT_RECORDS_URL", "http://records.internal:9003")
    monkeypatch.delenv("DMT_AUTH_URL", raising=False)
    monkeypatch.setenv("GATEWAY_CONNECT_TIMEOUT", "0.5")
    monkeypatch.setenv("GATEWAY_MAX_CONNECTIONS", "20")
    monkeypatch.setenv("GATEWAY_CORS_ORIGINS", "https://dmt.plant.example, http://localhost:5173")
    settings = from_env(Settings, PREFIX)
    assert settings.records_urls == ("http://records.internal:9003",)
    assert settings.auth_urls == ("http://127.0.0.1:8001",)
    assert (settings.connect_timeout, settings.read_timeout, settings.max_connections) == (0.5, 30.0, 20)
    assert settings.cors_origins == ("https://dmt.plant.example", "http://localhost:5173")


def test_defaults_allow_no_cross_origin_calls() -> None:
    assert Settings().cors_origins == ()


@pytest.mark.parametrize(
    "bad",
    [{"connect_timeout": 0}, {"read_timeout": -1}, {"max_connections": 0}, {"records_urls": ("records:8003",)}],
)
def test_nonsense_settings_are_refused(bad: dict[str, Any]) -> None:
    with pytest.raises(SettingsError):
        Settings(**bad)


def test_production_refuses_any_origin_and_debug(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DMT_ENV", "production")
    with pytest.raises(SettingsError, match="CORS"):
        Settings(cors_origins=("*",))
    with pytest.raises(SettingsError, match="DEBUG"):
        Settings(debug=True)
    assert Settings(cors_origins=("https://dmt.plant.example",)).cors_origins == ("https://dmt.plant.example",)


async def test_named_origins_may_call_and_their_preflight_needs_no_token(
    fakes: Fakes, settings: Settings, tokens: TokenFactory
) -> None:
    origin = "https://dmt.plant.example"
    app = create_app(
        replace(settings, cors_origins=(origin,)),
        transports=fakes.transports(),
        verifier=tokens.verifier(),
    )
    preflight_headers = {
        "Access-Control-Request-Method": "PATCH",
        "Access-Control-Request-Headers": "authorization, if-match",
    }
    async with AsyncTestClient(app) as client:
        preflight = await client.options("/api/v1/records/4", headers={"Origin": origin, **preflight_headers})
        assert preflight.status_code in (200, 204)
        assert preflight.headers["access-control-allow-origin"] == origin
        assert "PATCH" in preflight.headers["access-control-allow-methods"]

        answer = await client.get("/api/v1/catalogs", headers={"Origin": origin, **tokens.headers()})
        assert answer.headers["access-control-allow-origin"] == origin
        exposed = {h.strip() for h in answer.headers["access-control-expose-headers"].lower().split(",")}
        assert {"etag", "retry-after", "content-disposition", "x-dmt-unresolved"} <= exposed

        stranger = await client.get("/api/v1/catalogs", headers={"Origin": "https://evil.example", **tokens.headers()})
        assert "access-control-allow-origin" not in stranger.headers
    assert not [c for c in fakes.records.calls if c.method == "OPTIONS"]


async def test_without_origins_no_cors_headers_are_sent(client: AsyncTestClient[Any], tokens: TokenFactory) -> None:
    answer = await client.get("/api/v1/catalogs", headers={"Origin": "https://dmt.plant.example", **tokens.headers()})
    assert answer.status_code == 200
    assert "access-control-allow-origin" not in answer.headers
