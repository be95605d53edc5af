"""Reading the predecessor's database, whatever it ran on, without changing it.

The predecessor was configured with a synchronous SQLAlchemy URL (``sqlite:///./dmt.db``,
``mariadb+mariadbconnector://...``, ``mysql+pymysql://...``, ``postgresql://...``). The same
URL is accepted here and read with the asynchronous driver this installation has for that
database (aiosqlite, asyncpg, asyncmy, oracledb). A SQLite file is opened read-only, so a
mistyped path is an error instead of a new empty database.

Tables are found by reflection and read whole-row, in batches ordered by ``id``: columns the
predecessor added in later versions (``is_active``, ``created_at``, a text language) may be
missing, and whatever is missing reads as empty.
"""

from __future__ import annotations

import urllib.parse
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

from sqlalchemy import MetaData, Table, func, inspect, select
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine
from sqlalchemy.pool import NullPool

#: The driver used to read each kind of database.
ASYNC_DRIVERS: dict[str, str] = {
    "sqlite": "aiosqlite",
    "postgresql": "asyncpg",
    "mysql": "asyncmy",
    "mariadb": "asyncmy",
    "oracle": "oracledb",
}
#: The extra of dmt-shared that installs each driver.
_DRIVER_EXTRAS: dict[str, str] = {"asyncpg": "postgres", "asyncmy": "mysql", "oracledb": "oracle"}
#: Drivers that are asynchronous already (kept as given).
_ASYNC = frozenset({"aiosqlite", "asyncpg", "asyncmy", "aiomysql", "oracledb"})

#: The columns without which a table cannot be read at all.
REQUIRED_COLUMNS: dict[str, tuple[str, ...]] = {
    "user": ("id", "username"),
    "dmtrecord": ("id",),
}
CATALOG_REQUIRED_COLUMNS: tuple[str, ...] = ("id", "item_number")


class SourceError(Exception):
    """The predecessor's database cannot be read as given; the message says why."""


def async_url(url: str) -> URL:
    """The predecessor's URL with the asynchronous driver for its database; SQLite read-only."""
    try:
        sa_url = make_url(url)
    except ArgumentError as exc:
        raise SourceError(f"the source is not a database URL: {exc}") from exc
    backend = sa_url.get_backend_name()
    if backend == "postgres":  # the old spelling some tools still write
        backend = "postgresql"
    if backend not in ASYNC_DRIVERS:
        raise SourceError(f"the source's database {backend!r} is not one of {', '.join(ASYNC_DRIVERS)}")
    driver = sa_url.drivername.partition("+")[2]  # as written: the dialect itself may not load
    sa_url = sa_url.set(drivername=f"{backend}+{driver if driver in _ASYNC else ASYNC_DRIVERS[backend]}")
    if backend == "sqlite":
        sa_url = _read_only_sqlite(sa_url)
    return sa_url


def _read_only_sqlite(sa_url: URL) -> URL:
    database = sa_url.database or ""
    if not database or database == ":memory:":
        raise SourceError("the source must be the predecessor's SQLite file, not an in-memory database")
    if database.startswith("file:"):
        return sa_url
    path = Path(database).expanduser().resolve()
    if not path.is_file():
        raise SourceError(f"the source file {path} does not exist")
    return sa_url.set(database=f"file:{urllib.parse.quote(str(path))}", query={"mode": "ro", "uri": "true"})


class PredecessorSource:
    """An open connection pool to the predecessor's database and the tables found in it."""

    def __init__(self, engine: AsyncEngine, tables: dict[str, Table]) -> None:
        self.engine = engine
        self.tables = tables

    @classmethod
    async def open(cls, url: str, wanted: tuple[str, ...]) -> PredecessorSource:
        """Connect and reflect the ``wanted`` tables that exist (by name, letter case aside)."""
        sa_url = async_url(url)
        try:
            engine = create_async_engine(sa_url, poolclass=NullPool)
        except ImportError as exc:
            driver = sa_url.get_driver_name()
            extra = _DRIVER_EXTRAS.get(driver)
            hint = f": pip install 'dmt-shared[{extra}]'" if extra else ""
            raise SourceError(f"the driver {driver} for the source's database is not installed{hint}") from exc
        try:
            async with engine.connect() as conn:
                tables = await conn.run_sync(_reflect, wanted)
        except BaseException:
            await engine.dispose()
            raise
        source = cls(engine, tables)
        for name, columns in REQUIRED_COLUMNS.items():
            source.require(name, columns)
        return source

    def has(self, name: str) -> bool:
        return name in self.tables

    def require(self, name: str, columns: tuple[str, ...]) -> None:
        table = self.tables.get(name)
        if table is None:
            raise SourceError(f"the source has no table {name!r}: is it the predecessor's database?")
        missing = [c for c in columns if c not in table.c]
        if missing:
            raise SourceError(f"the source's table {name!r} has no column {', '.join(missing)}")

    async def count(self, name: str) -> int:
        table = self.tables[name]
        async with self.engine.connect() as conn:
            return int((await conn.execute(select(func.count()).select_from(table))).scalar_one())

    async def batches(self, name: str, size: int) -> AsyncIterator[list[dict[str, Any]]]:
        """Every row with an id, as ``{column: value}``, ``size`` at a time, in id order."""
        table = self.tables[name]
        last: Any = None
        while True:
            statement = select(table).order_by(table.c.id).limit(size)
            statement = statement.where(table.c.id.is_not(None) if last is None else table.c.id > last)
            async with self.engine.connect() as conn:
                rows = [dict(row._mapping) for row in await conn.execute(statement)]
            if not rows:
                return
            yield rows
            last = rows[-1]["id"]
            if len(rows) < size:
                return

    async def close(self) -> None:
        await self.engine.dispose()


def _reflect(sync_conn: Any, wanted: tuple[str, ...]) -> dict[str, Table]:
    present = {name.lower(): name for name in inspect(sync_conn).get_table_names()}
    found = {w: present[w.lower()] for w in wanted if w.lower() in present}
    metadata = MetaData()
    metadata.reflect(sync_conn, only=list(found.values()))
    return {w: metadata.tables[actual] for w, actual in found.items()}
