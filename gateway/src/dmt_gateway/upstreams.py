"""The three services behind the gateway, one pooled HTTP client each.

The clients are opened when the gateway starts and closed when it stops. Everything
that calls a service goes through :class:`Upstreams`, so the way of reaching the services
(the transport) can change in this one place.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import httpx

from dmt_gateway.config import Settings
from dmt_shared.contracts import JWKS_PATH
from dmt_shared.health import ReadyCheck
from dmt_shared.http import ServiceClient, UpstreamUnavailable

SERVICES: tuple[str, ...] = ("auth", "masterdata", "records")

HEALTH_PATH = "/health"
HEALTH_TIMEOUT = 2.0


class Upstreams:
    def __init__(self, settings: Settings, transports: Mapping[str, httpx.AsyncBaseTransport] | None = None) -> None:
        self._settings = settings
        self._transports = dict(transports or {})
        self._clients: dict[str, ServiceClient] = {}

    def open(self) -> None:
        """Create one client per service (on start-up)."""
        if self._clients:
            return
        s = self._settings
        for name, url in s.upstream_urls.items():
            self._clients[name] = ServiceClient(
                name,
                url,
                transport=self._transports.get(name),
                connect_timeout=s.connect_timeout,
                read_timeout=s.read_timeout,
                max_connections=s.max_connections,
                keepalive_expiry=s.keepalive_expiry,
            )

    async def aclose(self) -> None:
        """Close every client (on shut-down)."""
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

    def ready_checks(self) -> dict[str, ReadyCheck]:
        """One check per service: its ``/health`` answers 200 in time."""

        def check(name: str) -> ReadyCheck:
            async def run() -> None:
                response = await self.client(name).request("GET", HEALTH_PATH, timeout=HEALTH_TIMEOUT)
                if response.status_code != 200:
                    raise UpstreamUnavailable(name, f"its health check answered {response.status_code}")

            return run

        return {name: check(name) for name in SERVICES}
