"""Command line of the masterdata service: ``python -m dmt_masterdata --help``."""

from __future__ import annotations

from collections.abc import Sequence

from dmt_masterdata.config import get_settings
from dmt_masterdata.db import MIGRATIONS, VERSION_TABLE
from dmt_masterdata.db.models import Base
from dmt_shared import cli

SERVICE = cli.ServiceDefinition(
    name="masterdata",
    database_url=lambda: get_settings().database_url,
    metadata=Base.metadata,
    migrations=MIGRATIONS,
    version_table=VERSION_TABLE,
)


def main(argv: Sequence[str] | None = None) -> int:
    return cli.run(SERVICE, argv)
