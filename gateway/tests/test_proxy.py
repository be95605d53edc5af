"""Calls reach the service that owns their path, unchanged, and the answers come back unchanged."""

from __future__ import annotations

import asyncio
import hashlib
import json
import socket
import time
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient

from dmt_gateway.asgi import create_app
from dmt_gateway.config import Settings
from dmt_shared.testing import TokenFactory
from dmt_shared.tokens import Role

from .conftest import Fakes

ROUTED = [
    ("/api/v1/auth/me", "auth"),
    ("/api/v1/users", "auth"),
    ("/api/v1/users/7/password", "auth"),
    ("/api/v1/catalogs", "masterdata"),
    ("/api/v1/catalogs/part-numbers/12", "masterdata"),
    ("/api/v1/records", "records"),
    ("/api/v1/records/export.csv", "records"),
    ("/api/v1/analytics/pareto", "records"),
]


@pytest.mark.parametrize(("path", "service"), ROUTED)
@pytest.mark.parametrize("method", ["GET", "POST", "PUT", "PATCH", "DELETE"])
async def test_each_prefix_reaches_its_service_with_path_query_and_body_intact(
    client: AsyncTestClient[Any], fakes: Fakes, tokens: TokenFactory, path: str, service: str, method: str
) -> None:
    fakes.records.routes.clear()  # every call is echoed back as it arrived
    body = b'{"item_name": "Fundici\xc3\xb3n \xe9\x93\xb8\xe9\x80\xa0"}' if method in ("POST", "PUT", "PATCH") else None
    response = await client.request(
        method,
        path,
        params={"q": "a b&c", "sort": "created_at", "kind": ["x", "y"]},
        content=body,
        headers={**tokens.headers(), **({"Content-Type": "application/json"} if body else {})},
    )
    assert response.status_code == 200, response.text
    echoed = response.json()
    assert echoed["service"] == service
    assert echoed["method"] == method
    assert echoed["path"] == path
    assert echoed["query"] == "q=a+b%26c&sort=created_at&kind=x&kind=y"
    assert echoed["body"] == (body.decode() if body else "")
    others = {"auth", "masterdata", "records"} - {service}
    for other in others:
        assert not [c for c in getattr(fakes, other).calls if c.path.startswith("/api/v1/")]


async def test_a_path_no_service_owns_is_a_404_problem(client: AsyncTestClient[Any], tokens: TokenFactory) -> None:
    for path in ("/api/v1/nothing", "/api/v1/recordsx", "/api/v1"):
        response = await client.get(path, headers=tokens.headers())
        assert response.status_code == 404, path
        assert response.headers["content-type"].startswith("application/problem+json")


async def test_the_callers_body_is_streamed_to_the_service(
    app: Litestar, client: AsyncTestClient[Any], fakes: Fakes, tokens: TokenFactory
) -> None:
    payload = bytes(range(256)) * 8192  # 2 MiB

    async def chunks() -> AsyncIterator[bytes]:  # no Content-Length: sent chunked, piece by piece
        for start in range(0, len(payload), 65536):
            yield payload[start : start + 65536]

    def digest(request: httpx.Request) -> httpx.Response:
        return httpx.Response(201, json={"sha256": hashlib.sha256(request.content).hexdigest()})

    fakes.records.on("POST", "/api/v1/records/5/attachments", digest)
    headers = {**tokens.headers(), "Content-Type": "application/octet-stream"}
    # A plain ASGI client (the app is already started by ``client``) sends the body as a real server would.
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://gateway.test") as caller:
        response = await caller.post("/api/v1/records/5/attachments", content=chunks(), headers=headers)
    assert response.status_code == 201
    assert response.json()["sha256"] == hashlib.sha256(payload).hexdigest()
    assert "content-length" not in fakes.records.calls[-1].headers
    assert fakes.records.calls[-1].pieces > 1  # passed on as it came, not gathered first

    sized = await client.post("/api/v1/records/5/attachments", content=payload, headers=headers)
    assert sized.json()["sha256"] == hashlib.sha256(payload).hexdigest()
    assert fakes.records.calls[-1].headers["content-length"] == str(len(payload))
    assert "transfer-encoding" not in fakes.records.calls[-1].headers


async def test_a_body_over_the_size_limit_is_refused_with_413(
    client: AsyncTestClient[Any], fakes: Fakes, tokens: TokenFactory
) -> None:
    oversize = b"x" * (20 * 1024 * 1024 + 1)  # GATEWAY_MAX_BODY_BYTES is 20 MiB
    response = await client.post("/api/v1/records/5/attachments", content=oversize, headers=tokens.headers())
    assert response.status_code == 413
    assert response.headers["content-type"].startswith("application/problem+json")
    assert fakes.records.count("POST", "/api/v1/records/5/attachments") == 0


async def test_a_large_answer_streams_back_intact(
    client: AsyncTestClient[Any], fakes: Fakes, tokens: TokenFactory
) -> None:
    blob = hashlib.sha256(b"seed").digest() * (5 * 1024 * 1024 // 32)  # 5 MiB

    async def chunks() -> AsyncIterator[bytes]:
        for start in range(0, len(blob), 100_000):
            yield blob[start : start + 100_000]

    fakes.records.on(
        "GET",
        "/api/v1/records/export.csv",
        lambda r: httpx.Response(200, content=chunks(), headers={"Content-Type": "text/csv; charset=utf-8"}),
    )
    async with client.stream("GET", "/api/v1/records/export.csv", headers=tokens.headers()) as response:
        assert response.status_code == 200
        assert response.headers["content-type"] == "text/csv; charset=utf-8"
        received = b"".join([chunk async for chunk in response.aiter_bytes()])
    assert len(received) == len(blob)
    assert hashlib.sha256(received).digest() == hashlib.sha256(blob).digest()


async def test_an_export_streams_through_piece_by_piece_unread_and_unlabelled(
    app: Litestar, client: AsyncTestClient[Any], fakes: Fakes, tokens: TokenFactory
) -> None:
    """The gateway hands each piece of an export on before the service has made the next one, so
    an export of any size never sits whole in the gateway's memory."""
    piece = b"DMT-2024-00001,9151355 - Housing,OP-30,3\r\n" * 1600  # ~64 KiB
    pieces = 320  # ~20 MiB in all
    made = 0
    delivered: list[int] = []
    lag: list[int] = []  # pieces made but not yet handed to the caller, each time one is made

    async def export() -> AsyncIterator[bytes]:
        nonlocal made
        patient = True
        for _ in range(pieces):
            # Give the caller a moment to get what was made; a gateway that gathers the whole
            # answer before passing it on never lets it, and is then waited for no more.
            for _ in range(200 if patient else 0):
                if len(delivered) >= made - 1:
                    break
                await asyncio.sleep(0.005)
            else:
                patient = False
            lag.append(made - len(delivered))
            made += 1
            yield piece

    headers = {
        "Content-Type": "text/csv; charset=utf-8",
        "Content-Disposition": 'attachment; filename="dmt-records-2026-11-24.csv"',
    }
    fakes.records.on(
        "GET", "/api/v1/records/export.csv", lambda r: httpx.Response(200, content=export(), headers=headers)
    )

    # The app is driven as a server drives it, to see each piece leave (the test client gathers them).
    sent: list[dict[str, Any]] = []
    request_sent = False
    finished = asyncio.Event()

    async def receive() -> dict[str, Any]:
        nonlocal request_sent
        if not request_sent:
            request_sent = True
            return {"type": "http.request", "body": b"", "more_body": False}
        await finished.wait()  # as a server does, the caller "leaves" once the answer is complete
        return {"type": "http.disconnect"}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)
        if message["type"] == "http.response.body":
            if message.get("body"):
                delivered.append(len(message["body"]))
            if not message.get("more_body", False):
                finished.set()

    token = tokens.headers(language="es")["Authorization"]
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": "/api/v1/records/export.csv",
        "raw_path": b"/api/v1/records/export.csv",
        "query_string": b"status=closed&language=es",
        "root_path": "",
        "headers": [
            (b"host", b"gateway.test"),
            (b"authorization", token.encode()),
            (b"accept-language", b"es"),
        ],
        "client": ("127.0.0.1", 50000),
        "server": ("gateway.test", 80),
        "state": {},
    }
    await asyncio.wait_for(app(scope, receive, send), timeout=30)

    start = next(m for m in sent if m["type"] == "http.response.start")
    assert start["status"] == 200
    answer = {name.decode().lower(): value.decode() for name, value in start["headers"]}
    assert answer["content-type"] == "text/csv; charset=utf-8"
    assert answer["content-disposition"] == headers["Content-Disposition"]
    assert sum(delivered) == len(piece) * pieces  # all of it arrived
    assert len(delivered) >= pieces // 2  # in many pieces, not one
    assert max(lag) <= 2  # never more than a piece or two in the gateway at once
    call = fakes.records.calls[-1]
    assert call.path == "/api/v1/records/export.csv"
    assert call.query == "status=closed&language=es"
    assert call.headers["accept-language"] == "es"
    assert not fakes.masterdata.calls  # no labels: records writes them itself
    assert not [c for c in fakes.auth.calls if c.path != "/api/v1/auth/jwks"]


async def test_charts_pass_through_unchanged_with_the_readers_language(
    client: AsyncTestClient[Any], fakes: Fakes, tokens: TokenFactory
) -> None:
    pareto = {
        "by": "failure_code",
        "measure": "count",
        "total_count": 7,
        "total_cost": 512.5,
        "items": [
            {
                "id": 4,
                "label": "FC-04 - Porosidad",
                "count": 5,
                "cost": 300.0,
                "value": 5,
                "share": 0.714,
                "cumulative_share": 0.714,
            }
        ],
        "other": None,
        "unresolved": [],
    }
    fakes.records.on("GET", "/api/v1/analytics/pareto", lambda r: httpx.Response(200, json=pareto))
    caller = {**tokens.headers(), "Accept-Language": "es"}
    response = await client.get(
        "/api/v1/analytics/pareto", params={"by": "failure_code", "status": "closed"}, headers=caller
    )
    assert response.status_code == 200
    assert json.loads(response.content) == pareto
    call = fakes.records.calls[-1]
    assert call.query == "by=failure_code&status=closed"
    assert call.headers["accept-language"] == "es"
    assert call.headers["authorization"] == caller["Authorization"]
    assert not fakes.masterdata.calls  # the labels are the records service's own
    assert not [c for c in fakes.auth.calls if c.path != "/api/v1/auth/jwks"]


async def test_hop_by_hop_headers_stay_on_their_hop_and_end_to_end_ones_travel(
    client: AsyncTestClient[Any], fakes: Fakes, tokens: TokenFactory
) -> None:
    def answer(request: httpx.Request) -> httpx.Response:
        return httpx.Response(
            200,
            json={"ok": True},
            headers=[
                ("Connection", "X-Upstream-Private"),
                ("X-Upstream-Private", "secret"),
                ("Keep-Alive", "timeout=5"),
                ("Proxy-Authenticate", "Basic"),
                ("Trailer", "X-Checksum"),
                ("Upgrade", "h2c"),
                ("ETag", '"v3"'),
                ("Cache-Control", "no-store"),
                ("Set-Cookie", "a=1; HttpOnly"),
                ("Set-Cookie", "b=2; HttpOnly"),
            ],
        )

    fakes.records.on("PATCH", "/api/v1/records/3", answer)
    fakes.records.on("GET", "/api/v1/records/3/history", answer)
    headers = {
        **tokens.headers(),
        "Accept-Language": "es",
        "If-Match": '"v2"',
        "If-None-Match": '"v1"',
        "Content-Type": "application/json",
        "Connection": "X-Client-Private",
        "X-Client-Private": "secret",
        "Keep-Alive": "timeout=5",
        "TE": "trailers",
        "Proxy-Authorization": "Basic eDp5",
        "Upgrade": "websocket",
        "X-Forwarded-For": "6.6.6.6",
        "X-Request-ID": "req-from-client-1",
    }
    response = await client.get("/api/v1/records/3/history", headers=headers)
    assert response.status_code == 200
    seen = fakes.records.calls[-1].headers
    for name in ("x-client-private", "keep-alive", "te", "proxy-authorization", "upgrade"):
        assert name not in seen, name
    assert "x-client-private" not in seen.get("connection", "").lower()  # the gateway's own hop may keep-alive
    assert seen["authorization"] == headers["Authorization"]
    assert seen["accept-language"] == "es"
    assert seen["if-match"] == '"v2"'
    assert seen["if-none-match"] == '"v1"'
    assert seen["content-type"] == "application/json"
    assert seen["host"] == "records.test"
    assert seen["x-request-id"] == "req-from-client-1"
    assert seen["x-forwarded-for"] != "6.6.6.6"  # the caller's own claim is not passed on
    assert seen["x-forwarded-proto"] == "http"

    for name in ("x-upstream-private", "keep-alive", "proxy-authenticate", "trailer", "upgrade"):
        assert name not in response.headers, name
    assert response.headers["etag"] == '"v3"'
    assert response.headers["cache-control"] == "no-store"
    assert response.headers.get_list("set-cookie") == ["a=1; HttpOnly", "b=2; HttpOnly"]
    assert response.headers.get_list("x-request-id") == ["req-from-client-1"]


async def test_a_request_id_is_made_when_the_caller_sends_none_and_given_to_the_service(
    client: AsyncTestClient[Any], fakes: Fakes, tokens: TokenFactory
) -> None:
    response = await client.get("/api/v1/catalogs", headers=tokens.headers())
    rid = response.headers["x-request-id"]
    assert len(rid) >= 16
    assert fakes.masterdata.calls[-1].headers["x-request-id"] == rid

    bad = await client.get("/api/v1/catalogs", headers={**tokens.headers(), "X-Request-ID": "<script>"})
    assert bad.headers["x-request-id"] != "<script>"
    assert fakes.masterdata.calls[-1].headers["x-request-id"] == bad.headers["x-request-id"]


async def test_redirects_are_passed_back_not_followed(
    client: AsyncTestClient[Any], fakes: Fakes, tokens: TokenFactory
) -> None:
    fakes.masterdata.on(
        "GET", "/api/v1/catalogs/old", lambda r: httpx.Response(302, headers={"Location": "https://elsewhere.test/"})
    )
    response = await client.get("/api/v1/catalogs/old", headers=tokens.headers(), follow_redirects=False)
    assert response.status_code == 302
    assert response.headers["location"] == "https://elsewhere.test/"
    assert fakes.masterdata.count("GET", "/api/v1/catalogs/old") == 1


async def test_cookies_set_by_a_service_are_not_sent_with_the_next_caller(
    client: AsyncTestClient[Any], fakes: Fakes, tokens: TokenFactory
) -> None:
    fakes.auth.on(
        "POST", "/api/v1/auth/login", lambda r: httpx.Response(200, json={}, headers={"Set-Cookie": "sid=alice"})
    )
    first = await client.post("/api/v1/auth/login", json={"username": "INS001", "password": "x"})
    assert first.headers["set-cookie"] == "sid=alice"
    client.cookies.clear()
    await client.get("/api/v1/users", headers=tokens.headers())
    assert "cookie" not in fakes.auth.calls[-1].headers


async def test_service_errors_and_empty_answers_pass_through_unchanged(
    client: AsyncTestClient[Any], fakes: Fakes, tokens: TokenFactory
) -> None:
    problem = {"status": 409, "title": "Conflict", "detail": "item_number exists"}
    fakes.masterdata.on(
        "POST",
        "/api/v1/catalogs/customers",
        lambda r: httpx.Response(409, json=problem, headers={"Content-Type": "application/problem+json"}),
    )
    fakes.masterdata.on("DELETE", "/api/v1/catalogs/customers/4", lambda r: httpx.Response(204))
    conflict = await client.post("/api/v1/catalogs/customers", json={"item_number": "A108"}, headers=tokens.headers())
    assert conflict.status_code == 409
    assert conflict.headers["content-type"] == "application/problem+json"
    assert conflict.json() == problem
    deleted = await client.delete("/api/v1/catalogs/customers/4", headers=tokens.headers())
    assert deleted.status_code == 204
    assert deleted.content == b""


# ------------------------------------------------------------------ tokens at the gateway


@pytest.mark.parametrize("path", ["/api/v1/records", "/api/v1/catalogs", "/api/v1/users", "/api/v1/auth/me"])
async def test_calls_without_a_valid_token_stop_at_the_gateway(
    client: AsyncTestClient[Any], fakes: Fakes, tokens: TokenFactory, path: str
) -> None:
    expired = tokens.token(Role.ADMIN, ttl_seconds=60, now=time.time() - 3600)
    foreign = TokenFactory().token(Role.ADMIN)
    for headers in ({}, {"Authorization": f"Bearer {expired}"}, {"Authorization": f"Bearer {foreign}"}):
        response = await client.get(path, headers=headers)
        assert response.status_code == 401, (path, headers)
        assert response.headers["content-type"].startswith("application/problem+json")
    assert not [c for s in (fakes.auth, fakes.masterdata, fakes.records) for c in s.calls if c.path == path]


async def test_a_token_path_the_token_check_would_skip_is_still_refused(
    client: AsyncTestClient[Any], fakes: Fakes
) -> None:
    # Service paths that merely contain "/health" or "/schema" are not public at the gateway.
    for path in ("/api/v1/records/health", "/api/v1/catalogs/schema"):
        response = await client.get(path)
        assert response.status_code == 401, path
    assert not fakes.records.calls
    assert not fakes.masterdata.calls


@pytest.mark.parametrize(
    "path", ["/api/v1/auth/login", "/api/v1/auth/token", "/api/v1/auth/refresh", "/api/v1/auth/logout"]
)
async def test_sign_in_paths_need_no_token(client: AsyncTestClient[Any], fakes: Fakes, path: str) -> None:
    response = await client.post(path, json={"username": "INS001", "password": "employee123"})
    assert response.status_code == 200
    assert response.json()["path"] == path
    assert "authorization" not in fakes.auth.calls[-1].headers


async def test_the_public_keys_are_served_without_a_token(client: AsyncTestClient[Any], tokens: TokenFactory) -> None:
    for path in ("/api/v1/auth/jwks", "/.well-known/jwks.json"):
        response = await client.get(path)
        assert response.status_code == 200, path
        assert response.json() == tokens.jwks()


async def test_without_a_given_verifier_tokens_are_checked_with_the_keys_of_auth(
    fakes: Fakes, settings: Settings, tokens: TokenFactory
) -> None:
    app = create_app(settings, transports=fakes.transports())
    async with AsyncTestClient(app) as client:
        assert (await client.get("/api/v1/catalogs", headers=tokens.headers())).status_code == 200
        assert (await client.get("/api/v1/records/7", headers=tokens.headers())).status_code == 200
        foreign = TokenFactory().headers()
        assert (await client.get("/api/v1/catalogs", headers=foreign)).status_code == 401
    assert fakes.auth.count("GET", "/api/v1/auth/jwks") == 1


# ------------------------------------------------------------------ a service that is down


def _closed_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def test_a_service_that_is_down_answers_503_fast_and_the_others_still_work(
    fakes: Fakes, tokens: TokenFactory
) -> None:
    settings = Settings(
        auth_urls=("http://auth.test",),
        masterdata_urls=("http://masterdata.test",),
        records_urls=(f"http://127.0.0.1:{_closed_port()}",),
    )
    transports = fakes.transports()
    del transports["records"]  # a real connection to a port nobody listens on
    app = create_app(settings, transports=transports, verifier=tokens.verifier())
    async with AsyncTestClient(app) as client:
        started = time.monotonic()
        response = await client.get("/api/v1/records", headers=tokens.headers())
        elapsed = time.monotonic() - started
        assert response.status_code == 503
        assert elapsed < 1.0
        assert response.headers["content-type"].startswith("application/problem+json")
        assert response.json()["service"] == "records"
        assert "records" in response.json()["detail"]

        assert (await client.get("/api/v1/catalogs", headers=tokens.headers())).status_code == 200

        ready = await client.get("/health/ready")
        assert ready.status_code == 503
        assert ready.json()["checks"]["records"].startswith("failing")
        assert ready.json()["checks"]["masterdata"] == "ok"
        assert (await client.get("/health")).status_code == 200


async def test_ready_when_every_service_answers_its_health_check(client: AsyncTestClient[Any]) -> None:
    response = await client.get("/health/ready")
    assert response.status_code == 200
    assert response.json()["checks"] == {"auth": "ok", "masterdata": "ok", "records": "ok"}


async def test_a_service_that_hangs_answers_503_after_the_read_timeout(fakes: Fakes, tokens: TokenFactory) -> None:
    import asyncio

    async def hang(request: httpx.Request) -> httpx.Response:
        await asyncio.sleep(5)
        return httpx.Response(200)

    fakes.masterdata.on("GET", "/api/v1/catalogs/slow", hang)
    settings = Settings(read_timeout=0.3)
    transports = fakes.transports()
    inner = transports["masterdata"]

    class TimingOut(httpx.AsyncBaseTransport):
        """Applies the read timeout the way a socket transport does."""

        async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
            timeout = request.extensions["timeout"]["read"]
            try:
                return await asyncio.wait_for(inner.handle_async_request(request), timeout)
            except TimeoutError as exc:
                raise httpx.ReadTimeout("read timed out", request=request) from exc

    transports["masterdata"] = TimingOut()
    app = create_app(settings, transports=transports, verifier=tokens.verifier())
    async with AsyncTestClient(app) as client:
        started = time.monotonic()
        response = await client.get("/api/v1/catalogs/slow", headers=tokens.headers())
        assert response.status_code == 503
        assert time.monotonic() - started < 2.0
        assert response.json()["service"] == "masterdata"
