"""Calls between components fail fast and clearly when the other side is down."""

import asyncio
import socket
import time

import httpx
import pytest

from dmt_shared.http import ServiceClient, UpstreamError, UpstreamUnavailable


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


async def test_a_closed_port_is_unavailable_within_a_second() -> None:
    client = ServiceClient("records", f"http://127.0.0.1:{_closed_port()}")
    started = time.monotonic()
    with pytest.raises(UpstreamUnavailable, match="records"):
        await client.request("GET", "/health")
    assert time.monotonic() - started < 1.0
    await client.aclose()


async def test_the_request_id_and_no_cookies_travel() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json={"ok": True}, headers={"Set-Cookie": "session=abc"})

    client = ServiceClient("auth", "http://auth", transport=httpx.MockTransport(handler))
    await client.json("GET", "/a")
    await client.json("GET", "/b")
    assert "cookie" not in seen[1].headers
    await client.aclose()


async def test_a_5xx_is_unavailable_and_a_4xx_is_an_error() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(502 if request.url.path == "/bad" else 404)

    client = ServiceClient("masterdata", "http://m", transport=httpx.MockTransport(handler))
    with pytest.raises(UpstreamUnavailable):
        await client.json("GET", "/bad")
    with pytest.raises(UpstreamError):
        await client.json("GET", "/missing")
    await client.aclose()


class _RawServer:
    """A bare HTTP/1.1 server: answers each request with ``ok``, counting connections;
    ``close_after_answer`` closes each connection once it has answered."""

    def __init__(self, *, close_after_answer: bool = False) -> None:
        self.close_after_answer = close_after_answer
        self.connections = 0
        self.requests = 0
        self.server: asyncio.Server | None = None

    async def __aenter__(self) -> str:
        self.server = await asyncio.start_server(self._handle, "127.0.0.1", 0)
        return f"http://127.0.0.1:{self.server.sockets[0].getsockname()[1]}"

    async def __aexit__(self, *_: object) -> None:
        assert self.server is not None
        self.server.close()

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                length = next(
                    (
                        int(line.split(b":")[1])
                        for line in head.split(b"\r\n")
                        if line.lower().startswith(b"content-length")
                    ),
                    0,
                )
                await reader.readexactly(length)
                self.requests += 1
                writer.write(b"HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\ncontent-length: 2\r\n\r\nok")
                await writer.drain()
                if self.close_after_answer:
                    break
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()


async def test_calls_one_after_another_reuse_one_connection() -> None:
    server = _RawServer()
    async with server as url:
        client = ServiceClient("records", url)
        for _ in range(20):
            assert (await client.request("GET", "/x")).text == "ok"
        await client.aclose()
    assert (server.connections, server.requests) == (1, 20)


async def test_a_connection_the_service_closed_while_idle_is_not_used_for_the_next_write() -> None:
    server = _RawServer(close_after_answer=True)
    async with server as url:
        client = ServiceClient("records", url, retries=0)
        for n in range(3):
            response = await client.request("POST", "/x", content=b"{}")
            assert response.text == "ok", n
            await asyncio.sleep(0.05)  # the service's close reaches the client
        await client.aclose()
    assert (server.connections, server.requests) == (3, 3)
