"""The three services behind the gateway, one balanced HTTP client each.

Each service may run as several replicas (``DMT_RECORDS_URL=http://a:8003,http://b:8003``);
its client balances the calls over them, skips a failing one and retries where that is safe
(see :mod:`dmt_shared.http`). While the gateway runs, a background task asks every replica
for ``/health/ready`` every ``GATEWAY_HEALTH_INTERVAL`` seconds, so that one that is not
ready (a database it lost, or draining before it stops) gets no new calls.

The clients are opened when the gateway starts and closed when it stops. Everything that
calls a service goes through :class:`Upstreams`, so the way of reaching the services (the
transport) can change in this one place.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Mapping
from typing import Any

import httpx

from dmt_gateway.config import Settings
from dmt_shared.contracts import JWKS_PATH
from dmt_shared.health import ReadyCheck
from dmt_shared.http import ServiceClient, UpstreamUnavailable

log = logging.getLogger("dmt.gateway.upstreams")

SERVICES: tuple[str, ...] = ("auth", "masterdata", "records")

#: What each replica is asked to learn whether it should get calls.
READY_PATH = "/health/ready"
#: Seconds one readiness check may take (below the 2 s the gateway's own check allows).
HEALTH_TIMEOUT = 1.5

COMPONENT = "gateway"


class Upstreams:
    """``transports`` replaces the network in tests: by service name (every replica of it) or
    by base URL (one replica)."""

    def __init__(self, settings: Settings, transports: Mapping[str, httpx.AsyncBaseTransport] | None = None) -> None:
        self._settings = settings
        self._transports = dict(transports or {})
        self._clients: dict[str, ServiceClient] = {}
        self._watcher: asyncio.Task[None] | None = None

    @property
    def settings(self) -> Settings:
        return self._settings

    def open(self) -> None:
        """Create one client per service and start the readiness checks (on start-up)."""
        if self._clients:
            return
        s = self._settings
        for name, urls in s.upstream_urls.items():
            self._clients[name] = ServiceClient(
                name,
                urls,
                component=COMPONENT,
                transport=self._transports.get(name),
                transports={url: t for url, t in self._transports.items() if url not in SERVICES},
                connect_timeout=s.connect_timeout,
                read_timeout=s.read_timeout,
                total_timeout=s.total_timeout,
                max_connections=s.max_connections,
                keepalive_expiry=s.keepalive_expiry,
                retries=s.retries,
                retry_backoff_max=s.retry_backoff_max,
                breaker_failures=s.breaker_failures,
                breaker_open_seconds=s.breaker_open_seconds,
            )
        if s.health_interval > 0:
            try:
                loop = asyncio.get_running_loop()
            except RuntimeError:  # opened outside an event loop (a script): no background checks
                return
            self._watcher = loop.create_task(self._watch(s.health_interval), name="upstream readiness checks")

    async def aclose(self) -> None:
        """Stop the readiness checks and close every client (on shut-down)."""
        watcher, self._watcher = self._watcher, None
        if watcher is not None:
            watcher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await watcher
        clients, self._clients = self._clients, {}
        for client in clients.values():
            await client.aclose()

    def client(self, name: str) -> ServiceClient:
        try:
            return self._clients[name]
        except KeyError:
            raise UpstreamUnavailable(name, "the gateway is not connected to it (starting or stopping)") from None

    async def jwks(self) -> dict[str, Any]:
        """The auth service's public keys, to verify tokens with."""
        return await self.client("auth").json("GET", JWKS_PATH)

    async def check_all(self) -> dict[str, dict[str, str]]:
        """Ask every replica of every service whether it is ready, and mark it so."""
        clients = list(self._clients.items())
        results = await asyncio.gather(*(c.probe(READY_PATH, wait=HEALTH_TIMEOUT) for _, c in clients))
        return {name: result for (name, _), result in zip(clients, results, strict=True)}

    async def _watch(self, interval: float) -> None:
        while True:
            await asyncio.sleep(interval)
            try:
                await self.check_all()
            except Exception:  # the checks must go on whatever one round met
                log.exception("a round of readiness checks of the services failed")

    def ready_checks(self) -> dict[str, ReadyCheck]:
        """One check per service for the gateway's own ``/health/ready``: at least one of its
        replicas answers its readiness check now."""

        def check(name: str) -> ReadyCheck:
            async def run() -> None:
                verdicts = await self.client(name).probe(READY_PATH, wait=HEALTH_TIMEOUT)
                if "ok" not in verdicts.values():
                    detail = "; ".join(f"{url}: {verdict}" for url, verdict in verdicts.items())
                    raise UpstreamUnavailable(name, f"no address is ready ({detail})")

            return run

        return {name: check(name) for name in SERVICES}
