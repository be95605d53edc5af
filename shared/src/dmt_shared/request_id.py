"""Request ids: taken from ``X-Request-ID`` or made, returned, passed upstream, logged
(:mod:`dmt_shared.logs` adds them to every log line)."""

from __future__ import annotations

import contextvars
import re
import uuid

from litestar.datastructures import MutableScopeHeaders
from litestar.types import ASGIApp, Message, Receive, Scope, Send

HEADER = "x-request-id"
_current: contextvars.ContextVar[str] = contextvars.ContextVar("dmt_request_id", default="-")
_VALID = re.compile(r"^[A-Za-z0-9._:\-]{1,128}$")


def current_request_id() -> str:
    return _current.get()


SCOPE_KEY = "dmt_request_id"


class RequestIdMiddleware:
    """ASGI middleware: one id per request, in a context variable and in the scope, from which
    :func:`add_request_id_header` puts it on the response (error responses included)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        incoming = ""
        for name, value in scope.get("headers", []):
            if name == b"x-request-id":
                incoming = value.decode("latin-1")
                break
        request_id = incoming if _VALID.match(incoming) else uuid.uuid4().hex
        scope[SCOPE_KEY] = request_id  # type: ignore[literal-required]
        token = _current.set(request_id)
        try:
            await self.app(scope, receive, send)
        finally:
            _current.reset(token)


async def add_request_id_header(message: Message, scope: Scope) -> None:
    """A Litestar ``before_send`` hook: every response carries its request's id, also those
    made by the exception handlers outside the middleware (a 401 from the token check)."""
    if message["type"] == "http.response.start" and SCOPE_KEY in scope:
        headers = MutableScopeHeaders.from_message(message)
        if "x-request-id" not in headers:
            headers["X-Request-ID"] = scope[SCOPE_KEY]  # type: ignore[literal-required]


def configure_logging(level: str = "INFO") -> None:
    """Kept for callers of the former helper; see :func:`dmt_shared.logs.configure_logging`."""
    from dmt_shared.logs import configure_logging as configure

    configure("-", level)
