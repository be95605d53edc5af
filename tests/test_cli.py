"""`python -m dmt_<service> migrate|current`: what `make migrate` runs."""

import subprocess
import sys

import pytest
from alembic.config import Config
from alembic.script import ScriptDirectory

from dmt_auth.cli import SERVICE as AUTH
from dmt_masterdata.cli import SERVICE as MASTERDATA
from dmt_records.cli import SERVICE as RECORDS

SERVICES = ("auth", "masterdata", "records")
SERVICE_DEFINITIONS = {"auth": AUTH, "masterdata": MASTERDATA, "records": RECORDS}


def newest_revision(service: str) -> str | None:
    """The head of a service's migrations, as alembic reads it from the scripts."""
    config = Config()
    config.set_main_option("script_location", str(SERVICE_DEFINITIONS[service].migrations))
    return ScriptDirectory.from_config(config).get_current_head()


@pytest.mark.parametrize("service", SERVICES)
def test_migrate_brings_an_empty_database_to_the_newest_revision(service: str, database_url: str) -> None:
    head = newest_revision(service)
    assert head is not None
    before = subprocess.run(
        [sys.executable, "-m", f"dmt_{service}", "current", "--url", database_url],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    assert "not migrated" in before.stdout
    done = subprocess.run(
        [sys.executable, "-m", f"dmt_{service}", "migrate", "--url", database_url],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    assert f"is at revision {head}" in done.stdout
    assert "password" not in done.stdout
    again = subprocess.run(
        [sys.executable, "-m", f"dmt_{service}", "current", "--url", database_url],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    assert again.stdout.strip() == f"{service}: {head}"


def test_an_unreachable_database_is_a_clear_error_not_a_traceback() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "dmt_records", "migrate", "--url", "postgresql+asyncpg://nobody@127.0.0.1:1/none"],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert result.returncode == 1
    assert result.stderr.startswith("error: the database cannot be used")
    assert "Traceback" not in result.stderr
