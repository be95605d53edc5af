"""The one HTTP client wrapper every component uses to call another.

One pooled ``httpx.AsyncClient`` per upstream, explicit timeouts and limits, a keep-alive
shorter than the upstream's, no redirects followed, no cookies kept, the request id passed
on. A transport failure becomes :class:`UpstreamUnavailable`, which every component answers
with a fast 503 problem naming the upstream. Tests hand in ``httpx.ASGITransport`` to wire
real apps together in one process.
"""

from __future__ import annotations

from typing import Any

import httpx
from litestar import Request, Response

from dmt_shared.problems import problem_response
from dmt_shared.request_id import current_request_id

FORWARDED_HEADERS = ("authorization", "accept-language")


class UpstreamUnavailable(Exception):
    def __init__(self, service: str, reason: str) -> None:
        super().__init__(f"the {service} service is unavailable: {reason}")
        self.service = service
        self.reason = reason


class UpstreamError(Exception):
    """The upstream answered with an error status the caller did not expect."""

    def __init__(self, service: str, response: httpx.Response) -> None:
        super().__init__(f"the {service} service answered {response.status_code}")
        self.service = service
        self.response = response


class ServiceClient:
    def __init__(
        self,
        service: str,
        base_url: str,
        *,
        transport: httpx.AsyncBaseTransport | None = None,
        connect_timeout: float = 1.0,
        read_timeout: float = 10.0,
        max_connections: int = 100,
        keepalive_expiry: float = 4.0,
    ) -> None:
        self.service = service
        self.base_url = base_url.rstrip("/")
        self._client = httpx.AsyncClient(
            base_url=self.base_url,
            transport=transport,
            timeout=httpx.Timeout(read_timeout, connect=connect_timeout, pool=connect_timeout + 1.0),
            limits=httpx.Limits(
                max_connections=max_connections,
                max_keepalive_connections=max_connections,
                keepalive_expiry=keepalive_expiry,
            ),
            follow_redirects=False,
            trust_env=False,
        )

    async def aclose(self) -> None:
        await self._client.aclose()

    def _headers(self, headers: dict[str, str] | None) -> dict[str, str]:
        merged = dict(headers or {})
        rid = current_request_id()
        if rid != "-":
            merged.setdefault("X-Request-ID", rid)
        return merged

    async def request(
        self,
        method: str,
        path: str,
        *,
        headers: dict[str, str] | None = None,
        **kwargs: Any,
    ) -> httpx.Response:
        try:
            response = await self._client.request(method, path, headers=self._headers(headers), **kwargs)
        except httpx.TimeoutException as exc:
            raise UpstreamUnavailable(self.service, "it did not answer in time") from exc
        except httpx.TransportError as exc:
            raise UpstreamUnavailable(self.service, "it cannot be reached") from exc
        finally:
            self._client.cookies.clear()
        return response

    async def send(self, request: httpx.Request, *, stream: bool = True) -> httpx.Response:
        """Send a prepared request (the gateway's proxy); the caller closes the response."""
        try:
            return await self._client.send(request, stream=stream)
        except httpx.TimeoutException as exc:
            raise UpstreamUnavailable(self.service, "it did not answer in time") from exc
        except httpx.TransportError as exc:
            raise UpstreamUnavailable(self.service, "it cannot be reached") from exc
        finally:
            self._client.cookies.clear()

    def build_request(self, method: str, path: str, **kwargs: Any) -> httpx.Request:
        headers = self._headers(kwargs.pop("headers", None))
        return self._client.build_request(method, path, headers=headers, **kwargs)

    async def json(self, method: str, path: str, *, expect: tuple[int, ...] = (200,), **kwargs: Any) -> Any:
        """Call and decode JSON; a 5xx means unavailable, any other unexpected status raises."""
        response = await self.request(method, path, **kwargs)
        if response.status_code >= 500:
            raise UpstreamUnavailable(self.service, f"it answered {response.status_code}")
        if response.status_code not in expect:
            raise UpstreamError(self.service, response)
        return response.json()


def forwarded_headers(request: Request[Any, Any, Any]) -> dict[str, str]:
    """The caller's headers that travel with a call made on its behalf."""
    return {name: value for name in FORWARDED_HEADERS if (value := request.headers.get(name))}


def upstream_unavailable_handler(request: Request[Any, Any, Any], exc: UpstreamUnavailable) -> Response[Any]:
    return problem_response(
        503, str(exc), instance=request.url.path, headers={"Retry-After": "2"}, extra={"service": exc.service}
    )


def upstream_error_handler(request: Request[Any, Any, Any], exc: UpstreamError) -> Response[Any]:
    status = exc.response.status_code
    if status in (401, 403):
        return problem_response(status, f"the {exc.service} service refused the call", instance=request.url.path)
    return problem_response(502, str(exc), instance=request.url.path, extra={"service": exc.service})
