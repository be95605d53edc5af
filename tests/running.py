"""The whole system as `make run` starts it (`scripts/run.py`), on free ports and a fresh data
folder, for the tests that meet it from outside: the end-to-end tests (tests/e2e) and the
browser tests (tests/browser).

The test folders are not packages: ``tests`` is on pytest's ``pythonpath`` (the root
pyproject.toml), so a test module says ``from running import ...``.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

ROOT = Path(__file__).resolve().parents[1]

#: Seconds the system may take to start: migrations, demo users, catalogs and records.
START_SECONDS = 120


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class System:
    gateway: str
    services: dict[str, str]
    data_dir: Path
    process: subprocess.Popen[str]
    database_urls: dict[str, str]
    layout: str

    def database_url(self, service: str) -> str:
        """Where the service keeps its data: the URL it was given, or its SQLite file."""
        default = f"sqlite+aiosqlite:///{self.data_dir / f'{service}.db'}"
        return self.database_urls.get(service, default)

    def client(self) -> httpx.Client:
        return httpx.Client(base_url=self.gateway, timeout=30)

    def log(self) -> str:
        return (self.data_dir / "run.log").read_text()


def running_system(
    tmp_path_factory: pytest.TempPathFactory,
    database_urls: Mapping[str, str],
    layout: str,
    *,
    env: Mapping[str, str] | None = None,
) -> Iterator[System]:
    """Start the system, yield it once it says it is running, then stop it with Ctrl-C.

    Each service runs on its SQLite file in the data folder unless ``database_urls`` names
    another database for it; ``env`` adds variables for every component. Stopping checks that
    every component exited.
    """
    data_dir = tmp_path_factory.mktemp("data")
    ports = {name: free_port() for name in ("gateway", "auth", "masterdata", "records")}
    environment = {k: v for k, v in os.environ.items() if not k.endswith("_DATABASE_URL")}
    environment.update({f"{service.upper()}_DATABASE_URL": url for service, url in database_urls.items()})
    environment.update({f"DMT_{name.upper()}_PORT": str(port) for name, port in ports.items()})
    environment.update({"DMT_DATA_DIR": str(data_dir), "DMT_ENV": "development", "PYTHONUNBUFFERED": "1"})
    for name in ("auth", "masterdata", "records"):
        environment.pop(f"DMT_{name.upper()}_URL", None)
    environment.update(env or {})
    log_path = data_dir / "run.log"
    log = log_path.open("w")
    process = subprocess.Popen(
        [sys.executable, str(ROOT / "scripts" / "run.py")],
        cwd=ROOT,
        env=environment,
        stdout=log,
        stderr=subprocess.STDOUT,
        text=True,
    )
    gateway = f"http://127.0.0.1:{ports['gateway']}"
    deadline = time.monotonic() + START_SECONDS
    while time.monotonic() < deadline:
        if process.poll() is not None:
            log.close()
            pytest.fail("the system stopped while starting:\n" + log_path.read_text())
        if "DMT is running" in log_path.read_text():
            break
        time.sleep(0.3)
    else:
        process.kill()
        process.wait()
        log.close()
        pytest.fail(f"the system did not start in {START_SECONDS} s:\n" + log_path.read_text())
    services = {name: f"http://127.0.0.1:{ports[name]}" for name in ("auth", "masterdata", "records")}
    yield System(gateway, services, data_dir, process, dict(database_urls), layout)
    # Ctrl-C stops every component cleanly.
    process.send_signal(signal.SIGINT)
    try:
        assert process.wait(timeout=30) == 0, log_path.read_text()
    finally:
        if process.poll() is None:
            process.kill()
        log.close()
    for name in ports:
        pid = int((data_dir / "run" / f"{name}.pid").read_text())
        assert not Path(f"/proc/{pid}").exists() or "zombie" in Path(f"/proc/{pid}/status").read_text().lower()
