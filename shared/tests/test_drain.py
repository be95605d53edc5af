"""SIGTERM drain: readiness turns to 503 "draining" at once, the process keeps serving for the
drain time, requests in flight finish, then the process ends cleanly."""

import asyncio
import json
import os
import signal
import socket
import sys
import textwrap
import threading
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from dmt_shared.health import Drain, drain_seconds_from_env
from dmt_shared.settings import SettingsError


async def _wait_for(condition: Any, within: float = 5.0) -> None:
    deadline = time.monotonic() + within
    while not condition():
        assert time.monotonic() < deadline, "condition not met in time"
        await asyncio.sleep(0.02)


@pytest.fixture
def server_handler() -> Any:
    """A SIGTERM handler standing in for the one a server installs; restored afterwards."""
    calls: list[int] = []

    def handler(signum: int, frame: object) -> None:
        calls.append(signum)

    previous = signal.signal(signal.SIGTERM, handler)
    try:
        yield handler, calls
    finally:
        signal.signal(signal.SIGTERM, previous)


async def test_sigterm_drains_first_then_reaches_the_servers_handler(server_handler: Any) -> None:
    handler, calls = server_handler
    drain = Drain("example", 1.0)
    drain.install()
    os.kill(os.getpid(), signal.SIGTERM)
    await _wait_for(lambda: drain.draining)
    await asyncio.sleep(0.1)
    assert calls == []  # still serving
    await _wait_for(lambda: calls == [signal.SIGTERM])
    drain.uninstall()
    assert signal.getsignal(signal.SIGTERM) is handler


async def test_a_second_sigterm_stops_at_once(server_handler: Any) -> None:
    _, calls = server_handler
    drain = Drain("example", 30)
    drain.install()
    os.kill(os.getpid(), signal.SIGTERM)
    await _wait_for(lambda: drain.draining)
    os.kill(os.getpid(), signal.SIGTERM)
    await _wait_for(lambda: calls == [signal.SIGTERM])
    drain.uninstall()  # the pending timer goes too: the server's handler is called once
    await asyncio.sleep(0.05)
    assert calls == [signal.SIGTERM]


async def test_no_drain_without_a_server_handler_or_off_the_main_thread(server_handler: Any) -> None:
    handler, _ = server_handler
    elsewhere = Drain("example", 1)
    thread = threading.Thread(target=lambda: asyncio.run(_install(elsewhere)))
    thread.start()
    thread.join()
    assert signal.getsignal(signal.SIGTERM) is handler

    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    Drain("example", 1).install()
    assert signal.getsignal(signal.SIGTERM) == signal.SIG_DFL


async def _install(drain: Drain) -> None:
    drain.install()


def test_the_drain_time_comes_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("DMT_SHUTDOWN_DRAIN_SECONDS", raising=False)
    assert drain_seconds_from_env() == 2.0
    monkeypatch.setenv("DMT_SHUTDOWN_DRAIN_SECONDS", "0")
    assert drain_seconds_from_env() == 0.0
    for wrong in ("-1", "soon", "nan"):
        monkeypatch.setenv("DMT_SHUTDOWN_DRAIN_SECONDS", wrong)
        with pytest.raises(SettingsError, match="DMT_SHUTDOWN_DRAIN_SECONDS"):
            drain_seconds_from_env()


APP_MODULE = """
import asyncio
import os
from pathlib import Path

from litestar import get

from dmt_shared.app import create_component_app
from dmt_shared.testing import TokenFactory

STARTED = Path(os.environ["SLOW_STARTED"])


@get("/slow")
async def slow() -> dict[str, str]:
    STARTED.write_text("started")
    await asyncio.sleep(1.5)
    return {"done": "yes"}


async def fine() -> None:
    return None


app = create_component_app(
    service="drainer",
    title="Drainer",
    version="1",
    route_handlers=[slow],
    verifier=TokenFactory().verifier(),
    ready_checks={"self": fine},
    public_paths=["^/slow$"],
)
"""


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def test_a_real_server_drains_on_sigterm_and_finishes_requests_in_flight(tmp_path: Path) -> None:
    (tmp_path / "drainer.py").write_text(textwrap.dedent(APP_MODULE))
    started = tmp_path / "started"
    port = _free_port()
    env = {
        **os.environ,
        "PYTHONPATH": str(tmp_path),
        "SLOW_STARTED": str(started),
        "DMT_LOG_FORMAT": "json",
        "DMT_SHUTDOWN_DRAIN_SECONDS": "1",
        "DMT_DATA_DIR": str(tmp_path),
    }
    cmd = [
        sys.executable, "-m", "uvicorn", "drainer:app", "--host", "127.0.0.1", "--port", str(port),
        "--no-access-log", "--timeout-graceful-shutdown", "10",
    ]  # fmt: skip
    with (tmp_path / "stderr.log").open("wb") as errors:
        proc = await asyncio.create_subprocess_exec(
            *cmd, cwd=tmp_path, env=env, stderr=errors, stdout=asyncio.subprocess.DEVNULL
        )
    try:
        base = f"http://127.0.0.1:{port}"
        async with httpx.AsyncClient(base_url=base, timeout=10) as client:
            deadline = time.monotonic() + 30
            while True:
                assert proc.returncode is None, (tmp_path / "stderr.log").read_text()
                assert time.monotonic() < deadline, "the server did not start"
                try:
                    if (await client.get("/health/ready")).status_code == 200:
                        break
                except httpx.TransportError:
                    await asyncio.sleep(0.1)

            slow = asyncio.create_task(client.get("/slow"))
            await _wait_for(started.exists)
            proc.send_signal(signal.SIGTERM)

            async def draining() -> bool:
                async with httpx.AsyncClient(base_url=base, timeout=5) as probe:
                    answer = await probe.get("/health/ready")
                return answer.status_code == 503 and answer.json()["status"] == "draining"

            deadline = time.monotonic() + 5
            while not await draining():
                assert time.monotonic() < deadline, "readiness never reported draining"

            answer = await slow
            assert answer.status_code == 200
            assert answer.json() == {"done": "yes"}

        # uvicorn ends by re-raising the SIGTERM it handled once shut down (or exits 0).
        code = await asyncio.wait_for(proc.wait(), 20)
        assert code in (0, -signal.SIGTERM)
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()

    lines = [json.loads(line) for line in (tmp_path / "stderr.log").read_text().splitlines()]
    messages = [(line["logger"], line["message"]) for line in lines]
    assert ("dmt.shutdown", "SIGTERM received: readiness reports draining; stopping in 1.0 s") in messages
    assert ("uvicorn.error", "Application shutdown complete.") in messages
    [access] = [line for line in lines if line["logger"] == "dmt.access" and line["path"] == "/slow"]
    assert (access["status"], access["component"]) == (200, "drainer")
    assert all(line["component"] == "drainer" for line in lines)
    assert not any(line["logger"] == "uvicorn.access" for line in lines)  # --no-access-log: ours only
