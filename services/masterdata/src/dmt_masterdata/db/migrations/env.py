"""Alembic environment of the masterdata service (its own version table: ``masterdata_alembic_version``)."""

from alembic import context

from dmt_masterdata.config import get_settings
from dmt_masterdata.db.models import Base
from dmt_shared.db import run_alembic_env

VERSION_TABLE = "masterdata_alembic_version"

run_alembic_env(context, Base.metadata, VERSION_TABLE, lambda: get_settings().database_url)
