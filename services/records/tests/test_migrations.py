"""The migrations build exactly the schema the models describe, and can be undone."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.migration import MigrationContext
from sqlalchemy import inspect

from dmt_records.asgi import MIGRATIONS, VERSION_TABLE
from dmt_records.db import counts
from dmt_records.db.models import Base
from dmt_shared.db import create_engine, migrate

TABLES = {"dmt_record", "record_text", "report_counter", "record_history", "record_signature", "record_status_count"}
#: The models' tables and the counts the triggers keep (a metadata of its own: copy-db leaves it out).
METADATA = [Base.metadata, counts.metadata]


def _tables(sync_conn: Any) -> set[str]:
    return set(inspect(sync_conn).get_table_names())


def _schema_drift(sync_conn: Any) -> list[Any]:
    context = MigrationContext.configure(
        sync_conn, opts={"compare_type": True, "version_table": VERSION_TABLE, "target_metadata": METADATA}
    )
    return compare_metadata(context, METADATA)


def _names(sync_conn: Any) -> tuple[set[str], set[str], list[dict[str, Any]]]:
    inspector = inspect(sync_conn)
    uniques: set[str] = set()
    indexes: set[str] = set()
    for table in ("dmt_record", "record_text"):
        uniques |= {u["name"] for u in inspector.get_unique_constraints(table)}
        for index in inspector.get_indexes(table):
            (uniques if index.get("unique") else indexes).add(index["name"])
    return uniques, indexes, inspector.get_foreign_keys("record_text")


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
            assert {*TABLES, VERSION_TABLE} <= await conn.run_sync(_tables)
            assert await conn.run_sync(_schema_drift) == []
            uniques, indexes, foreign_keys = await conn.run_sync(_names)
        assert {"uq_dmt_record_report_number", "uq_record_text_field_lang"} <= uniques
        assert {"ix_dmt_record_status", "ix_dmt_record_part_number", "ix_dmt_record_created_by",
                "ix_dmt_record_date", "ix_dmt_record_created_at"} <= indexes  # fmt: skip
        assert all(len(name) <= 30 for name in uniques | indexes | TABLES | {VERSION_TABLE})
        assert [(fk["referred_table"], fk["options"].get("ondelete")) for fk in foreign_keys] == [
            ("dmt_record", "CASCADE")
        ]
        async with engine.begin() as conn:
            await conn.run_sync(_downgrade_to_base)
        async with engine.connect() as conn:
            assert not TABLES & await conn.run_sync(_tables)
        await migrate(engine, MIGRATIONS, VERSION_TABLE)
        async with engine.connect() as conn:
            assert await conn.run_sync(_tables) >= TABLES
    finally:
        await engine.dispose()
