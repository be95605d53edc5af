"""Measure DMT under load: start the real system, load records, run wrk scenarios, write a report.

    .venv/bin/python bench/run.py [--database sqlite|postgres] [--records 20000] [--duration 15]
                                  [--connections 16] [--smoke]      (or: make bench BENCH_ARGS="...")

What it does, in order:

1. Installs wrk when it is missing (``apt-get install -y wrk`` as root; otherwise it says how).
2. Starts the system with ``scripts/run.py`` on free ports in a fresh data folder: every service
   on SQLite, or (``--database postgres``) on PostgreSQL databases made for the run and dropped
   after it. The gateway's rate limits are switched off (``GATEWAY_RATE_LIMIT_USER=0``,
   ``GATEWAY_RATE_LIMIT_CLIENT=0``) and no demo records are made; the report lists every
   setting that differs from the defaults.
3. Loads ``--records`` records straight into the records database (``bench/seed.py``) while the
   services run, and checks that the API lists them all.
4. Runs each scenario with wrk for ``--duration`` seconds at ``--connections`` connections, through
   the gateway and directly against the service: the list, a filtered list, reading one record,
   creating records, changing records (with the version read), the Pareto chart and signing in;
   then exports 100,000 records (all of them when fewer) as CSV through the gateway, timing it and
   reading the peak memory (VmHWM) of the four processes.
5. Writes ``bench/results/<UTC time>-<database>-<records>.json`` and ``.md`` and prints the
   Markdown: the results, the export, and each target met or missed by how much.

``--smoke`` is a short run that proves the harness and the system work together (200 records,
2 s per scenario, 4 connections); it and every run exit with status 1 when any request failed.
Options can also come from the environment: BENCH_DATABASE, BENCH_RECORDS, BENCH_DURATION,
BENCH_CONNECTIONS, and BENCH_POSTGRES_URL (the server's admin URL; DMT_TEST_POSTGRES_URL too).
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import math
import os
import platform
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
sys.path.insert(0, str(BENCH))

import seed  # noqa: E402 - beside this file

WRK_DIR = BENCH / "wrk"
RESULTS = BENCH / "results"
SERVICES = ("auth", "masterdata", "records")
PROCESSES = ("gateway", "auth", "masterdata", "records")
DEFAULT_POSTGRES_URL = "postgresql+asyncpg://postgres@127.0.0.1:5432/postgres"
#: Settings the benchmark changes from the defaults, and why.
BENCH_SETTINGS = {
    "GATEWAY_RATE_LIMIT_USER": "0",  # one user makes every request: the limit would measure itself
    "GATEWAY_RATE_LIMIT_CLIENT": "0",  # likewise one client address
    "DMT_DEMO_RECORDS": "false",  # the loader makes the records
}
#: Variables the benchmark sets for the run itself (not settings of the system under test).
RUN_VARIABLES = {"DMT_ENV", "DMT_DATA_DIR", "DMT_LOG_FORMAT", "PYTHONUNBUFFERED"}
SETTING_PREFIXES = ("DMT_", "GATEWAY_", "AUTH_", "MASTERDATA_", "RECORDS_")
SECRET_WORDS = ("PASSWORD", "SECRET", "KEY", "TOKEN")
READER = ("ENG001", "engineer123")
INSPECTORS = [(f"INS{n:03d}", "employee123") for n in range(1, 12)]
ADMIN = ("ADM001", "admin123")

# -------------------------------------------------------------------- targets (from the issue)
LIST_RPS = 450.0
LIST_P99_MS = 100.0
READ_RPS = 1000.0
GATEWAY_COST = 0.35
CREATE_RPS = 300.0
EXPORT_SECONDS = 10.0
EXPORT_TARGET_ROWS = 100_000
#: Below this many rows an export is too short to say anything about the target.
EXPORT_MIN_ROWS = 10_000
RSS_MB = 200.0
LIST_P50_GROWTH = 2.0
SMALL_N, LARGE_N = 20_000, 1_000_000


def say(message: str) -> None:
    print(f"[bench] {message}", file=sys.stderr, flush=True)


class BenchError(RuntimeError):
    """The benchmark cannot go on; the message says why."""


# -------------------------------------------------------------------- options


@dataclass
class Options:
    database: str
    records: int
    duration: int
    connections: int
    threads: int
    warmup: int
    timeout: int
    smoke: bool
    postgres_url: str
    scenarios: tuple[str, ...]
    keep: bool
    output: Path
    export_rows: int


def server_stack() -> str:
    """The HTTP server's versions and what it runs on: uvicorn takes httptools and uvloop when
    they are installed, and either changes every number here."""
    from importlib.metadata import PackageNotFoundError, version

    parts = []
    for name in ("uvicorn", "httptools", "uvloop", "litestar", "sqlalchemy"):
        try:
            parts.append(f"{name} {version(name)}")
        except PackageNotFoundError:
            parts.append(f"no {name}")
    return ", ".join(parts)


def parse_options(argv: Sequence[str] | None) -> Options:
    env = os.environ
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n", 1)[0], formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--database", choices=("sqlite", "postgres"), default=env.get("BENCH_DATABASE", "sqlite"))
    parser.add_argument("--records", type=int, default=None, help="records to load (default 20000; smoke 200)")
    parser.add_argument("--duration", type=int, default=None, help="seconds per scenario (default 15; smoke 2)")
    parser.add_argument("--connections", type=int, default=None, help="wrk connections (default 16; smoke 4)")
    parser.add_argument("--threads", type=int, default=2, help="wrk threads (at most the connections)")
    parser.add_argument("--warmup", type=int, default=None, help="seconds of warm-up before each read scenario")
    parser.add_argument("--timeout", type=int, default=30, help="seconds after which wrk counts a request lost")
    parser.add_argument("--smoke", action="store_true", help="a short run that fails on any error")
    parser.add_argument(
        "--postgres-url",
        default=env.get("BENCH_POSTGRES_URL") or env.get("DMT_TEST_POSTGRES_URL") or DEFAULT_POSTGRES_URL,
        help="admin URL of the PostgreSQL server that gets the run's databases",
    )
    parser.add_argument(
        "--scenarios", default="", help=f"comma list of scenarios to run (default all: {', '.join(SCENARIO_KEYS)})"
    )
    parser.add_argument("--keep", action="store_true", help="keep the data folder (and databases) afterwards")
    parser.add_argument("--output", type=Path, default=RESULTS, help="where the report goes")
    parser.add_argument("--export-rows", type=int, default=EXPORT_TARGET_ROWS, help="rows the export scenario asks")
    args = parser.parse_args(argv)

    def pick(given: int | None, variable: str, normal: int, smoke: int) -> int:
        if given is not None:
            return given
        if variable in env and not args.smoke:
            return int(env[variable])
        return smoke if args.smoke else normal

    records = pick(args.records, "BENCH_RECORDS", SMALL_N, 200)
    connections = pick(args.connections, "BENCH_CONNECTIONS", 16, 4)
    scenarios = tuple(s.strip() for s in args.scenarios.split(",") if s.strip()) or SCENARIO_KEYS
    unknown = [s for s in scenarios if s not in SCENARIO_KEYS]
    if unknown:
        parser.error(f"unknown scenarios {', '.join(unknown)}; choose from {', '.join(SCENARIO_KEYS)}")
    if records < 1 or connections < 1:
        parser.error("--records and --connections must be at least 1")
    return Options(
        database=args.database,
        records=records,
        duration=pick(args.duration, "BENCH_DURATION", 15, 2),
        connections=connections,
        threads=max(1, min(args.threads, connections)),
        warmup=args.warmup if args.warmup is not None else (0 if args.smoke else 2),
        timeout=args.timeout,
        smoke=args.smoke,
        postgres_url=args.postgres_url,
        scenarios=scenarios,
        keep=args.keep,
        output=args.output,
        export_rows=args.export_rows,
    )


# -------------------------------------------------------------------- wrk


def ensure_wrk() -> str:
    """The path of wrk, installed with apt-get when it is missing and this runs as root."""
    found = shutil.which("wrk")
    if found:
        return found
    if shutil.which("apt-get") and os.geteuid() == 0:
        say("wrk is not installed; installing it with apt-get")
        for command in (["apt-get", "update", "-qq"], ["apt-get", "install", "-y", "-qq", "wrk"]):
            subprocess.run(command, check=False, stdout=subprocess.DEVNULL)  # noqa: S603 - the system's apt-get
        found = shutil.which("wrk")
        if found:
            return found
    raise BenchError(
        "wrk (the HTTP load generator) is not installed and could not be installed here. "
        "Install it: `sudo apt-get install -y wrk` (Debian/Ubuntu), `brew install wrk` (macOS), "
        "or build it from https://github.com/wg/wrk"
    )


def lua(value: Any) -> str:
    """``value`` (dicts, lists, strings, numbers) as a Lua expression."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, str):
        escaped = value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n").replace("\r", "\\r")
        return f'"{escaped}"'
    if isinstance(value, Mapping):
        return "{" + ", ".join(f"[{lua(k)}] = {lua(v)}" for k, v in value.items()) + "}"
    if isinstance(value, list | tuple):
        return "{" + ", ".join(lua(v) for v in value) + "}"
    if value is None:
        return "nil"
    raise TypeError(f"no Lua form for {type(value).__name__}")


@dataclass
class Load:
    """One wrk run's numbers, as the scripts' done() prints them."""

    requests: int = 0
    duration_s: float = 0.0
    rps: float = 0.0
    p50_ms: float = 0.0
    p90_ms: float = 0.0
    p99_ms: float = 0.0
    max_ms: float = 0.0
    non2xx: int = 0
    socket_errors: dict[str, int] = field(default_factory=dict)
    bytes: int = 0
    first_error: str = ""

    @property
    def errors(self) -> int:
        return self.non2xx + sum(self.socket_errors.values())

    def as_dict(self) -> dict[str, Any]:
        return {**self.__dict__, "errors": self.errors}


def run_wrk(
    wrk: str,
    script: str,
    base_url: str,
    data: Mapping[str, Any],
    work_dir: Path,
    *,
    seconds: int,
    connections: int,
    threads: int,
    timeout: int,
) -> Load:
    data_file = work_dir / f"data-{time.monotonic_ns()}.lua"
    data_file.write_text("return " + lua(data) + "\n", encoding="utf-8")
    command = [
        wrk, "-t", str(threads), "-c", str(connections), "-d", f"{seconds}s", "--timeout", f"{timeout}s",
        "-s", str(WRK_DIR / script), base_url,
    ]  # fmt: skip
    env = {**os.environ, "BENCH_DATA": str(data_file), "BENCH_LUA_DIR": str(WRK_DIR)}
    finished = subprocess.run(command, env=env, capture_output=True, text=True, check=False)  # noqa: S603
    data_file.unlink(missing_ok=True)
    for line in reversed(finished.stdout.splitlines()):
        if line.startswith("{"):
            return Load(**json.loads(line))
    raise BenchError(f"wrk gave no result (exit {finished.returncode}):\n{finished.stdout}\n{finished.stderr}")


# -------------------------------------------------------------------- the system


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def changed_settings(environ: Mapping[str, str]) -> dict[str, str]:
    """Settings of the system that differ from its defaults: the benchmark's own and the caller's."""
    given = {
        name: value
        for name, value in environ.items()
        if name.startswith(SETTING_PREFIXES)
        and not name.startswith(("DMT_TEST_", "DMT_BENCH_"))
        and not name.endswith(("_DATABASE_URL", "_PORT", "_URL", "_URLS"))
        and name not in RUN_VARIABLES
        and name not in BENCH_SETTINGS
    }
    shown = {k: ("***" if any(word in k for word in SECRET_WORDS) else v) for k, v in sorted(given.items())}
    return {**BENCH_SETTINGS, **shown}


@dataclass
class System:
    process: subprocess.Popen[bytes]
    data_dir: Path
    urls: dict[str, str]
    database_urls: dict[str, str]
    log: Path

    @property
    def gateway(self) -> str:
        return self.urls["gateway"]

    def pid(self, name: str) -> int | None:
        try:
            return int((self.data_dir / "run" / f"{name}.pid").read_text().strip())
        except (OSError, ValueError):
            return None


@contextmanager
def running_system(data_dir: Path, database_urls: dict[str, str], startup_timeout: float = 180) -> Iterator[System]:
    ports = {name: free_port() for name in PROCESSES}
    env = {k: v for k, v in os.environ.items() if not k.endswith("_DATABASE_URL")}
    for name in SERVICES:
        env.pop(f"DMT_{name.upper()}_URL", None)
    env.update({f"{service.upper()}_DATABASE_URL": url for service, url in database_urls.items()})
    env.update({f"DMT_{name.upper()}_PORT": str(port) for name, port in ports.items()})
    env.update(BENCH_SETTINGS)
    env.update({"DMT_DATA_DIR": str(data_dir), "DMT_ENV": "development", "DMT_LOG_FORMAT": "json"})
    env["PYTHONUNBUFFERED"] = "1"
    log = data_dir / "run.log"
    with log.open("wb") as out:
        process = subprocess.Popen(  # noqa: S603 - our own script
            [sys.executable, str(ROOT / "scripts" / "run.py")], cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT
        )
    urls = {name: f"http://127.0.0.1:{port}" for name, port in ports.items()}
    system = System(process, data_dir, urls, database_urls, log)
    try:
        deadline = time.monotonic() + startup_timeout
        while b"DMT is running" not in log.read_bytes():
            if process.poll() is not None or time.monotonic() > deadline:
                tail = log.read_text(errors="replace")[-4000:]
                raise BenchError(f"the system did not start (see {log}):\n{tail}")
            time.sleep(0.3)
        yield system
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=40)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


@contextmanager
def databases(options: Options) -> Iterator[dict[str, str]]:
    """The services' database URLs: empty for SQLite (each service's file in the data folder), or
    one PostgreSQL database per service, made now and dropped afterwards."""
    if options.database == "sqlite":
        yield {}
        return
    from dmt_shared.pytest_plugin import create_server_database, drop_server_database

    made: list[str] = []
    urls: dict[str, str] = {}
    try:
        for service in SERVICES:
            try:
                url, name = asyncio.run(create_server_database(options.postgres_url))
            except Exception as exc:  # any failure to reach or use the server
                raise BenchError(f"could not make a database on {options.postgres_url}: {exc}") from exc
            made.append(name)
            urls[service] = url
        yield urls
    finally:
        if options.keep:
            if made:
                say(f"kept the databases {', '.join(made)}")
        else:
            for name in made:
                asyncio.run(drop_server_database(options.postgres_url, name))


def records_database_url(system: System) -> str:
    return system.database_urls.get("records") or f"sqlite+aiosqlite:///{system.data_dir / 'records.db'}"


# -------------------------------------------------------------------- helpers on the running system


def login(base_url: str, user: tuple[str, str]) -> str:
    with httpx.Client(base_url=base_url, timeout=30) as client:
        return seed.login(client, *user)


def listed_total(system: System, token: str) -> int:
    response = httpx.get(
        f"{system.gateway}/api/v1/records",
        params={"page_size": 1},
        headers={"Authorization": f"Bearer {token}"},
        timeout=120,
    )
    response.raise_for_status()
    total: int = response.json()["total"]
    return total


async def _editable(database_url: str, first_id: int, last_id: int) -> list[tuple[int, int]]:
    """(id, version) of loaded records an Inspector may still change: not closed, not deleted."""
    from sqlalchemy import select
    from sqlalchemy.ext.asyncio import create_async_engine

    from dmt_records.db.models import Record

    engine = create_async_engine(database_url)
    try:
        async with engine.connect() as conn:
            rows = await conn.execute(
                select(Record.id, Record.version)
                .where(Record.is_closed.is_(False), Record.deleted_at.is_(None), Record.id.between(first_id, last_id))
                .order_by(Record.id)
            )
            return [(int(i), int(v)) for i, v in rows.all()]
    finally:
        await engine.dispose()


def memory_mb(pid: int | None, key: str) -> float | None:
    """``VmHWM`` (peak) or ``VmRSS`` of a process, in MB; None when it cannot be read."""
    if pid is None:
        return None
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(key + ":"):
                return int(line.split()[1]) / 1024
    except (OSError, ValueError, IndexError):
        return None
    return None


def reset_peak(pid: int | None) -> bool:
    """Start a process's VmHWM afresh (Linux: ``5`` into clear_refs); False where that is not possible."""
    if pid is None:
        return False
    try:
        Path(f"/proc/{pid}/clear_refs").write_text("5")
    except OSError:
        return False
    return True


# -------------------------------------------------------------------- scenarios


@dataclass(frozen=True)
class Scenario:
    key: str
    number: str
    title: str
    #: Ask the services directly too (the records service; auth for signing in).
    direct: str = "records"


SCENARIOS = (
    Scenario("list", "1", "List, page of 50"),
    Scenario("list_filtered", "1b", "Filtered list (status=open, a part number)"),
    Scenario("read", "2", "Read one record"),
    Scenario("create", "3", "Create a record"),
    Scenario("update", "4", "Change a record (If-Match)"),
    Scenario("export", "5", "Export CSV"),
    Scenario("pareto", "6", "Pareto by failure code, all records"),
    Scenario("login", "7", "Sign in (argon2id)", direct="auth"),
)
SCENARIO_KEYS = tuple(s.key for s in SCENARIOS)


@dataclass
class Context:
    options: Options
    system: System
    wrk: str
    work_dir: Path
    reference: seed.Reference
    loaded: seed.SeedResult
    editable: list[tuple[int, int]] = field(default_factory=list)

    def load(self, script: str, base_url: str, data: Mapping[str, Any], *, warm: bool = False) -> Load:
        o = self.options
        common = {"connections": o.connections, "threads": o.threads, "timeout": o.timeout}
        if warm and o.warmup > 0:
            run_wrk(self.wrk, script, base_url, data, self.work_dir, seconds=o.warmup, **common)
        return run_wrk(self.wrk, script, base_url, data, self.work_dir, seconds=o.duration, **common)


def scenario_data(ctx: Context, key: str, token: str, round_number: int) -> tuple[str, dict[str, Any], bool]:
    """The wrk script, its data and whether it is warmed up first, for one scenario."""
    data: dict[str, Any] = {"token": token}
    if key == "list":
        return "get.lua", {**data, "path": "/api/v1/records?page_size=50"}, True
    if key == "list_filtered":
        path = "/api/v1/records?page_size=50&status=open&part_number_id={n}"
        return "get.lua", {**data, "path": path, "values": ctx.reference.catalogs["part-numbers"]}, True
    if key == "read":
        low, high = ctx.loaded.first_id, ctx.loaded.last_id
        return "get.lua", {**data, "path": "/api/v1/records/{n}", "low": low, "high": high}, True
    if key == "pareto":
        return "get.lua", {**data, "path": "/api/v1/analytics/pareto?by=failure_code"}, True
    if key == "create":
        today = dt.datetime.now(dt.UTC).date().isoformat()
        return "create.lua", {**data, "catalogs": ctx.reference.catalogs, "date": today}, False
    if key == "update":
        return "patch.lua", {**data, "shares": update_shares(ctx, round_number)}, False
    if key == "login":
        return "login.lua", {"path": "/api/v1/auth/login", "users": INSPECTORS}, False
    raise AssertionError(key)


def update_shares(ctx: Context, round_number: int) -> list[list[tuple[int, int]]]:
    """Records for each wrk thread of one round (gateway 0, direct 1); no record in two shares."""
    o = ctx.options
    per_thread = math.ceil(o.connections / o.threads)
    available = len(ctx.editable) // (2 * o.threads)
    size = min(4 * per_thread, available)
    if size <= per_thread:
        raise BenchError(
            f"only {len(ctx.editable)} loaded records may still be changed; the change scenario needs more than "
            f"{2 * o.threads * per_thread} at {o.connections} connections (load more records)"
        )
    start = round_number * o.threads * size
    return [ctx.editable[start + t * size : start + (t + 1) * size] for t in range(o.threads)]


def run_load_scenario(ctx: Context, scenario: Scenario) -> dict[str, Load]:
    results: dict[str, Load] = {}
    direct_url = ctx.system.urls[scenario.direct]
    for round_number, (via, base_url) in enumerate((("gateway", ctx.system.gateway), ("direct", direct_url))):
        user = INSPECTORS[round_number] if scenario.key in ("create", "update") else READER
        token = login(ctx.system.gateway, user)
        script, data, warm = scenario_data(ctx, scenario.key, token, round_number)
        say(f"{scenario.number} {scenario.title} via {via} ({ctx.options.duration} s) ...")
        results[via] = ctx.load(script, base_url, data, warm=warm)
        load = results[via]
        say(f"  {load.rps:,.1f} req/s, p50 {load.p50_ms:.1f} ms, p99 {load.p99_ms:.1f} ms, errors {load.errors}")
        if load.errors:
            say(f"  first error: {load.first_error or load.socket_errors}")
    return results


def run_export(ctx: Context) -> dict[str, Any]:
    """Export through the gateway: the newest ``export_rows`` loaded records (all when fewer)."""
    o, system, loaded = ctx.options, ctx.system, ctx.loaded
    rows_expected = min(o.export_rows, loaded.records)
    assert loaded.export_from is not None
    assert loaded.created_to is not None
    params = {"created_from": loaded.export_from.isoformat(), "created_to": loaded.created_to.isoformat()}
    token = login(system.gateway, READER)
    pids = {name: system.pid(name) for name in PROCESSES}
    peak_before = {name: memory_mb(pid, "VmHWM") for name, pid in pids.items()}
    reset = {name: reset_peak(pid) for name, pid in pids.items()}
    say(f"5 Export of {rows_expected:,} records as CSV via gateway ...")
    size = lines = 0
    status = 0
    error = ""
    began = time.perf_counter()
    try:
        with (
            httpx.Client(timeout=httpx.Timeout(120, connect=10)) as client,
            client.stream(
                "GET",
                f"{system.gateway}/api/v1/records/export.csv",
                params=params,
                headers={"Authorization": f"Bearer {token}"},
            ) as response,
        ):
            status = response.status_code
            for chunk in response.iter_bytes():
                size += len(chunk)
                lines += chunk.count(b"\n")
            if response.is_error:
                error = f"{status}"
    except httpx.HTTPError as exc:
        error = f"{type(exc).__name__}: {exc}"
    seconds = time.perf_counter() - began
    rows = max(0, lines - 1)  # the header line; the loaded texts hold no line breaks
    if not error and rows != rows_expected:
        error = f"{rows} rows instead of {rows_expected}"
    peak = {name: memory_mb(pid, "VmHWM") for name, pid in pids.items()}
    result = {
        "via": "gateway",
        "rows": rows,
        "rows_expected": rows_expected,
        "seconds": seconds,
        "rows_per_s": rows / seconds if seconds else 0.0,
        "bytes": size,
        "status": status,
        "errors": 1 if error else 0,
        "error": error,
        "peak_rss_mb": peak,
        "peak_measured_from_export_start": all(reset.values()),
        "peak_rss_before_mb": peak_before,
    }
    say(
        f"  {rows:,} rows, {size / 1e6:.1f} MB in {seconds:.2f} s; peak RSS {fmt_rss(peak)}"
        + (f"; {error}" if error else "")
    )
    return result


def scan_log(log: Path, until: int | None = None, samples: int = 5) -> dict[str, Any]:
    """Warnings and errors the components logged during the run (JSON lines; tracebacks too), up
    to byte ``until`` of the log: what they say about being stopped afterwards is no finding."""
    counts = {"WARNING": 0, "ERROR": 0}
    seen: list[str] = []
    try:
        with log.open("rb") as handle:
            lines = handle.read(until if until is not None else -1).decode(errors="replace").splitlines()
    except OSError:
        return {"warnings": 0, "errors": 0, "samples": []}
    for line in lines:
        level, message = "", ""
        if line.startswith("{"):
            with suppress(ValueError):
                entry = json.loads(line)
                level = str(entry.get("level", "")).upper()
                message = f"{entry.get('component') or entry.get('logger')}: {entry.get('message')}"
                if entry.get("exc_info"):
                    message += " | " + str(entry["exc_info"]).strip().splitlines()[-1]
        elif line.startswith("Traceback"):
            level, message = "ERROR", "a traceback outside the log format (see the run's log)"
        level = "ERROR" if level == "CRITICAL" else level
        if level in counts:
            counts[level] += 1
            if message and message[:300] not in seen and len(seen) < samples:
                seen.append(message[:300])
    return {"warnings": counts["WARNING"], "errors": counts["ERROR"], "samples": seen}


# -------------------------------------------------------------------- report


def cpu_model() -> str:
    with suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    return platform.processor() or platform.machine()


def memory_total() -> str:
    with suppress(OSError, ValueError, IndexError):
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                return f"{int(line.split()[1]) / 1024 / 1024:.1f} GiB"
    return "unknown"


def code_version() -> str:
    try:
        commit = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"],  # noqa: S607
            cwd=ROOT, capture_output=True, text=True, check=True,
        ).stdout.strip()  # fmt: skip
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"],  # noqa: S607
            cwd=ROOT, capture_output=True, text=True, check=True,
        ).stdout.strip()  # fmt: skip
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    return commit + (" with uncommitted changes" if dirty else "")


def fmt_rss(peak: Mapping[str, float | None]) -> str:
    return ", ".join(f"{name} {value:.0f} MB" if value is not None else f"{name} ?" for name, value in peak.items())


def previous_result(output: Path, database: str, records: int) -> dict[str, Any] | None:
    """The newest earlier report of a run on ``database`` with ``records`` records, if any."""
    for path in sorted(output.glob(f"*-{database}-{records}.json"), reverse=True):
        with suppress(OSError, ValueError):
            found: dict[str, Any] = json.loads(path.read_text())
            found["_file"] = path.name
            return found
    return None


def percent(value: float) -> str:
    return f"{value * 100:.0f}%"


def check(target: str, measured: str, met: bool | None, short: str = "") -> dict[str, Any]:
    verdict = "not measured" if met is None else ("met" if met else "missed") + (f" {short}" if short else "")
    return {"target": target, "measured": measured, "met": met, "verdict": verdict.strip()}


def at_least(value: float, goal: float, unit: str) -> tuple[bool, str]:
    if value >= goal:
        return True, f"(+{percent(value / goal - 1)})"
    return False, f"by {goal - value:,.0f} {unit} ({percent(1 - value / goal)})"


def at_most(value: float, goal: float, unit: str) -> tuple[bool, str]:
    if value < goal:
        return True, f"({goal - value:,.1f} {unit} to spare)"
    return False, f"by {value - goal:,.1f} {unit}"


def gateway_cost(results: Mapping[str, Mapping[str, Any]], key: str) -> float | None:
    pair = results.get(key)
    if not pair or "gateway" not in pair or "direct" not in pair or not pair["direct"]["rps"]:
        return None
    cost: float = 1 - pair["gateway"]["rps"] / pair["direct"]["rps"]
    return cost


def evaluate(report: Mapping[str, Any], output: Path) -> list[dict[str, Any]]:
    results = report["results"]
    checks: list[dict[str, Any]] = []
    listing = results.get("list", {}).get("gateway")
    if listing:
        met, short = at_least(listing["rps"], LIST_RPS, "req/s")
        checks.append(
            check(f"List page of 50 via gateway >= {LIST_RPS:.0f} req/s", f"{listing['rps']:,.0f} req/s", met, short)
        )
        met, short = at_most(listing["p99_ms"], LIST_P99_MS, "ms")
        checks.append(check(f"List p99 < {LIST_P99_MS:.0f} ms", f"{listing['p99_ms']:.1f} ms", met, short))
    read = results.get("read", {}).get("gateway")
    if read:
        met, short = at_least(read["rps"], READ_RPS, "req/s")
        checks.append(
            check(f"Read one record via gateway >= {READ_RPS:.0f} req/s", f"{read['rps']:,.0f} req/s", met, short)
        )
    for key, name in (("list", "list"), ("list_filtered", "filtered list"), ("read", "read")):
        cost = gateway_cost(results, key)
        if cost is not None:
            met = cost <= GATEWAY_COST
            short = f"({percent(GATEWAY_COST - cost)} to spare)" if met else f"by {percent(cost - GATEWAY_COST)}"
            checks.append(check(f"Gateway cost on the {name} <= {percent(GATEWAY_COST)}", percent(cost), met, short))
    create = results.get("create", {}).get("gateway")
    if create:
        target = f"Create via gateway >= {CREATE_RPS:.0f} records/s with 0 errors (SQLite)"
        measured = f"{create['rps']:,.0f} records/s, {create['errors']} errors"
        if report["database"] != "sqlite":
            checks.append(check(target, measured + f" on {report['database']}", None))
        else:
            met, short = at_least(create["rps"], CREATE_RPS, "records/s")
            if create["errors"]:
                met, short = False, f"({create['errors']} errors)" + ("" if met else f", {short}")
            checks.append(check(target, measured, met, short))
    export = report.get("export")
    if export:
        rows, seconds = export["rows"], export["seconds"]
        target = f"Export {EXPORT_TARGET_ROWS:,} rows CSV < {EXPORT_SECONDS:.0f} s"
        if export["rows_expected"] >= EXPORT_TARGET_ROWS:
            met, short = at_most(seconds, EXPORT_SECONDS, "s")
            checks.append(check(target, f"{seconds:.1f} s", met and not export["errors"], short))
        elif export["rows_expected"] < EXPORT_MIN_ROWS:
            measured = f"{rows:,} rows in {seconds:.2f} s (too few rows to judge)"
            checks.append(check(target, measured, None))
        else:
            # Fewer rows than the target speaks of: the rate it implies (10,000 rows/s), judged as such.
            goal = EXPORT_TARGET_ROWS / EXPORT_SECONDS
            met, short = at_least(export["rows_per_s"], goal, "rows/s")
            measured = f"{rows:,} rows in {seconds:.2f} s = {export['rows_per_s']:,.0f} rows/s (needs {goal:,.0f})"
            checks.append(
                check(target + " (as a rate: fewer rows loaded)", measured, met and not export["errors"], short)
            )
        peaks = {k: v for k, v in export["peak_rss_mb"].items() if v is not None}
        if peaks:
            name, largest = max(peaks.items(), key=lambda item: item[1])
            met, short = at_most(largest, RSS_MB, "MB")
            checks.append(
                check(f"Peak RSS of each process < {RSS_MB:.0f} MB", f"{largest:.0f} MB ({name})", met, short)
            )
    checks.append(list_growth(report, output))
    return checks


def list_growth(report: Mapping[str, Any], output: Path) -> dict[str, Any]:
    target = f"List p50 at {LARGE_N:,} records <= {LIST_P50_GROWTH:.0f}x the p50 at {SMALL_N:,}"
    listing = report["results"].get("list", {}).get("gateway")
    other_n = {SMALL_N: LARGE_N, LARGE_N: SMALL_N}.get(report["records"])
    other = previous_result(output, report["database"], other_n) if other_n and listing else None
    other_list = (other or {}).get("results", {}).get("list", {}).get("gateway")
    if not listing or not other_list:
        return check(target, f"needs runs at {SMALL_N:,} and {LARGE_N:,} records on {report['database']}", None)
    small, large = (listing, other_list) if report["records"] == SMALL_N else (other_list, listing)
    ratio = large["p50_ms"] / small["p50_ms"] if small["p50_ms"] else math.inf
    measured = f"{large['p50_ms']:.1f} ms / {small['p50_ms']:.1f} ms = {ratio:.2f}x (other run: {other['_file']})"  # type: ignore[index]
    met = ratio <= LIST_P50_GROWTH
    return check(target, measured, met, "" if met else f"by {ratio - LIST_P50_GROWTH:.2f}x")


def markdown(report: Mapping[str, Any]) -> str:
    o = report["options"]
    loaded = report["loaded"]
    settings = ", ".join(f"`{k}={v}`" for k, v in report["settings_changed"].items())
    lines = [
        f"# DMT benchmark: {report['database']}, {report['records']:,} records",
        "",
        "| | |",
        "|---|---|",
        f"| Date | {report['date']} |",
        f"| Machine | {report['machine']['cores']} cores, {report['machine']['cpu']}, {report['machine']['memory']} |",
        f"| Load average before the run | {report['machine']['load_average']} |",
        f"| Python | {report['machine']['python']}; {report['machine']['server']} |",
        f"| Code | {report['code']} |",
        f"| Database | {report['database_detail']} |",
        f"| Records | {report['records']:,} loaded in {loaded['seconds']:.1f} s "
        f"({loaded['texts']:,} texts, {loaded['history']:,} history lines, {loaded['signatures']:,} signatures; "
        + ", ".join(f"{k} {v / report['records']:.0%}" for k, v in sorted(loaded["statuses"].items()))
        + ") |",
        f"| Each scenario | {o['duration']} s at {o['connections']} connections, {o['threads']} wrk threads"
        + (f", after {o['warmup']} s of warm-up (reads)" if o["warmup"] else "")
        + " |",
        f"| Settings changed from the defaults | {settings} |",
        "",
        "| Scenario | Via | req/s | p50 ms | p99 ms | Errors |",
        "|---|---|---:|---:|---:|---:|",
    ]
    for scenario in SCENARIOS:
        pair = report["results"].get(scenario.key)
        if not pair:
            continue
        for via, load in pair.items():
            name = f"{scenario.number} {scenario.title}" if via == "gateway" else ""
            where = "gateway" if via == "gateway" else f"direct ({scenario.direct})"
            numbers = f"{load['rps']:,.1f} | {load['p50_ms']:.1f} | {load['p99_ms']:.1f} | {load['errors']}"
            lines.append(f"| {name} | {where} | {numbers} |")
    export = report.get("export")
    if export:
        note = "" if export["peak_measured_from_export_start"] else " (peak since the process started)"
        lines += [
            "",
            f"**Export** (5, CSV via gateway): {export['rows']:,} rows in {export['seconds']:.2f} s "
            f"({export['rows_per_s']:,.0f} rows/s, {export['bytes'] / 1e6:.1f} MB), {export['errors']} errors"
            + (f" ({export['error']})" if export["error"] else "")
            + f"; peak RSS{note}: {fmt_rss(export['peak_rss_mb'])}.",
        ]
    costs = [
        f"{s.number} {s.title}: {percent(c)}"
        for s in SCENARIOS
        if (c := gateway_cost(report["results"], s.key)) is not None
    ]
    if costs:
        lines += ["", "**Gateway's cost** (1 - gateway req/s / direct req/s): " + "; ".join(costs) + "."]
    logged = report.get("service_log")
    if logged:
        lines += [
            "",
            f"**Service logs**: {logged['errors']} errors, {logged['warnings']} warnings"
            + ("; first: " + "; ".join(f"`{m}`" for m in logged["samples"]) if logged["samples"] else "")
            + ".",
        ]
    lines += ["", "| Target | Measured | |", "|---|---|---|"]
    lines += [f"| {c['target']} | {c['measured']} | {c['verdict']} |" for c in report["targets"]]
    failures = [
        f"- {key} via {via}: {load['errors']} errors ({load['non2xx']} not 2xx, socket {load['socket_errors']}); "
        f"first: `{load['first_error'][:300]}`"
        for key, pair in report["results"].items()
        for via, load in pair.items()
        if load["errors"]
    ]
    if failures:
        lines += ["", "**Errors**", "", *failures]
    return "\n".join(lines) + "\n"


# -------------------------------------------------------------------- main


def database_detail(options: Options, system: System) -> str:
    if options.database == "sqlite":
        import sqlite3

        return f"SQLite {sqlite3.sqlite_version}, one file per service"

    async def version() -> str:
        from sqlalchemy import text
        from sqlalchemy.ext.asyncio import create_async_engine

        engine = create_async_engine(records_database_url(system))
        try:
            async with engine.connect() as conn:
                return str(await conn.scalar(text("SHOW server_version")))
        finally:
            await engine.dispose()

    return f"PostgreSQL {asyncio.run(version())}, one database per service"


def bench(options: Options) -> int:
    wrk = ensure_wrk()
    started = dt.datetime.now(dt.UTC)
    load_average = " / ".join(f"{x:.2f}" for x in os.getloadavg()) + " (1 / 5 / 15 min)"
    options.output.mkdir(parents=True, exist_ok=True)
    data_dir = Path(tempfile.mkdtemp(prefix="dmt-bench-"))
    measured_until: int | None = None
    say(f"data folder {data_dir}; {options.database}; {options.records:,} records")
    try:
        with databases(options) as database_urls, running_system(data_dir, database_urls) as system:
            say(f"the system is running (gateway {system.gateway})")
            reference = seed.fetch_reference(system.gateway, ADMIN)
            loaded = asyncio.run(
                seed.load(
                    records_database_url(system),
                    reference,
                    options.records,
                    export_rows=options.export_rows,
                    progress=say,
                )
            )
            total = listed_total(system, login(system.gateway, READER))
            if total != options.records:
                raise BenchError(f"the API lists {total:,} records after {options.records:,} were loaded")
            say(f"loaded {loaded.records:,} records in {loaded.seconds:.1f} s; the API lists {total:,}")
            work_dir = data_dir / "wrk"
            work_dir.mkdir()
            ctx = Context(options, system, wrk, work_dir, reference, loaded)
            if "update" in options.scenarios:
                ctx.editable = asyncio.run(_editable(records_database_url(system), loaded.first_id, loaded.last_id))
            results: dict[str, dict[str, Any]] = {}
            export: dict[str, Any] | None = None
            for scenario in SCENARIOS:
                if scenario.key not in options.scenarios:
                    continue
                if scenario.key == "export":
                    export = run_export(ctx)
                else:
                    results[scenario.key] = {v: load.as_dict() for v, load in run_load_scenario(ctx, scenario).items()}
            measured_until = system.log.stat().st_size
            report: dict[str, Any] = {
                "date": started.strftime("%Y-%m-%d %H:%M UTC"),
                "machine": {
                    "cores": os.cpu_count(),
                    "cpu": cpu_model(),
                    "memory": memory_total(),
                    "load_average": load_average,
                    "python": platform.python_version(),
                    "platform": platform.platform(),
                    "server": server_stack(),
                },
                "code": code_version(),
                "database": options.database,
                "database_detail": database_detail(options, system),
                "records": options.records,
                "options": {
                    "duration": options.duration,
                    "connections": options.connections,
                    "threads": options.threads,
                    "warmup": options.warmup,
                    "timeout": options.timeout,
                    "smoke": options.smoke,
                    "scenarios": list(options.scenarios),
                },
                "settings_changed": changed_settings(os.environ),
                "loaded": {
                    "seconds": loaded.seconds,
                    "texts": loaded.texts,
                    "history": loaded.history,
                    "signatures": loaded.signatures,
                    "statuses": loaded.statuses,
                },
                "results": results,
                "export": export,
            }
    finally:
        service_log = scan_log(data_dir / "run.log", measured_until)
        if options.keep:
            say(f"kept the data folder {data_dir}")
        else:
            shutil.rmtree(data_dir, ignore_errors=True)
    report["service_log"] = service_log
    report["targets"] = evaluate(report, options.output)
    stem = f"{started.strftime('%Y%m%dT%H%M%SZ')}-{options.database}-{options.records}"
    text = markdown(report)
    (options.output / f"{stem}.json").write_text(json.dumps(report, indent=2) + "\n")
    (options.output / f"{stem}.md").write_text(text)
    print(text, flush=True)
    say(f"report: {options.output / stem}.md and .json")
    errors = sum(load["errors"] for pair in results.values() for load in pair.values())
    errors += export["errors"] if export else 0
    if errors:
        say(f"{errors} requests failed: the numbers above are not to be trusted (see Errors)")
        return 1
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    options = parse_options(argv)
    try:
        return bench(options)
    except BenchError as exc:
        say(str(exc))
        return 2
    except KeyboardInterrupt:
        say("interrupted")
        return 130


if __name__ == "__main__":
    sys.exit(main())
