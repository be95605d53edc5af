"""Alembic environment of the records service (its own version table: ``records_alembic_version``)."""

from alembic import context

from dmt_records.config import get_settings
from dmt_records.db import counts
from dmt_records.db.models import Base
from dmt_shared.db import run_alembic_env

VERSION_TABLE = "records_alembic_version"

# The count table kept by triggers has a metadata of its own (see dmt_records.db.counts); both
# describe the schema, so that comparing it with the database proposes to drop neither.
run_alembic_env(context, [Base.metadata, counts.metadata], VERSION_TABLE, lambda: get_settings().database_url)
