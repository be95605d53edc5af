"""Command line of the records service: ``python -m dmt_records --help``."""

from __future__ import annotations

from collections.abc import Sequence

from dmt_records.config import get_settings
from dmt_records.db import MIGRATIONS, VERSION_TABLE
from dmt_records.db.models import Base
from dmt_shared import cli

SERVICE = cli.ServiceDefinition(
    name="records",
    database_url=lambda: get_settings().database_url,
    metadata=Base.metadata,
    migrations=MIGRATIONS,
    version_table=VERSION_TABLE,
)


def main(argv: Sequence[str] | None = None) -> int:
    return cli.run(SERVICE, argv)
