"""The one HTTP client wrapper every component uses to call another.

A :class:`ServiceClient` reaches one service, which may run as several replicas: it is given
one base URL or several, and keeps one pooled ``httpx.AsyncClient`` per address, with explicit
timeouts and limits, a keep-alive shorter than the upstream's, no redirects followed, no
cookies kept and the request id passed on.

- **Balancing**: calls go round robin over the addresses that are usable.
- **Passive health**: each address has a circuit breaker. It opens after a few failed calls in
  a row (a transport error, a timeout, or a 502/503/504 answer), and at once when the connection
  is refused and another address can take the calls; while open the address is skipped. After
  a while one call may try it again (half-open): success closes the breaker, failure opens it
  for twice as long (up to a minute). A call that tries one address several times counts once:
  with a single address (a platform's load balancer) a short outage is not held against it
  for longer than it lasts.
- **Active health**: whoever runs :meth:`ServiceClient.probe` (the gateway, every few seconds)
  marks addresses not ready; they are skipped while another address is usable.
- **Retries**, only where safe: any method when the call surely never left (the connection
  could not be made) and its body can be sent again; GET, HEAD and OPTIONS also after a read
  error or timeout and on a 502/503/504 answer. A POST, PUT, PATCH or DELETE that was sent is
  never sent again: the service may have done the write already, and a second try could
  double it or fail with 412 because the first one changed the version.
- **Timeouts**: connecting, each read, and a deadline for the answer's headers over all tries.

When no address can answer, :class:`UpstreamUnavailable` is raised, which every component
answers with a fast 503 problem naming the service, with ``Retry-After``. Tests hand in
``httpx.ASGITransport`` (or any transport) to wire real apps together in one process.
"""

from __future__ import annotations

import asyncio
import enum
import math
import random
import socket
import ssl
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from http.cookiejar import CookieJar, DefaultCookiePolicy
from typing import Any

import httpcore
import httpx
from litestar import Request, Response
from prometheus_client import Counter, Gauge, Histogram

from dmt_shared.problems import problem_response
from dmt_shared.request_id import current_request_id

FORWARDED_HEADERS = ("authorization", "accept-language")

#: Methods that may be sent again after they reached the service: they change nothing.
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
#: Answers that say "not this address, not now": they count against it, and a safe call is retried.
RETRY_STATUSES = frozenset({502, 503, 504})
#: Seconds of the first backoff; each further try waits up to twice as long, capped.
BACKOFF_BASE = 0.05
#: Seconds a breaker stays open at most, however often its trial calls fail.
MAX_OPEN_SECONDS = 60.0
#: Set on a component's own 503 answer: the service it could not reach. An answer naming another
#: service than the one called says nothing against the address that sent it.
UNAVAILABLE_HEADER = "X-DMT-Unavailable"
#: Seconds a caller is told to wait when nothing more precise is known.
DEFAULT_RETRY_AFTER = 2.0

_LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)

UPSTREAM_REQUESTS = Counter(
    "dmt_upstream_requests",
    "Calls to another component, per address and outcome (status code, connect_error, timeout, "
    "read_error, breaker_open)",
    ("component", "upstream", "address", "outcome"),
)
UPSTREAM_DURATION = Histogram(
    "dmt_upstream_request_duration_seconds",
    "Seconds from a call to another component to its answer's headers, retries included",
    ("component", "upstream"),
    buckets=_LATENCY_BUCKETS,
)
UPSTREAM_RETRIES = Counter("dmt_upstream_retries", "Calls sent again", ("component", "upstream"))
BREAKER_STATE = Gauge(
    "dmt_upstream_breaker_state",
    "Circuit breaker of an address: 0 closed, 1 half-open, 2 open",
    ("component", "upstream", "address"),
)
ADDRESS_READY = Gauge(
    "dmt_upstream_address_ready",
    "1 when the address answered its last readiness check, else 0",
    ("component", "upstream", "address"),
)


class UpstreamUnavailable(Exception):
    def __init__(self, service: str, reason: str, *, retry_after: float | None = None) -> None:
        super().__init__(f"the {service} service is unavailable: {reason}")
        self.service = service
        self.reason = reason
        self.retry_after = retry_after


class UpstreamError(Exception):
    """The upstream answered with an error status the caller did not expect."""

    def __init__(self, service: str, response: httpx.Response) -> None:
        super().__init__(f"the {service} service answered {response.status_code}")
        self.service = service
        self.response = response


# ---------------------------------------------------------------- circuit breaker


class BreakerState(enum.IntEnum):
    CLOSED = 0
    HALF_OPEN = 1
    OPEN = 2


class CircuitBreaker:
    """Whether one address may be called: closed (yes), open (no, for a while), half-open (one
    trial call may go; its outcome closes or opens the breaker again).

    ``on_change`` is told every new state (the gauge follows it).
    """

    def __init__(
        self,
        *,
        failures: int = 3,
        open_seconds: float = 5.0,
        max_open_seconds: float = MAX_OPEN_SECONDS,
        clock: Callable[[], float] = time.monotonic,
        on_change: Callable[[BreakerState], None] | None = None,
    ) -> None:
        self.threshold = max(1, failures)
        self.open_seconds = open_seconds
        self.max_open_seconds = max(max_open_seconds, open_seconds)
        self._clock = clock
        self._on_change = on_change
        self._state = BreakerState.CLOSED
        self._failures = 0
        self._open_for = open_seconds
        self._open_until = 0.0
        self._trial = False

    def _set(self, state: BreakerState) -> None:
        if state != self._state:
            self._state = state
            if self._on_change is not None:
                self._on_change(state)

    def _refresh(self) -> None:
        if self._state is BreakerState.OPEN and self._clock() >= self._open_until:
            self._trial = False
            self._set(BreakerState.HALF_OPEN)

    @property
    def state(self) -> BreakerState:
        self._refresh()
        return self._state

    def available(self) -> bool:
        """A call may go now (closed, or half-open with no trial under way)."""
        self._refresh()
        if self._state is BreakerState.CLOSED:
            return True
        return self._state is BreakerState.HALF_OPEN and not self._trial

    def acquire(self) -> None:
        """A call goes now; in half-open it is the one trial."""
        self._refresh()
        if self._state is BreakerState.HALF_OPEN:
            self._trial = True

    def release(self) -> None:
        """The call ended without saying anything about the address (cancelled, refused locally)."""
        self._trial = False

    def success(self) -> None:
        self._refresh()
        self._trial = False
        if self._state is BreakerState.OPEN:
            return  # a call that started before the breaker opened; the trial will tell
        self._failures = 0
        self._open_for = self.open_seconds
        self._set(BreakerState.CLOSED)

    def failure(self, *, at_once: bool = False) -> None:
        """A failed call; ``at_once`` (a refused connection) opens the breaker without waiting
        for more failures."""
        self._refresh()
        if self._state is BreakerState.OPEN:
            return
        if self._state is BreakerState.HALF_OPEN:
            if not self._trial:
                self._open(self._open_for)
                return
            self._trial = False
            self._open(min(self._open_for * 2, self.max_open_seconds))
            return
        self._failures += 1
        if at_once or self._failures >= self.threshold:
            self._open(self._open_for)

    def _open(self, seconds: float) -> None:
        self._open_for = seconds
        self._open_until = self._clock() + seconds
        self._failures = 0
        self._set(BreakerState.OPEN)

    def probe_ok(self) -> None:
        """A readiness check answered: an open breaker lets the next call try at once."""
        if self.state is BreakerState.OPEN:
            self._open_until = self._clock()
            self._refresh()

    def retry_in(self) -> float:
        """Seconds until a call may try again (0 when one may now)."""
        if self.state is BreakerState.OPEN:
            return max(0.0, self._open_until - self._clock())
        return 0.0


# ---------------------------------------------------------------- the network under the client


class _Connection(asyncio.Protocol):
    """One TCP connection as asyncio delivers it: what arrived, whether the peer closed it."""

    def __init__(self) -> None:
        self.transport: asyncio.Transport | None = None
        self.received = bytearray()
        self.closed = False
        self.error: BaseException | None = None
        self._reader: asyncio.Future[None] | None = None
        self._writable: asyncio.Future[None] | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def data_received(self, data: bytes) -> None:
        self.received += data
        self._wake_reader()

    def eof_received(self) -> bool:
        self.closed = True
        self._wake_reader()
        return False  # the transport closes itself

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        self.error = exc
        self._wake_reader()
        self.resume_writing()

    def pause_writing(self) -> None:
        if self._writable is None:
            self._writable = asyncio.get_running_loop().create_future()

    def resume_writing(self) -> None:
        waiter, self._writable = self._writable, None
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    def _wake_reader(self) -> None:
        waiter, self._reader = self._reader, None
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    async def wait_readable(self) -> None:
        if self._reader is None or self._reader.done():  # done: a wait that was cancelled
            self._reader = asyncio.get_running_loop().create_future()
        await self._reader

    async def wait_writable(self) -> None:
        if self._writable is not None:
            await asyncio.shield(self._writable)


class _AsyncioStream(httpcore.AsyncNetworkStream):
    """A connection for httpcore straight on asyncio's transport, without anyio's layers.

    httpcore asks every idle connection of the pool, on every call, whether the service closed
    it; anyio answers with several system calls per connection, here it is two attribute reads.
    """

    def __init__(self, connection: _Connection) -> None:
        self._connection = connection
        assert connection.transport is not None
        self._transport: asyncio.Transport = connection.transport

    async def read(self, max_bytes: int, timeout: float | None = None) -> bytes:  # noqa: ASYNC109 - httpcore's interface
        connection = self._connection
        if not connection.received and not connection.closed:
            try:
                async with asyncio.timeout(timeout):
                    while not connection.received and not connection.closed:
                        await connection.wait_readable()
            except TimeoutError:
                raise httpcore.ReadTimeout("no answer in time") from None
        received = connection.received
        if received:
            data = bytes(received[:max_bytes])
            del received[:max_bytes]
            return data
        if connection.error is not None:
            raise httpcore.ReadError(str(connection.error) or type(connection.error).__name__)
        return b""

    async def write(self, buffer: bytes, timeout: float | None = None) -> None:  # noqa: ASYNC109 - httpcore's interface
        if not buffer:
            return
        connection = self._connection
        if connection.closed or self._transport.is_closing():
            raise httpcore.WriteError(str(connection.error or "the connection is closed"))
        self._transport.write(buffer)
        try:
            async with asyncio.timeout(timeout):
                await connection.wait_writable()
        except TimeoutError:
            raise httpcore.WriteTimeout("the request could not be sent in time") from None

    async def aclose(self) -> None:
        self._transport.close()

    async def start_tls(
        self,
        ssl_context: ssl.SSLContext,
        server_hostname: str | None = None,
        timeout: float | None = None,  # noqa: ASYNC109 - httpcore's interface
    ) -> httpcore.AsyncNetworkStream:
        loop = asyncio.get_running_loop()
        try:
            async with asyncio.timeout(timeout):
                transport = await loop.start_tls(
                    self._transport, self._connection, ssl_context, server_hostname=server_hostname
                )
        except TimeoutError:
            self._transport.close()
            raise httpcore.ConnectTimeout("the TLS handshake took too long") from None
        except (OSError, ssl.SSLError) as exc:
            self._transport.close()
            raise httpcore.ConnectError(str(exc) or type(exc).__name__) from exc
        if transport is None:
            raise httpcore.ConnectError("the TLS handshake did not complete")
        self._transport = transport  # type: ignore[assignment]
        self._connection.transport = transport  # type: ignore[assignment]
        return self

    def get_extra_info(self, info: str) -> Any:
        if info == "is_readable":
            return bool(self._connection.received) or self._connection.closed
        if info == "ssl_object":
            return self._transport.get_extra_info("ssl_object")
        if info == "client_addr":
            return self._transport.get_extra_info("sockname")
        if info == "server_addr":
            return self._transport.get_extra_info("peername")
        if info == "socket":
            return self._transport.get_extra_info("socket")
        return None


class AsyncioBackend(httpcore.AsyncNetworkBackend):
    """Opens the connections of :class:`ServiceClient` (see :class:`_AsyncioStream`)."""

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,  # noqa: ASYNC109 - httpcore's interface
        local_address: str | None = None,
        socket_options: Any = None,
    ) -> httpcore.AsyncNetworkStream:
        loop = asyncio.get_running_loop()
        try:
            async with asyncio.timeout(timeout):
                transport, connection = await loop.create_connection(
                    _Connection, host, port, local_addr=(local_address, 0) if local_address else None
                )
        except TimeoutError:
            raise httpcore.ConnectTimeout(f"no connection to {host}:{port} in time") from None
        except OSError as exc:
            raise httpcore.ConnectError(str(exc) or type(exc).__name__) from exc
        sock = transport.get_extra_info("socket")
        if sock is not None:
            for option in socket_options or ():
                sock.setsockopt(*option)
            if sock.family in (socket.AF_INET, socket.AF_INET6):
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return _AsyncioStream(connection)

    async def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,  # noqa: ASYNC109 - httpcore's interface
        socket_options: Any = None,
    ) -> httpcore.AsyncNetworkStream:
        loop = asyncio.get_running_loop()
        try:
            async with asyncio.timeout(timeout):
                _, connection = await loop.create_unix_connection(_Connection, path)
        except TimeoutError:
            raise httpcore.ConnectTimeout(f"no connection to {path} in time") from None
        except OSError as exc:
            raise httpcore.ConnectError(str(exc) or type(exc).__name__) from exc
        return _AsyncioStream(connection)

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(seconds)


class _Pool(httpcore.AsyncConnectionPool):
    """httpcore's pool, with its bookkeeping after each call done in one pass over the
    connections rather than one pass per connection (which grew with the square of the
    connections kept: a few hundred checks per call at 16 connections)."""

    def _assign_requests_to_connections(self) -> list[httpcore.AsyncConnectionInterface]:
        closing: list[httpcore.AsyncConnectionInterface] = []
        connections = self._connections
        # Drop the closed, the expired, and idle ones beyond the keep-alive limit.
        for connection in list(connections):
            if connection.is_closed():
                connections.remove(connection)
            elif connection.has_expired() or (
                connection.is_idle() and len(connections) > self._max_keepalive_connections
            ):
                connections.remove(connection)
                closing.append(connection)
        # Give each waiting call a connection: a free one to its origin, a new one while below
        # the limit, else a new one in place of an idle one to another origin.
        for waiting in self._requests:
            if not waiting.is_queued():
                continue
            origin = waiting.request.url.origin
            free = next((c for c in connections if c.can_handle_request(origin) and c.is_available()), None)
            if free is not None:
                waiting.assign_to_connection(free)
                continue
            if len(connections) >= self._max_connections:
                idle = next((c for c in connections if c.is_idle()), None)
                if idle is None:
                    continue  # it waits for a connection to come free
                connections.remove(idle)
                closing.append(idle)
            connection = self.create_connection(origin)
            connections.append(connection)
            waiting.assign_to_connection(connection)
        return closing


def network_transport(limits: httpx.Limits) -> httpx.AsyncHTTPTransport:
    """httpx's HTTP/1.1 transport over :class:`AsyncioBackend`."""
    transport = httpx.AsyncHTTPTransport(limits=limits, trust_env=False)
    # httpx builds its pool on anyio; the same pool, given the leaner backend, takes its place.
    transport._pool = _Pool(
        ssl_context=httpx.create_ssl_context(trust_env=False),
        max_connections=limits.max_connections,
        max_keepalive_connections=limits.max_keepalive_connections,
        keepalive_expiry=limits.keepalive_expiry,
        network_backend=AsyncioBackend(),
    )
    return transport


# ---------------------------------------------------------------- the client


class _TrackedStream(httpx.AsyncByteStream):
    """A streamed request body that knows whether sending it began (then it cannot be sent again)."""

    def __init__(self, inner: httpx.AsyncByteStream) -> None:
        self.inner = inner
        self.started = False

    async def __aiter__(self) -> Any:
        self.started = True
        async for chunk in self.inner:
            yield chunk

    async def aclose(self) -> None:
        await self.inner.aclose()


def _replayable(stream: Any) -> bool:
    if isinstance(stream, httpx.ByteStream):
        return True
    return isinstance(stream, _TrackedStream) and not stream.started


class _NoCookies(httpx.Cookies):
    """The cookies of a client that keeps none: what a service sets is not even read."""

    def extract_cookies(self, response: httpx.Response) -> None:
        return None


class _Client(httpx.AsyncClient):
    """An ``httpx.AsyncClient`` that never keeps a cookie (no caller's cookie can travel with
    another's call), and spends nothing on reading the ones services set."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._cookies = _NoCookies(_no_cookies())

    @property
    def cookies(self) -> httpx.Cookies:
        return self._cookies

    @cookies.setter
    def cookies(self, cookies: Any) -> None:
        self._cookies = _NoCookies(_no_cookies())


def _no_cookies() -> CookieJar:
    """A cookie jar that keeps nothing: no caller's cookie ever travels with another's call."""
    return CookieJar(policy=DefaultCookiePolicy(allowed_domains=[]))


def _retry_after_seconds(response: httpx.Response) -> float | None:
    value = response.headers.get("retry-after")
    if value is None:
        return None
    try:
        seconds = float(value.strip())
    except ValueError:
        return math.inf  # an HTTP date: a wait we do not hold a call for
    return max(0.0, seconds) if math.isfinite(seconds) else math.inf


def _split(base_urls: str | Sequence[str]) -> tuple[str, ...]:
    parts = base_urls.split(",") if isinstance(base_urls, str) else list(base_urls)
    return tuple(p.strip().rstrip("/") for p in parts if p.strip())


@dataclass
class _Address:
    url: str
    base: httpx.URL
    client: httpx.AsyncClient
    breaker: CircuitBreaker
    ready: bool = True

    def owns(self, url: httpx.URL) -> bool:
        return (
            url.scheme == self.base.scheme
            and url.netloc == self.base.netloc
            and url.raw_path.startswith(self.base.raw_path.rstrip(b"/"))
        )


class _Failure(Exception):
    """One try failed; says whether another may follow."""

    def __init__(self, reason: str, *, retryable: bool) -> None:
        super().__init__(reason)
        self.reason = reason
        self.retryable = retryable


class _Retry(Exception):
    """A safe call got a 502/503/504 that may be retried after ``delay`` seconds
    (its ``Retry-After``; None: the usual backoff)."""

    def __init__(self, response: httpx.Response, delay: float | None) -> None:
        super().__init__(response.status_code)
        self.response = response
        self.delay = delay


class ServiceClient:
    """Calls one service over one or more base URLs (see the module's description).

    ``transport`` replaces the network of every address, ``transports`` that of single
    addresses (by base URL); tests use them. Timeouts are in seconds: ``connect_timeout`` to
    open a connection, ``read_timeout`` for each read, ``total_timeout`` for the answer's
    headers over all tries. ``retries`` is how many more tries a call may get at most.
    """

    def __init__(
        self,
        service: str,
        base_urls: str | Sequence[str],
        *,
        component: str = "-",
        transport: httpx.AsyncBaseTransport | None = None,
        transports: Mapping[str, httpx.AsyncBaseTransport] | None = None,
        connect_timeout: float = 1.0,
        read_timeout: float = 10.0,
        total_timeout: float = 30.0,
        max_connections: int = 100,
        keepalive_expiry: float = 4.0,
        retries: int = 2,
        retry_backoff_max: float = 1.0,
        breaker_failures: int = 3,
        breaker_open_seconds: float = 5.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        urls = _split(base_urls)
        if not urls:
            raise ValueError(f"the {service} service needs at least one base URL")
        for url in urls:
            if not url.startswith(("http://", "https://")):
                raise ValueError(f"the {service} service's address must be http:// or https://, not {url!r}")
        self.service = service
        self.component = component
        self.base_urls = urls
        self.base_url = urls[0]
        self.connect_timeout = connect_timeout
        self.total_timeout = total_timeout
        self.retries = max(0, retries)
        self.retry_backoff_max = max(0.0, retry_backoff_max)
        self._clock = clock
        self._next = 0
        by_url = {k.rstrip("/"): v for k, v in (transports or {}).items()}
        self._addresses = [
            self._address(
                url,
                by_url.get(url, transport),
                timeout=httpx.Timeout(read_timeout, connect=connect_timeout, pool=connect_timeout + 1.0),
                limits=httpx.Limits(
                    max_connections=max_connections,
                    max_keepalive_connections=max_connections,
                    keepalive_expiry=keepalive_expiry,
                ),
                breaker_failures=breaker_failures,
                breaker_open_seconds=breaker_open_seconds,
            )
            for url in urls
        ]

    def _address(
        self,
        url: str,
        transport: httpx.AsyncBaseTransport | None,
        *,
        timeout: httpx.Timeout,
        limits: httpx.Limits,
        breaker_failures: int,
        breaker_open_seconds: float,
    ) -> _Address:
        labels = (self.component, self.service, url)
        state = BREAKER_STATE.labels(*labels)
        state.set(BreakerState.CLOSED)
        ADDRESS_READY.labels(*labels).set(1)
        client = _Client(
            base_url=url,
            transport=transport or network_transport(limits),
            timeout=timeout,
            limits=limits,
            follow_redirects=False,
            trust_env=False,
        )
        breaker = CircuitBreaker(
            failures=breaker_failures,
            open_seconds=breaker_open_seconds,
            clock=self._clock,
            on_change=lambda s: state.set(int(s)),
        )
        return _Address(url, client.base_url, client, breaker)

    async def aclose(self) -> None:
        for address in self._addresses:
            await address.client.aclose()

    # ------------------------------------------------------------ what callers use

    def _headers(self, headers: Mapping[str, str] | None) -> dict[str, str]:
        merged = dict(headers or {})
        rid = current_request_id()
        if rid != "-" and not any(k.lower() == "x-request-id" for k in merged):
            merged["X-Request-ID"] = rid
        return merged

    def build_request(self, method: str, path: str, **kwargs: Any) -> httpx.Request:
        """A request to send with :meth:`send`; it goes to whichever address is chosen then."""
        headers = self._headers(kwargs.pop("headers", None))
        return self._addresses[0].client.build_request(method, path, headers=headers, **kwargs)

    async def request(
        self,
        method: str,
        path: str,
        *,
        headers: Mapping[str, str] | None = None,
        idempotent: bool | None = None,
        **kwargs: Any,
    ) -> httpx.Response:
        """Call and read the whole answer. ``idempotent=True`` lets a read-only POST (a look-up)
        be retried like a GET. A number given as ``timeout`` also bounds the whole call."""
        timeout = kwargs.get("timeout")
        total = float(timeout) if isinstance(timeout, int | float) else None
        outgoing = self.build_request(method, path, headers=headers, **kwargs)
        return await self.send(outgoing, stream=False, idempotent=idempotent, total_timeout=total)

    async def json(self, method: str, path: str, *, expect: tuple[int, ...] = (200,), **kwargs: Any) -> Any:
        """Call and decode JSON; a 5xx means unavailable, any other unexpected status raises."""
        response = await self.request(method, path, **kwargs)
        if response.status_code >= 500:
            raise UpstreamUnavailable(self.service, f"it answered {response.status_code}")
        if response.status_code not in expect:
            raise UpstreamError(self.service, response)
        return response.json()

    async def send(
        self,
        request: httpx.Request,
        *,
        stream: bool = True,
        idempotent: bool | None = None,
        total_timeout: float | None = None,
    ) -> httpx.Response:
        """Send a prepared request (the gateway's proxy) to a usable address, retrying where safe.

        With ``stream=True`` the answer's body is left to read, and the caller closes the answer.
        A POST, PUT, PATCH or DELETE goes again only when it surely never left (the connection
        was not made) and its body can be sent again; once sent, a second try could make the
        write twice, or fail with 412 because the first one already changed the version.
        ``idempotent=True`` treats the call as a read (a look-up by POST).
        """
        safe = request.method.upper() in SAFE_METHODS if idempotent is None else idempotent
        if not isinstance(request.stream, httpx.ByteStream | _TrackedStream):
            request.stream = _TrackedStream(request.stream)  # type: ignore[arg-type]
        started = self._clock()
        total = self.total_timeout if total_timeout is None else min(self.total_timeout, total_timeout)
        deadline = started + total
        tried: set[str] = set()
        attempt = 0
        reason = ""
        try:
            while True:
                address = self._pick(tried)
                if address is None:
                    if not tried:
                        raise self._all_failing()
                    raise UpstreamUnavailable(self.service, reason, retry_after=self._wait())
                again = address.url in tried
                tried.add(address.url)
                try:
                    return await self._try(address, request, stream=stream, safe=safe, deadline=deadline, again=again)
                except _Failure as failure:
                    reason = failure.reason
                    delay = self._backoff(attempt)
                    if not (
                        failure.retryable
                        and attempt < self.retries
                        and _replayable(request.stream)
                        and self._clock() + delay < deadline
                    ):
                        raise UpstreamUnavailable(self.service, reason, retry_after=self._wait()) from failure
                except _Retry as retry:
                    delay = self._backoff(attempt) if retry.delay is None else retry.delay
                    if (
                        attempt >= self.retries
                        or self._clock() + delay >= deadline
                        or not any(a.breaker.available() for a in self._addresses)
                    ):
                        return retry.response
                    await retry.response.aclose()
                    reason = f"it answered {retry.response.status_code}"
                attempt += 1
                UPSTREAM_RETRIES.labels(self.component, self.service).inc()
                await asyncio.sleep(delay)
        finally:
            UPSTREAM_DURATION.labels(self.component, self.service).observe(max(0.0, self._clock() - started))

    # ------------------------------------------------------------ one try

    async def _try(
        self, address: _Address, request: httpx.Request, *, stream: bool, safe: bool, deadline: float, again: bool
    ) -> httpx.Response:
        """One try at ``address``; ``again`` when this call tried it before (no second failure)."""

        def failed(*, at_once: bool = False) -> None:
            if again:
                breaker.release()
            else:
                breaker.failure(at_once=at_once and len(self._addresses) > 1)

        remaining = deadline - self._clock()
        if remaining <= 0:
            raise _Failure("it did not answer in time", retryable=False)
        outgoing = self._retarget(request, address)
        breaker = address.breaker
        breaker.acquire()
        try:
            async with asyncio.timeout(remaining):
                response = await address.client.send(outgoing, stream=True)
        except TimeoutError:
            self._count(address, "timeout")
            failed()
            raise _Failure("it did not answer in time", retryable=False) from None
        except httpx.ConnectError as exc:
            self._count(address, "connect_error")
            failed(at_once=True)
            raise _Failure("it cannot be reached", retryable=True) from exc
        except httpx.ConnectTimeout as exc:
            self._count(address, "timeout")
            failed()
            raise _Failure("it did not answer in time", retryable=True) from exc
        except httpx.PoolTimeout as exc:
            # Every connection to it is busy: this side's limit, not a fault of the address.
            self._count(address, "timeout")
            breaker.release()
            raise _Failure("too many calls to it are under way", retryable=True) from exc
        except httpx.TimeoutException as exc:
            # The call reached the service, which is still working on it: asking the same
            # address again only doubles a slow query (a chart over a million records); another
            # replica may answer in time.
            self._count(address, "timeout")
            failed()
            raise _Failure("it did not answer in time", retryable=safe and len(self._addresses) > 1) from exc
        except httpx.TransportError as exc:
            self._count(address, "read_error")
            failed()
            raise _Failure("it broke off the call", retryable=safe) from exc
        except BaseException:
            breaker.release()
            raise
        status = response.status_code
        if status in RETRY_STATUSES and self._about_this_service(response):
            failed()
        else:
            breaker.success()
        if not stream:
            try:
                await response.aread()
            except httpx.HTTPError as exc:
                await response.aclose()
                self._count(address, "read_error")
                failed()
                raise _Failure("it broke off its answer", retryable=safe) from exc
            except BaseException:
                await response.aclose()
                raise
        self._count(address, str(status))
        if status in RETRY_STATUSES and safe:
            wait = _retry_after_seconds(response)
            if wait is None or wait <= self.retry_backoff_max:
                raise _Retry(response, wait)
        return response

    def _about_this_service(self, response: httpx.Response) -> bool:
        """A 5xx counts against the address unless it names another service as the one missing."""
        named = response.headers.get(UNAVAILABLE_HEADER, "").strip()
        return not named or named == self.service

    def _count(self, address: _Address, outcome: str) -> None:
        UPSTREAM_REQUESTS.labels(self.component, self.service, address.url, outcome).inc()

    def _backoff(self, retry: int) -> float:
        """Capped exponential backoff with full jitter: anywhere from 0 to the cap of this retry."""
        return random.uniform(0.0, min(self.retry_backoff_max, BACKOFF_BASE * 2**retry))  # noqa: S311

    def _retarget(self, request: httpx.Request, address: _Address) -> httpx.Request:
        """The request aimed at ``address``: same method, path, query, headers and body."""
        if address.owns(request.url):
            return request
        relative = request.url.raw_path
        for other in self._addresses:
            if other.owns(request.url):
                relative = relative[len(other.base.raw_path.rstrip(b"/")) :]
                break
        url = address.base.copy_with(raw_path=address.base.raw_path.rstrip(b"/") + relative)
        headers = request.headers.copy()
        headers["Host"] = url.netloc.decode("ascii")
        return httpx.Request(
            request.method, url, headers=headers, stream=request.stream, extensions=dict(request.extensions)
        )

    # ------------------------------------------------------------ choosing an address

    @staticmethod
    def _usable(address: _Address) -> bool:
        return address.ready and address.breaker.available()

    def _pick(self, tried: set[str]) -> _Address | None:
        """The next address round robin: one not tried yet by this call if possible, ready if
        possible; one that is only "not ready" when nothing else is left (behind a load balancer
        one address is all there is)."""
        n = len(self._addresses)
        start = self._next
        self._next = (start + 1) % n
        order = [self._addresses[(start + i) % n] for i in range(n)]
        tiers = (
            [a for a in order if self._usable(a) and a.url not in tried],
            [a for a in order if self._usable(a)],
            [a for a in order if a.breaker.available() and a.url not in tried],
            [a for a in order if a.breaker.available()],
        )
        for tier in tiers:
            if tier:
                return tier[0]
        return None

    def _wait(self) -> float | None:
        """Seconds until an address may be tried again, when none may be now."""
        if any(a.breaker.available() for a in self._addresses):
            return None
        return max(1.0, min(a.breaker.retry_in() for a in self._addresses))

    def _all_failing(self) -> UpstreamUnavailable:
        """Every address is skipped (its breaker open): the call fails at once, sending nothing."""
        wait = min(a.breaker.retry_in() for a in self._addresses)
        soonest = min(self._addresses, key=lambda a: a.breaker.retry_in())
        self._count(soonest, "breaker_open")
        plural = "its addresses are" if len(self._addresses) > 1 else "it is"
        return UpstreamUnavailable(
            self.service,
            f"{plural} failing; the next try is in {max(1, math.ceil(wait))} s",
            retry_after=max(1.0, wait),
        )

    # ------------------------------------------------------------ readiness

    @property
    def addresses(self) -> tuple[str, ...]:
        return self.base_urls

    def ready_addresses(self) -> tuple[str, ...]:
        return tuple(a.url for a in self._addresses if a.ready)

    def breaker_state(self, address: str) -> BreakerState:
        return next(a.breaker.state for a in self._addresses if a.url == address.rstrip("/"))

    def mark_ready(self, address: str, ready: bool) -> None:
        for a in self._addresses:
            if a.url == address.rstrip("/"):
                self._mark(a, ready)

    def _mark(self, address: _Address, ready: bool) -> None:
        address.ready = ready
        ADDRESS_READY.labels(self.component, self.service, address.url).set(1 if ready else 0)
        if ready:
            address.breaker.probe_ok()

    async def probe(self, path: str = "/health/ready", *, wait: float = 2.0) -> dict[str, str]:
        """Ask every address whether it is ready (``GET path`` answers 200) and mark it so.

        Returns ``"ok"`` or what went wrong, per address. A 503 (a replica that is draining
        before it stops) marks the address not ready at once.
        """
        results = await asyncio.gather(*(self._probe(a, path, wait) for a in self._addresses))
        return {a.url: r for a, r in zip(self._addresses, results, strict=True)}

    async def _probe(self, address: _Address, path: str, wait: float) -> str:
        try:
            async with asyncio.timeout(wait):
                response = await address.client.get(
                    path, timeout=httpx.Timeout(wait, connect=min(self.connect_timeout, wait))
                )
        except (httpx.HTTPError, TimeoutError) as exc:
            verdict = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
        else:
            verdict = "ok" if response.status_code == 200 else f"it answered {response.status_code}"
            if response.status_code == 503 and b"draining" in response.content:
                verdict += " (draining)"
        self._mark(address, verdict == "ok")
        return verdict


def forwarded_headers(request: Request[Any, Any, Any]) -> dict[str, str]:
    """The caller's headers that travel with a call made on its behalf."""
    return {name: value for name in FORWARDED_HEADERS if (value := request.headers.get(name))}


def upstream_unavailable_handler(request: Request[Any, Any, Any], exc: UpstreamUnavailable) -> Response[Any]:
    wait = exc.retry_after if exc.retry_after is not None else DEFAULT_RETRY_AFTER
    return problem_response(
        503,
        str(exc),
        instance=request.url.path,
        headers={"Retry-After": str(max(1, math.ceil(wait))), UNAVAILABLE_HEADER: exc.service},
        extra={"service": exc.service},
    )


def upstream_error_handler(request: Request[Any, Any, Any], exc: UpstreamError) -> Response[Any]:
    status = exc.response.status_code
    if status in (401, 403):
        return problem_response(status, f"the {exc.service} service refused the call", instance=request.url.path)
    return problem_response(502, str(exc), instance=request.url.path, extra={"service": exc.service})
