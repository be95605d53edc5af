"""``GET /health`` (the process is alive) and ``GET /health/ready`` (it can serve: its
database, or for the gateway its upstreams), and the drain on SIGTERM.

When the process gets SIGTERM, ``/health/ready`` answers 503 ``{"status": "draining"}`` at
once, so that a load balancer stops sending new requests, while the server keeps serving for
``DMT_SHUTDOWN_DRAIN_SECONDS`` (2 by default; 0 stops at once). Only then is the server's own
SIGTERM handling run: it stops accepting connections and lets the requests in flight finish
(uvicorn's ``--timeout-graceful-shutdown``). A second SIGTERM, or Ctrl-C, stops without waiting.
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import threading
from collections.abc import Awaitable, Callable
from types import FrameType
from typing import Any

from litestar import Response, Router, get

ReadyCheck = Callable[[], Awaitable[None]]

DRAIN_SECONDS_ENV = "DMT_SHUTDOWN_DRAIN_SECONDS"
DEFAULT_DRAIN_SECONDS = 2.0

log = logging.getLogger("dmt.shutdown")

SignalHandler = Callable[[int, FrameType | None], Any]


def drain_seconds_from_env() -> float:
    """``DMT_SHUTDOWN_DRAIN_SECONDS``: seconds to keep serving after SIGTERM (default 2.0)."""
    from dmt_shared.settings import SettingsError, load_env_file

    load_env_file()
    raw = os.environ.get(DRAIN_SECONDS_ENV, "").strip()
    if not raw:
        return DEFAULT_DRAIN_SECONDS
    try:
        seconds = float(raw)
    except ValueError:
        seconds = -1.0
    if not seconds >= 0:  # also refuses nan
        raise SettingsError(f"{DRAIN_SECONDS_ENV} must be a number of seconds, 0 or more, not {raw!r}")
    return seconds


class Drain:
    """The SIGTERM drain of one app. :meth:`install` (at startup) wraps the SIGTERM handler a
    server installed; :meth:`uninstall` (at shutdown) puts it back."""

    def __init__(self, service: str, seconds: float) -> None:
        self.service = service
        self.seconds = seconds
        self.draining = False
        self._stopped = False
        self._original: SignalHandler | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._timer: asyncio.TimerHandle | None = None

    def install(self) -> None:
        """Wrap the current SIGTERM handler, if a server installed one and this is the main
        thread (signals are delivered there only); without a server (tests) nothing changes."""
        if threading.current_thread() is not threading.main_thread():
            return
        current = signal.getsignal(signal.SIGTERM)
        if not callable(current) or getattr(current, "__self__", None) is self:
            return
        self._original = current
        self._loop = asyncio.get_running_loop()
        signal.signal(signal.SIGTERM, self._on_sigterm)

    def uninstall(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        if self._original is not None and signal.getsignal(signal.SIGTERM) == self._on_sigterm:
            signal.signal(signal.SIGTERM, self._original)
        self._original = None

    def _on_sigterm(self, signum: int, frame: FrameType | None) -> None:
        # A signal handler: set the flag now, log and wait in the event loop.
        first = not self.draining
        self.draining = True
        loop = self._loop
        if not first or loop is None or loop.is_closed():
            self._stop(signum, frame)
            return
        loop.call_soon_threadsafe(self._start, signum, frame)

    def _start(self, signum: int, frame: FrameType | None) -> None:
        if self.seconds <= 0 or self._loop is None:
            log.warning("SIGTERM received: stopping")
            self._stop(signum, frame)
            return
        log.warning(
            "SIGTERM received: readiness reports draining; stopping in %.1f s", self.seconds,
            extra={"drain_seconds": self.seconds},
        )  # fmt: skip
        self._timer = self._loop.call_later(self.seconds, self._stop, signum, frame)

    def _stop(self, signum: int, frame: FrameType | None) -> None:
        """Hand the signal to the server's handler, once."""
        if self._stopped or self._original is None:
            return
        self._stopped = True
        self._original(signum, frame)


def health_router(
    service: str, checks: dict[str, ReadyCheck], *, timeout: float = 2.0, drain: Drain | None = None
) -> Router:
    @get("/health", include_in_schema=False, sync_to_thread=False)
    def live() -> dict[str, str]:
        return {"status": "ok", "service": service}

    @get("/health/ready", include_in_schema=False)
    async def ready() -> Response[dict[str, Any]]:
        if drain is not None and drain.draining:
            return Response({"status": "draining", "service": service, "checks": {}}, status_code=503)

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
