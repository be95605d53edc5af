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
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from http.cookiejar import CookieJar, DefaultCookiePolicy
from typing import Any

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
        client = httpx.AsyncClient(
            base_url=url,
            transport=transport,
            timeout=timeout,
            limits=limits,
            cookies=_no_cookies(),
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
            self._count(address, "timeout")
            failed()
            raise _Failure("it did not answer in time", retryable=safe) from exc
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
