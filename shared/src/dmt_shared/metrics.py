"""Prometheus metrics every component serves at ``GET /metrics``: requests, errors and latency.

Series are labelled by component, method, route template (``/api/v1/records/{record_id}``,
never the ids themselves, so their number stays fixed) and status. The middleware sits before
the token check and counts refused requests with the status they get: an exception raised by
an inner layer (401, 403, a crash) is counted with its status and passed on untouched, so the
problem-details handlers still answer it.
"""

from __future__ import annotations

import time
from typing import Any

from litestar.exceptions import HTTPException
from litestar.middleware import AbstractMiddleware
from litestar.plugins.prometheus import PrometheusController
from litestar.types import ASGIApp, Message, Receive, Scope, Send
from prometheus_client import Counter, Gauge, Histogram

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

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        started = time.perf_counter()
        answer: dict[str, Any] = {"status": 500, "at": None}

        async def timed_send(message: Message) -> None:
            if message["type"] == "http.response.start":
                answer["status"] = message["status"]
                answer["at"] = time.perf_counter()
            await send(message)

        gauge = IN_FLIGHT.labels(self.component)
        gauge.inc()
        try:
            await self.app(scope, receive, timed_send)
        except HTTPException as exc:
            answer["status"] = exc.status_code
            raise
        finally:
            gauge.dec()
            status = int(answer["status"])
            labels = (self.component, scope.get("method", "-"), route_of(scope), str(status))
            REQUESTS.labels(*labels).inc()
            if status >= 500:
                ERRORS.labels(*labels).inc()
            LATENCY.labels(*labels).observe((answer["at"] or time.perf_counter()) - started)


def metrics_middleware(component: str) -> Any:
    from litestar.middleware import DefineMiddleware

    return DefineMiddleware(MetricsMiddleware, component=component)


class MetricsController(PrometheusController):
    """``GET /metrics`` in the Prometheus text format. No token: keep the services' ports and the
    gateway's ``/metrics`` to the monitoring network."""

    path = "/metrics"
    include_in_schema = False
