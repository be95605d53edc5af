"""Passing a call on to the service that owns it and its answer back, streamed both ways.

A small body (``Content-Length`` up to ``GATEWAY_BUFFER_BODY_BYTES``, 1 MiB) is read whole
first, so that the call can still go to another replica when the first one cannot be reached.
A larger or chunked body goes to the service as it arrives (it cannot be sent twice), and the
service's answer comes back chunk by chunk, so a large upload or export never sits whole in
the gateway's memory. No body may exceed ``GATEWAY_MAX_BODY_BYTES`` (20 MiB): a larger
``Content-Length`` is refused with 413 before any service is called, and a chunked body that
grows past it is cut off and answered with 413.
Status and end-to-end headers travel unchanged; hop-by-hop headers and Host do not.
Redirects are never followed and no cookie is kept between callers (the client keeps none).
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from typing import Any, cast

import httpx
from litestar import Request
from litestar.background_tasks import BackgroundTask
from litestar.response.base import ASGIResponse
from litestar.response.streaming import ASGIStreamingResponse

from dmt_gateway.domain.proxy.rules import request_headers, response_headers
from dmt_gateway.upstreams import Upstreams
from dmt_shared.problems import ProblemError

log = logging.getLogger("dmt.gateway.proxy")


def _target(request: Request[Any, Any, Any], path: str | None) -> str:
    """The path and query to ask the service for: the caller's, byte for byte, unless ``path`` is given."""
    scope = request.scope
    if path is None:
        # Some servers put the query into raw_path too; the query is taken from query_string alone.
        path = (scope.get("raw_path") or scope["path"].encode()).decode("latin-1").split("?", 1)[0]
    query = scope.get("query_string", b"").decode("latin-1")
    return f"{path}?{query}" if query else path


def _outgoing_headers(request: Request[Any, Any, Any]) -> dict[str, str]:
    scope = request.scope
    raw = [(name.decode("latin-1"), value.decode("latin-1")) for name, value in scope.get("headers", [])]
    headers = request_headers(raw)
    # The gateway is where callers enter, so the address it saw is the whole forwarding chain;
    # whatever X-Forwarded-For a caller sent is not trusted (the services rate-limit on it).
    client = scope.get("client")
    if client:
        headers["x-forwarded-for"] = str(client[0])
    headers["x-forwarded-proto"] = str(scope.get("scheme", "http"))
    host = request.headers.get("host")
    if host:
        headers["x-forwarded-host"] = host
    return headers


class BodyTooLarge(ProblemError):
    """A request body over the limit: 413, naming the limit."""

    def __init__(self, limit: int) -> None:
        size = f"{limit // (1024 * 1024)} MiB" if limit % (1024 * 1024) == 0 else f"{limit} bytes"
        super().__init__(413, f"a request body may have at most {size} ({limit} bytes)")
        self.limit = limit


class _LimitedBody:
    """The caller's body as it arrives, cut off (with :class:`BodyTooLarge`) past ``limit`` bytes."""

    def __init__(self, chunks: AsyncIterator[bytes], limit: int) -> None:
        self._chunks = chunks
        self._limit = limit
        self.too_large = False

    async def __aiter__(self) -> AsyncIterator[bytes]:
        received = 0
        async for chunk in self._chunks:
            received += len(chunk)
            if received > self._limit:
                self.too_large = True
                raise BodyTooLarge(self._limit)
            yield chunk


async def _body(request: Request[Any, Any, Any], *, limit: int, buffer: int) -> _LimitedBody | bytes | None:
    """The caller's body: whole when it is small (so it can be sent again), else as a stream;
    None when the call has none (a GET stays a plain GET)."""
    length = request.headers.get("content-length")
    if length is not None:
        try:
            size = int(length.strip() or "0")
        except ValueError:
            raise ProblemError(400, "the Content-Length header is not a number") from None
        if size > limit:
            raise BodyTooLarge(limit)
        if size == 0:
            return b""
        if size <= buffer:
            return await request.body()
        return _LimitedBody(request.stream(), limit)
    if "transfer-encoding" in request.headers:
        return _LimitedBody(request.stream(), limit)
    return None


async def open_upstream(
    upstreams: Upstreams, service: str, request: Request[Any, Any, Any], *, path: str | None = None
) -> httpx.Response:
    """Send the caller's request to ``service`` and return its answer with the body not yet read.

    The caller of this function closes the answer (:func:`stream_back` does). A service that
    cannot be reached raises :class:`~dmt_shared.http.UpstreamUnavailable` (a 503 naming it);
    a body over the limit raises :class:`BodyTooLarge` (413).
    """
    settings = upstreams.settings
    body = await _body(request, limit=settings.max_body_bytes, buffer=settings.buffer_body_bytes)
    client = upstreams.client(service)
    outgoing = client.build_request(
        request.method, _target(request, path), headers=_outgoing_headers(request), content=body
    )
    response = await client.send(outgoing, stream=True)
    if isinstance(body, _LimitedBody) and body.too_large:
        # The service saw a body cut off (an in-process one may even answer); the caller hears why.
        await response.aclose()
        raise BodyTooLarge(settings.max_body_bytes)
    return response


def stream_back(response: httpx.Response, *, service: str, drop: tuple[str, ...] = ()) -> ASGIStreamingResponse:
    """The service's answer as the gateway's answer: same status, end-to-end headers, body streamed."""

    async def chunks() -> AsyncIterator[bytes]:
        try:
            async for chunk in response.aiter_raw():
                yield chunk
        except httpx.HTTPError:
            # The status line is already sent: breaking the connection is the only honest signal.
            log.warning("the %s service broke off its answer to %s", service, response.request.url.path)
            raise
        finally:
            await response.aclose()

    return ASGIStreamingResponse(
        iterator=chunks(),
        status_code=response.status_code,
        # A list of pairs, so that repeated headers (Set-Cookie) stay apart; the class accepts it.
        headers=cast("dict[str, Any]", response_headers(response.headers.multi_items(), drop=drop)),
        is_head_response=response.request.method == "HEAD",
        background=BackgroundTask(response.aclose),
    )


def buffered_back(response: httpx.Response, content: bytes, *, media_type: str = "application/json") -> ASGIResponse:
    """An answer whose body the gateway has read and rewritten: the service's status and headers
    (ETag, Location, ...), with the type and length of the new body."""
    headers = response_headers(
        response.headers.multi_items(), drop=("content-length", "content-encoding", "content-type")
    )
    return ASGIResponse(body=content, status_code=response.status_code, headers=headers, media_type=media_type)
