"""Migrations under a lock: replicas that start together take turns instead of colliding.

A small migration history of its own (two revisions: tables, a foreign key, indexes, then a new
column and table) is written for each test, so that these tests need no service.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import textwrap
import time
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import inspect, text
from sqlalchemy.engine import make_url

from dmt_shared.db import MigrationLockTimeout, create_engine, migrate, migration_lock
from dmt_shared.pytest_plugin import _server_url, create_server_database, drop_server_database

VERSION_TABLE = "locktest_alembic_version"
TABLES = {"lock_part", "lock_batch", "lock_note"}

ENV = f"""
from alembic import context
from sqlalchemy import MetaData

from dmt_shared.db import run_alembic_env

run_alembic_env(context, MetaData(), {VERSION_TABLE!r}, lambda: "sqlite+aiosqlite://")
"""

FIRST = """
import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "lock_part",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("code", sa.String(32), nullable=False),
        sa.Column("name", sa.String(120), nullable=False),
        sa.UniqueConstraint("code", name="uq_lock_part_code"),
    )
    op.create_index("ix_lock_part_name", "lock_part", ["name"])
    op.create_table(
        "lock_batch",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("part_id", sa.Integer(), sa.ForeignKey("lock_part.id", name="fk_lock_batch_part"), nullable=False),
        sa.Column("quantity", sa.Integer(), nullable=False),
    )
    op.create_index("ix_lock_batch_part", "lock_batch", ["part_id"])
    op.execute("INSERT INTO lock_part (code, name) VALUES ('9151355', 'Housing')")
"""

SECOND = """
import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("lock_batch") as batch:
        batch.add_column(sa.Column("serial_number", sa.String(64), nullable=True))
    op.create_index("ix_lock_batch_serial", "lock_batch", ["serial_number"])
    op.create_table(
        "lock_note",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("body", sa.Text(), nullable=False),
    )
"""

BROKEN = """
revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade():
    raise RuntimeError("this revision always fails")
"""


def _write_history(folder: Path, *revisions: str) -> Path:
    (folder / "versions").mkdir(parents=True)
    (folder / "env.py").write_text(ENV)
    for number, source in enumerate(revisions, start=1):
        (folder / "versions" / f"{number:04d}_step.py").write_text(textwrap.dedent(source))
    return folder


@pytest.fixture
def history(tmp_path: Path) -> Path:
    return _write_history(tmp_path / "history", FIRST, SECOND)


def _state(sync_conn: Any) -> tuple[set[str], list[str], set[str]]:
    inspector = inspect(sync_conn)
    tables = set(inspector.get_table_names())
    versions = (
        [row[0] for row in sync_conn.execute(text(f"SELECT version_num FROM {VERSION_TABLE}"))]
        if VERSION_TABLE in tables
        else []
    )
    columns = {c["name"] for c in inspector.get_columns("lock_batch")} if "lock_batch" in tables else set()
    return tables, versions, columns


async def _read_state(url: str) -> tuple[set[str], list[str], set[str], int]:
    engine = create_engine(url)
    try:
        async with engine.connect() as conn:
            tables, versions, columns = await conn.run_sync(_state)
            parts = 0
            if "lock_part" in tables:
                parts = (await conn.execute(text("SELECT COUNT(*) FROM lock_part"))).scalar()
    finally:
        await engine.dispose()
    return tables, versions, columns, int(parts or 0)


async def test_four_migrations_started_together_leave_one_schema_at_head(database_url: str, history: Path) -> None:
    engines = [create_engine(database_url, pool_size=1) for _ in range(4)]
    try:
        outcomes = await asyncio.gather(
            *(migrate(engine, history, VERSION_TABLE, lock_timeout=60) for engine in engines), return_exceptions=True
        )
    finally:
        for engine in engines:
            await engine.dispose()
    assert [repr(o) for o in outcomes if isinstance(o, BaseException)] == []
    tables, versions, columns, parts = await _read_state(database_url)
    assert TABLES | {VERSION_TABLE} <= tables
    assert versions == ["0002"]
    assert "serial_number" in columns
    # The data step of the first revision ran exactly once.
    assert parts == 1


def _migrate_in_a_process(history: Path, url: str) -> subprocess.Popen[str]:
    """The command line every service offers (``python -m dmt_<service> migrate --url``), for this history."""
    program = textwrap.dedent(f"""
        import sys
        from pathlib import Path
        from sqlalchemy import MetaData
        from dmt_shared import cli

        service = cli.ServiceDefinition(
            name="locktest", database_url=lambda: sys.argv[2], metadata=MetaData(),
            migrations=Path(sys.argv[1]), version_table={VERSION_TABLE!r},
        )
        sys.exit(cli.run(service, ["migrate", "--url", sys.argv[2]]))
    """)
    return subprocess.Popen(
        [sys.executable, "-c", program, str(history), url],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "DMT_MIGRATION_LOCK_TIMEOUT": "60"},
    )


def test_four_processes_migrating_one_database_at_once_all_succeed(database_url: str, history: Path) -> None:
    processes = [_migrate_in_a_process(history, database_url) for _ in range(4)]
    results = []
    for process in processes:
        out, err = process.communicate(timeout=120)
        results.append((process.returncode, out, err))
    assert [(code, err) for code, _, err in results if code != 0] == []
    assert all("is at revision 0002" in out for _, out, _ in results)
    tables, versions, _, parts = asyncio.run(_read_state(database_url))
    assert tables >= TABLES
    assert versions == ["0002"]
    assert parts == 1


async def test_a_migration_that_waits_too_long_stops_with_a_clear_error(database_url: str, history: Path) -> None:
    holder, waiter = create_engine(database_url, pool_size=1), create_engine(database_url, pool_size=1)
    try:
        async with holder.connect() as conn, migration_lock(conn, VERSION_TABLE, 5):
            started = time.monotonic()
            with pytest.raises(MigrationLockTimeout) as caught:
                await migrate(waiter, history, VERSION_TABLE, lock_timeout=1)
            waited = time.monotonic() - started
        assert 0.9 <= waited < 10
        message = str(caught.value)
        assert VERSION_TABLE in message
        assert "DMT_MIGRATION_LOCK_TIMEOUT" in message
        password = make_url(database_url).password
        assert not password or password not in message
        tables, versions, _, _ = await _read_state(database_url)
        assert not TABLES & tables
        assert versions == []
        # Once the holder has let go, the same call goes through.
        await migrate(waiter, history, VERSION_TABLE, lock_timeout=5)
    finally:
        await holder.dispose()
        await waiter.dispose()
    assert (await _read_state(database_url))[1] == ["0002"]


async def test_a_failed_migration_lets_go_of_the_lock(
    database_url: str, database_backend: str, history: Path, tmp_path: Path
) -> None:
    broken = _write_history(tmp_path / "broken", FIRST, SECOND, BROKEN)
    engine, other = create_engine(database_url, pool_size=1), create_engine(database_url, pool_size=1)
    try:
        with pytest.raises(RuntimeError, match="always fails"):
            await migrate(engine, broken, VERSION_TABLE, lock_timeout=5)
        # Another replica is not kept waiting by the failure.
        async with other.connect() as conn, migration_lock(conn, VERSION_TABLE, 1):
            pass
        if database_backend == "mariadb":
            return  # DDL commits by itself there: what ran before the failure stays (see DATABASE_SETUP.md).
        # PostgreSQL and SQLite undo the whole upgrade: the database is as it was, and a good
        # history applies cleanly afterwards.
        tables, versions, _, _ = await _read_state(database_url)
        assert (tables & TABLES, versions) == (set(), [])
        await migrate(other, history, VERSION_TABLE, lock_timeout=2)
    finally:
        await engine.dispose()
        await other.dispose()
    assert (await _read_state(database_url))[1] == ["0002"]


async def _another_database(backend: str, tmp_path: Path) -> tuple[str, str | None]:
    if backend == "sqlite":
        return f"sqlite+aiosqlite:///{tmp_path / 'other.db'}", None
    admin_url = _server_url(backend)
    assert admin_url
    return await create_server_database(admin_url)


async def test_migrating_another_database_on_the_same_server_does_not_wait(
    database_url: str, database_backend: str, history: Path, tmp_path: Path
) -> None:
    other_url, other_name = await _another_database(database_backend, tmp_path)
    holder, other = create_engine(database_url, pool_size=1), create_engine(other_url, pool_size=1)
    try:
        async with holder.connect() as conn, migration_lock(conn, VERSION_TABLE, 5):
            await migrate(other, history, VERSION_TABLE, lock_timeout=1)
        assert (await _read_state(other_url))[1] == ["0002"]
    finally:
        await holder.dispose()
        await other.dispose()
        if other_name is not None:
            admin_url = _server_url(database_backend)
            assert admin_url
            await drop_server_database(admin_url, other_name)


def test_the_sqlite_lock_file_lies_beside_the_database(tmp_path: Path, history: Path) -> None:
    database = tmp_path / "data" / "records.db"
    asyncio.run(_migrate_once(f"sqlite+aiosqlite:///{database}", history))
    assert (tmp_path / "data" / "records.db.migration-lock").exists()


async def _migrate_once(url: str, history: Path) -> None:
    engine = create_engine(url)
    try:
        await migrate(engine, history, VERSION_TABLE)
    finally:
        await engine.dispose()


def test_a_bad_lock_timeout_setting_is_refused(monkeypatch: pytest.MonkeyPatch, history: Path, tmp_path: Path) -> None:
    from dmt_shared.settings import SettingsError

    monkeypatch.setenv("DMT_MIGRATION_LOCK_TIMEOUT", "soon")
    with pytest.raises(SettingsError, match="DMT_MIGRATION_LOCK_TIMEOUT"):
        asyncio.run(_migrate_once(f"sqlite+aiosqlite:///{tmp_path / 'x.db'}", history))


def test_mariadb_lock_names_fit_mysqls_64_characters_and_stay_apart() -> None:
    from dmt_shared.db import _mysql_lock_name

    short = _mysql_lock_name("dmt_records", "records_alembic_version")
    assert short == "dmt_records.records_alembic_version"
    long_names = {_mysql_lock_name(f"plant{n}_" + "x" * 58, "masterdata_alembic_version") for n in range(3)}
    assert len(long_names) == 3
    assert all(len(name) <= 64 for name in long_names)
