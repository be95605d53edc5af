"""A service run as several replicas behind the gateway: calls keep being answered while one
is down or draining, writes are never sent twice, and bodies are held or streamed by size.

A replica that is down is a port nobody listens on (or, where it has to come back during the
test, a transport refusing the connection the same way); one that drops a call it received is
a bare socket server.
"""

from __future__ import annotations

import asyncio
import hashlib
import socket
import time
import uuid
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from litestar.testing import AsyncTestClient
from prometheus_client import REGISTRY

from dmt_gateway.asgi import create_app
from dmt_gateway.config import PREFIX, Settings
from dmt_gateway.upstreams import Upstreams
from dmt_shared.settings import SettingsError, from_env
from dmt_shared.testing import TokenFactory

from .conftest import Fakes, FakeService


def _closed_url() -> str:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{s.getsockname()[1]}"


def _replica_url() -> str:
    return f"http://records-{uuid.uuid4().hex[:8]}.test"


def _settings(records: tuple[str, ...], **overrides: Any) -> Settings:
    return Settings(
        auth_urls=("http://auth.test",), masterdata_urls=("http://masterdata.test",), records_urls=records, **overrides
    )


def _transports(fakes: Fakes, **replicas: httpx.AsyncBaseTransport) -> dict[str, httpx.AsyncBaseTransport]:
    transports = fakes.transports()
    del transports["records"]
    transports.update(replicas)
    return transports


def _gateway_metric(name: str, address: str, **labels: str) -> float:
    labels = {"component": "gateway", "upstream": "records", "address": address, **labels}
    return REGISTRY.get_sample_value(name, labels) or 0.0


class Refusing(httpx.AsyncBaseTransport):
    """A replica that can be switched off: then its connections are refused, as from a closed port."""

    def __init__(self, inner: httpx.AsyncBaseTransport) -> None:
        self.inner = inner
        self.down = True

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if self.down:
            raise httpx.ConnectError("connection refused", request=request)
        return await self.inner.handle_async_request(request)


class Dropper:
    """A replica that reads the whole call, then drops the connection without an answer."""

    def __init__(self) -> None:
        self.calls = 0
        self.server: asyncio.Server | None = None

    @property
    def url(self) -> str:
        assert self.server is not None
        return f"http://127.0.0.1:{self.server.sockets[0].getsockname()[1]}"

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            head = (await reader.readuntil(b"\r\n\r\n")).decode("latin-1").lower()
            length = next((int(x.split(":")[1]) for x in head.split("\r\n") if x.startswith("content-length:")), 0)
            await reader.readexactly(length)
            self.calls += 1
        finally:
            writer.close()


@pytest.fixture
async def dropper() -> AsyncIterator[Dropper]:
    server = Dropper()
    server.server = await asyncio.start_server(server._handle, "127.0.0.1", 0)
    yield server
    server.server.close()
    await server.server.wait_closed()


async def _wait_until(condition: Any, seconds: float = 3.0) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "the condition never came true"
        await asyncio.sleep(0.02)


# ---------------------------------------------------------------- a replica that is down


async def test_with_one_replica_down_every_read_answers_and_the_down_one_is_tried_once(
    fakes: Fakes, tokens: TokenFactory
) -> None:
    dead, live = _closed_url(), _replica_url()
    app = create_app(
        _settings((dead, live)), transports=_transports(fakes, **{live: fakes.records.transport()}),
        verifier=tokens.verifier(),
    )  # fmt: skip
    async with AsyncTestClient(app) as client:
        statuses = [(await client.get("/api/v1/records/7", headers=tokens.headers())).status_code for _ in range(8)]
    assert statuses == [200] * 8
    assert fakes.records.count("GET", "/api/v1/records/7") == 8
    assert _gateway_metric("dmt_upstream_requests_total", dead, outcome="connect_error") == 1
    assert _gateway_metric("dmt_upstream_breaker_state", dead) == 2  # open: skipped for a while


async def test_a_replica_that_comes_back_gets_calls_again(fakes: Fakes, tokens: TokenFactory) -> None:
    a, b = _replica_url(), _replica_url()
    replica_a = FakeService("records")
    switchable = Refusing(replica_a.transport())
    app = create_app(
        _settings((a, b), health_interval=0.05, breaker_open_seconds=30),
        transports=_transports(fakes, **{a: switchable, b: fakes.records.transport()}),
        verifier=tokens.verifier(),
    )
    async with AsyncTestClient(app) as client:
        assert (await client.get("/api/v1/records/1", headers=tokens.headers())).status_code == 200
        assert _gateway_metric("dmt_upstream_breaker_state", a) == 2
        switchable.down = False
        # The readiness check finds it answering again, long before its breaker would let a call try.
        await _wait_until(lambda: _gateway_metric("dmt_upstream_breaker_state", a) < 2)
        for _ in range(4):
            assert (await client.get("/api/v1/records/1", headers=tokens.headers())).status_code == 200
    assert replica_a.count("GET", "/api/v1/records/1") == 2
    assert fakes.records.count("GET", "/api/v1/records/1") == 3


async def test_with_every_replica_down_calls_are_refused_fast_with_503_naming_the_service(
    fakes: Fakes, tokens: TokenFactory
) -> None:
    app = create_app(
        _settings((_closed_url(), _closed_url())), transports=_transports(fakes), verifier=tokens.verifier()
    )
    async with AsyncTestClient(app) as client:
        started = time.monotonic()
        answers = [await client.get("/api/v1/records", headers=tokens.headers()) for _ in range(3)]
        elapsed = time.monotonic() - started
        ready = await client.get("/health/ready")
    assert elapsed < 2.0
    for answer in answers:
        assert answer.status_code == 503
        assert answer.headers["content-type"].startswith("application/problem+json")
        assert answer.json()["service"] == "records"
        assert int(answer.headers["retry-after"]) >= 1
    assert ready.status_code == 503
    assert ready.json()["checks"]["records"].startswith("failing")


# ---------------------------------------------------------------- writes


@pytest.mark.parametrize("body", ["json", "streamed"])
async def test_a_write_refused_by_one_replica_is_made_once_by_the_other(
    fakes: Fakes, tokens: TokenFactory, body: str
) -> None:
    dead, live = _closed_url(), _replica_url()
    app = create_app(
        _settings((dead, live)), transports=_transports(fakes, **{live: fakes.records.transport()}),
        verifier=tokens.verifier(),
    )  # fmt: skip
    payload = bytes(range(256)) * 8192  # 2 MiB, streamed: nothing of it had left when the connection was refused

    async def chunks() -> AsyncIterator[bytes]:
        for start in range(0, len(payload), 65536):
            yield payload[start : start + 65536]

    async with (
        AsyncTestClient(app),
        httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://gateway.test") as raw,
    ):
        if body == "json":
            answer = await raw.post("/api/v1/records", json={"serial_number": "SN-1"}, headers=tokens.headers())
        else:
            answer = await raw.post("/api/v1/records", content=chunks(), headers=tokens.headers())
    assert answer.status_code == 200
    [made] = [c for c in fakes.records.calls if c.path == "/api/v1/records"]
    if body == "json":
        assert made.body == b'{"serial_number":"SN-1"}'
    else:
        assert hashlib.sha256(made.body).digest() == hashlib.sha256(payload).digest()
        assert made.pieces > 1  # passed on as it came
    assert _gateway_metric("dmt_upstream_requests_total", dead, outcome="connect_error") == 1


async def test_a_write_a_replica_received_is_never_sent_to_another(
    fakes: Fakes, tokens: TokenFactory, dropper: Dropper
) -> None:
    live = _replica_url()
    app = create_app(
        _settings((dropper.url, live)), transports=_transports(fakes, **{live: fakes.records.transport()}),
        verifier=tokens.verifier(),
    )  # fmt: skip
    # Served in this test's event loop (as the bare socket server is), not in a test client's thread.
    async with app.lifespan(), httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://gateway.test"
    ) as client:  # fmt: skip
        write = await client.post("/api/v1/records", json={"serial_number": "SN-2"}, headers=tokens.headers())
        assert write.status_code == 503
        assert write.json()["service"] == "records"
        assert dropper.calls == 1
        assert fakes.records.count("POST", "/api/v1/records") == 0  # it may be saved over there: not made twice

        # A read is safe to repeat: the one the first replica drops is answered by the other.
        reads = [await client.get("/api/v1/records/3", headers=tokens.headers()) for _ in range(2)]
        assert [r.status_code for r in reads] == [200, 200]
        assert (dropper.calls, fakes.records.count("GET", "/api/v1/records/3")) == (2, 2)


async def test_a_503_with_a_short_retry_after_is_retried_and_a_long_one_passed_back(
    fakes: Fakes, settings: Settings, tokens: TokenFactory
) -> None:
    busy = {"/api/v1/records/1": 1, "/api/v1/records/2": 1}
    wait = {"/api/v1/records/1": "0", "/api/v1/records/2": "120"}

    def maybe_busy(request: httpx.Request) -> httpx.Response:
        path = request.url.path
        if busy[path]:
            busy[path] -= 1
            return httpx.Response(503, headers={"Retry-After": wait[path]}, json={"detail": "busy"})
        return httpx.Response(200, json={"id": int(path.rsplit("/", 1)[1])})

    for path in busy:
        fakes.records.on("GET", path, maybe_busy)
    app = create_app(settings, transports=fakes.transports(), verifier=tokens.verifier())
    async with AsyncTestClient(app) as client:
        soon = await client.get("/api/v1/records/1", headers=tokens.headers())
        later = await client.get("/api/v1/records/2", headers=tokens.headers())
    assert soon.status_code == 200
    assert fakes.records.count("GET", "/api/v1/records/1") == 2
    assert later.status_code == 503
    assert later.headers["retry-after"] == "120"
    assert fakes.records.count("GET", "/api/v1/records/2") == 1


# ---------------------------------------------------------------- body sizes


async def test_a_body_over_the_limit_is_refused_with_413_whether_announced_or_chunked(
    fakes: Fakes, tokens: TokenFactory
) -> None:
    settings = _settings(("http://records.test",), max_body_bytes=1000, buffer_body_bytes=100)
    app = create_app(settings, transports=fakes.transports(), verifier=tokens.verifier())

    async def chunked(pieces: int) -> AsyncIterator[bytes]:
        for _ in range(pieces):
            yield b"z" * 400

    path = "/api/v1/records/5/attachments"
    async with (
        AsyncTestClient(app) as client,
        httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://gateway.test") as raw,
    ):
        announced = await client.post(path, content=b"z" * 1001, headers=tokens.headers())
        grown = await raw.post(path, content=chunked(3), headers=tokens.headers())
        within = await client.post(path, content=b"z" * 1000, headers=tokens.headers())
        chunked_within = await raw.post(path, content=chunked(2), headers=tokens.headers())
    for refused in (announced, grown):
        assert refused.status_code == 413
        assert refused.headers["content-type"].startswith("application/problem+json")
        assert "1000 bytes" in refused.json()["detail"]
    assert (within.status_code, within.json()["body"]) == (200, "z" * 1000)
    assert (chunked_within.status_code, chunked_within.json()["body"]) == (200, "z" * 800)
    assert [len(c.body) for c in fakes.records.calls if c.path == path] == [1000, 800]  # nothing of the others


async def test_a_body_above_the_buffer_size_streams_and_one_below_is_sent_whole(
    fakes: Fakes, tokens: TokenFactory
) -> None:
    settings = _settings(("http://records.test",), buffer_body_bytes=64 * 1024)
    app = create_app(settings, transports=fakes.transports(), verifier=tokens.verifier())
    small, large = b"s" * 60_000, b"L" * (2 * 1024 * 1024)

    async def pieces(body: bytes) -> AsyncIterator[bytes]:
        for start in range(0, len(body), 16384):
            yield body[start : start + 16384]

    path = "/api/v1/records/5/attachments"
    async with AsyncTestClient(app), httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://gateway.test"
    ) as raw:  # fmt: skip
        for body in (small, large):
            headers = {**tokens.headers(), "Content-Length": str(len(body))}
            assert (await raw.post(path, content=pieces(body), headers=headers)).status_code == 200
    sent_small, sent_large = [c for c in fakes.records.calls if c.path == path]
    assert (sent_small.body, sent_small.pieces) == (small, 1)  # held, so it could go again to another replica
    assert sent_large.body == large
    assert sent_large.pieces > 1  # passed on as it arrived
    assert sent_large.headers["content-length"] == str(len(large))


# ---------------------------------------------------------------- readiness


async def test_a_draining_replica_gets_no_new_calls_and_the_gateway_stays_ready_while_one_is(
    fakes: Fakes, tokens: TokenFactory
) -> None:
    a, b = _replica_url(), _replica_url()
    replica_a = FakeService("records")
    state = {"a": 503, "b": 200}

    def ready(name: str) -> Any:
        return lambda request: httpx.Response(state[name], json={"status": "draining" if state[name] == 503 else "ok"})

    replica_a.on("GET", "/health/ready", ready("a"))
    fakes.records.on("GET", "/health/ready", ready("b"))
    app = create_app(
        _settings((a, b), health_interval=0.05),
        transports=_transports(fakes, **{a: replica_a.transport(), b: fakes.records.transport()}),
        verifier=tokens.verifier(),
    )
    async with AsyncTestClient(app) as client:
        await _wait_until(lambda: _gateway_metric("dmt_upstream_address_ready", a) == 0)
        for _ in range(6):
            assert (await client.get("/api/v1/records/1", headers=tokens.headers())).status_code == 200
        assert replica_a.count("GET", "/api/v1/records/1") == 0
        ready_now = await client.get("/health/ready")
        assert ready_now.status_code == 200
        assert ready_now.json()["checks"]["records"] == "ok"

        # None ready: the gateway says so, yet still tries (one address may be all a platform shows).
        state["b"] = 503
        not_ready = await client.get("/health/ready")
        assert not_ready.status_code == 503
        assert "failing" in not_ready.json()["checks"]["records"]
        assert (await client.get("/api/v1/records/1", headers=tokens.headers())).status_code == 200

        state["a"] = state["b"] = 200
        await _wait_until(lambda: _gateway_metric("dmt_upstream_address_ready", a) == 1)
        await _wait_until(lambda: _gateway_metric("dmt_upstream_address_ready", b) == 1)
        for _ in range(4):
            await client.get("/api/v1/records/2", headers=tokens.headers())
        assert replica_a.count("GET", "/api/v1/records/2") == 2

    # Stopped with the gateway: no more checks once it is shut down.
    checks = replica_a.count("GET", "/health/ready")
    await asyncio.sleep(0.2)
    assert replica_a.count("GET", "/health/ready") == checks


async def test_each_replica_gets_its_own_transport_and_one_for_the_service_serves_all(fakes: Fakes) -> None:
    a, b = _replica_url(), _replica_url()
    upstreams = Upstreams(
        _settings((a, b), health_interval=0),
        {**fakes.transports(), a: FakeService("records").transport()},
    )
    upstreams.open()
    try:
        client = upstreams.client("records")
        assert client.addresses == (a, b)
        answers = [await client.request("GET", "/api/v1/records/9") for _ in range(2)]
    finally:
        await upstreams.aclose()
    assert [r.status_code for r in answers] == [200, 200]
    assert fakes.records.count("GET", "/api/v1/records/9") == 1  # b: the transport given for "records"


# ---------------------------------------------------------------- settings


def test_replica_addresses_come_from_the_shared_variables_and_a_bad_one_names_its_variable(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("DMT_RECORDS_URL", "http://records-a:8003, http://records-b:8003,")
    monkeypatch.delenv("DMT_RECORDS_URLS", raising=False)
    assert from_env(Settings, PREFIX).records_urls == ("http://records-a:8003", "http://records-b:8003")
    monkeypatch.setenv("DMT_RECORDS_URLS", "http://records-c:8003")
    assert from_env(Settings, PREFIX).records_urls == ("http://records-c:8003",)
    monkeypatch.setenv("DMT_RECORDS_URLS", "http://records-c:8003,records-d:8003")
    with pytest.raises(SettingsError, match=r"DMT_RECORDS_URLS .*'records-d:8003'"):
        from_env(Settings, PREFIX)
    monkeypatch.setenv("DMT_RECORDS_URLS", " , ")
    with pytest.raises(SettingsError, match="DMT_RECORDS_URLS names no address"):
        from_env(Settings, PREFIX)


@pytest.mark.parametrize(
    ("bad", "variable"),
    [
        ({"retries": -1}, "GATEWAY_RETRIES"),
        ({"breaker_failures": 0}, "GATEWAY_BREAKER_FAILURES"),
        ({"total_timeout": 0}, "GATEWAY_TOTAL_TIMEOUT"),
        ({"health_interval": -1}, "GATEWAY_HEALTH_INTERVAL"),
        ({"max_body_bytes": 100, "buffer_body_bytes": 200}, "GATEWAY_BUFFER_BODY_BYTES"),
    ],
)
def test_nonsense_resilience_settings_are_refused_by_name(bad: dict[str, Any], variable: str) -> None:
    with pytest.raises(SettingsError, match=variable):
        _settings(("http://records.test",), **bad)
