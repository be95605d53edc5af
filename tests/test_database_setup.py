"""The init scripts of deploy/db on the live PostgreSQL and MariaDB servers.

Each script is run the way its README says (psql with ``-v`` passwords; the mysql client after
putting the passwords in), with the ``dmt`` prefix of every name replaced by a prefix of this
test run so that runs in parallel never meet. Then each service's migrations run as that
service's own user, and each user is shown to be shut out of the other services' databases and
of creating databases. Everything made is dropped afterwards.
"""

from __future__ import annotations

import os
import re
import secrets
import shutil
import subprocess
import uuid
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest
from alembic.config import Config
from alembic.script import ScriptDirectory
from sqlalchemy import text
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import create_async_engine

from dmt_auth.db import MIGRATIONS as AUTH_MIGRATIONS
from dmt_auth.db import VERSION_TABLE as AUTH_VERSION_TABLE
from dmt_masterdata.db import MIGRATIONS as MASTERDATA_MIGRATIONS
from dmt_masterdata.db import VERSION_TABLE as MASTERDATA_VERSION_TABLE
from dmt_records.db import MIGRATIONS as RECORDS_MIGRATIONS
from dmt_records.db import VERSION_TABLE as RECORDS_VERSION_TABLE
from dmt_shared.db import create_engine, migrate

ROOT = Path(__file__).resolve().parents[1]
SCRIPTS = ROOT / "deploy" / "db"

#: Service, its migrations and version table, and a table its first migration makes.
SERVICES = {
    "auth": (AUTH_MIGRATIONS, AUTH_VERSION_TABLE, "user_account"),
    "masterdata": (MASTERDATA_MIGRATIONS, MASTERDATA_VERSION_TABLE, "catalog_entry"),
    "records": (RECORDS_MIGRATIONS, RECORDS_VERSION_TABLE, "dmt_record"),
}


def with_prefix(script: str, prefix: str) -> str:
    """The script with every ``dmt_`` name (``dmt\\_`` in MySQL grants) renamed to ``<prefix>_``:
    what ``sed -E 's/\\bdmt(\\\\?_)/<prefix>\\1/g'`` does (see the READMEs)."""
    return re.sub(r"\bdmt(\\?_)", lambda m: prefix + m.group(1), script)


def _server(variable: str, client: str) -> URL:
    url = os.environ.get(variable)
    required = os.environ.get("DMT_TEST_REQUIRE_SERVERS") == "1"
    if not url:
        (pytest.fail if required else pytest.skip)(f"{variable} not set")
    if shutil.which(client) is None:
        (pytest.fail if required else pytest.skip)(f"the {client} client is not installed")
    return make_url(url)


@pytest.fixture
def prefix() -> str:
    return f"dmtt{uuid.uuid4().hex[:8]}"


@pytest.fixture
def passwords() -> dict[str, str]:
    return {service: f"Pw-{secrets.token_hex(8)}" for service in SERVICES}


async def _admin_execute(admin: URL, *statements: str) -> None:
    engine = create_async_engine(admin, isolation_level="AUTOCOMMIT")
    try:
        async with engine.connect() as conn:
            for statement in statements:
                await conn.execute(text(statement))
    finally:
        await engine.dispose()


def newest_revision(migrations: str) -> str | None:
    """The head of a service's migrations, as alembic reads it from the scripts."""
    config = Config()
    config.set_main_option("script_location", str(migrations))
    return ScriptDirectory.from_config(config).get_current_head()


async def _migrate_as_service(url: URL, service: str) -> None:
    migrations, version_table, table = SERVICES[service]
    engine = create_engine(url.render_as_string(hide_password=False))
    try:
        await migrate(engine, migrations, version_table)
        async with engine.connect() as conn:
            version = (await conn.execute(text(f"SELECT version_num FROM {version_table}"))).scalar()
            rows = (await conn.execute(text(f"SELECT COUNT(*) FROM {table}"))).scalar()
        assert (version, rows) == (newest_revision(migrations), 0)
        # Running again (the next start) finds nothing to do.
        await migrate(engine, migrations, version_table)
    finally:
        await engine.dispose()


async def _refused(url: URL, statement: str = "SELECT 1") -> str:
    """The error the server answers ``statement`` with (the test fails if it is allowed)."""
    engine = create_async_engine(url, isolation_level="AUTOCOMMIT")
    try:
        async with engine.connect() as conn:
            await conn.execute(text(statement))
    except DBAPIError as exc:
        return str(exc.orig)
    finally:
        await engine.dispose()
    pytest.fail(f"{url.username} was allowed: {statement}")


async def _check_services(
    service_url: Callable[[str, str | None], URL], prefix: str, denied: str, *, one_server_namespace: bool
) -> None:
    for service in SERVICES:
        await _migrate_as_service(service_url(service, None), service)
    for service in SERVICES:
        for other in SERVICES:
            if other == service:
                continue
            # Not even a connection to another service's database ...
            message = await _refused(service_url(service, f"{prefix}_{other}"))
            assert denied in message
            if one_server_namespace:
                # ... nor a way round it from its own (MariaDB names any database's tables).
                _, _, table = SERVICES[other]
                statement = f"SELECT COUNT(*) FROM {prefix}_{other}.{table}"
                assert denied in await _refused(service_url(service, None), statement)
        message = await _refused(service_url(service, None), f"CREATE DATABASE {prefix}_extra")
        assert denied in message


# ---------------------------------------------------------------- PostgreSQL


@pytest.fixture
async def postgres(prefix: str) -> AsyncIterator[URL]:
    admin = _server("DMT_TEST_POSTGRES_URL", "psql")
    try:
        yield admin
    finally:
        await _admin_execute(
            admin,
            *(f'DROP DATABASE IF EXISTS "{prefix}_{service}" WITH (FORCE)' for service in SERVICES),
            *(f'DROP ROLE IF EXISTS "{prefix}_{service}"' for service in SERVICES),
        )


def _run_psql(admin: URL, script: Path, passwords: dict[str, str]) -> subprocess.CompletedProcess[str]:
    libpq = admin.set(drivername="postgresql")
    env = {**os.environ}
    if libpq.password:
        env["PGPASSWORD"] = str(libpq.password)
    variables = [arg for service, password in passwords.items() for arg in ("-v", f"{service}_password={password}")]
    return subprocess.run(
        ["psql", libpq.set(password=None).render_as_string(), "-X", "-q", "-v", "ON_ERROR_STOP=1", *variables,
         "-f", str(script)],
        capture_output=True, text=True, env=env, check=False, timeout=120,
    )  # fmt: skip


async def test_postgresql_script_gives_each_service_its_own_database_and_nothing_else(
    postgres: URL, prefix: str, passwords: dict[str, str], tmp_path: Path
) -> None:
    script = tmp_path / "init.sql"
    script.write_text(with_prefix((SCRIPTS / "postgresql" / "init.sql").read_text(), prefix))

    refused = _run_psql(postgres, script, {})
    assert refused.returncode != 0
    assert "give the passwords" in refused.stderr

    for _ in range(2):  # a second run changes nothing but the passwords
        done = _run_psql(postgres, script, passwords)
        assert done.returncode == 0, done.stderr

    def service_url(service: str, database: str | None) -> URL:
        return postgres.set(
            username=f"{prefix}_{service}", password=passwords[service], database=database or f"{prefix}_{service}"
        )

    engine = create_async_engine(postgres)
    try:
        async with engine.connect() as conn:
            owners = dict(
                (
                    await conn.execute(
                        text(
                            "SELECT datname, pg_get_userbyid(datdba) FROM pg_database "
                            "WHERE datname LIKE :p AND pg_encoding_to_char(encoding) = 'UTF8'"
                        ),
                        {"p": f"{prefix}\\_%"},
                    )
                ).all()
            )
    finally:
        await engine.dispose()
    assert owners == {f"{prefix}_{s}": f"{prefix}_{s}" for s in SERVICES}

    await _check_services(service_url, prefix, "permission denied", one_server_namespace=False)


# ---------------------------------------------------------------- MariaDB / MySQL


@pytest.fixture
async def mariadb(prefix: str) -> AsyncIterator[URL]:
    admin = _server("DMT_TEST_MARIADB_URL", "mysql")
    try:
        yield admin
    finally:
        await _admin_execute(
            admin,
            *(f"DROP DATABASE IF EXISTS `{prefix}_{service}`" for service in SERVICES),
            *(f"DROP USER IF EXISTS '{prefix}_{service}'@'%'" for service in SERVICES),
        )


def _run_mysql(admin: URL, script: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ}
    if admin.password:
        env["MYSQL_PWD"] = str(admin.password)
    return subprocess.run(
        ["mysql", "--no-defaults", "-h", admin.host or "127.0.0.1", "-P", str(admin.port or 3306),
         "-u", admin.username or "root", "--batch"],
        input=script, capture_output=True, text=True, env=env, check=False, timeout=120,
    )  # fmt: skip


async def test_mariadb_script_gives_each_service_its_own_database_and_nothing_else(
    mariadb: URL, prefix: str, passwords: dict[str, str]
) -> None:
    script = with_prefix((SCRIPTS / "mariadb" / "init.sql").read_text(), prefix)
    placeholders = set(re.findall(r"CHANGE_ME_\w+", script))
    assert placeholders == {f"CHANGE_ME_{s.upper()}_PASSWORD" for s in SERVICES}
    for service, password in passwords.items():
        script = script.replace(f"CHANGE_ME_{service.upper()}_PASSWORD", password)

    for _ in range(2):  # a second run changes nothing but the passwords
        done = _run_mysql(mariadb, script)
        assert done.returncode == 0, done.stderr

    def service_url(service: str, database: str | None) -> URL:
        return mariadb.set(
            username=f"{prefix}_{service}", password=passwords[service], database=database or f"{prefix}_{service}"
        )

    engine = create_async_engine(mariadb)
    try:
        async with engine.connect() as conn:
            charsets = dict(
                (
                    await conn.execute(
                        text(
                            "SELECT SCHEMA_NAME, DEFAULT_CHARACTER_SET_NAME FROM information_schema.SCHEMATA "
                            "WHERE SCHEMA_NAME LIKE :p"
                        ),
                        {"p": f"{prefix}\\_%"},
                    )
                ).all()
            )
    finally:
        await engine.dispose()
    assert charsets == {f"{prefix}_{s}": "utf8mb4" for s in SERVICES}

    await _check_services(service_url, prefix, "denied", one_server_namespace=True)
