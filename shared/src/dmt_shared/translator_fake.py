"""A small LibreTranslate-compatible server for tests and local trials, served for real over TCP by uvicorn.

``POST /translate`` with ``{q, source, target, format, api_key?}`` answers
``{"translatedText": "[es] <q>"}`` (the target in brackets, so a test sees which language it
got), ``400 {"error": ...}`` for a language it does not know, like LibreTranslate does, and
``403`` for a wrong API key when it has one. It runs in a thread of its own, can be stopped and
started again on the same port (the translator going down and coming back), and keeps every
request it answered.
"""

from __future__ import annotations

import asyncio
import json
import socket
import threading
import time
from dataclasses import dataclass, field
from typing import Any

import uvicorn


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass
class FakeLibreTranslate:
    #: Language codes it translates between; LibreTranslate names simplified Chinese ``zh-Hans``.
    languages: set[str] = field(default_factory=lambda: {"en", "es", "zh-Hans"})
    api_key: str | None = None
    port: int = field(default_factory=free_port)
    #: Every request answered with a translation: (q, source, target).
    calls: list[tuple[str, str, str]] = field(default_factory=list)
    #: Every request refused: (status, target).
    refusals: list[tuple[int, str]] = field(default_factory=list)
    #: When given, a translation is answered only once the event is set (requests in flight).
    gate: threading.Event | None = None
    #: Translations asked for, answered or still waiting at the gate.
    arrived: int = 0
    _server: uvicorn.Server | None = None
    _thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @staticmethod
    def translation(text: str, target: str) -> str:
        return f"[{target}] {text}"

    # ------------------------------------------------------------ the server's life

    def start(self) -> None:
        config = uvicorn.Config(
            self._app,
            host="127.0.0.1",
            port=self.port,
            interface="asgi3",
            lifespan="off",
            log_level="warning",
            access_log=False,
        )
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._server.run, name="fake-libretranslate", daemon=True)
        self._thread.start()
        deadline = time.monotonic() + 10
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError(f"the fake translator did not start on port {self.port}")
            time.sleep(0.01)

    def stop(self) -> None:
        """Stop listening and close every connection: clients now get "connection refused"."""
        if self._server is not None and self._thread is not None:
            self._server.should_exit = True
            self._thread.join(timeout=10)
        self._server = self._thread = None

    # ------------------------------------------------------------ the ASGI app

    async def _app(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        assert scope["type"] == "http"
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        if (scope["method"], scope["path"]) != ("POST", "/translate"):
            await self._answer(send, 404, {"error": "Not Found"})
            return
        try:
            asked = json.loads(body)
            q, source, target = asked["q"], asked["source"], asked["target"]
        except (ValueError, KeyError, TypeError):
            await self._answer(send, 400, {"error": "Invalid request: missing q, source or target"})
            return
        if self.api_key is not None and asked.get("api_key") != self.api_key:
            self.refusals.append((403, target))
            await self._answer(send, 403, {"error": "Invalid API key"})
            return
        for code in (source, target):
            if code not in self.languages:
                self.refusals.append((400, target))
                await self._answer(send, 400, {"error": f"{code} is not supported"})
                return
        self.arrived += 1
        if self.gate is not None:
            await asyncio.to_thread(self.gate.wait, 30)
        self.calls.append((q, source, target))
        await self._answer(send, 200, {"translatedText": self.translation(q, target)})

    @staticmethod
    async def _answer(send: Any, status: int, content: dict[str, Any]) -> None:
        payload = json.dumps(content, ensure_ascii=False).encode()
        headers = [(b"content-type", b"application/json"), (b"content-length", str(len(payload)).encode())]
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": payload})
