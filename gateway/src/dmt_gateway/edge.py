"""What every answer of the gateway goes through at its edge: rate limits and security headers.

Rate limits are token buckets held in the memory of each gateway process: one per client
address (checked before the token, so a flood of bad tokens is refused cheaply) and one per
signed-in user (checked after it). A request over either limit is answered 429 with
``Retry-After``. Health and metrics endpoints are never limited, so probes and scrapes keep
working while a caller is being slowed down.

Security headers are set on every answer, the services' proxied ones and the gateway's own
errors included; a value a service sent for one of them is replaced.
"""

from __future__ import annotations

import ipaddress
import math
import time
from collections import OrderedDict
from collections.abc import Callable
from typing import Any

from litestar.config.app import AppConfig
from litestar.datastructures import MutableScopeHeaders
from litestar.enums import ScopeType
from litestar.middleware import ASGIMiddleware, DefineMiddleware
from litestar.plugins import InitPluginProtocol
from litestar.types import ASGIApp, Message, Receive, Scope, Send
from prometheus_client import Counter

from dmt_gateway.config import Settings
from dmt_shared.problems import ProblemError
from dmt_shared.security import TokenAuthMiddleware
from dmt_shared.tokens import Principal

#: Paths never rate limited: load balancers and Prometheus must always get through.
UNLIMITED_PREFIXES = ("/health", "/metrics")

#: Keys (addresses, users) tracked at most; beyond this the least recently seen is forgotten.
MAX_TRACKED_KEYS = 100_000

#: A page served by the gateway may load scripts, styles, images and data from the gateway only.
CONTENT_SECURITY_POLICY = "; ".join(
    (
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "font-src 'self'",
        "connect-src 'self'",
        "object-src 'none'",
        "base-uri 'self'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    )
)

SECURITY_HEADERS: tuple[tuple[str, str], ...] = (
    ("x-content-type-options", "nosniff"),
    ("x-frame-options", "DENY"),
    ("referrer-policy", "no-referrer"),
    ("content-security-policy", CONTENT_SECURITY_POLICY),
)

RATE_LIMITED = Counter(
    "dmt_rate_limited",
    "Requests refused with 429 because a rate limit was reached",
    ("component", "limit"),
)


class TokenBuckets:
    """One token bucket per key: ``rate`` tokens a second, holding ``burst`` at most.

    A bucket left alone until it is full again is the same as no bucket, so such buckets are
    dropped as requests come in: memory follows the keys active in the last ``burst / rate``
    seconds, and never exceeds ``max_keys``.
    """

    def __init__(
        self,
        rate: float,
        burst: int,
        *,
        clock: Callable[[], float] = time.monotonic,
        max_keys: int = MAX_TRACKED_KEYS,
    ) -> None:
        if rate <= 0 or burst < 1:
            raise ValueError("a token bucket needs a positive rate and a burst of at least 1")
        self.rate = rate
        self.burst = float(burst)
        self.max_keys = max_keys
        self._clock = clock
        self._refill_seconds = burst / rate
        # key -> [tokens, time of the last update]; least recently used first.
        self._buckets: OrderedDict[Any, list[float]] = OrderedDict()

    def __len__(self) -> int:
        return len(self._buckets)

    def take(self, key: Any) -> float:
        """Take one token for ``key``: 0.0 when there was one, else the seconds until there is."""
        now = self._clock()
        self._drop_idle(now)
        bucket = self._buckets.get(key)
        if bucket is None:
            bucket = self._buckets[key] = [self.burst, now]
            if len(self._buckets) > self.max_keys:
                self._buckets.popitem(last=False)
        else:
            self._buckets.move_to_end(key)
            bucket[0] = min(self.burst, bucket[0] + (now - bucket[1]) * self.rate)
            bucket[1] = now
        if bucket[0] >= 1.0:
            bucket[0] -= 1.0
            return 0.0
        return (1.0 - bucket[0]) / self.rate

    def _drop_idle(self, now: float) -> None:
        buckets = self._buckets
        while buckets:
            key, (_, updated) = next(iter(buckets.items()))
            if now - updated < self._refill_seconds:
                return
            del buckets[key]


def retry_after(seconds: float) -> int:
    """Whole seconds for ``Retry-After``: rounded up, at least 1."""
    return max(1, math.ceil(seconds))


def address_key(scope: Scope) -> str | None:
    """The caller's address as uvicorn saw it (after its trusted proxy headers), or None.

    IPv6 callers are grouped by their /64 network: one site usually holds a whole /64, so one
    address each would let a single caller take as many buckets as it likes.
    """
    client = scope.get("client")
    if not client:
        return None
    host = str(client[0])
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return host
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            return str(address.ipv4_mapped)
        return str(ipaddress.IPv6Network((address, 64), strict=False))
    return host


def is_limited_path(path: str) -> bool:
    return not any(path == p or path.startswith(p + "/") for p in UNLIMITED_PREFIXES)


class RateLimit(ASGIMiddleware):
    """Refuses a request with 429 once its key's bucket is empty.

    ``per`` is ``"address"`` (keyed by the client address) or ``"user"`` (keyed by the verified
    user; requests without one pass).
    """

    scopes = (ScopeType.HTTP,)

    def __init__(self, buckets: TokenBuckets, per: str, *, component: str = "gateway") -> None:
        if per not in ("address", "user"):
            raise ValueError(f"a rate limit is per address or per user, not {per!r}")
        self.buckets = buckets
        self.per = per
        self.component = component
        self.should_bypass_for_scope = lambda scope: not is_limited_path(scope["path"])

    def key(self, scope: Scope) -> Any:
        if self.per == "address":
            return address_key(scope)
        user = scope.get("user")
        return user.id if isinstance(user, Principal) else None

    async def handle(self, scope: Scope, receive: Receive, send: Send, next_app: ASGIApp) -> None:
        key = self.key(scope)
        if key is not None:
            wait = self.buckets.take(key)
            if wait > 0:
                RATE_LIMITED.labels(self.component, self.per).inc()
                seconds = retry_after(wait)
                rate = f"{self.buckets.rate:g}"
                raise ProblemError(
                    429,
                    f"too many requests from this {self.per}: at most {rate} a second "
                    f"(bursts of {self.buckets.burst:.0f}) are allowed per {self.per}; "
                    f"try again in {seconds} s",
                    headers={"Retry-After": str(seconds)},
                )
        await next_app(scope, receive, send)


def security_headers(hsts_seconds: int) -> Callable[[Message, Scope], Any]:
    """A ``before_send`` hook that puts the security headers on every answer.

    ``Strict-Transport-Security`` only goes on answers to requests that came over TLS (the
    scheme uvicorn reports, from the socket or a trusted proxy's ``X-Forwarded-Proto``).
    """
    hsts = f"max-age={hsts_seconds}" if hsts_seconds > 0 else None

    async def add_security_headers(message: Message, scope: Scope) -> None:
        if message["type"] != "http.response.start":
            return
        headers = MutableScopeHeaders.from_message(message)
        for name, value in SECURITY_HEADERS:
            del headers[name]
            headers.add(name, value)
        del headers["strict-transport-security"]
        if hsts and scope.get("scheme") == "https":
            headers.add("strict-transport-security", hsts)

    return add_security_headers


class EdgePlugin(InitPluginProtocol):
    """Adds the rate limits (around the token check) and the security headers to the gateway."""

    def __init__(self, settings: Settings, *, clock: Callable[[], float] = time.monotonic) -> None:
        self.settings = settings
        self.clock = clock

    def on_app_init(self, app_config: AppConfig) -> AppConfig:
        s = self.settings
        middleware = list(app_config.middleware)
        if s.rate_limit_client > 0:
            per_address = RateLimit(
                TokenBuckets(s.rate_limit_client, s.rate_limit_client_burst, clock=self.clock), "address"
            )
            # Before the token check: a caller sending many bad tokens is slowed down too.
            middleware.insert(_token_check_index(middleware), per_address)
        if s.rate_limit_user > 0:
            middleware.append(
                RateLimit(TokenBuckets(s.rate_limit_user, s.rate_limit_user_burst, clock=self.clock), "user")
            )
        app_config.middleware = middleware
        app_config.before_send = [*app_config.before_send, security_headers(s.hsts_seconds)]
        return app_config


def _token_check_index(middleware: list[Any]) -> int:
    for index, entry in enumerate(middleware):
        cls = entry.middleware if isinstance(entry, DefineMiddleware) else entry
        if isinstance(cls, type) and issubclass(cls, TokenAuthMiddleware):
            return index
    return 0
