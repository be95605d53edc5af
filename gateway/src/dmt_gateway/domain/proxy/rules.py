"""Which service owns which public path, which paths need no token, which headers travel.

Data plus small pure functions, so the routing can be read (and tested) in one place.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

API_PREFIX = "/api/v1"

#: Public path prefixes and the service that owns them. A prefix owns itself and everything under it.
ROUTES: tuple[tuple[str, str], ...] = (
    ("/api/v1/auth", "auth"),
    ("/api/v1/users", "auth"),
    ("/api/v1/catalogs", "masterdata"),
    ("/api/v1/records", "records"),
    ("/api/v1/analytics", "records"),
)

#: Paths reachable without a token (exact paths; a trailing slash is tolerated).
PUBLIC_PATHS: tuple[str, ...] = (
    "/api/v1/auth/login",
    "/api/v1/auth/token",
    "/api/v1/auth/refresh",
    "/api/v1/auth/logout",
    "/api/v1/auth/jwks",
    "/.well-known/jwks.json",
    "/api/docs",
    "/api/openapi.json",
    "/health",
    "/health/ready",
    "/",
)

#: Headers that describe one connection, never the message: not passed on in either direction.
HOP_BY_HOP = frozenset(
    {
        "connection",
        "keep-alive",
        "proxy-authenticate",
        "proxy-authorization",
        "proxy-connection",
        "te",
        "trailer",
        "transfer-encoding",
        "upgrade",
    }
)

#: Request headers the gateway sets itself rather than passing on what the caller sent.
REQUEST_HEADERS_REPLACED = frozenset(
    {"host", "x-request-id", "x-forwarded-for", "x-forwarded-proto", "x-forwarded-host", "forwarded"}
)

#: Response headers the gateway's own server writes (one of each is enough).
RESPONSE_HEADERS_REPLACED = frozenset({"x-request-id", "date", "server"})


def upstream_for(path: str) -> str | None:
    """The service that owns ``path``, or None when no service does."""
    for prefix, service in ROUTES:
        if path == prefix or path.startswith(prefix + "/"):
            return service
    return None


def _normalised(path: str) -> str:
    return path.rstrip("/") or "/"


_PUBLIC = frozenset(PUBLIC_PATHS)


def is_public(path: str) -> bool:
    return _normalised(path) in _PUBLIC


def public_path_patterns() -> list[str]:
    """:data:`PUBLIC_PATHS` as anchored patterns for the token middleware's exclusion list."""
    return [f"^{re.escape(p.rstrip('/'))}/?$" for p in PUBLIC_PATHS]


def connection_tokens(values: Iterable[str]) -> set[str]:
    """Header names listed in ``Connection`` headers: hop-by-hop for this one message."""
    return {token.strip().lower() for value in values for token in value.split(",") if token.strip()}


def request_headers(raw: Iterable[tuple[str, str]]) -> dict[str, str]:
    """The caller's headers that go on to the service: end-to-end ones only, Host and our own left out.

    Repeated headers are joined (``Cookie`` with ``;``, the rest with ``,``), as HTTP allows.
    """
    items = [(name.lower(), value) for name, value in raw]
    dropped = HOP_BY_HOP | REQUEST_HEADERS_REPLACED | connection_tokens(v for n, v in items if n == "connection")
    out: dict[str, str] = {}
    for name, value in items:
        if name in dropped:
            continue
        if name in out:
            out[name] = f"{out[name]}{'; ' if name == 'cookie' else ', '}{value}"
        else:
            out[name] = value
    return out


def response_headers(raw: Iterable[tuple[str, str]], *, drop: Iterable[str] = ()) -> list[tuple[str, str]]:
    """The service's headers that go back to the caller, repeated ones (``Set-Cookie``) kept apart."""
    items = [(name.lower(), value) for name, value in raw]
    dropped = (
        HOP_BY_HOP
        | RESPONSE_HEADERS_REPLACED
        | {d.lower() for d in drop}
        | connection_tokens(v for n, v in items if n == "connection")
    )
    return [(name, value) for name, value in items if name not in dropped]
