"""SQLite statements in one trip each (``dmt_shared.sqlite``): the same answers as aiosqlite's own cursor."""

from __future__ import annotations

import asyncio
import threading
import time
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Column, Integer, MetaData, String, Table, event, insert, select, text, update
from sqlalchemy.exc import IntegrityError

from dmt_shared import sqlite
from dmt_shared.db import create_engine
from dmt_shared.sqlite import CHUNK, OneTripConnection

metadata = MetaData()
things = Table("thing", metadata, Column("id", Integer, primary_key=True), Column("name", String(20), unique=True))
MANY = 2 * CHUNK + 7  # more than two chunks, so a result is read in several trips


async def test_results_inserts_updates_and_errors_read_as_with_aiosqlite(tmp_path: Path) -> None:
    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path / 'one-trip.db'}")
    try:
        async with engine.begin() as conn:
            assert isinstance((await conn.get_raw_connection()).driver_connection, OneTripConnection)
            await conn.run_sync(metadata.create_all)
            first = await conn.execute(insert(things).values(name="n-0"))
            assert first.inserted_primary_key == (1,)
            await conn.execute(insert(things), [{"name": f"n-{n}"} for n in range(1, MANY)])
            changed = await conn.execute(update(things).where(things.c.id <= 3).values(name=things.c.name + "!"))
            assert changed.rowcount == 3
            with pytest.raises(IntegrityError):
                await conn.execute(insert(things).values(name="n-5"))

        async with engine.connect() as conn:
            rows = (await conn.execute(select(things).order_by(things.c.id))).all()
            assert [r.id for r in rows] == list(range(1, MANY + 1))
            assert rows[0].name == "n-0!"
            assert rows[-1].name == f"n-{MANY - 1}"
            assert (await conn.execute(text("SELECT count(*) FROM thing"))).scalar() == MANY
            assert (await conn.execute(select(things).where(things.c.id == 0))).first() is None

            # streamed (an export): every row once, in order, a part at a time
            streamed = await conn.stream(select(things.c.id).order_by(things.c.id))
            seen = [row.id async for row in streamed]
            assert seen == list(range(1, MANY + 1))
            streamed = await conn.stream(select(things.c.id).order_by(things.c.id))
            parts = [len(part) async for part in streamed.partitions(100)]
            assert sum(parts) == MANY
            assert max(parts) == 100
            # a stream left half read is closed without trouble, and the connection goes on
            streamed = await conn.stream(select(things.c.id))
            assert len(await streamed.fetchmany(3)) == 3
            await streamed.close()
            assert (await conn.execute(text("SELECT 1"))).scalar() == 1
    finally:
        await engine.dispose()


async def test_reads_take_turns_a_few_at_a_time_and_writes_never_wait_for_them(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sqlite, "READERS", 2)
    monkeypatch.setattr(sqlite, "TURN_WAIT", 5.0)
    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path / 'turns.db'}", pool_size=8)
    running = 0
    most = 0
    guard = threading.Lock()

    def slow(value: int) -> int:
        """A read that takes 0.1 s on its connection's thread, counting how many run at once."""
        nonlocal running, most
        with guard:
            running += 1
            most = max(most, running)
        time.sleep(0.1)
        with guard:
            running -= 1
        return value

    @event.listens_for(engine.sync_engine, "connect")
    def _add_slow(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.create_function("slow", 1, slow)

    async def read(n: int) -> int:
        async with engine.connect() as conn:
            return int((await conn.execute(text("SELECT slow(:n)"), {"n": n})).scalar_one())

    async def write() -> float:
        started = time.monotonic()
        async with engine.begin() as conn:
            await conn.execute(insert(things).values(name="written"))
        return time.monotonic() - started

    try:
        async with engine.begin() as conn:
            await conn.run_sync(metadata.create_all)
        reads = [asyncio.create_task(read(n)) for n in range(6)]
        await asyncio.sleep(0.03)  # the first two reads are on their threads
        write_took = await write()
        assert sorted(await asyncio.gather(*reads)) == list(range(6))
    finally:
        await engine.dispose()
    assert most == 2  # six reads, never more than two at once: about 0.3 s in all
    assert write_took < 0.09  # the write went by the reads waiting for their turn


async def test_a_long_read_holds_up_the_others_only_briefly(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sqlite, "READERS", 1)
    monkeypatch.setattr(sqlite, "TURN_WAIT", 0.05)
    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path / 'long.db'}", pool_size=4)

    @event.listens_for(engine.sync_engine, "connect")
    def _add_pause(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.create_function("pause", 1, lambda seconds: time.sleep(seconds) or 1)

    async def read(seconds: float) -> float:
        started = time.monotonic()
        async with engine.connect() as conn:
            await conn.execute(text("SELECT pause(:s)"), {"s": seconds})
        return time.monotonic() - started

    try:
        long_read = asyncio.create_task(read(1.0))  # a chart over a million records
        await asyncio.sleep(0.05)
        short = await read(0.0)
        await long_read
    finally:
        await engine.dispose()
    assert short < 0.5  # not the second the long read holds its turn
