"""``GET /health`` (the process is alive) and ``GET /health/ready`` (it can serve: its
database, or for the gateway its upstreams)."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

from litestar import Response, Router, get

ReadyCheck = Callable[[], Awaitable[None]]


def health_router(service: str, checks: dict[str, ReadyCheck], *, timeout: float = 2.0) -> Router:
    @get("/health", include_in_schema=False, sync_to_thread=False)
    def live() -> dict[str, str]:
        return {"status": "ok", "service": service}

    @get("/health/ready", include_in_schema=False)
    async def ready() -> Response[dict[str, Any]]:
        async def run(check: ReadyCheck) -> str:
            try:
                await asyncio.wait_for(check(), timeout)
            except Exception as exc:
                return f"failing: {type(exc).__name__}: {exc}"[:300]
            return "ok"

        names = list(checks)
        results = await asyncio.gather(*(run(checks[n]) for n in names))
        report = dict(zip(names, results, strict=True))
        ok = all(r == "ok" for r in results)
        return Response(
            {"status": "ready" if ok else "unavailable", "service": service, "checks": report},
            status_code=200 if ok else 503,
        )

    return Router(path="/", route_handlers=[live, ready])
