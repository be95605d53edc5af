"""100,000 records exported by the real records process, as CSV and as a workbook: every row
arrives, and the process's memory stays flat.

The records service runs as its own process (uvicorn, as deployed) on a SQLite file that SQLite
fills itself (see ``BUILD_RECORDS``); auth and masterdata are played by a small HTTP server in this process that answers
their look-up contracts, so the labels are really fetched over the network. Memory is the
process's own: its peak resident set (``VmHWM`` in ``/proc/<pid>/status``), reset just before the
export, against its resident set after a warm-up export. What the test process holds (the
download goes to a file) is not counted.
"""

from __future__ import annotations

import asyncio
import csv
import json
import os
import socket
import subprocess
import sys
import threading
import time
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import text

from dmt_records.db import MIGRATIONS, VERSION_TABLE
from dmt_shared.contracts import CATALOG_LOOKUP_PATH, JWKS_PATH, USER_LOOKUP_PATH
from dmt_shared.db import create_engine, migrate
from dmt_shared.testing import TokenFactory
from dmt_shared.tokens import Role

pytestmark = pytest.mark.e2e

CSV = "/api/v1/records/export.csv"
XLSX = "/api/v1/records/export.xlsx"
RECORDS = 100_000
#: The most the records process may grow above its warmed-up size while exporting them all.
CEILING_MB = 150


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


# ---------------------------------------------------------------- the data

#: SQLite makes the records itself (a recursive count): 100,000 rows in about a second, where
#: inserting them from Python takes 10-20. Values are written as SQLAlchemy's SQLite types store
#: them (``YYYY-MM-DD HH:MM:SS.ffffff`` for moments); the export reading them back right is part
#: of what the test checks. Record ``n``: created ``n`` seconds into 2025, one closed in three
#: (those with section 4 and 5 filled in), 150 part numbers, 11 creators.
SECONDS = "strftime('%Y-%m-%d %H:%M:%S', '2025-01-01', printf('+%d seconds', i)) || '.000000'"
COUNT = "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < :count) "
BUILD_RECORDS = (
    COUNT + "INSERT INTO dmt_record (id, report_number, status, is_closed, part_number_id, work_center_id, "
    "customer_id, level_id, area_id, prepared_by_id, operation, quantity, serial_number, record_date, "
    "inspection_item_id, process_code_id, analysis_by_id, final_disposition_id, disposition_date, engineer_id, "
    "failure_code_id, rework_hours, responsible_department, material_scrap_cost, other_cost, "
    "disposition_approval_date, disposition_approved_by_id, sdr_number, created_by_id, version, closed_at, "
    "closed_by_id, created_at, updated_at) "
    "SELECT i, printf('DMT-%d-%05d', 2025 + i / 90000, i % 90000), "
    "CASE WHEN i % 3 = 0 THEN 'closed' ELSE 'open' END, i % 3 = 0, "
    "1000 + i % 150, 2000 + i % 15, 3000 + i % 6, 4000 + i % 4, CASE WHEN i % 5 = 0 THEN 5000 + i % 4 END, "
    "6000 + i % 12, 'OP-30 Soldadura / 焊接', i % 97 + 1, printf('SN-%07d', i), "
    "date('2025-01-01', printf('+%d days', i % 365)), 7000 + i % 5, 8000 + i % 5, "
    "CASE WHEN i % 3 = 0 THEN 20 + i % 30 END, CASE WHEN i % 3 = 0 THEN 9000 + i % 4 END, "
    "CASE WHEN i % 3 = 0 THEN '2025-02-01' END, CASE WHEN i % 3 = 0 THEN 2 END, "
    "CASE WHEN i % 3 = 0 THEN 10000 + i % 5 END, CASE WHEN i % 3 = 0 THEN (i % 1000) / 100.0 END, "
    "CASE WHEN i % 3 = 0 THEN 'Foundry' END, CASE WHEN i % 3 = 0 THEN (i % 50000) / 100.0 END, "
    "CASE WHEN i % 3 = 0 THEN (i % 700) / 10.0 END, CASE WHEN i % 3 = 0 THEN '2025-02-02' END, "
    "CASE WHEN i % 3 = 0 THEN 3 END, CASE WHEN i % 3 = 0 THEN 'SDR-' || i END, 10 + i % 11, 1, "
    f"CASE WHEN i % 3 = 0 THEN {SECONDS} END, CASE WHEN i % 3 = 0 THEN 3 END, {SECONDS}, {SECONDS} FROM n"
)
TEXT_COLUMNS = "INSERT INTO record_text (record_id, field, language, origin, state, attempts, text, updated_at) "
BUILD_TEXTS = (
    # every record: its defect in English as written
    COUNT + TEXT_COLUMNS + "SELECT i, 'defect_description', 'en', 'author', 'done', 0, "
    "printf('Crack near the weld toe, %d mm, found at final inspection of lot %d', i % 9 + 1, i), "
    f"{SECONDS} FROM n",
    # every other one: a Spanish machine translation of it
    COUNT + TEXT_COLUMNS + "SELECT i, 'defect_description', 'es', 'machine', 'done', 0, "
    f"printf('Grieta cerca del pie de soldadura, %d mm, lote %d', i % 9 + 1, i), {SECONDS} FROM n WHERE i % 2 = 1",
    # the closed ones: an analysis written in Spanish
    COUNT + TEXT_COLUMNS + "SELECT i, 'analysis', 'es', 'author', 'done', 0, "
    f"'La rampa de temperatura fue demasiado rápida en el horno 2', {SECONDS} FROM n WHERE i % 3 = 0",
)


async def build_records(url: str, count: int) -> None:
    """``count`` records and their texts in a migrated SQLite database."""
    engine = create_engine(url, pool_size=1)
    try:
        await migrate(engine, MIGRATIONS, VERSION_TABLE)
        async with engine.begin() as conn:
            for statement in (BUILD_RECORDS, *BUILD_TEXTS):
                await conn.execute(text(statement), {"count": count})
    finally:
        await engine.dispose()


# ---------------------------------------------------------------- auth and masterdata


def upstream_handler(tokens: TokenFactory) -> type[BaseHTTPRequestHandler]:
    """auth's key set and user look-up, masterdata's catalog look-up: names made up from the ids."""
    jwks = json.dumps(tokens.jwks()).encode()

    class Upstream(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args: Any) -> None:
            pass

        def _answer(self, body: bytes) -> None:
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def do_GET(self) -> None:
            assert self.path == JWKS_PATH, self.path
            self._answer(jwks)

        def do_POST(self) -> None:
            asked = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            if self.path == USER_LOOKUP_PATH:
                users = [
                    {
                        "id": i,
                        "username": f"U{i:03d}",
                        "full_name": f"Person {i}",
                        "role": "Inspector",
                        "is_active": True,
                    }
                    for i in asked["ids"]
                ]
                self._answer(json.dumps({"items": users, "missing": []}).encode())
            else:
                assert self.path == CATALOG_LOOKUP_PATH, self.path
                entries = [
                    {"id": r["id"], "kind": r["kind"], "item_number": f"{r['kind'][:3].upper()}-{r['id']}",
                     "item_name": f"{r['kind']} {r['id']}", "item_name_es": f"es {r['id']}", "is_active": True}
                    for r in asked["items"]
                ]  # fmt: skip
                self._answer(json.dumps({"items": entries, "missing": []}).encode())

    return Upstream


@pytest.fixture(scope="module")
def upstream(tokens: TokenFactory) -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", _free_port()), upstream_handler(tokens))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


# ---------------------------------------------------------------- the records process


def memory_kb(pid: int) -> dict[str, int]:
    status = Path(f"/proc/{pid}/status").read_text()
    return {
        line.split(":")[0]: int(line.split()[1]) for line in status.splitlines() if line.startswith(("VmRSS", "VmHWM"))
    }


def reset_peak(pid: int) -> bool:
    """Start ``VmHWM`` again from the present size (Linux: ``5`` to clear_refs); False if refused."""
    try:
        Path(f"/proc/{pid}/clear_refs").write_text("5")
    except OSError:
        return False
    return True


@dataclass
class RecordsProcess:
    base: str
    process: subprocess.Popen[bytes]
    #: an Operator's Authorization, reading Spanish
    headers: dict[str, str]

    def export(self, path: str, target: Path) -> Measured:
        """Download ``path`` into ``target``, measuring the process's peak memory and the time."""
        before = memory_kb(self.process.pid)
        peak_was_reset = reset_peak(self.process.pid)
        with httpx.Client(base_url=self.base, headers=self.headers, timeout=120) as http:
            began = time.monotonic()
            with http.stream("GET", path) as response, target.open("wb") as out:
                assert response.status_code == 200, response.read()
                assert "x-dmt-unresolved" not in response.headers
                for chunk in response.iter_bytes():
                    out.write(chunk)
            took = time.monotonic() - began
        after = memory_kb(self.process.pid)
        baseline = before["VmRSS"] if peak_was_reset else before["VmHWM"]
        measured = Measured(took, before["VmRSS"] / 1024, after["VmHWM"] / 1024, (after["VmHWM"] - baseline) / 1024)
        print(
            f"\n{path}: {RECORDS:,} rows ({target.stat().st_size / 2**20:.0f} MB) in {took:.1f} s = "
            f"{RECORDS / took:,.0f} rows/s; records process {measured.warm_mb:.0f} MB warm, "
            f"peak {measured.peak_mb:.0f} MB (+{measured.growth_mb:.1f} MB"
            f"{'' if peak_was_reset else ', peak since start'})"
        )
        return measured


@dataclass
class Measured:
    seconds: float
    warm_mb: float
    peak_mb: float
    growth_mb: float


@pytest.fixture(scope="module")
def records_process(
    tmp_path_factory: pytest.TempPathFactory, upstream: str, tokens: TokenFactory
) -> Iterator[RecordsProcess]:
    """The records service on 100,000 records, with the export warmed up once (one part number's
    ~670 records): what an export adds to its memory after that is the export's own."""
    if not Path("/proc/self/status").exists():
        pytest.skip("needs Linux /proc to read the process's memory")
    tmp_path = tmp_path_factory.mktemp("records")
    url = f"sqlite+aiosqlite:///{tmp_path / 'records.db'}"
    began = time.monotonic()
    asyncio.run(build_records(url, RECORDS))
    print(f"\nbuilt {RECORDS:,} records in {time.monotonic() - began:.1f} s")
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("RECORDS_", "DMT_"))}
    env.update(
        RECORDS_DATABASE_URL=url, DMT_AUTH_URL=upstream, DMT_MASTERDATA_URL=upstream, DMT_ENV="development",
        RECORDS_LOG_LEVEL="WARNING",
    )  # fmt: skip
    log = (tmp_path / "records.log").open("wb")
    process = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "dmt_records.asgi:create_app", "--factory",
         "--host", "127.0.0.1", "--port", str(port), "--log-level", "warning", "--no-access-log"],
        cwd=tmp_path, env=env, stdout=log, stderr=subprocess.STDOUT,
    )  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            assert process.poll() is None, (tmp_path / "records.log").read_text()
            try:
                if httpx.get(f"{base}/health/ready", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline, "records did not start:\n" + (tmp_path / "records.log").read_text()
            time.sleep(0.2)
        headers = tokens.headers(Role.OPERATOR, user_id=10, username="U010") | {"Accept-Language": "es"}
        warm = {
            path: httpx.get(f"{base}{path}", params={"part_number_id": 1007}, headers=headers, timeout=30)
            for path in (CSV, XLSX)
        }
        assert all(answer.status_code == 200 for answer in warm.values()), warm
        assert warm[CSV].text.count("\r\n") == 1 + len(range(7, RECORDS + 1, 150))
        yield RecordsProcess(base, process, headers)
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log.close()


def test_100000_records_stream_out_as_csv_in_flat_memory(records_process: RecordsProcess, tmp_path: Path) -> None:
    measured = records_process.export(CSV, tmp_path / "export.csv")

    with (tmp_path / "export.csv").open(encoding="utf-8-sig", newline="") as exported:
        rows = csv.reader(exported)
        header = next(rows)
        first, second = next(rows), next(rows)
        count = 2 + sum(1 for _ in rows)
    assert count == RECORDS
    assert header[:3] == ["ID", "Número de reporte", "Creado el"]
    row = dict(zip(header, first, strict=True))
    assert row["ID"] == str(RECORDS)  # newest first
    assert row["Creado por"] == f"U{10 + RECORDS % 11:03d} - Person {10 + RECORDS % 11}"
    assert row["Número de parte"] == f"PAR-{1000 + RECORDS % 150} - es {1000 + RECORDS % 150}"
    assert row["Descripción del defecto"].startswith("Crack near the weld toe")  # even: no Spanish
    closed = dict(zip(header, second, strict=True))
    assert [closed[name] for name in ("ID", "Creado el", "Cerrado", "Fecha de disposición", "Horas de retrabajo",
                                      "Costo de material desechado", "Otros costos", "Descripción del defecto")] == [
        "99999", "2025-01-02T03:46:39Z", "true", "2025-02-01", "9.99", "499.99", "59.90",
        "Grieta cerca del pie de soldadura, 1 mm, lote 99999",
    ]  # fmt: skip
    assert measured.growth_mb < CEILING_MB


def test_100000_records_stream_out_as_a_workbook_in_flat_memory(
    records_process: RecordsProcess, tmp_path: Path
) -> None:
    measured = records_process.export(XLSX, tmp_path / "export.xlsx")

    # Reading 3.4 million cells with openpyxl takes minutes: the sheet is counted by its XML instead.
    with zipfile.ZipFile(tmp_path / "export.xlsx") as book:
        assert book.testzip() is None
        assert "xl/worksheets/sheet2.xml" not in book.namelist()
        rows = 0
        tail = b""
        with book.open("xl/worksheets/sheet1.xml") as sheet:
            while chunk := sheet.read(1 << 20):
                rows += (tail + chunk).count(b"</row>")
                tail = chunk[-5:]
    assert rows == 1 + RECORDS
    assert measured.growth_mb < CEILING_MB
