"""Every ``/api/v1`` path goes to the service that owns it, unchanged; record reads come back labelled."""

from __future__ import annotations

import logging
from typing import Any

import httpx
import msgspec
from litestar import Request, get, route
from litestar.enums import HttpMethod
from litestar.types import ASGIApp

from dmt_gateway.domain.proxy.rules import is_public, upstream_for
from dmt_gateway.domain.proxy.services import buffered_back, open_upstream, stream_back
from dmt_gateway.domain.records.rules import labelled_view
from dmt_gateway.domain.records.services import RecordLabeller, decode_answer
from dmt_gateway.upstreams import Upstreams
from dmt_shared.contracts import JWKS_PATH
from dmt_shared.http import UpstreamUnavailable, forwarded_headers
from dmt_shared.languages import reader_language
from dmt_shared.problems import ProblemError
from dmt_shared.security import principal_of

log = logging.getLogger("dmt.gateway.proxy")

PROXIED_METHODS = [
    HttpMethod.GET,
    HttpMethod.HEAD,
    HttpMethod.POST,
    HttpMethod.PUT,
    HttpMethod.PATCH,
    HttpMethod.DELETE,
]


def _is_json(content_type: str) -> bool:
    media = content_type.split(";", 1)[0].strip().lower()
    return media == "application/json"


@route(
    ["/api/v1/{rest:path}"],
    http_method=PROXIED_METHODS,
    include_in_schema=False,
    name="proxy",
    # The limit is GATEWAY_MAX_BODY_BYTES, enforced while the body is passed on (see services).
    request_max_body_size=None,
)
async def proxy(request: Request[Any, Any, Any], rest: str) -> ASGIApp:
    """Pass the call to the service owning its path; label the record answers that a person reads.

    Everything else (exports, charts, history, catalogs, sign-in) streams through unread.
    """
    path: str = request.scope["path"]
    service = upstream_for(path)
    if service is None:
        raise ProblemError(404, f"no part of the API answers at {path}")
    if not is_public(path):
        principal_of(request)  # the token middleware let it through only with a valid token
    upstreams: Upstreams = request.app.state.upstreams
    view = labelled_view(request.method, path)
    response = await open_upstream(upstreams, service, request)
    if (
        view is None
        or not (200 <= response.status_code < 300)
        or not _is_json(response.headers.get("content-type", ""))
    ):
        return stream_back(response, service=service)
    try:
        content = await response.aread()
    except httpx.HTTPError as exc:
        raise UpstreamUnavailable(service, "it broke off its answer") from exc
    finally:
        await response.aclose()
    try:
        body = decode_answer(content, view)
    except msgspec.DecodeError:
        log.warning("the %s service answered %s with JSON that does not parse; passed on as is", service, path)
        return buffered_back(response, content)
    labeller: RecordLabeller = request.app.state.labeller
    # as the records service reads it: the request's Accept-Language, else the reader's profile
    profile = getattr(request.scope.get("user"), "language", None)
    language = reader_language(request.headers.get("accept-language"), profile)
    labelled = await labeller.label(body, view, forwarded_headers(request), language=language)
    return buffered_back(response, msgspec.json.encode(labelled))


@get("/.well-known/jwks.json", include_in_schema=False, name="jwks")
async def jwks(request: Request[Any, Any, Any]) -> ASGIApp:
    """The auth service's public keys, at the address token libraries look for them."""
    upstreams: Upstreams = request.app.state.upstreams
    response = await open_upstream(upstreams, "auth", request, path=JWKS_PATH)
    return stream_back(response, service="auth")


route_handlers = [proxy, jwks]
