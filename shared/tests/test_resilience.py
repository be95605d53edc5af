"""Calls to a service with several replicas: balanced, a failing replica skipped, retried only
where that is safe, and failing fast when nothing can answer.

The replicas are real HTTP servers (uvicorn on free ports, or a bare socket server that drops
the connection); a replica that is down is a port nobody listens on.
"""

from __future__ import annotations

import asyncio
import json
import socket
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import httpx
import pytest
import uvicorn
from prometheus_client import REGISTRY

from dmt_shared.http import BreakerState, CircuitBreaker, ServiceClient, UpstreamUnavailable
from dmt_shared.testing import Clock

Answer = tuple[int, dict[str, str], bytes]
Handler = Callable[[str, str, bytes], Awaitable[Answer]]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Replica:
    """One replica of a service: a uvicorn server on a free port, counting the calls it gets."""

    def __init__(self, handler: Handler | None = None, port: int | None = None) -> None:
        self.handler = handler or self.ok
        self.port = port or _free_port()
        self.calls: list[tuple[str, str, bytes]] = []
        self._server: uvicorn.Server | None = None
        self._task: asyncio.Task[None] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def count(self, path: str = "/things") -> int:
        return sum(1 for _, p, _ in self.calls if p == path)

    async def ok(self, method: str, path: str, body: bytes) -> Answer:
        status = 201 if method == "POST" else 200
        return status, {"content-type": "application/json"}, json.dumps({"port": self.port, "size": len(body)}).encode()

    async def app(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        assert scope["type"] == "http"
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        self.calls.append((scope["method"], scope["path"], body))
        status, headers, content = await self.handler(scope["method"], scope["path"], body)
        raw = [(k.encode(), v.encode()) for k, v in headers.items()]
        await send({"type": "http.response.start", "status": status, "headers": raw})
        await send({"type": "http.response.body", "body": content})

    async def start(self) -> Replica:
        config = uvicorn.Config(
            self.app,
            host="127.0.0.1",
            port=self.port,
            lifespan="off",
            interface="asgi3",
            log_config=None,  # the process's logging stays as the other tests set it
            log_level=None,
            access_log=False,
            timeout_graceful_shutdown=1,
        )
        self._server = uvicorn.Server(config)
        self._task = asyncio.create_task(self._server.serve())
        while not self._server.started:
            if self._task.done():
                self._task.result()
            await asyncio.sleep(0.01)
        return self

    async def stop(self) -> None:
        if self._server is not None and self._task is not None:
            self._server.should_exit = True
            await self._task


class Dropper:
    """A replica that reads the whole call, then drops the connection without an answer."""

    def __init__(self) -> None:
        self.calls = 0
        self._server: asyncio.Server | None = None

    @property
    def url(self) -> str:
        assert self._server is not None
        return f"http://127.0.0.1:{self._server.sockets[0].getsockname()[1]}"

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            head = await reader.readuntil(b"\r\n\r\n")
            length = 0
            for line in head.decode("latin-1").split("\r\n"):
                name, _, value = line.partition(":")
                if name.strip().lower() == "content-length":
                    length = int(value)
            if length:
                await reader.readexactly(length)
            self.calls += 1
        finally:
            writer.close()

    async def start(self) -> Dropper:
        self._server = await asyncio.start_server(self._handle, "127.0.0.1", 0)
        return self

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()


@pytest.fixture
async def replicas() -> AsyncIterator[Callable[..., Awaitable[Replica]]]:
    started: list[Replica] = []

    async def start(handler: Handler | None = None, port: int | None = None) -> Replica:
        replica = await Replica(handler, port).start()
        started.append(replica)
        return replica

    yield start
    for replica in started:
        await replica.stop()


@pytest.fixture
async def dropper() -> AsyncIterator[Dropper]:
    server = await Dropper().start()
    yield server
    await server.stop()


@pytest.fixture
def component() -> str:
    """A component name of this test alone, so that its metrics start from zero."""
    return f"test-{uuid.uuid4().hex[:8]}"


def metric(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


def outcome(component: str, address: str, result: str, upstream: str = "records") -> float:
    return metric(
        "dmt_upstream_requests_total", component=component, upstream=upstream, address=address, outcome=result
    )


def breaker_gauge(component: str, address: str, upstream: str = "records") -> float:
    return metric("dmt_upstream_breaker_state", component=component, upstream=upstream, address=address)


# ---------------------------------------------------------------- the breaker alone


def test_the_breaker_opens_after_failures_in_a_row_half_opens_later_and_closes_on_success() -> None:
    clock = Clock()
    breaker = CircuitBreaker(failures=3, open_seconds=5, clock=clock)
    breaker.failure()
    breaker.failure()
    breaker.success()  # a success in between starts the count again
    breaker.failure()
    breaker.failure()
    assert breaker.state is BreakerState.CLOSED
    assert breaker.available()
    breaker.failure()
    assert breaker.state is BreakerState.OPEN
    assert not breaker.available()
    assert breaker.retry_in() == 5

    clock.now += 5
    assert breaker.state is BreakerState.HALF_OPEN
    breaker.acquire()  # the one trial call
    assert not breaker.available()  # no second call while the trial is under way
    breaker.success()
    assert breaker.state is BreakerState.CLOSED
    assert breaker.available()


def test_a_failed_trial_opens_the_breaker_twice_as_long_up_to_a_minute() -> None:
    clock = Clock()
    breaker = CircuitBreaker(failures=3, open_seconds=5, clock=clock)
    breaker.failure(at_once=True)  # a refused connection
    waits = []
    for _ in range(6):
        waits.append(breaker.retry_in())
        clock.now += breaker.retry_in()
        breaker.acquire()
        breaker.failure()
    assert waits == [5, 10, 20, 40, 60, 60]
    clock.now += 60
    breaker.acquire()
    breaker.success()
    breaker.failure(at_once=True)
    assert breaker.retry_in() == 5  # a success starts over from the shortest wait


# ---------------------------------------------------------------- balancing and skipping


async def test_with_one_replica_dead_every_get_answers_and_the_dead_one_is_skipped_until_it_is_back(
    replicas: Callable[..., Awaitable[Replica]], component: str
) -> None:
    live = await replicas()
    dead_port = _free_port()
    dead = f"http://127.0.0.1:{dead_port}"
    clock = Clock()
    client = ServiceClient("records", [dead, live.url], component=component, clock=clock)
    try:
        answers = [await client.request("GET", "/things") for _ in range(10)]
        assert [a.status_code for a in answers] == [200] * 10
        assert live.count() == 10
        assert outcome(component, dead, "connect_error") == 1  # tried once, then skipped
        assert breaker_gauge(component, dead) == BreakerState.OPEN

        back = await replicas(port=dead_port)
        clock.now += 5  # GATEWAY_BREAKER_OPEN_SECONDS later one call tries it again
        for _ in range(6):
            assert (await client.request("GET", "/things")).status_code == 200
        assert back.count() == 3
        assert live.count() == 13
        assert breaker_gauge(component, dead) == BreakerState.CLOSED
    finally:
        await client.aclose()


async def test_a_post_to_a_refused_address_goes_to_the_live_one_once(
    replicas: Callable[..., Awaitable[Replica]], component: str
) -> None:
    live = await replicas()
    dead = f"http://127.0.0.1:{_free_port()}"
    client = ServiceClient("records", [dead, live.url], component=component)

    async def upload() -> AsyncIterator[bytes]:
        for _ in range(4):
            yield b"y" * 100_000

    try:
        created = await client.request("POST", "/things", json={"serial": "SN-1"})
        assert created.status_code == 201
        assert live.calls == [("POST", "/things", b'{"serial":"SN-1"}')]
        # A streamed body that had not started when the connection was refused goes too.
        client2 = ServiceClient("records", [f"http://127.0.0.1:{_free_port()}", live.url], component=component)
        streamed = await client2.request("POST", "/things", content=upload())
        await client2.aclose()
        assert streamed.status_code == 201
        assert streamed.json()["size"] == 400_000
        assert live.count() == 2
    finally:
        await client.aclose()


async def test_a_post_that_reached_a_replica_is_never_sent_again_but_a_get_is(
    replicas: Callable[..., Awaitable[Replica]], dropper: Dropper, component: str
) -> None:
    live = await replicas()
    client = ServiceClient("records", [dropper.url, live.url], component=component)
    try:
        with pytest.raises(UpstreamUnavailable, match="records"):
            await client.request("POST", "/things", json={"serial": "SN-2"})
        assert dropper.calls == 1
        assert live.count() == 0  # the write may have happened: it is not made twice
        assert outcome(component, dropper.url, "read_error") == 1
    finally:
        await client.aclose()

    reader = ServiceClient("records", [dropper.url, live.url], component=component)
    try:
        answer = await reader.request("GET", "/things")
        assert answer.status_code == 200
        assert (dropper.calls, live.count()) == (2, 1)
        assert metric("dmt_upstream_retries_total", component=component, upstream="records") == 1
    finally:
        await reader.aclose()


async def test_a_503_with_a_short_retry_after_is_waited_for_and_a_long_one_is_passed_on(
    replicas: Callable[..., Awaitable[Replica]], component: str
) -> None:
    busy = {"/soon": 1, "/later": 1, "/write": 1}

    async def handler(method: str, path: str, body: bytes) -> Answer:
        if busy.get(path, 0) > 0:
            busy[path] -= 1
            return 503, {"retry-after": "0.3" if path != "/later" else "30"}, b"busy"
        return 200, {}, b"fine"

    replica = await replicas(handler)
    client = ServiceClient("records", replica.url, component=component, breaker_failures=5)
    try:
        started = time.monotonic()
        soon = await client.request("GET", "/soon")
        assert soon.status_code == 200
        assert soon.text == "fine"
        assert time.monotonic() - started >= 0.3  # it waited as asked
        assert replica.count("/soon") == 2

        later = await client.request("GET", "/later")
        assert later.status_code == 503
        assert later.headers["retry-after"] == "30"
        assert replica.count("/later") == 1

        write = await client.request("POST", "/write")
        assert write.status_code == 503
        assert replica.count("/write") == 1
    finally:
        await client.aclose()


async def test_a_replica_answering_503_opens_its_breaker_and_calls_go_to_the_other(
    replicas: Callable[..., Awaitable[Replica]], component: str
) -> None:
    async def broken(method: str, path: str, body: bytes) -> Answer:
        return 502, {}, b"bad gateway"

    sick = await replicas(broken)
    well = await replicas()
    client = ServiceClient("records", [sick.url, well.url], component=component, retry_backoff_max=0.01)
    try:
        for _ in range(12):
            assert (await client.request("GET", "/things")).status_code == 200
        assert sick.count() == 3  # three failures in a row, then skipped
        assert breaker_gauge(component, sick.url) == BreakerState.OPEN
    finally:
        await client.aclose()


async def test_an_answer_naming_another_service_as_missing_does_not_count_against_the_replica(
    replicas: Callable[..., Awaitable[Replica]], component: str
) -> None:
    async def dependency_down(method: str, path: str, body: bytes) -> Answer:
        return 503, {"retry-after": "2", "x-dmt-unavailable": "masterdata"}, b"masterdata is down"

    replica = await replicas(dependency_down)
    client = ServiceClient("records", replica.url, component=component)
    try:
        for _ in range(5):
            assert (await client.request("POST", "/things")).status_code == 503
        assert replica.count() == 5
        assert breaker_gauge(component, replica.url) == BreakerState.CLOSED
    finally:
        await client.aclose()


async def test_with_every_replica_down_calls_fail_fast_and_say_when_to_come_back(component: str) -> None:
    down = [f"http://127.0.0.1:{_free_port()}", f"http://127.0.0.1:{_free_port()}"]
    client = ServiceClient("masterdata", down, component=component)
    try:
        started = time.monotonic()
        for _ in range(5):
            with pytest.raises(UpstreamUnavailable, match="masterdata") as caught:
                await client.request("POST", "/api/v1/catalogs/lookup", json={"items": []})
        assert time.monotonic() - started < 2.0
        assert caught.value.retry_after is not None
        assert caught.value.retry_after >= 1
        assert sum(outcome(component, url, "connect_error", "masterdata") for url in down) == 2
        assert sum(outcome(component, url, "breaker_open", "masterdata") for url in down) == 4
    finally:
        await client.aclose()


async def _late(method: str, path: str, body: bytes) -> Answer:
    """A replica that answers after a second."""
    await asyncio.sleep(1.0)
    return 200, {}, b"late"


async def test_a_slow_replica_costs_a_get_one_read_timeout_and_a_post_its_answer(
    replicas: Callable[..., Awaitable[Replica]], component: str
) -> None:
    sluggish = await replicas(_late)
    quick = await replicas()
    client = ServiceClient("records", [sluggish.url, quick.url], component=component, read_timeout=0.2)
    try:
        answer = await client.request("GET", "/things")
        assert answer.status_code == 200
        assert quick.count() == 1
        assert outcome(component, sluggish.url, "timeout") == 1
        with pytest.raises(UpstreamUnavailable, match="in time"):
            await client.request("POST", "/things")
        assert quick.count() == 1  # it may still be written over there: not sent to another
    finally:
        await client.aclose()


async def test_a_get_that_times_out_on_the_only_address_is_not_sent_again(
    replicas: Callable[..., Awaitable[Replica]], component: str
) -> None:
    replica = await replicas(_late)
    client = ServiceClient("records", replica.url, component=component, read_timeout=0.2, retry_backoff_max=0.05)
    try:
        with pytest.raises(UpstreamUnavailable, match="in time"):
            await client.request("GET", "/things")
        await asyncio.sleep(0.3)
        assert replica.count() == 1  # the slow query runs once, not once per try
    finally:
        await client.aclose()


async def test_the_whole_call_has_a_deadline_for_the_answer_to_begin(
    replicas: Callable[..., Awaitable[Replica]], component: str
) -> None:
    replica = await replicas(_late)
    client = ServiceClient("records", replica.url, component=component, read_timeout=5, total_timeout=0.3)
    try:
        started = time.monotonic()
        with pytest.raises(UpstreamUnavailable, match="in time"):
            await client.request("GET", "/things")
        assert time.monotonic() - started < 1.0
        assert replica.count() == 1  # no time left for another try
    finally:
        await client.aclose()


# ---------------------------------------------------------------- readiness


async def test_a_replica_that_is_not_ready_gets_no_calls_while_another_is_ready(
    replicas: Callable[..., Awaitable[Replica]], component: str
) -> None:
    draining = {"a": True, "b": False}

    def ready_answer(name: str) -> Handler:
        async def handler(method: str, path: str, body: bytes) -> Answer:
            if path == "/health/ready" and draining[name]:
                return 503, {"content-type": "application/json"}, b'{"status": "draining"}'
            return 200, {}, name.encode()

        return handler

    a = await replicas(ready_answer("a"))
    b = await replicas(ready_answer("b"))
    client = ServiceClient("records", [a.url, b.url], component=component)
    try:
        verdicts = await client.probe()
        assert verdicts[b.url] == "ok"
        assert "draining" in verdicts[a.url]
        assert metric("dmt_upstream_address_ready", component=component, upstream="records", address=a.url) == 0
        assert [(await client.request("GET", "/things")).text for _ in range(4)] == ["b"] * 4

        # With none ready the calls still go (one address may be all a load balancer shows).
        draining["b"] = True
        await client.probe()
        assert client.ready_addresses() == ()
        assert (await client.request("GET", "/things")).status_code == 200

        draining["a"] = draining["b"] = False
        await client.probe()
        assert sorted([(await client.request("GET", "/things")).text for _ in range(4)]) == ["a", "a", "b", "b"]
    finally:
        await client.aclose()


async def test_one_transport_per_address_can_stand_in_for_the_network(component: str) -> None:
    seen: list[str] = []

    def answer(name: str) -> httpx.MockTransport:
        def handle(request: httpx.Request) -> httpx.Response:
            seen.append(f"{name} {request.url} {request.headers['host']}")
            return httpx.Response(200)

        return httpx.MockTransport(handle)

    client = ServiceClient(
        "auth",
        "http://auth-a.test/base, http://auth-b.test:9001/",
        component=component,
        transports={"http://auth-a.test/base": answer("a"), "http://auth-b.test:9001": answer("b")},
    )
    try:
        prepared = client.build_request("GET", "/api/v1/users", params={"q": "x y"})
        await (await client.send(prepared)).aclose()
        await client.request("GET", "/api/v1/users", params={"q": "x y"})
    finally:
        await client.aclose()
    assert seen == [
        "a http://auth-a.test/base/api/v1/users?q=x+y auth-a.test",
        "b http://auth-b.test:9001/api/v1/users?q=x+y auth-b.test:9001",
    ]
