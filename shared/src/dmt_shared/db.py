"""One engine factory for every dialect, per-service declarative bases, and migrations.

Every service owns its database and its schema. The schema comes from the service's Alembic
migrations (its own version table), applied on start by :func:`migrate`, never from
``create_all``. :func:`migrate` holds a lock for the whole upgrade, so replicas that start
together take turns: the first brings the schema to the newest revision, the others find it
there and change nothing.

Only the driver of the chosen database is imported (aiosqlite, asyncpg, asyncmy or oracledb),
and only when an engine for it is made.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import math
import os
import sys
import weakref
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from advanced_alchemy.base import AdvancedDeclarativeBase, CommonTableAttributes, create_registry
from litestar.datastructures import State
from sqlalchemy import event, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import (
    AsyncAttrs,
    AsyncConnection,
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.pool import NullPool

from dmt_shared.metrics import unwatch_pool, watch_pool
from dmt_shared.settings import SettingsError

__all__ = [
    "MIGRATION_LOCK_TIMEOUT",
    "MigrationLockTimeout",
    "ServiceDatabase",
    "create_engine",
    "declarative_base",
    "dialect_of",
    "engine_options",
    "migrate",
    "migration_lock",
    "ping",
    "provide_db_session",
    "run_alembic_env",
]

logger = logging.getLogger(__name__)

#: Seconds a start waits for another process's migration before giving up
#: (``DMT_MIGRATION_LOCK_TIMEOUT`` overrides it).
MIGRATION_LOCK_TIMEOUT = 300.0


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


#: Seconds a pooled connection of a server database is used before it is replaced: below the
#: idle limits that servers and the firewalls between them commonly apply.
POOL_RECYCLE = {"postgresql": 1800, "mysql": 900, "oracle": 1800}


def engine_options(url: str, *, echo: bool = False, pool_size: int = 10) -> dict[str, Any]:
    """The keyword arguments :func:`create_engine` gives SQLAlchemy for this URL (no driver is
    imported to work them out)."""
    dialect = dialect_of(url)
    options: dict[str, Any] = {"echo": echo}
    if dialect == "sqlite":
        if _sqlite_path(url) is None:
            # Each connection to an in-memory database is a database of its own: no pool.
            options["poolclass"] = NullPool
        else:
            # As for a server: each SQLite connection is a thread and an open file that reads the
            # schema again, so a pool smaller than the requests in flight opens and closes them
            # all the time under load.
            options.update(pool_size=pool_size, max_overflow=pool_size, pool_timeout=30)
        options["connect_args"] = {"timeout": 15}
        return options
    options.update(
        pool_size=pool_size,
        max_overflow=pool_size,
        pool_timeout=30,
        # A connection the server or a firewall dropped while idle is found before it is used.
        pool_pre_ping=True,
        pool_recycle=POOL_RECYCLE.get(dialect, 1800),
    )
    return options


def create_engine(url: str, *, echo: bool = False, pool_size: int = 10) -> AsyncEngine:
    """An async engine with the settings that suit the URL's dialect.

    - SQLite (aiosqlite): the folder is created, WAL journal, foreign keys on and a busy
      timeout on every connection, each statement in one trip to the connection's thread
      (:mod:`dmt_shared.sqlite`); a pool of ``pool_size`` like a server's (an in-memory
      database gets no pool: each of its connections would be an empty database of its own).
    - PostgreSQL (asyncpg), MySQL/MariaDB (asyncmy), Oracle (oracledb, its asyncio mode): a
      pool of ``pool_size`` (as many again in overflow) with pre-ping and a recycle time
      below the usual server idle timeouts (MariaDB's ``wait_timeout`` is often lowered).

    Only the chosen dialect's driver is imported, here and not before.
    """
    sa_url = make_url(url)
    options = engine_options(url, echo=echo, pool_size=pool_size)
    if dialect_of(url) == "sqlite":
        path = _sqlite_path(url)
        if path is not None:
            path.parent.mkdir(parents=True, exist_ok=True)
        from dmt_shared.sqlite import use_one_trip_cursors  # imports aiosqlite: SQLite only

        engine = create_async_engine(sa_url, **options)
        event.listen(engine.sync_engine, "connect", _sqlite_pragmas)
        use_one_trip_cursors(engine)
        return engine
    return create_async_engine(sa_url, **options)


def _sqlite_path(url: str) -> Path | None:
    """The file of a SQLite URL, or None for an in-memory database."""
    sa_url = make_url(url)
    database = sa_url.database or ""
    if database.startswith("file:"):
        # A URI (with ``uri=true``): ``file:path?mode=...``.
        database = database[len("file:") :].split("?", 1)[0]
        if "mode=memory" in (sa_url.database or ""):
            return None
    if database in ("", ":memory:"):
        return None
    return Path(database).expanduser().resolve()


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


class MigrationLockTimeout(TimeoutError):
    """Another process held the service's migration lock for longer than we may wait."""


def _lock_timeout_from_env() -> float:
    """``DMT_MIGRATION_LOCK_TIMEOUT`` (seconds) or :data:`MIGRATION_LOCK_TIMEOUT`."""
    raw = os.environ.get("DMT_MIGRATION_LOCK_TIMEOUT", "").strip()
    if not raw:
        return MIGRATION_LOCK_TIMEOUT
    try:
        value = float(raw)
    except ValueError:
        value = -1.0
    if not value > 0:
        raise SettingsError(f"DMT_MIGRATION_LOCK_TIMEOUT must be a number of seconds above 0, not {raw!r}")
    return value


async def migrate(
    engine: AsyncEngine,
    script_location: Path,
    version_table: str,
    revision: str = "head",
    *,
    lock_timeout: float | None = None,
) -> None:
    """Bring the service's schema up to ``revision`` with its Alembic scripts.

    The whole upgrade runs under the service's migration lock (see :func:`migration_lock`), so
    several processes may call this at once on one database: they take turns, and those that
    come after the first find the schema already there. Waiting longer than ``lock_timeout``
    seconds (default: ``DMT_MIGRATION_LOCK_TIMEOUT`` or 300) raises :class:`MigrationLockTimeout`.
    """
    from alembic import command

    cfg = _alembic_config(script_location, version_table)
    wait = _lock_timeout_from_env() if lock_timeout is None else lock_timeout

    def _upgrade(sync_conn: Any) -> None:
        cfg.attributes["connection"] = sync_conn
        command.upgrade(cfg, revision)

    async with _alembic_turn(), engine.connect() as conn, migration_lock(conn, version_table, wait):
        try:
            if conn.dialect.name == "sqlite":
                await _begin_immediate(conn)
            else:
                await conn.begin()
            await conn.run_sync(_upgrade)
            await conn.commit()
        except BaseException:
            await conn.rollback()
            raise


#: One upgrade at a time per event loop (see :func:`_alembic_turn`).
_alembic_turns: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.Lock] = weakref.WeakKeyDictionary()


def _alembic_turn() -> asyncio.Lock:
    """Alembic keeps the upgrade it is running in module globals (``alembic.context``,
    ``alembic.op``): two upgrades interleaved in one process, even of different databases, would
    mix them up. Within a process they take turns; between processes the database lock decides."""
    loop = asyncio.get_running_loop()
    turn = _alembic_turns.get(loop)
    if turn is None:
        turn = _alembic_turns[loop] = asyncio.Lock()
    return turn


async def _begin_immediate(conn: AsyncConnection) -> None:
    """Open a real SQLite transaction, taken for writing at once, around the whole upgrade.

    Python's sqlite3 module runs DDL outside any transaction by default, so a revision that
    failed halfway would leave the tables made before it without their version row. With the
    driver's own transaction handling off (for this connection only, until it goes back to the
    pool) and an explicit ``BEGIN IMMEDIATE``, a failed upgrade changes nothing; and no other
    writer can come between the version check and the DDL.
    """
    await conn.execution_options(isolation_level="AUTOCOMMIT")
    await conn.exec_driver_sql("BEGIN IMMEDIATE")


@asynccontextmanager
async def migration_lock(conn: AsyncConnection, name: str, wait: float) -> AsyncIterator[None]:
    """Hold the lock called ``name`` (a service's version table) on ``conn``'s database.

    Exclusive between every process that migrates that database, whichever host it runs on
    (SQLite: whichever process on the one host the file lives on). The lock does not depend on
    a transaction (DDL commits by itself on MariaDB and Oracle): it is taken before the upgrade
    begins and let go after it has committed, or when the connection ends.

    - PostgreSQL: a session advisory lock (``pg_try_advisory_lock``) keyed on ``name``;
      advisory locks belong to one database, so other databases on the server never wait.
    - MariaDB / MySQL: ``GET_LOCK`` / ``RELEASE_LOCK`` on a name made of the database and ``name``
      (those locks are server-wide).
    - SQLite: an exclusive ``flock`` on the file ``<database>.migration-lock`` beside the
      database (nothing for an in-memory database, which no other process can see).
    - Oracle: ``DBMS_LOCK`` (exclusive, kept across commits) on a name made of the schema and
      ``name``. It needs ``GRANT EXECUTE ON SYS.DBMS_LOCK``; without it the migration runs
      unlocked and a warning says so.

    Waiting longer than ``wait`` seconds raises :class:`MigrationLockTimeout`.
    """
    dialect = conn.dialect.name
    if dialect == "postgresql":
        lock = _postgres_lock(conn, name, wait)
    elif dialect in ("mysql", "mariadb"):
        lock = _mysql_lock(conn, name, wait)
    elif dialect == "sqlite":
        lock = _sqlite_lock(conn, name, wait)
    elif dialect == "oracle":
        lock = _oracle_lock(conn, name, wait)
    else:
        logger.warning("no migration lock for %s databases: start one process at a time", dialect)
        lock = _no_lock()
    async with lock:
        yield


@asynccontextmanager
async def _no_lock() -> AsyncIterator[None]:
    yield


def _timeout_error(name: str, conn: AsyncConnection, wait: float) -> MigrationLockTimeout:
    where = conn.engine.url.render_as_string(hide_password=True)
    return MigrationLockTimeout(
        f"another process has been migrating {where} ({name}) for more than {wait:g} s; "
        "wait for it to finish (or end it if it hangs) and start again; "
        "DMT_MIGRATION_LOCK_TIMEOUT sets how long to wait"
    )


async def _poll(try_once: Callable[[], Awaitable[bool]], name: str, conn: AsyncConnection, wait: float) -> None:
    """Call ``try_once`` until it takes the lock, waiting a little longer each time, up to ``wait``."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + wait
    delay = 0.02
    told = False
    while not await try_once():
        remaining = deadline - loop.time()
        if remaining <= 0:
            raise _timeout_error(name, conn, wait)
        if not told:
            logger.info("waiting for another process that is migrating %s", name)
            told = True
        await asyncio.sleep(min(delay, remaining))
        delay = min(delay * 2, 0.5)


async def _end_session(conn: AsyncConnection) -> None:
    """Close the connection for good: interrupted (cancelled, say) just as the server granted
    the lock, it may hold it, and must not go back to the pool holding it."""
    await conn.invalidate()


async def _let_go(conn: AsyncConnection, statement: str, params: dict[str, Any]) -> None:
    """Release a session lock; if that fails, close the connection for good (ending the session
    ends its locks) rather than hand it back to the pool still holding the lock."""
    try:
        if conn.in_transaction():
            await conn.rollback()
        await conn.execute(text(statement), params)
        await conn.commit()
    except Exception:
        logger.warning("could not release the migration lock; closing its connection instead", exc_info=True)
        await _end_session(conn)


def _postgres_key(name: str) -> int:
    """A stable signed 64-bit advisory lock key for ``name``."""
    digest = hashlib.sha256(f"dmt-migration:{name}".encode()).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


@asynccontextmanager
async def _postgres_lock(conn: AsyncConnection, name: str, wait: float) -> AsyncIterator[None]:
    key = _postgres_key(name)

    async def try_once() -> bool:
        taken = bool((await conn.execute(text("SELECT pg_try_advisory_lock(:key)"), {"key": key})).scalar())
        # End the transaction at once: the upgrade's own begins after the lock is taken, so it
        # sees the schema as the previous holder left it, whatever the isolation level.
        await conn.commit()
        return taken

    try:
        await _poll(try_once, name, conn, wait)
    except BaseException:
        await _end_session(conn)
        raise
    try:
        yield
    finally:
        await _let_go(conn, "SELECT pg_advisory_unlock(:key)", {"key": key})


def _mysql_lock_name(database: str, name: str) -> str:
    """``<database>.<name>``; hashed when longer than MySQL's 64 characters for a lock name."""
    full = f"{database}.{name}"
    if len(full) <= 64:
        return full
    return f"{full[:23]}~{hashlib.sha256(full.encode()).hexdigest()[:40]}"


@asynccontextmanager
async def _mysql_lock(conn: AsyncConnection, name: str, wait: float) -> AsyncIterator[None]:
    database = (await conn.execute(text("SELECT DATABASE()"))).scalar() or ""
    lock_name = _mysql_lock_name(str(database), name)
    # The server waits (in whole seconds); the connection is not blocked for other tasks.
    try:
        got = (
            await conn.execute(text("SELECT GET_LOCK(:name, :wait)"), {"name": lock_name, "wait": math.ceil(wait)})
        ).scalar()
        await conn.commit()
    except BaseException:
        await _end_session(conn)
        raise
    if got != 1:
        raise _timeout_error(name, conn, wait)
    try:
        yield
    finally:
        await _let_go(conn, "SELECT RELEASE_LOCK(:name)", {"name": lock_name})


@asynccontextmanager
async def _sqlite_lock(conn: AsyncConnection, name: str, wait: float) -> AsyncIterator[None]:
    path = _sqlite_path(conn.engine.url.render_as_string(hide_password=False))
    if path is None:
        yield
        return
    lock_path = path.with_name(f"{path.name}.migration-lock")
    lock_path.parent.mkdir(parents=True, exist_ok=True)
    # The file stays: removing it while another process waits on it would let a third one in.
    fd = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o644)
    try:

        async def try_once() -> bool:
            return _try_lock_file(fd)

        await _poll(try_once, name, conn, wait)
        try:
            yield
        finally:
            _unlock_file(fd)
    finally:
        os.close(fd)


if sys.platform == "win32":  # pragma: no cover - the services run on POSIX hosts
    import msvcrt

    def _try_lock_file(fd: int) -> bool:
        try:
            msvcrt.locking(fd, msvcrt.LK_NBLCK, 1)
        except OSError:
            return False
        return True

    def _unlock_file(fd: int) -> None:
        os.lseek(fd, 0, os.SEEK_SET)
        msvcrt.locking(fd, msvcrt.LK_UNLCK, 1)

else:
    import fcntl

    def _try_lock_file(fd: int) -> bool:
        # flock, not lockf: flock locks belong to the open file, so two engines in one
        # process exclude each other too, and the lock goes when the process ends.
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return False
        return True

    def _unlock_file(fd: int) -> None:
        fcntl.flock(fd, fcntl.LOCK_UN)


# DBMS_LOCK names are shared by the whole database: the schema (one per service) is part of it.
_ORACLE_LOCK = """
DECLARE
    lock_handle VARCHAR2(128);
    outcome INTEGER;
BEGIN
    DBMS_LOCK.ALLOCATE_UNIQUE('DMT.' || SYS_CONTEXT('USERENV', 'CURRENT_SCHEMA') || '.' || :lock_name, lock_handle);
    outcome := DBMS_LOCK.REQUEST(lock_handle, DBMS_LOCK.X_MODE, :lock_wait, FALSE);
    IF outcome = 1 THEN
        RAISE_APPLICATION_ERROR(-20901, 'DMT migration lock: timed out');
    ELSIF outcome NOT IN (0, 4) THEN
        RAISE_APPLICATION_ERROR(-20902, 'DMT migration lock: DBMS_LOCK.REQUEST answered ' || outcome);
    END IF;
END;
"""

_ORACLE_UNLOCK = """
DECLARE
    lock_handle VARCHAR2(128);
    outcome INTEGER;
BEGIN
    DBMS_LOCK.ALLOCATE_UNIQUE('DMT.' || SYS_CONTEXT('USERENV', 'CURRENT_SCHEMA') || '.' || :lock_name, lock_handle);
    outcome := DBMS_LOCK.RELEASE(lock_handle);
END;
"""


@asynccontextmanager
async def _oracle_lock(conn: AsyncConnection, name: str, wait: float) -> AsyncIterator[None]:
    locked = False
    try:
        await conn.execute(text(_ORACLE_LOCK), {"lock_name": name, "lock_wait": math.ceil(wait)})
        locked = True
    except DBAPIError as exc:
        message = str(exc.orig)
        if "ORA-20901" in message:
            raise _timeout_error(name, conn, wait) from exc
        if "PLS-00201" not in message or "DBMS_LOCK" not in message.upper():
            await _end_session(conn)
            raise
        # PLS-00201 (identifier must be declared) on DBMS_LOCK: EXECUTE on it was not granted.
        logger.warning(
            "DBMS_LOCK is not available to this schema (GRANT EXECUTE ON SYS.DBMS_LOCK); "
            "migrating without a lock: start one process at a time"
        )
    except BaseException:
        await _end_session(conn)
        raise
    if locked:
        await conn.commit()
    else:
        await conn.rollback()
    try:
        yield
    finally:
        if locked:
            await _let_go(conn, _ORACLE_UNLOCK, {"lock_name": name})


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
        # SQL for a DBA to run: ``config.attributes["dialect_opts"]`` may describe the target more
        # closely (Oracle before 23ai: ``{"supports_native_boolean": False}``).
        dialect_opts = {"paramstyle": "named", **config.attributes.get("dialect_opts", {})}
        context.configure(url=url, literal_binds=True, dialect_opts=dialect_opts, **options)
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
    session per request from it. Given a ``component``, its connection pool is reported in
    ``/metrics`` (``dmt_db_pool_connections``) until :meth:`dispose`.
    """

    def __init__(
        self,
        url: str,
        *,
        migrations: Path,
        version_table: str,
        pool_size: int = 10,
        echo: bool = False,
        lock_timeout: float | None = None,
        component: str | None = None,
    ) -> None:
        self.engine = create_engine(url, echo=echo, pool_size=pool_size)
        if component is not None:
            watch_pool(component, self.engine)
        self.sessionmaker = async_sessionmaker(self.engine, expire_on_commit=False)
        self.migrations = migrations
        self.version_table = version_table
        self.lock_timeout = lock_timeout

    async def migrate(self, revision: str = "head") -> None:
        """Bring the schema to ``revision`` under the migration lock (see :func:`migrate`)."""
        await migrate(self.engine, self.migrations, self.version_table, revision, lock_timeout=self.lock_timeout)

    async def ping(self) -> None:
        await ping(self.engine)

    async def dispose(self) -> None:
        unwatch_pool(self.engine)
        await self.engine.dispose()


async def provide_db_session(state: State) -> AsyncIterator[AsyncSession]:
    """One session per request (a Litestar dependency); each write commits itself, whatever is
    left open is rolled back when the request ends."""
    database: ServiceDatabase = state.database
    async with database.sessionmaker() as session:
        yield session
