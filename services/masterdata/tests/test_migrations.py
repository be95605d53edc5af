"""The migrations build exactly the schema the models describe, and can be undone."""

from pathlib import Path
from typing import Any

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.migration import MigrationContext
from sqlalchemy import inspect

from dmt_masterdata.asgi import MIGRATIONS, VERSION_TABLE
from dmt_masterdata.db.models import Base
from dmt_shared.db import create_engine, migrate


def _tables(sync_conn: Any) -> set[str]:
    return set(inspect(sync_conn).get_table_names())


def _schema_drift(sync_conn: Any) -> list[Any]:
    context = MigrationContext.configure(
        sync_conn, opts={"compare_type": True, "version_table": VERSION_TABLE, "target_metadata": Base.metadata}
    )
    return compare_metadata(context, Base.metadata)


def _unique_and_indexes(sync_conn: Any) -> tuple[set[str], set[str]]:
    inspector = inspect(sync_conn)
    uniques = {u["name"] for u in inspector.get_unique_constraints("catalog_entry")}
    indexes = {i["name"] for i in inspector.get_indexes("catalog_entry")}
    return uniques | {i["name"] for i in inspector.get_indexes("catalog_entry") if i.get("unique")}, indexes


def _downgrade_to_base(sync_conn: Any) -> None:
    config = Config()
    config.set_main_option("script_location", str(Path(MIGRATIONS)))
    config.attributes["version_table"] = VERSION_TABLE
    config.attributes["connection"] = sync_conn
    command.downgrade(config, "base")


async def test_migrations_match_the_models_and_downgrade_cleanly(database_url: str) -> None:
    engine = create_engine(database_url)
    try:
        await migrate(engine, MIGRATIONS, VERSION_TABLE)
        async with engine.connect() as conn:
            assert {"catalog_entry", VERSION_TABLE} <= await conn.run_sync(_tables)
            assert await conn.run_sync(_schema_drift) == []
            uniques, indexes = await conn.run_sync(_unique_and_indexes)
            assert "uq_catalog_entry_kind_number" in uniques
            assert "ix_catalog_entry_kind_name" in indexes
        async with engine.begin() as conn:
            await conn.run_sync(_downgrade_to_base)
        async with engine.connect() as conn:
            assert "catalog_entry" not in await conn.run_sync(_tables)
        await migrate(engine, MIGRATIONS, VERSION_TABLE)
        async with engine.connect() as conn:
            assert "catalog_entry" in await conn.run_sync(_tables)
    finally:
        await engine.dispose()
