"""One engine factory for every dialect, per-service declarative bases, and migrations.

Every service owns its database and its schema. The schema comes from the service's Alembic
migrations (its own version table), applied on start by :func:`migrate`, never from
``create_all``.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

from advanced_alchemy.base import AdvancedDeclarativeBase, CommonTableAttributes, create_registry
from litestar.datastructures import State
from sqlalchemy import event, text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncAttrs, AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine
from sqlalchemy.pool import NullPool

__all__ = [
    "ServiceDatabase",
    "create_engine",
    "declarative_base",
    "dialect_of",
    "migrate",
    "ping",
    "provide_db_session",
    "run_alembic_env",
]


def declarative_base() -> type[Any]:
    """A fresh abstract declarative base with its own metadata.

    Each service gets its own so that its migrations see only its own tables, even when
    several services are loaded into one test process.
    """

    own_registry = create_registry()

    class Base(CommonTableAttributes, AdvancedDeclarativeBase, AsyncAttrs):
        __abstract__ = True
        # Only a direct subclass of DeclarativeBase sets these up by itself: set all three so
        # that mapping and metadata both go to this base's registry, not the library's global one.
        registry = own_registry
        metadata = own_registry.metadata
        _sa_registry = own_registry

    return Base


def dialect_of(url: str) -> str:
    """`sqlite`, `postgresql`, `mysql` (MariaDB included) or `oracle`."""
    backend = make_url(url).get_backend_name()
    return "mysql" if backend == "mariadb" else backend


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=15000")
    cursor.close()


def create_engine(url: str, *, echo: bool = False, pool_size: int = 10) -> AsyncEngine:
    """An async engine with the settings that suit the URL's dialect.

    - SQLite (aiosqlite): the folder is created, WAL journal, foreign keys on and a busy
      timeout on every connection; a small persistent pool (an in-memory database gets
      no pool so that every session sees the same schema is not attempted: use a file).
    - PostgreSQL (asyncpg), MySQL/MariaDB (asyncmy), Oracle (oracledb): a sized pool with
      pre-ping and a recycle time below the usual server idle timeouts.
    """
    sa_url = make_url(url)
    dialect = dialect_of(url)
    kwargs: dict[str, Any] = {"echo": echo}
    if dialect == "sqlite":
        database = sa_url.database or ""
        if database and database != ":memory:" and not database.startswith("file:"):
            Path(database).expanduser().resolve().parent.mkdir(parents=True, exist_ok=True)
        if database in ("", ":memory:"):
            kwargs["poolclass"] = NullPool
        else:
            kwargs.update(pool_size=5, max_overflow=10, pool_timeout=30)
        kwargs["connect_args"] = {"timeout": 15}
        engine = create_async_engine(sa_url, **kwargs)
        event.listen(engine.sync_engine, "connect", _sqlite_pragmas)
        return engine
    kwargs.update(pool_size=pool_size, max_overflow=pool_size, pool_pre_ping=True, pool_recycle=1800)
    if dialect == "mysql":
        # MariaDB closes idle connections after wait_timeout (8 h by default, often less).
        kwargs["pool_recycle"] = 900
    return create_async_engine(sa_url, **kwargs)


async def ping(engine: AsyncEngine) -> None:
    """Raise if the database cannot answer a trivial query."""
    query = "SELECT 1 FROM DUAL" if engine.dialect.name == "oracle" else "SELECT 1"
    async with engine.connect() as conn:
        await conn.execute(text(query))


def _alembic_config(script_location: Path, version_table: str) -> Any:
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(script_location))
    cfg.attributes["version_table"] = version_table
    return cfg


async def migrate(engine: AsyncEngine, script_location: Path, version_table: str, revision: str = "head") -> None:
    """Bring the service's schema up to ``revision`` with its Alembic scripts."""
    from alembic import command

    cfg = _alembic_config(script_location, version_table)

    def _upgrade(sync_conn: Any) -> None:
        cfg.attributes["connection"] = sync_conn
        command.upgrade(cfg, revision)

    async with engine.begin() as conn:
        await conn.run_sync(_upgrade)


def run_alembic_env(context: Any, metadata: Any, default_version_table: str, url_factory: Callable[[], str]) -> None:
    """The body of every service's ``env.py``.

    Uses the connection handed over by :func:`migrate` when there is one; otherwise (the
    ``alembic`` command line) connects to ``sqlalchemy.url`` or the service's configured URL.
    """
    config = context.config
    version_table = config.attributes.get("version_table", default_version_table)
    options: dict[str, Any] = {
        "target_metadata": metadata,
        "version_table": version_table,
        "compare_type": True,
        "render_as_batch": True,
        "user_module_prefix": "sa.",
    }

    def run(sync_conn: Any) -> None:
        context.configure(connection=sync_conn, **options)
        with context.begin_transaction():
            context.run_migrations()

    connection = config.attributes.get("connection")
    if connection is not None:
        run(connection)
        return
    url = config.get_main_option("sqlalchemy.url") or url_factory()
    if context.is_offline_mode():
        context.configure(url=url, literal_binds=True, dialect_opts={"paramstyle": "named"}, **options)
        with context.begin_transaction():
            context.run_migrations()
        return

    async def online() -> None:
        engine = create_engine(url)
        try:
            async with engine.begin() as conn:
                await conn.run_sync(run)
        finally:
            await engine.dispose()

    asyncio.run(online())


class ServiceDatabase:
    """A service's own database: its engine, its sessions and its migrations.

    A service keeps one on ``app.state.database``; :func:`provide_db_session` hands out one
    session per request from it.
    """

    def __init__(
        self, url: str, *, migrations: Path, version_table: str, pool_size: int = 10, echo: bool = False
    ) -> None:
        self.engine = create_engine(url, echo=echo, pool_size=pool_size)
        self.sessionmaker = async_sessionmaker(self.engine, expire_on_commit=False)
        self.migrations = migrations
        self.version_table = version_table

    async def migrate(self, revision: str = "head") -> None:
        await migrate(self.engine, self.migrations, self.version_table, revision)

    async def ping(self) -> None:
        await ping(self.engine)

    async def dispose(self) -> None:
        await self.engine.dispose()


async def provide_db_session(state: State) -> AsyncIterator[AsyncSession]:
    """One session per request (a Litestar dependency); each write commits itself, whatever is
    left open is rolled back when the request ends."""
    database: ServiceDatabase = state.database
    async with database.sessionmaker() as session:
        yield session
