"""Alembic environment of the auth service (its own version table: ``auth_alembic_version``)."""

from alembic import context

from dmt_auth.config import get_settings
from dmt_auth.db import VERSION_TABLE
from dmt_auth.db.models import Base
from dmt_shared.db import run_alembic_env

run_alembic_env(context, Base.metadata, VERSION_TABLE, lambda: get_settings().database_url)
