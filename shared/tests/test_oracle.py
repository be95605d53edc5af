"""Oracle without a server: the engine factory (oracledb in its asyncio mode, and the options of
the other server databases, with no driver imported to work them out), and the migration lock's
DBMS_LOCK handling against a stand-in connection."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from types import SimpleNamespace

import pytest
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError

from dmt_shared.db import MigrationLockTimeout, create_engine, engine_options, migration_lock

ORACLE_URL = "oracle+oracledb://dmt_records:secret@db-host:1521/?service_name=FREEPDB1"


@pytest.mark.parametrize(
    ("url", "recycle"),
    [
        (ORACLE_URL, 1800),
        ("postgresql+asyncpg://dmt_records@db-host:5432/dmt_records", 1800),
        ("mysql+asyncmy://dmt_records@db-host:3306/dmt_records", 900),
        ("mariadb+asyncmy://dmt_records@db-host:3306/dmt_records", 900),
    ],
)
def test_a_server_database_gets_a_sized_pool_checked_before_use_and_recycled(url: str, recycle: int) -> None:
    options = engine_options(url, pool_size=7)
    assert options["pool_size"] == 7
    assert options["max_overflow"] == 7
    assert options["pool_pre_ping"] is True
    assert options["pool_recycle"] == recycle
    assert "poolclass" not in options


def test_sqlite_in_memory_gets_no_pool_and_a_file_the_configured_one(tmp_path) -> None:
    assert "poolclass" in engine_options("sqlite+aiosqlite://")
    assert "poolclass" in engine_options("sqlite+aiosqlite:///:memory:")
    on_file = engine_options(f"sqlite+aiosqlite:///{tmp_path / 'x.db'}", pool_size=16)
    assert "poolclass" not in on_file
    assert (on_file["pool_size"], on_file["max_overflow"]) == (16, 16)


def test_working_out_the_options_imports_no_driver() -> None:
    program = textwrap.dedent("""
        import json, sys
        from dmt_shared.db import engine_options
        for url in sys.argv[1:]:
            engine_options(url)
        drivers = ("asyncpg", "asyncmy", "oracledb", "aiosqlite")
        print(json.dumps(sorted(m for m in sys.modules if m.split(".")[0] in drivers)))
    """)
    urls = [ORACLE_URL, "postgresql+asyncpg://u@h/d", "mysql+asyncmy://u@h/d", "sqlite+aiosqlite:///x.db"]
    result = subprocess.run([sys.executable, "-c", program, *urls], capture_output=True, text=True, check=True)
    assert json.loads(result.stdout) == []


async def test_an_oracle_url_gives_an_asyncio_oracledb_engine_without_connecting() -> None:
    pytest.importorskip("oracledb", reason="the oracle extra (dmt-shared[oracle]) is not installed")
    engine = create_engine(ORACLE_URL, pool_size=3)
    try:
        assert (engine.dialect.name, engine.dialect.driver, engine.dialect.is_async) == ("oracle", "oracledb", True)
        assert engine.pool.size() == 3
        assert "secret" not in repr(engine.url)
    finally:
        await engine.dispose()


# ---------------------------------------------------------------- the migration lock on Oracle


class _FakeOracleConnection:
    """Stands in for a connection to Oracle: answers the lock's PL/SQL as told."""

    dialect = SimpleNamespace(name="oracle")

    def __init__(self, lock_error: str | None = None) -> None:
        self.lock_error = lock_error
        self.statements: list[tuple[str, dict]] = []
        self.invalidated = False
        self.engine = SimpleNamespace(url=make_url(ORACLE_URL))

    async def execute(self, statement, params=None):
        sql = str(statement)
        self.statements.append(("REQUEST" if "DBMS_LOCK.REQUEST" in sql else "RELEASE", dict(params or {})))
        if "DBMS_LOCK.REQUEST" in sql and self.lock_error:
            raise DBAPIError(sql, params, Exception(self.lock_error))

    async def commit(self) -> None:
        pass

    async def rollback(self) -> None:
        pass

    def in_transaction(self) -> bool:
        return False

    async def invalidate(self) -> None:
        self.invalidated = True


async def test_oracle_lock_is_requested_before_and_released_after_the_upgrade() -> None:
    conn = _FakeOracleConnection()
    async with migration_lock(conn, "records_alembic_version", 2.5):  # type: ignore[arg-type]
        assert conn.statements == [("REQUEST", {"lock_name": "records_alembic_version", "lock_wait": 3})]
    assert conn.statements[-1] == ("RELEASE", {"lock_name": "records_alembic_version"})


async def test_oracle_lock_timing_out_is_a_clear_error() -> None:
    conn = _FakeOracleConnection("ORA-20901: DMT migration lock: timed out")
    with pytest.raises(MigrationLockTimeout, match="records_alembic_version") as caught:
        async with migration_lock(conn, "records_alembic_version", 1):  # type: ignore[arg-type]
            pytest.fail("the upgrade ran without the lock")
    assert "DMT_MIGRATION_LOCK_TIMEOUT" in str(caught.value)
    assert "secret" not in str(caught.value)


async def test_without_execute_on_dbms_lock_the_upgrade_runs_unlocked_with_a_warning(caplog) -> None:
    conn = _FakeOracleConnection("ORA-06550: line 6, column 5:\nPLS-00201: identifier 'DBMS_LOCK' must be declared")
    ran = False
    with caplog.at_level("WARNING", logger="dmt_shared.db"):
        async with migration_lock(conn, "records_alembic_version", 1):  # type: ignore[arg-type]
            ran = True
    assert ran
    assert "GRANT EXECUTE ON SYS.DBMS_LOCK" in caplog.text
    assert [kind for kind, _ in conn.statements] == ["REQUEST"]


async def test_another_oracle_error_stops_the_migration_and_drops_the_connection() -> None:
    conn = _FakeOracleConnection("ORA-03113: end-of-file on communication channel")
    with pytest.raises(DBAPIError):
        async with migration_lock(conn, "records_alembic_version", 1):  # type: ignore[arg-type]
            pytest.fail("the upgrade ran without the lock")
    assert conn.invalidated


def test_the_lock_blocks_bind_only_the_lock_name_and_the_wait() -> None:
    from sqlalchemy import text
    from sqlalchemy.dialects import oracle

    from dmt_shared import db

    lock = text(db._ORACLE_LOCK).compile(dialect=oracle.dialect())
    unlock = text(db._ORACLE_UNLOCK).compile(dialect=oracle.dialect())
    assert set(lock.params) == {"lock_name", "lock_wait"}
    assert set(unlock.params) == {"lock_name"}
    # PL/SQL assignments (:=) are left as they are.
    assert ":=" in str(lock)
