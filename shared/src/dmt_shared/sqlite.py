"""SQLite statements in one trip to the connection's thread each.

aiosqlite runs every call of a connection on a thread of its own, and SQLAlchemy's aiosqlite
adapter makes four such calls per statement: open a cursor, execute, fetch the rows, close the
cursor. Each trip wakes that thread and the event loop again, and under load the trips, not
SQLite, were most of a request's time (a record's creation made about 75 of them). The cursor
here does the four at once: one trip per statement, one per commit or rollback.

Results are fetched in chunks of :data:`CHUNK` rows, so a result that is streamed (an export)
still holds no more than a chunk in memory; a smaller result is read whole in the first trip.
Every SQLite engine of :func:`dmt_shared.db.create_engine` connects this way
(:func:`use_one_trip_cursors`), for every service.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import os
import sqlite3
import weakref
from collections.abc import AsyncIterator, Sequence
from typing import Any

import aiosqlite
from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncEngine

#: Rows read per trip to the connection's thread.
CHUNK = 500

#: Reads on their connections' threads at once, per event loop (``DMT_SQLITE_READERS``).
READERS = int(os.environ.get("DMT_SQLITE_READERS", "2"))

_readers: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.Semaphore] = weakref.WeakKeyDictionary()


#: Seconds a read waits for its turn before it goes anyway: a long read (a chart over a million
#: records) holds its turn for its whole time, and must not hold up the short ones behind it.
TURN_WAIT = 0.2


@contextlib.asynccontextmanager
async def _reading() -> AsyncIterator[None]:
    """A turn to read: every pooled connection has a thread of its own, and 16 of them reading at
    once fight the event loop's thread for the interpreter (the CPU per list page nearly doubled
    from 1 request in flight to 8). Reads take turns, a few at a time, waiting at most
    :data:`TURN_WAIT` for one; writes never wait here, since one may be waiting in SQLite's busy
    handler for another to commit."""
    if READERS <= 0:
        yield
        return
    loop = asyncio.get_running_loop()
    turns = _readers.get(loop)
    if turns is None:
        turns = _readers[loop] = asyncio.Semaphore(READERS)
    if turns.locked():
        try:
            async with asyncio.timeout(TURN_WAIT):
                await turns.acquire()
        except TimeoutError:
            yield  # no turn in time: read anyway
            return
    else:
        await turns.acquire()  # free: taken at once
    try:
        yield
    finally:
        turns.release()


def _is_read(operation: str) -> bool:
    # SELECT only: a statement starting with WITH may be an INSERT, UPDATE or DELETE in SQLite.
    return operation.lstrip()[:6].upper() == "SELECT"


class OneTripCursor:
    """The part of aiosqlite's cursor that SQLAlchemy uses, each statement in one trip.

    The sqlite3 cursor is only ever touched on the connection's thread; it stays open only
    while a result has rows left to read.
    """

    def __init__(self, connection: OneTripConnection) -> None:
        self._connection = connection
        self._cursor: sqlite3.Cursor | None = None
        self._rows: collections.deque[Any] = collections.deque()
        self._read_turns = False
        self.description: Any = None
        self.rowcount = -1
        self.lastrowid: int | None = None
        self.arraysize = 1

    async def __aenter__(self) -> OneTripCursor:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    # -- on the connection's thread

    def _run(self, operation: str, parameters: Any, many: bool) -> tuple[Any, ...]:
        cursor = self._connection._conn.cursor()
        try:
            if many:
                cursor.executemany(operation, parameters)
            elif parameters is None:
                cursor.execute(operation)
            else:
                cursor.execute(operation, parameters)
            description = cursor.description
            rows = cursor.fetchmany(CHUNK) if description else []
        except BaseException:
            cursor.close()
            raise
        more = len(rows) == CHUNK
        result = (description, cursor.rowcount, cursor.lastrowid, rows, cursor if more else None)
        if not more:
            cursor.close()
        return result

    @staticmethod
    def _next(cursor: sqlite3.Cursor, size: int | None) -> tuple[list[Any], bool]:
        rows = cursor.fetchall() if size is None else cursor.fetchmany(size)
        done = size is None or len(rows) < size
        if done:
            cursor.close()
        return rows, done

    # -- on the event loop

    async def _start(self, operation: str, parameters: Any, many: bool) -> OneTripCursor:
        await self.close()
        self._read_turns = _is_read(operation) and not many
        async with _reading() if self._read_turns else contextlib.nullcontext():
            self.description, self.rowcount, self.lastrowid, rows, self._cursor = await self._connection._execute(
                self._run, operation, parameters, many
            )
        self._rows = collections.deque(rows)
        return self

    async def execute(self, operation: str, parameters: Any = None) -> OneTripCursor:
        return await self._start(operation, parameters, False)

    async def executemany(self, operation: str, parameters: Sequence[Any]) -> OneTripCursor:
        return await self._start(operation, parameters, True)

    async def _read(self, size: int | None) -> None:
        if self._cursor is None:
            return
        async with _reading() if self._read_turns else contextlib.nullcontext():
            rows, done = await self._connection._execute(self._next, self._cursor, size)
        self._rows.extend(rows)
        if done:
            self._cursor = None

    async def fetchone(self) -> Any:
        if not self._rows:
            await self._read(CHUNK)
        return self._rows.popleft() if self._rows else None

    async def fetchmany(self, size: int | None = None) -> list[Any]:
        size = size or self.arraysize
        if len(self._rows) < size:
            await self._read(max(CHUNK, size))
        return [self._rows.popleft() for _ in range(min(size, len(self._rows)))]

    async def fetchall(self) -> list[Any]:
        await self._read(None)
        rows = list(self._rows)
        self._rows.clear()
        return rows

    async def __aiter__(self) -> AsyncIterator[Any]:
        while (row := await self.fetchone()) is not None:
            yield row

    async def close(self) -> None:
        self._rows.clear()
        cursor, self._cursor = self._cursor, None
        if cursor is not None:
            await self._connection._execute(cursor.close)


class OneTripConnection(aiosqlite.Connection):
    """aiosqlite's connection whose cursors take one trip per statement."""

    def cursor(self) -> OneTripCursor:  # type: ignore[override]
        return OneTripCursor(self)


def connect(database: str, **kwargs: Any) -> OneTripConnection:
    """As ``aiosqlite.connect``, with :class:`OneTripConnection`."""

    def connector() -> sqlite3.Connection:
        return sqlite3.connect(database, **kwargs)

    connection = OneTripConnection(connector, iter_chunk_size=64)
    connection._thread.daemon = True  # as SQLAlchemy does for aiosqlite's own connections
    return connection


def use_one_trip_cursors(engine: AsyncEngine) -> None:
    """Make every new connection of a SQLite ``engine`` (sqlite+aiosqlite) a :class:`OneTripConnection`."""

    @event.listens_for(engine.sync_engine, "do_connect")
    def _connect(_dialect: Any, _record: Any, _cargs: Any, cparams: dict[str, Any]) -> None:
        cparams["async_creator_fn"] = connect
