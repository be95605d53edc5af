"""Oracle readiness without an Oracle server, and only the chosen driver imported.

- Every service's migrations render as SQL for Oracle (Alembic offline mode), for Oracle 23ai
  and for releases before it (no BOOLEAN column type there), and for PostgreSQL and MySQL.
- Every table of every service compiles for each dialect, with every constraint and index named
  explicitly, every identifier within Oracle's classic 30 characters (so within PostgreSQL's 63
  and MySQL's 64 too), no identifier Oracle needs quoted, and no dialect-only column type.
- A process that starts the four components on SQLite imports none of the server drivers.
"""

from __future__ import annotations

import io
import json
import re
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest
from alembic import command
from alembic.config import Config
from sqlalchemy import MetaData, Table
from sqlalchemy.dialects import mysql, oracle, postgresql, sqlite
from sqlalchemy.engine import Dialect
from sqlalchemy.schema import CreateIndex, CreateTable

from dmt_auth.cli import SERVICE as AUTH
from dmt_masterdata.cli import SERVICE as MASTERDATA
from dmt_records.cli import SERVICE as RECORDS
from dmt_records.db import counts as record_counts

SERVICES = {service.name: service for service in (AUTH, MASTERDATA, RECORDS)}
#: Tables a service's migrations make beside its models' (copy-db leaves them out): the records
#: per status that triggers keep.
KEPT_BY_TRIGGERS = {"records": record_counts.metadata}
ORACLE_LIMIT = 30
LIMITS = {"oracle": ORACLE_LIMIT, "postgresql": 63, "mysql": 64, "sqlite": ORACLE_LIMIT}

#: The targets the SQL is rendered for: Alembic URL and dialect options (Oracle before 23ai has
#: no BOOLEAN column type; a live connection finds that out by itself from the server version).
OFFLINE_TARGETS = {
    "oracle-23ai": ("oracle+oracledb://", {}),
    "oracle-19c": ("oracle+oracledb://", {"supports_native_boolean": False}),
    "postgresql": ("postgresql+asyncpg://", {}),
    "mysql": ("mysql+asyncmy://", {}),
}


def _dialects() -> dict[str, Dialect]:
    return {
        "oracle-23ai": oracle.dialect(),
        "oracle-19c": oracle.dialect(supports_native_boolean=False),
        "postgresql": postgresql.dialect(),
        "mysql": mysql.dialect(),
        "sqlite": sqlite.dialect(),
    }


def _offline_sql(service: str, target: str) -> str:
    url, dialect_opts = OFFLINE_TARGETS[target]
    out = io.StringIO()
    cfg = Config(output_buffer=out)
    cfg.set_main_option("script_location", str(SERVICES[service].migrations))
    cfg.set_main_option("sqlalchemy.url", url)
    cfg.attributes["version_table"] = SERVICES[service].version_table
    cfg.attributes["dialect_opts"] = dialect_opts
    command.upgrade(cfg, "head", sql=True)
    return out.getvalue()


#: Names the DDL gives: tables, constraints and indexes.
NAMED = re.compile(r"\b(?:CREATE TABLE|CREATE (?:UNIQUE )?INDEX|CONSTRAINT|ON)\s+(\"?[\w$#]+\"?)", re.IGNORECASE)


@pytest.mark.parametrize("target", OFFLINE_TARGETS)
@pytest.mark.parametrize("service", SERVICES)
def test_every_migration_renders_as_sql_for_each_server_database(service: str, target: str) -> None:
    sql = _offline_sql(service, target)
    metadata: MetaData = SERVICES[service].metadata
    created = {name.lower() for name in re.findall(r"CREATE TABLE (\w+)", sql)}
    kept = KEPT_BY_TRIGGERS.get(service, MetaData()).tables
    assert created == {*metadata.tables, *kept, SERVICES[service].version_table}
    indexes = {index.name for table in metadata.tables.values() for index in table.indexes}
    assert indexes <= {name.lower() for name in re.findall(r"CREATE (?:UNIQUE )?INDEX (\w+)", sql)}
    names = NAMED.findall(sql)
    assert names
    assert [name for name in names if name.startswith('"')] == []
    assert [name for name in names if len(name) > LIMITS[target.split("-")[0]]] == []
    if target == "oracle-19c":
        assert not re.search(r"\bBOOLEAN\b", sql)
        assert "SMALLINT" in sql
    if target.startswith("oracle"):
        # Oracle's statement terminator for scripts run in SQL*Plus or SQLcl.
        assert "\n/\n" in sql


def _tables() -> list[tuple[str, Table]]:
    tables = [(service.name, table) for service in SERVICES.values() for table in service.metadata.sorted_tables]
    return tables + [(name, table) for name, kept in KEPT_BY_TRIGGERS.items() for table in kept.sorted_tables]


def _identifiers(table: Table) -> list[str]:
    names: list[Any] = [table.name, *(c.name for c in table.columns)]
    names += [c.name for c in table.constraints]
    names += [i.name for i in table.indexes]
    return names


@pytest.mark.parametrize(("service", "table"), _tables(), ids=lambda value: getattr(value, "name", value))
def test_every_table_compiles_with_short_explicit_names_for_every_dialect(service: str, table: Table) -> None:
    names = _identifiers(table)
    # A constraint or index without a name gets one the database makes up, different on each.
    assert None not in names, f"{service}.{table.name} has a constraint or index without a name"
    assert [name for name in names if len(name) > ORACLE_LIMIT] == []
    # A name Oracle needs quoted (a reserved word, say) becomes case-sensitive there: every
    # hand-written query would have to quote it too. (MySQL quotes a few, such as last_value,
    # with no such effect.)
    oracle_preparer = oracle.dialect().identifier_preparer
    assert [n for n in names if oracle_preparer._requires_quotes(n)] == []
    for dialect_name, dialect in _dialects().items():
        ddl = [str(CreateTable(table).compile(dialect=dialect))]
        ddl += [str(CreateIndex(index).compile(dialect=dialect)) for index in table.indexes]
        assert all(statement.strip() for statement in ddl)
        too_long = [n for n in NAMED.findall("\n".join(ddl)) if len(n) > LIMITS[dialect_name.split("-")[0]]]
        assert too_long == [], dialect_name
    compiled = str(CreateTable(table).compile(dialect=oracle.dialect(supports_native_boolean=False)))
    assert not re.search(r"\bBOOLEAN\b", compiled)


def _types(table: Table) -> list[tuple[str, Any]]:
    found = []
    for column in table.columns:
        found.append((column.name, column.type))
        found += [(column.name, variant) for variant in getattr(column.type, "_variant_mapping", {}).values()]
    return found


@pytest.mark.parametrize(("service", "table"), _tables(), ids=lambda value: getattr(value, "name", value))
def test_no_column_uses_a_type_that_only_one_database_has(service: str, table: Table) -> None:
    dialect_only = [
        f"{name}: {type(kind).__module__}.{type(kind).__name__}"
        for name, kind in _types(table)
        if type(kind).__module__.startswith("sqlalchemy.dialects")
    ]
    assert dialect_only == []


def test_identifiers_are_unique_per_database_as_oracle_needs() -> None:
    # Oracle (like PostgreSQL) keeps index and constraint names in one namespace per schema.
    for service in SERVICES.values():
        names = [
            name
            for table in service.metadata.tables.values()
            for name in [table.name, *(c.name for c in table.constraints), *(i.name for i in table.indexes)]
        ]
        assert len(names) == len(set(names)), service.name


# ------------------------------------------------------------ only the chosen driver

DRIVERS = ("asyncpg", "asyncmy", "oracledb")

IMPORT_AND_BUILD = textwrap.dedent("""
    import json
    import sys

    from dmt_auth.asgi import create_app as auth_app
    from dmt_gateway.asgi import create_app as gateway_app
    from dmt_masterdata.asgi import create_app as masterdata_app
    from dmt_records.asgi import create_app as records_app

    for create_app in (auth_app, masterdata_app, records_app, gateway_app):
        create_app()
    print(json.dumps(sorted(name for name in sys.modules if name.split(".")[0] in sys.argv[1:])))
""")


def _drivers_imported(tmp_path: Path, **environment: str) -> list[str]:
    env = {
        "PATH": "/usr/bin:/bin",
        "DMT_DATA_DIR": str(tmp_path / "data"),
        "DMT_ENV_FILE": str(tmp_path / "no.env"),
        **environment,
    }
    result = subprocess.run(
        [sys.executable, "-c", IMPORT_AND_BUILD, *DRIVERS],
        capture_output=True, text=True, env=env, cwd=tmp_path, check=False, timeout=120,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    return sorted({name.split(".")[0] for name in json.loads(result.stdout.strip().splitlines()[-1])})


def test_the_four_components_on_sqlite_import_no_server_driver(tmp_path: Path) -> None:
    assert _drivers_imported(tmp_path) == []


@pytest.mark.parametrize(
    ("url", "driver"),
    [
        ("postgresql+asyncpg://dmt_records@127.0.0.1:5432/dmt_records", "asyncpg"),
        ("mysql+asyncmy://dmt_records@127.0.0.1:3306/dmt_records", "asyncmy"),
    ],
)
def test_a_service_on_a_server_database_imports_that_driver_only(tmp_path: Path, url: str, driver: str) -> None:
    pytest.importorskip(driver)
    assert _drivers_imported(tmp_path, RECORDS_DATABASE_URL=url) == [driver]
