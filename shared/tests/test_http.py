"""Calls between components fail fast and clearly when the other side is down."""

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
