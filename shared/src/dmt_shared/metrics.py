"""Prometheus metrics every component serves at ``GET /metrics``: requests, errors, latency and database pools.

Series are labelled by component, method, route template (``/api/v1/records/{record_id}``,
never the ids themselves, so their number stays fixed) and status. The middleware sits before
the token check and counts refused requests with the status they get: an exception raised by
an inner layer (401, 403, a crash) is counted with its status and passed on untouched, so the
problem-details handlers still answer it.
"""

from __future__ import annotations

import threading
import time
import weakref
from collections.abc import Iterable
from typing import Any

from litestar.exceptions import HTTPException
from litestar.middleware import AbstractMiddleware
from litestar.plugins.prometheus import PrometheusController
from litestar.types import ASGIApp, Message, Receive, Scope, Send
from prometheus_client import REGISTRY, Counter, Gauge, Histogram
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

#: Seconds: from a cached read to a long export's first byte.
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)
LABELS = ("component", "method", "route", "status")

REQUESTS = Counter("dmt_http_requests", "HTTP requests answered", LABELS)
ERRORS = Counter("dmt_http_errors", "HTTP requests answered with a 5xx status", LABELS)
LATENCY = Histogram(
    "dmt_http_request_duration_seconds",
    "Time to the start of the answer, in seconds",
    LABELS,
    buckets=LATENCY_BUCKETS,
)
IN_FLIGHT = Gauge("dmt_http_requests_in_flight", "Requests being answered", ("component",))


def route_of(scope: Scope) -> str:
    """The route template the request matched, or ``unmatched`` (a 404 before routing)."""
    return str(scope.get("path_template") or "unmatched")


class MetricsMiddleware(AbstractMiddleware):
    exclude = ["^/metrics"]

    def __init__(self, app: ASGIApp, component: str) -> None:
        super().__init__(app)
        self.component = component
        self._in_flight = IN_FLIGHT.labels(component)
        self._by_labels: dict[tuple[str, str, int], tuple[Any, Any, Any]] = {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        started = time.perf_counter()
        answer: dict[str, Any] = {"status": 500, "at": None}

        async def timed_send(message: Message) -> None:
            if message["type"] == "http.response.start":
                answer["status"] = message["status"]
                answer["at"] = time.perf_counter()
            await send(message)

        gauge = self._in_flight
        gauge.inc()
        try:
            await self.app(scope, receive, timed_send)
        except HTTPException as exc:
            answer["status"] = exc.status_code
            raise
        finally:
            gauge.dec()
            status = int(answer["status"])
            requests, errors, latency = self._series(str(scope.get("method", "-")), route_of(scope), status)
            requests.inc()
            if errors is not None:
                errors.inc()
            latency.observe((answer["at"] or time.perf_counter()) - started)

    def _series(self, method: str, route: str, status: int) -> tuple[Any, Any, Any]:
        """The request counter, error counter (5xx only) and latency histogram of one series,
        looked up once: their number is fixed by the routes, methods and statuses."""
        key = (method, route, status)
        series = self._by_labels.get(key)
        if series is None:
            labels = (self.component, method, route, str(status))
            series = (
                REQUESTS.labels(*labels),
                ERRORS.labels(*labels) if status >= 500 else None,
                LATENCY.labels(*labels),
            )
            self._by_labels[key] = series
        return series


def metrics_middleware(component: str) -> Any:
    from litestar.middleware import DefineMiddleware

    return DefineMiddleware(MetricsMiddleware, component=component)


class MetricsController(PrometheusController):
    """``GET /metrics`` in the Prometheus text format. No token: keep the services' ports and the
    gateway's ``/metrics`` to the monitoring network."""

    path = "/metrics"
    include_in_schema = False


# ---------------------------------------------------------------- database pools

#: What ``dmt_db_pool_connections`` reports of each pool, from SQLAlchemy's pool counters.
POOL_STATES = ("size", "checked_out", "overflow", "idle")


class PoolCollector(Collector):
    """``dmt_db_pool_connections{component,state}``, read from the watched engines' pools at
    each scrape (nothing is counted in between, so the numbers cannot drift).

    - ``size``: connections the pool keeps (``*_DB_POOL_SIZE``),
    - ``checked_out``: connections in use by a request or task right now,
    - ``overflow``: connections open beyond ``size`` (at most as many again),
    - ``idle``: open connections waiting in the pool.

    A pool without these counters (the no-pool of an in-memory SQLite database) reports none.
    Engines are held weakly: one that is dropped without being disposed disappears by itself.
    Several engines of one component (apps created side by side in one process) are added up.
    """

    def __init__(self) -> None:
        self._engines: weakref.WeakKeyDictionary[Any, str] = weakref.WeakKeyDictionary()
        self._lock = threading.Lock()

    def watch(self, component: str, engine: Any) -> None:
        with self._lock:
            self._engines[_sync_engine(engine)] = component

    def unwatch(self, engine: Any) -> None:
        with self._lock:
            self._engines.pop(_sync_engine(engine), None)

    def describe(self) -> Iterable[Metric]:
        yield self._family()

    def collect(self) -> Iterable[Metric]:
        with self._lock:
            watched = list(self._engines.items())
        totals: dict[tuple[str, str], int] = {}
        for engine, component in watched:
            for state, value in pool_counts(engine.pool).items():
                totals[(component, state)] = totals.get((component, state), 0) + value
        family = self._family()
        for (component, state), value in sorted(totals.items()):
            family.add_metric([component, state], value)
        yield family

    @staticmethod
    def _family() -> GaugeMetricFamily:
        return GaugeMetricFamily(
            "dmt_db_pool_connections",
            "Database connections of the component's pool, by state (size, checked_out, overflow, idle)",
            labels=("component", "state"),
        )


def _sync_engine(engine: Any) -> Any:
    """The synchronous engine behind an ``AsyncEngine`` (it owns the pool)."""
    return getattr(engine, "sync_engine", engine)


def pool_counts(pool: Any) -> dict[str, int]:
    """The states :data:`POOL_STATES` that ``pool`` can tell (a queue pool tells all four)."""
    readers = {"size": "size", "checked_out": "checkedout", "overflow": "overflow", "idle": "checkedin"}
    counts: dict[str, int] = {}
    for state, method in readers.items():
        read = getattr(pool, method, None)
        if callable(read):
            # SQLAlchemy counts overflow from -size while the pool is not full.
            counts[state] = max(0, int(read()))
    return counts


POOLS = PoolCollector()
REGISTRY.register(POOLS)


def watch_pool(component: str, engine: Any) -> None:
    """Report ``engine``'s pool as ``component``'s in ``dmt_db_pool_connections``."""
    POOLS.watch(component, engine)


def unwatch_pool(engine: Any) -> None:
    """Stop reporting ``engine``'s pool (when it is disposed)."""
    POOLS.unwatch(engine)
