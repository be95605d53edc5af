"""Start DMT on one machine: the auth, masterdata and records services and the gateway.

Each component runs as its own uvicorn process with its own database URL (a SQLite file per
service under the data folder unless ``*_DATABASE_URL`` says otherwise). Each service applies
its migrations and, outside production, loads demo data into empty databases when it starts.
Outside production, an empty records database gets demo records through the public API
(``scripts/demo_records.py``; ``DMT_DEMO_RECORDS=false`` turns that off).
Ctrl-C (or SIGTERM) stops them all; a component that dies is reported and the others go on,
so one can be stopped by hand to see how the rest behave. On SIGTERM each component first
reports "draining" on ``/health/ready`` for ``DMT_SHUTDOWN_DRAIN_SECONDS`` (2) while still
serving, then lets its requests in flight finish (up to 10 s) before it exits.

Log lines are text in a terminal and JSON otherwise; ``DMT_LOG_FORMAT`` (json, text, auto)
says which, for every component.

Ports: ``DMT_GATEWAY_PORT`` (8000), ``DMT_AUTH_PORT`` (8001), ``DMT_MASTERDATA_PORT`` (8002),
``DMT_RECORDS_PORT`` (8003); host ``DMT_HOST`` (127.0.0.1).
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

COMPONENTS = (
    # name, ASGI factory, port variable, default port
    ("auth", "dmt_auth.asgi:create_app", "DMT_AUTH_PORT", 8001),
    ("masterdata", "dmt_masterdata.asgi:create_app", "DMT_MASTERDATA_PORT", 8002),
    ("records", "dmt_records.asgi:create_app", "DMT_RECORDS_PORT", 8003),
    ("gateway", "dmt_gateway.asgi:create_app", "DMT_GATEWAY_PORT", 8000),
)

#: Seconds a component lets its requests in flight finish once it stops accepting new ones.
GRACEFUL_SHUTDOWN_SECONDS = 10

DEMO_USERS = (
    ("ADM001", "admin123", "Admin"),
    ("ENG001", "engineer123", "Tech Engineer"),
    ("QUA001", "quality123", "Quality Engineer"),
    ("INS001..INS011", "employee123", "Inspector"),
    ("OPR001..OPR012", "employee123", "Operator"),
)


def wait_ready(url: str, proc: subprocess.Popen[bytes], timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            return False
        try:
            with urllib.request.urlopen(url, timeout=2) as response:  # noqa: S310 - our own local URL
                if response.status == 200:
                    return True
        except (urllib.error.URLError, OSError):
            pass
        time.sleep(0.2)
    return False


def drain_seconds(env: dict[str, str]) -> float:
    """How long the components keep serving after SIGTERM (they refuse a malformed value)."""
    try:
        return max(0.0, float(env.get("DMT_SHUTDOWN_DRAIN_SECONDS", "") or 2.0))
    except ValueError:
        return 2.0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--host", default=os.environ.get("DMT_HOST", "127.0.0.1"))
    parser.add_argument("--startup-timeout", type=float, default=90.0)
    args = parser.parse_args()

    ports = {name: int(os.environ.get(var, default)) for name, _, var, default in COMPONENTS}
    env = dict(os.environ)
    for name in ("auth", "masterdata", "records"):
        env.setdefault(f"DMT_{name.upper()}_URL", f"http://{args.host}:{ports[name]}")
    data_dir = Path(env.setdefault("DMT_DATA_DIR", str(Path("data").resolve())))
    run_dir = data_dir / "run"
    run_dir.mkdir(parents=True, exist_ok=True)

    procs: dict[str, subprocess.Popen[bytes]] = {}
    stopping = False

    def stop_all(*_: object) -> None:
        nonlocal stopping
        if stopping:
            return
        stopping = True
        print("\nstopping DMT ...", flush=True)
        for proc in procs.values():
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + drain_seconds(env) + GRACEFUL_SHUTDOWN_SECONDS + 5
        for proc in procs.values():
            try:
                proc.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                proc.kill()

    signal.signal(signal.SIGINT, stop_all)
    signal.signal(signal.SIGTERM, stop_all)

    for name, factory, _, _ in COMPONENTS:
        cmd = [
            sys.executable, "-m", "uvicorn", factory, "--factory",
            "--host", args.host, "--port", str(ports[name]),
            "--no-access-log", "--timeout-graceful-shutdown", str(GRACEFUL_SHUTDOWN_SECONDS),
        ]  # fmt: skip
        procs[name] = subprocess.Popen(cmd, env=env)  # noqa: S603 - fixed command line
        (run_dir / f"{name}.pid").write_text(str(procs[name].pid))
        # The services migrate and seed on start; wait so that their logs do not interleave.
        if not wait_ready(f"http://{args.host}:{ports[name]}/health/ready", procs[name], args.startup_timeout):
            if not stopping:
                print(f"{name} did not become ready; stopping", file=sys.stderr, flush=True)
            stop_all()
            return 1

    gateway = f"http://{args.host}:{ports['gateway']}"
    demo_records = env.get("DMT_DEMO_RECORDS", "true").lower() not in {"0", "false", "no", "off"}
    if demo_records and env.get("DMT_ENV", "development").lower() != "production":
        import demo_records as demo  # beside this file

        try:
            created = demo.load(gateway, int(env.get("DMT_DEMO_RECORD_COUNT", "40")))
        except Exception as exc:  # demo data must never stop the system
            print(f"demo records were not loaded: {exc}", file=sys.stderr, flush=True)
        else:
            if created:
                print(f"loaded {created} demo records", flush=True)
    print(
        f"\nDMT is running.\n"
        f"  web and API  {gateway}/          (API under {gateway}/api/v1)\n"
        f"  API docs     {gateway}/api/docs\n"
        f"  data folder  {data_dir}\n"
        f"  demo users   " + "; ".join(f"{u} / {p} ({r})" for u, p, r in DEMO_USERS) + "\n"
        "Press Ctrl-C to stop.\n",
        flush=True,
    )
    reported: set[str] = set()
    while not stopping:
        for name, proc in procs.items():
            code = proc.poll()
            if code is not None and name not in reported:
                reported.add(name)
                print(f"{name} exited with code {code}; the other components keep running", flush=True)
        if len(reported) == len(procs):
            return 1
        time.sleep(0.5)
    return 0


if __name__ == "__main__":
    sys.exit(main())
