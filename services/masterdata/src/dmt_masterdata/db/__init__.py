"""The masterdata service's tables and migrations."""

from pathlib import Path

MIGRATIONS = Path(__file__).parent / "migrations"
#: Alembic's version table of this service (each service has its own).
VERSION_TABLE = "masterdata_alembic_version"
