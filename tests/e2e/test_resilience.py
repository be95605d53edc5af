"""The system as an operator meets it at 3 a.m.: two records replicas behind the gateway, one
of them killed under load, masterdata stopped, and one request followed through every log.

Each component runs as its own uvicorn process on a free port, the way a platform starts
them; the records replicas share one database (PostgreSQL when a server is given, else one
SQLite file). The tests of this module share that system and run in file order.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from dmt_shared.pytest_plugin import create_server_database, drop_server_database

from running import free_port

pytestmark = pytest.mark.e2e

FACTORIES = {
    "auth": "dmt_auth.asgi:create_app",
    "masterdata": "dmt_masterdata.asgi:create_app",
    "records": "dmt_records.asgi:create_app",
    "gateway": "dmt_gateway.asgi:create_app",
}
#: Routes a probe or a scrape uses; they are not calls made on behalf of a reader.
PROBES = ("/health", "/health/ready", "/metrics")


@dataclass
class Component:
    name: str
    factory: str
    port: int
    env: dict[str, str]
    log_path: Path
    process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = 90.0) -> None:
        log = self.log_path.open("ab")
        command = [sys.executable, "-m", "uvicorn", self.factory, "--factory", "--host", "127.0.0.1",
                   "--port", str(self.port), "--no-access-log", "--timeout-graceful-shutdown", "10"]  # fmt: skip
        self.process = subprocess.Popen(
            command,
            env=self.env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        log.close()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                pytest.fail(f"{self.name} exited with {self.process.returncode}:\n{self.log_path.read_text()[-4000:]}")
            try:
                if httpx.get(f"{self.url}/health/ready", timeout=2).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        pytest.fail(f"{self.name} was not ready in {timeout} s:\n{self.log_path.read_text()[-4000:]}")

    def kill(self) -> None:
        assert self.process is not None
        self.process.kill()
        self.process.wait(timeout=10)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)

    def log_lines(self) -> list[dict]:
        """The component's JSON log lines (lines that are not JSON are left out)."""
        lines = []
        for raw in self.log_path.read_text(errors="replace").splitlines():
            if raw.startswith("{"):
                try:
                    lines.append(json.loads(raw))
                except ValueError:
                    continue
        return lines


@dataclass
class Cluster:
    components: dict[str, Component]
    headers: dict[str, dict[str, str]] = field(default_factory=dict)
    catalog: dict[str, list[dict]] = field(default_factory=dict)

    @property
    def gateway(self) -> str:
        return self.components["gateway"].url

    def client(self) -> httpx.Client:
        return httpx.Client(base_url=self.gateway, timeout=30)


def _metric_total(url: str, name: str, **where: str) -> float:
    """The sum of one metric's samples whose labels match ``where``."""
    text = httpx.get(f"{url}/metrics", timeout=10).text
    total = 0.0
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == name and all(sample.labels.get(k) == v for k, v in where.items()):
                total += sample.value
    return total


def _calls_served(url: str) -> float:
    """Requests a component answered, probes and scrapes left out."""
    text = httpx.get(f"{url}/metrics", timeout=10).text
    total = 0.0
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == "dmt_http_requests_total" and sample.labels.get("route") not in PROBES:
                total += sample.value
    return total


def _login(client: httpx.Client, username: str, password: str) -> dict[str, str]:
    response = client.post("/api/v1/auth/login", json={"username": username, "password": password})
    assert response.status_code == 200, response.text
    return {"Authorization": f"Bearer {response.json()['access_token']}"}


def _new_record(catalog: dict[str, list[dict]], pick: int = 0, **overrides: object) -> dict:
    def entry(kind: str) -> int:
        entries = catalog[kind]
        return entries[min(pick, len(entries) - 1)]["id"]

    body = {
        "part_number_id": entry("part-numbers"),
        "work_center_id": entry("work-centers"),
        "customer_id": entry("customers"),
        "level_id": entry("levels"),
        "area_id": entry("areas"),
        "prepared_by_id": entry("prepared-by"),
        "operation": "OP-20 turning",
        "quantity": 2,
        "serial_number": "SN-R-1",
        "date": dt.date.today().isoformat(),
        "inspection_item_id": entry("inspection-items"),
        "process_code_id": entry("process-codes"),
        "defect_description": "Chatter marks on the bore",
    }
    body.update(overrides)
    return body


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    data_dir = tmp_path_factory.mktemp("cluster")
    admin_url = os.environ.get("DMT_TEST_POSTGRES_URL")
    if not admin_url and os.environ.get("DMT_TEST_REQUIRE_SERVERS") == "1":
        pytest.fail("DMT_TEST_POSTGRES_URL is not set but DMT_TEST_REQUIRE_SERVERS=1")
    created: str | None = None
    if admin_url:
        records_db, created = asyncio.run(create_server_database(admin_url))
    else:
        records_db = f"sqlite+aiosqlite:///{data_dir / 'records.db'}"
    ports = {name: free_port() for name in ("auth", "masterdata", "records-a", "records-b", "gateway")}
    base = {k: v for k, v in os.environ.items() if not k.startswith(("DMT_", "GATEWAY_", "RECORDS_", "AUTH_"))}
    base.pop("MASTERDATA_DATABASE_URL", None)
    base.update(
        {
            "DMT_ENV": "development",
            "DMT_DATA_DIR": str(data_dir),
            "DMT_LOG_FORMAT": "json",
            "DMT_SHUTDOWN_DRAIN_SECONDS": "0",
            "DMT_AUTH_URL": f"http://127.0.0.1:{ports['auth']}",
            "DMT_MASTERDATA_URL": f"http://127.0.0.1:{ports['masterdata']}",
            "DMT_RECORDS_URL": f"http://127.0.0.1:{ports['records-a']},http://127.0.0.1:{ports['records-b']}",
            "RECORDS_DATABASE_URL": records_db,
            "GATEWAY_HEALTH_INTERVAL": "0.5",
            # The load below is one user at one address, far beyond a person's pace.
            "GATEWAY_RATE_LIMIT_USER": "0",
            "GATEWAY_RATE_LIMIT_CLIENT": "0",
            "PYTHONUNBUFFERED": "1",
        }
    )
    components = {
        name: Component(name, FACTORIES[name.split("-")[0]], port, dict(base), data_dir / f"{name}.log")
        for name, port in ports.items()
    }
    try:
        for name in ("auth", "masterdata", "records-a", "records-b", "gateway"):
            components[name].start()
        cluster = Cluster(components)
        with cluster.client() as client:
            cluster.headers = {
                "Inspector": _login(client, "INS001", "employee123"),
                "Engineer": _login(client, "ENG001", "engineer123"),
            }
            for kind in ("part-numbers", "work-centers", "customers", "levels", "areas", "prepared-by",
                         "inspection-items", "process-codes"):  # fmt: skip
                page = client.get(f"/api/v1/catalogs/{kind}", params={"is_active": "true", "page_size": 5},
                                  headers=cluster.headers["Inspector"])  # fmt: skip
                assert page.status_code == 200, page.text
                cluster.catalog[kind] = page.json()["items"]
        yield cluster
    finally:
        for component in reversed(components.values()):
            component.stop()
        if created and admin_url:
            asyncio.run(drop_server_database(admin_url, created))


def test_a_page_of_50_costs_one_records_call_and_nothing_more_once_labels_are_cached(cluster: Cluster) -> None:
    c = cluster.components
    # 60 records written straight to one replica, so that no label of them is cached yet.
    with httpx.Client(base_url=c["records-b"].url, timeout=30) as direct:
        for n in range(60):
            body = _new_record(cluster.catalog, pick=n % 3, serial_number=f"SN-P-{n}")
            created = direct.post("/api/v1/records", json=body, headers=cluster.headers["Inspector"])
            assert created.status_code == 201, created.text
    # Each replica has fetched auth's public keys once already (they keep them), as any running one has.
    for replica in ("records-a", "records-b"):
        seen = httpx.get(f"{c[replica].url}/api/v1/records", params={"page_size": 1},
                         headers=cluster.headers["Engineer"], timeout=30)  # fmt: skip
        assert seen.status_code == 200, seen.text

    def served() -> dict[str, float]:
        return {name: _calls_served(c[name].url) for name in ("auth", "masterdata", "records-a", "records-b")}

    with cluster.client() as client:
        before = served()
        cold = client.get("/api/v1/records", params={"page_size": 50}, headers=cluster.headers["Engineer"])
        after_cold = served()
        warm = client.get("/api/v1/records", params={"page_size": 50}, headers=cluster.headers["Engineer"])
        after_warm = served()
    assert cold.status_code == warm.status_code == 200, (cold.text, warm.text)
    assert len(cold.json()["items"]) == 50
    assert "unresolved" not in cold.json()
    assert "unresolved" not in warm.json()
    first = cold.json()["items"][0]
    assert first["part_number"]["item_number"]
    assert first["created_by"]["username"]

    cold_calls = {k: after_cold[k] - before[k] for k in before}
    warm_calls = {k: after_warm[k] - after_cold[k] for k in before}
    print(f"calls for a page of 50: cold {cold_calls}, warm {warm_calls}")
    assert cold_calls["records-a"] + cold_calls["records-b"] == 1, cold_calls
    assert cold_calls["masterdata"] <= 1, cold_calls
    assert cold_calls["auth"] <= 1, cold_calls
    assert warm_calls["records-a"] + warm_calls["records-b"] == 1, warm_calls
    assert warm_calls["masterdata"] == 0, warm_calls
    assert warm_calls["auth"] == 0, warm_calls


async def _load(cluster: Cluster, seconds: float, kill_after: float, victim: Component) -> dict[str, list]:
    """Readers and writers through the gateway; ``victim`` is killed part-way."""
    results: dict[str, list] = {"reads": [], "writes": [], "acknowledged": []}
    stop = asyncio.Event()

    async def reader(client: httpx.AsyncClient) -> None:
        while not stop.is_set():
            response = await client.get("/api/v1/records", params={"page_size": 20},
                                        headers=cluster.headers["Engineer"])  # fmt: skip
            results["reads"].append(response.status_code)

    async def writer(client: httpx.AsyncClient, n: int) -> None:
        i = 0
        while not stop.is_set():
            i += 1
            body = _new_record(cluster.catalog, serial_number=f"SN-L-{n}-{i}")
            response = await client.post("/api/v1/records", json=body, headers=cluster.headers["Inspector"])
            results["writes"].append(response.status_code)
            if response.status_code == 201:
                results["acknowledged"].append(response.json()["id"])

    async with httpx.AsyncClient(base_url=cluster.gateway, timeout=30) as client:
        tasks = [asyncio.create_task(reader(client)) for _ in range(4)]
        tasks += [asyncio.create_task(writer(client, n)) for n in range(2)]
        await asyncio.sleep(kill_after)
        await asyncio.to_thread(victim.kill)
        await asyncio.sleep(seconds - kill_after)
        stop.set()
        await asyncio.gather(*tasks)
    return results


def test_killing_a_records_replica_under_load_loses_no_read_and_no_acknowledged_write(cluster: Cluster) -> None:
    a, b = cluster.components["records-a"], cluster.components["records-b"]
    gateway = cluster.gateway
    results = asyncio.run(_load(cluster, seconds=6.0, kill_after=2.0, victim=a))

    reads, writes = results["reads"], results["writes"]
    print(f"under load with one replica killed: {len(reads)} reads, {len(writes)} writes, "
          f"{len(results['acknowledged'])} acknowledged, statuses {sorted(set(reads + writes))}")  # fmt: skip
    assert len(reads) > 20, len(reads)
    assert len(writes) > 5, len(writes)
    assert set(reads) == {200}, {s: reads.count(s) for s in set(reads)}
    # A write in flight when its replica died may fail (it was never acknowledged); no other may.
    failed = [s for s in writes if s != 201]
    assert len(failed) <= 2, failed
    assert set(failed) <= {502, 503}, failed

    # Every acknowledged write is there, read through the surviving replica.
    with cluster.client() as client:
        for record_id in results["acknowledged"]:
            response = client.get(f"/api/v1/records/{record_id}", headers=cluster.headers["Engineer"])
            assert response.status_code == 200, (record_id, response.text)

    # The gateway says why it skipped the dead one.
    assert _metric_total(gateway, "dmt_upstream_breaker_state", upstream="records", address=a.url) >= 1 or (
        _metric_total(gateway, "dmt_upstream_address_ready", upstream="records", address=a.url) == 0
    )
    served_b = _calls_served(b.url)
    assert served_b > 0

    # Back again: the gateway uses it once more.
    a.start()
    before = _calls_served(a.url)
    deadline = time.monotonic() + 60
    with cluster.client() as client:
        while time.monotonic() < deadline and _calls_served(a.url) == before:
            page = client.get("/api/v1/records", params={"page_size": 5}, headers=cluster.headers["Engineer"])
            assert page.status_code == 200, page.text
            time.sleep(0.1)
    assert _calls_served(a.url) > before, "the replica that came back was never used again"
    print(f"the restarted replica got calls again {time.monotonic() - (deadline - 60):.1f} s after it was ready")


def test_one_request_id_is_in_the_log_of_every_component_it_touched(cluster: Cluster) -> None:
    c = cluster.components
    trace = f"trace-{uuid.uuid4().hex}"
    with cluster.client() as client:
        login = client.post("/api/v1/auth/login", json={"username": "INS001", "password": "employee123"},
                            headers={"X-Request-ID": trace})  # fmt: skip
        assert login.status_code == 200, login.text
        assert login.headers["x-request-id"] == trace
        token = {"Authorization": f"Bearer {login.json()['access_token']}"}
        body = _new_record(cluster.catalog, pick=1, serial_number="SN-TRACE")
        created = client.post("/api/v1/records", json=body, headers={**token, "X-Request-ID": trace})
        assert created.status_code == 201, created.text
        assert created.headers["x-request-id"] == trace
    time.sleep(0.5)  # let the processes flush their lines

    touched = {"gateway": c["gateway"], "auth": c["auth"], "masterdata": c["masterdata"]}
    for name, component in touched.items():
        lines = [line for line in component.log_lines() if line.get("request_id") == trace]
        assert lines, f"{name} logged nothing for request {trace}"
        assert all(line["component"] == name.split("-")[0] for line in lines), lines
    records_lines = [
        line for name in ("records-a", "records-b") for line in c[name].log_lines() if line.get("request_id") == trace
    ]
    assert any(line.get("method") == "POST" and line.get("status") == 201 for line in records_lines), records_lines
    # The access line of the gateway names the user and the outcome; the token itself is nowhere.
    access = [line for line in c["gateway"].log_lines() if line.get("request_id") == trace and "status" in line]
    assert {line["status"] for line in access} == {200, 201}
    assert any(line.get("user_id") for line in access)
    token_value = token["Authorization"].split()[1]
    for component in c.values():
        assert token_value not in component.log_path.read_text(errors="replace"), component.name


def test_with_masterdata_down_reads_state_what_is_unresolved_and_writes_fail_fast(cluster: Cluster) -> None:
    c = cluster.components
    # A record pointing at entries no earlier answer labelled, written straight to a replica.
    with httpx.Client(base_url=c["records-b"].url, timeout=30) as direct:
        body = _new_record(cluster.catalog, pick=4, serial_number="SN-MD-DOWN")
        created = direct.post("/api/v1/records", json=body, headers=cluster.headers["Inspector"])
        assert created.status_code == 201, created.text
        record_id = created.json()["id"]

    c["masterdata"].stop()
    with cluster.client() as client:
        read = client.get(f"/api/v1/records/{record_id}", headers=cluster.headers["Engineer"])
        assert read.status_code == 200, read.text
        record = read.json()
        assert record["part_number_id"] == body["part_number_id"]
        assert record["part_number"] is None
        assert record["unresolved"] == ["masterdata"]
        assert record["created_by"]["username"] == "INS001"  # auth still answers

        page = client.get("/api/v1/records", params={"page_size": 50}, headers=cluster.headers["Engineer"])
        assert page.status_code == 200, page.text
        assert len(page.json()["items"]) == 50

        started = time.monotonic()
        refused = client.post(
            "/api/v1/records",
            json=_new_record(cluster.catalog, serial_number="SN-MD-WRITE"),
            headers=cluster.headers["Inspector"],
        )
        elapsed = time.monotonic() - started
    assert refused.status_code == 503, refused.text
    assert "masterdata" in refused.json()["detail"]
    assert refused.headers.get("retry-after")
    print(f"a write needing masterdata, with masterdata down: {refused.status_code} in {elapsed:.2f} s")
    assert elapsed < 5.0, f"the refusal took {elapsed:.1f} s"
    c["masterdata"].start()


@pytest.mark.parametrize(
    ("component", "unsafe", "fix"),
    [
        ("gateway", {"GATEWAY_CORS_ORIGINS": "*"}, "GATEWAY_CORS_ORIGINS"),
        ("gateway", {"GATEWAY_DEBUG": "true"}, "GATEWAY_DEBUG"),
        ("auth", {"AUTH_SIGNING_KEY": ""}, "AUTH_SIGNING_KEY"),
        ("masterdata", {"MASTERDATA_DEMO_DATA": "true"}, "MASTERDATA_DEMO_DATA"),
        ("records", {"RECORDS_DEBUG": "true"}, "RECORDS_DEBUG"),
    ],
)
def test_production_mode_refuses_to_start_with_an_unsafe_setting(
    component: str, unsafe: dict[str, str], fix: str, tmp_path: Path
) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DMT_", "GATEWAY_", "RECORDS_", "AUTH_"))}
    env.pop("MASTERDATA_DATABASE_URL", None)
    env.update({"DMT_ENV": "production", "DMT_DATA_DIR": str(tmp_path), "DMT_LOG_FORMAT": "text", **unsafe})
    result = subprocess.run(
        [sys.executable, "-m", "uvicorn", FACTORIES[component], "--factory", "--port", str(free_port())],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    output = result.stdout + result.stderr
    assert result.returncode != 0, output
    assert "DMT_ENV=production" in output, output[-3000:]
    assert fix in output, output[-3000:]
