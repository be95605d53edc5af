"""The gateway's edge: rate limits, security headers, CORS and a documentation page that needs no CDN."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import replace
from typing import Any

import httpx
import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient

from dmt_gateway.asgi import create_app
from dmt_gateway.config import PREFIX, Settings
from dmt_gateway.edge import CONTENT_SECURITY_POLICY, TokenBuckets, address_key, retry_after
from dmt_shared.settings import SettingsError, from_env
from dmt_shared.testing import TokenFactory

from .conftest import Fakes

#: So slow that no token comes back while a test runs: the limits below are reached for sure.
TRICKLE = 0.01

PROBLEM = "application/problem+json"


def gateway(fakes: Fakes, settings: Settings, tokens: TokenFactory, **changes: Any) -> Litestar:
    return create_app(replace(settings, **changes), transports=fakes.transports(), verifier=tokens.verifier())


@asynccontextmanager
async def from_address(app: Litestar, host: str) -> AsyncIterator[httpx.AsyncClient]:
    """A caller at ``host``, as uvicorn reports it in the ASGI scope (the app must be started)."""
    transport = httpx.ASGITransport(app=app, client=(host, 52100))
    async with httpx.AsyncClient(transport=transport, base_url="http://gateway.test") as client:
        yield client


def assert_security_headers(response: httpx.Response) -> None:
    headers = response.headers
    assert headers.get_list("x-content-type-options") == ["nosniff"]
    assert headers.get_list("x-frame-options") == ["DENY"]
    assert headers.get_list("referrer-policy") == ["no-referrer"]
    assert headers.get_list("content-security-policy") == [CONTENT_SECURITY_POLICY]


def assert_too_many(response: httpx.Response, per: str) -> int:
    assert response.status_code == 429
    assert response.headers["content-type"].startswith(PROBLEM)
    assert f"per {per}" in response.json()["detail"]
    seconds = response.headers["retry-after"]
    assert seconds.isdigit()
    assert int(seconds) >= 1
    return int(seconds)


# ------------------------------------------------------------------ rate limits


async def test_a_user_over_the_limit_gets_429_while_another_user_goes_on(
    fakes: Fakes, settings: Settings, tokens: TokenFactory
) -> None:
    app = gateway(fakes, settings, tokens, rate_limit_user=TRICKLE, rate_limit_user_burst=3, rate_limit_client=0)
    ana = tokens.headers("Admin", user_id=1)
    luis = tokens.headers("Inspector", user_id=2, username="INS001")
    async with AsyncTestClient(app) as client:
        for _ in range(3):
            assert (await client.get("/api/v1/catalogs", headers=ana)).status_code == 200
        refused = await client.get("/api/v1/catalogs", headers=ana)
        assert_too_many(refused, "user")
        assert "user" in refused.json()["detail"]
        assert_security_headers(refused)
        assert refused.headers["x-request-id"]
        # A new token of the same user is the same user.
        assert (await client.get("/api/v1/catalogs", headers=tokens.headers("Admin", user_id=1))).status_code == 429
        assert (await client.get("/api/v1/catalogs", headers=luis)).status_code == 200
        metrics = (await client.get("/metrics")).text
    assert fakes.masterdata.count("GET", "/api/v1/catalogs") == 4  # refused calls never reach the service
    assert re.search(r'dmt_rate_limited_total\{component="gateway",limit="user"\} [1-9]', metrics)


async def test_an_address_over_the_limit_gets_429_even_before_its_token_is_checked(
    fakes: Fakes, settings: Settings, tokens: TokenFactory
) -> None:
    app = gateway(fakes, settings, tokens, rate_limit_client=TRICKLE, rate_limit_client_burst=3, rate_limit_user=0)
    forged = {"Authorization": "Bearer not-a-token"}
    async with (
        AsyncTestClient(app),
        from_address(app, "203.0.113.7") as noisy,
        from_address(app, "198.51.100.20") as quiet,
    ):
        for _ in range(3):
            assert (await noisy.get("/api/v1/records", headers=forged)).status_code == 401
        refused = await noisy.get("/api/v1/records", headers=forged)
        assert_too_many(refused, "address")
        assert_too_many(await noisy.get("/api/v1/records", headers=tokens.headers()), "address")
        assert (await quiet.get("/api/v1/records", headers=tokens.headers())).status_code == 200
    assert fakes.records.count("GET", "/api/v1/records") == 1


async def test_health_and_metrics_are_never_limited_but_documents_and_keys_are(
    fakes: Fakes, settings: Settings, tokens: TokenFactory
) -> None:
    app = gateway(
        fakes,
        settings,
        tokens,
        rate_limit_client=TRICKLE,
        rate_limit_client_burst=1,
        rate_limit_user=TRICKLE,
        rate_limit_user_burst=1,
    )
    async with AsyncTestClient(app):
        limited = ("/api/docs", "/api/docs/assets/docs.js", "/api/openapi.json", "/.well-known/jwks.json", "/")
        for n, path in enumerate(limited):
            async with from_address(app, f"192.0.2.{n + 1}") as caller:  # a fresh caller for each path
                for probe in ("/health", "/health/ready", "/metrics") * 4:
                    assert (await caller.get(probe)).status_code == 200, probe
                assert (await caller.get(path)).status_code == 200, path
                assert_too_many(await caller.get(path), "address")
                assert (await caller.get("/health")).status_code == 200


def test_token_buckets_refill_at_their_rate_and_say_how_long_to_wait() -> None:
    now = [0.0]
    buckets = TokenBuckets(2.0, 4, clock=lambda: now[0])
    assert [buckets.take("a") for _ in range(4)] == [0.0] * 4
    assert buckets.take("a") == pytest.approx(0.5)
    now[0] += 0.5
    assert buckets.take("a") == 0.0
    assert buckets.take("a") > 0
    assert buckets.take("b") == 0.0  # every key has a bucket of its own
    assert retry_after(0.01) == 1
    assert retry_after(1.2) == 2


def test_idle_buckets_are_dropped_so_memory_stays_bounded() -> None:
    now = [0.0]
    buckets = TokenBuckets(10.0, 20, clock=lambda: now[0], max_keys=1000)
    for n in range(500):
        buckets.take(f"10.0.{n // 256}.{n % 256}")
    assert len(buckets) == 500
    now[0] += 2.0  # 20 tokens at 10 a second: every bucket is full again, the same as none
    buckets.take("10.9.9.9")
    assert len(buckets) == 1
    for n in range(5000):
        buckets.take(n)
    assert len(buckets) == 1000


def test_ipv6_callers_are_limited_per_64_network() -> None:
    def key(host: str) -> str | None:
        return address_key({"client": (host, 1)})  # type: ignore[typeddict-item]

    assert key("2001:db8:1:2::1") == key("2001:db8:1:2:ffff::9")
    assert key("2001:db8:1:2::1") != key("2001:db8:1:3::1")
    assert key("::ffff:203.0.113.7") == key("203.0.113.7") == "203.0.113.7"
    assert address_key({"client": None}) is None  # type: ignore[typeddict-item]


# ------------------------------------------------------------------ security headers


async def test_every_answer_carries_the_security_headers(
    client: AsyncTestClient[Any], fakes: Fakes, tokens: TokenFactory
) -> None:
    async def chunks() -> AsyncIterator[bytes]:
        for n in range(3):
            yield f"DMT-2024-0000{n}\r\n".encode()

    fakes.records.on(
        "GET",
        "/api/v1/records/export.csv",
        lambda r: httpx.Response(200, content=chunks(), headers={"Content-Type": "text/csv; charset=utf-8"}),
    )
    answers = {
        "api": await client.get("/api/v1/catalogs", headers=tokens.headers()),
        "docs": await client.get("/api/docs"),
        "home": await client.get("/"),
        "no token": await client.get("/api/v1/records"),
        "unknown path": await client.get("/no/such/page"),
        "health": await client.get("/health"),
    }
    async with client.stream("GET", "/api/v1/records/export.csv", headers=tokens.headers()) as streamed:
        body = b"".join([chunk async for chunk in streamed.aiter_bytes()])
        answers["streamed"] = streamed
    assert body.count(b"DMT-2024-") == 3
    assert answers["no token"].status_code == 401
    assert answers["unknown path"].status_code == 404
    for name, response in answers.items():
        assert_security_headers(response)
        assert "strict-transport-security" not in response.headers, name  # plain http


async def test_a_services_own_security_headers_are_replaced_not_doubled(
    client: AsyncTestClient[Any], fakes: Fakes, tokens: TokenFactory
) -> None:
    lax = {
        "X-Frame-Options": "SAMEORIGIN",
        "Content-Security-Policy": "default-src *",
        "Referrer-Policy": "unsafe-url",
        "Strict-Transport-Security": "max-age=5",
    }
    fakes.masterdata.on("GET", "/api/v1/catalogs", lambda r: httpx.Response(200, json={"items": []}, headers=lax))
    response = await client.get("/api/v1/catalogs", headers=tokens.headers())
    assert response.status_code == 200
    assert_security_headers(response)
    assert "strict-transport-security" not in response.headers


async def test_strict_transport_security_only_over_https(
    fakes: Fakes, settings: Settings, tokens: TokenFactory
) -> None:
    async with AsyncTestClient(gateway(fakes, settings, tokens), base_url="https://dmt.plant.example") as tls:
        secure = [await tls.get("/api/docs"), await tls.get("/api/v1/catalogs", headers=tokens.headers())]
        secure.append(await tls.get("/api/v1/records"))  # a 401 too
    for response in secure:
        assert response.headers.get_list("strict-transport-security") == ["max-age=31536000"]
        assert_security_headers(response)

    async with AsyncTestClient(gateway(fakes, settings, tokens, hsts_seconds=0), base_url="https://dmt.test") as off:
        assert "strict-transport-security" not in (await off.get("/api/docs")).headers
    async with AsyncTestClient(
        gateway(fakes, settings, tokens, hsts_seconds=600), base_url="https://dmt.test"
    ) as short:
        assert (await short.get("/health")).headers["strict-transport-security"] == "max-age=600"


# ------------------------------------------------------------------ documentation page without a CDN


async def test_the_docs_page_and_everything_it_loads_come_from_the_gateway(client: AsyncTestClient[Any]) -> None:
    page = await client.get("/api/docs")
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    # Nothing inline, nothing from elsewhere: the page keeps to its Content-Security-Policy.
    assert "<style" not in page.text
    assert not re.search(r"<script(?![^>]*\bsrc=)", page.text)
    loaded = re.findall(r'(?:src|href)="([^"]+)"', page.text)
    assert loaded
    assert all(url.startswith("/api/docs/assets/") for url in loaded)
    expected = {
        "swagger-ui-bundle.js": "text/javascript",
        "docs.js": "text/javascript",
        "swagger-ui.css": "text/css",
        "favicon-32x32.png": "image/png",
    }
    assert {url.rsplit("/", 1)[1] for url in loaded} >= set(expected)
    for url in loaded:
        asset = await client.get(url)  # no token
        assert asset.status_code == 200, url
        assert asset.content, url
        assert_security_headers(asset)
    for name, media_type in expected.items():
        assert (await client.get(f"/api/docs/assets/{name}")).headers["content-type"].startswith(media_type)
    bundle = (await client.get("/api/docs/assets/swagger-ui-bundle.js")).text
    # Swagger UI 5 or later: earlier ones refuse to show an OpenAPI 3.1 document such as ours.
    version = re.search(r'PACKAGE_VERSION:"(\d+)\.', bundle)
    assert version
    assert int(version.group(1)) >= 5
    assert (await client.get("/api/openapi.json")).json()["openapi"].startswith("3.1")


async def test_the_web_page_is_styled_and_run_from_the_gateway_too(client: AsyncTestClient[Any]) -> None:
    home = await client.get("/")
    assert home.status_code == 200
    assert_security_headers(home)
    assert "<style" not in home.text
    assert not re.search(r"<script(?![^>]*\bsrc=)", home.text)
    stylesheet = re.search(r'<link rel="stylesheet" href="([^"]+)"', home.text)
    script = re.search(r'<script type="module" src="([^"]+)"', home.text)
    assert stylesheet
    assert script
    css = await client.get(stylesheet.group(1))
    assert css.status_code == 200
    assert css.headers["content-type"].startswith("text/css")
    module = await client.get(script.group(1))
    assert module.status_code == 200
    assert module.headers["content-type"] == "text/javascript; charset=utf-8"
    assert_security_headers(module)


async def test_an_unknown_docs_file_is_a_404_problem(client: AsyncTestClient[Any]) -> None:
    for name in ("index.html", "swagger-initializer.js", "..%2Fconfig.py", "home.css"):
        response = await client.get(f"/api/docs/assets/{name}")
        assert response.status_code == 404, name
        assert response.headers["content-type"].startswith(PROBLEM)


# ------------------------------------------------------------------ CORS


async def test_cors_names_origins_one_by_one_and_a_preflight_needs_no_token(
    fakes: Fakes, settings: Settings, tokens: TokenFactory
) -> None:
    origin = "https://dmt.plant.example"
    app = gateway(fakes, settings, tokens, cors_origins=(origin,), rate_limit_user=TRICKLE, rate_limit_user_burst=1)
    async with AsyncTestClient(app) as client:
        preflight = await client.options(
            "/api/v1/records/7",
            headers={
                "Origin": origin,
                "Access-Control-Request-Method": "PUT",
                "Access-Control-Request-Headers": "authorization",
            },
        )
        assert preflight.status_code in (200, 204)
        assert preflight.headers["access-control-allow-origin"] == origin
        assert_security_headers(preflight)

        stranger = await client.options(
            "/api/v1/records/7",
            headers={"Origin": "https://evil.example", "Access-Control-Request-Method": "PUT"},
        )
        assert "access-control-allow-origin" not in stranger.headers

        user = {"Origin": origin, **tokens.headers(user_id=9)}
        assert (await client.get("/api/v1/catalogs", headers=user)).headers["access-control-allow-origin"] == origin
        # A page told to slow down can read for how long.
        refused = await client.get("/api/v1/catalogs", headers=user)
        assert_too_many(refused, "user")
        assert refused.headers["access-control-allow-origin"] == origin
        assert "retry-after" in refused.headers["access-control-expose-headers"].lower()
        no_cors = await client.get("/api/v1/catalogs", headers={"Origin": "https://evil.example", **tokens.headers()})
        assert "access-control-allow-origin" not in no_cors.headers


# ------------------------------------------------------------------ settings


def test_limits_and_hsts_come_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GATEWAY_RATE_LIMIT_USER", "20.5")
    monkeypatch.setenv("GATEWAY_RATE_LIMIT_CLIENT_BURST", "300")
    monkeypatch.setenv("GATEWAY_HSTS_SECONDS", "0")
    settings = from_env(Settings, PREFIX)
    assert (settings.rate_limit_user, settings.rate_limit_user_burst) == (20.5, 500)
    assert (settings.rate_limit_client, settings.rate_limit_client_burst) == (100.0, 300)
    assert settings.hsts_seconds == 0


@pytest.mark.parametrize(
    "bad",
    [
        {"rate_limit_user": -1},
        {"rate_limit_client": float("nan")},
        {"rate_limit_user_burst": 0},
        {"rate_limit_client_burst": 0},
        {"hsts_seconds": -1},
    ],
)
def test_nonsense_limits_are_refused(bad: dict[str, Any]) -> None:
    with pytest.raises(SettingsError):
        Settings(**bad)


def test_production_refuses_switching_a_rate_limit_off(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DMT_ENV", "production")
    with pytest.raises(SettingsError, match="GATEWAY_RATE_LIMIT_USER"):
        Settings(rate_limit_user=0)
    with pytest.raises(SettingsError, match="GATEWAY_RATE_LIMIT_CLIENT"):
        Settings(rate_limit_client=0)
    assert Settings(rate_limit_user=5, rate_limit_client=10).rate_limit_user == 5
    monkeypatch.delenv("DMT_ENV")
    assert Settings(rate_limit_user=0, rate_limit_client=0).rate_limit_client == 0  # fine in development
