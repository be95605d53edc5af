"""``dmt_db_pool_connections``: each component's database pool, as /metrics shows it."""

from __future__ import annotations

import gc
import uuid
from pathlib import Path

from litestar import Litestar, post
from litestar.datastructures import State
from litestar.testing import AsyncTestClient
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import text

from dmt_shared.app import create_component_app
from dmt_shared.db import ServiceDatabase
from dmt_shared.metrics import POOLS
from dmt_shared.testing import TokenFactory

MIGRATIONS = Path(__file__).parent  # not migrated here


def _component() -> str:
    """A name of its own per test: the metrics registry is shared by the whole test process."""
    return f"pooltest-{uuid.uuid4().hex[:8]}"


def _database(url: str, component: str, pool_size: int = 3) -> ServiceDatabase:
    return ServiceDatabase(
        url, migrations=MIGRATIONS, version_table="pooltest_version", pool_size=pool_size, component=component
    )


@post("/hold/{count:int}", status_code=204)
async def hold(count: int, state: State) -> None:
    """Take ``count`` connections and keep them (the app's pool lives on the app's event loop)."""
    for _ in range(count):
        conn = await state.database.engine.connect()
        await conn.execute(text("SELECT 1"))
        state.held.append(conn)


@post("/release", status_code=204)
async def release(state: State) -> None:
    while state.held:
        await state.held.pop().close()


def _app(component: str, database: ServiceDatabase, tokens: TokenFactory) -> Litestar:
    async def dispose(_: Litestar) -> None:
        await database.dispose()

    return create_component_app(
        service=component,
        title="Pool test",
        version="1",
        route_handlers=[hold, release],
        verifier=tokens.verifier(),
        ready_checks={"database": database.ping},
        public_paths=["^/hold", "^/release"],
        on_shutdown=[dispose],
        state={"database": database, "held": []},
    )


def _pool_states(exposition: str, component: str) -> dict[str, float]:
    for family in text_string_to_metric_families(exposition):
        if family.name == "dmt_db_pool_connections":
            assert family.type == "gauge"
            return {s.labels["state"]: s.value for s in family.samples if s.labels["component"] == component}
    raise AssertionError("no dmt_db_pool_connections in /metrics")


async def test_the_pool_shows_in_metrics_and_follows_connections_in_use(
    database_url: str, tokens: TokenFactory
) -> None:
    component = _component()
    database = _database(database_url, component)
    # Every database, a SQLite file too, gets the pool size asked for.
    size = 3
    async with AsyncTestClient(_app(component, database, tokens)) as client:
        assert (await client.get("/health/ready")).status_code == 200
        after_ping = _pool_states((await client.get("/metrics")).text, component)
        assert after_ping == {"size": size, "checked_out": 0, "overflow": 0, "idle": 1}

        assert (await client.post("/hold/2")).status_code == 204
        held = _pool_states((await client.get("/metrics")).text, component)
        assert held["checked_out"] == 2
        assert held["idle"] == 0

        assert (await client.post("/release")).status_code == 204
        released = _pool_states((await client.get("/metrics")).text, component)
        assert released["checked_out"] == 0
        assert released["idle"] == 2
    # Shut down: the disposed pool is no longer reported.
    assert _pool_states(_scrape(), component) == {}


async def test_connections_beyond_the_pool_size_count_as_overflow(tmp_path: Path, tokens: TokenFactory) -> None:
    component = _component()
    database = _database(f"sqlite+aiosqlite:///{tmp_path / 'pool.db'}", component)
    async with AsyncTestClient(_app(component, database, tokens)) as client:
        assert (await client.post("/hold/4")).status_code == 204
        states = _pool_states((await client.get("/metrics")).text, component)
        assert (await client.post("/release")).status_code == 204
    assert states == {"size": 3, "checked_out": 4, "overflow": 1, "idle": 0}


async def test_an_unpooled_database_and_a_forgotten_engine_do_not_break_the_scrape(tmp_path: Path) -> None:
    # In-memory SQLite has no pool to count: the component reports nothing, the scrape still works.
    memory = _component()
    unpooled = _database("sqlite+aiosqlite:///:memory:", memory)
    await unpooled.ping()
    assert _pool_states(_scrape(), memory) == {}
    await unpooled.dispose()

    # An engine dropped without being disposed (an app built but never started) goes by itself.
    forgotten = _component()
    database = _database(f"sqlite+aiosqlite:///{tmp_path / 'forgotten.db'}", forgotten)
    assert _pool_states(_scrape(), forgotten)["size"] == 3
    del database
    gc.collect()
    assert _pool_states(_scrape(), forgotten) == {}


async def test_two_databases_of_one_component_are_added_up(tmp_path: Path) -> None:
    component = _component()
    one = _database(f"sqlite+aiosqlite:///{tmp_path / 'one.db'}", component)
    two = _database(f"sqlite+aiosqlite:///{tmp_path / 'two.db'}", component)
    try:
        assert _pool_states(_scrape(), component)["size"] == 6
    finally:
        await one.dispose()
    assert _pool_states(_scrape(), component)["size"] == 3
    await two.dispose()
    assert _pool_states(_scrape(), component) == {}


def _scrape() -> str:
    from prometheus_client import REGISTRY, generate_latest

    assert POOLS in REGISTRY._collector_to_names  # registered once, in the default registry
    return generate_latest(REGISTRY).decode()
