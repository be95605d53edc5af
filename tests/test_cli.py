"""`python -m dmt_<service> migrate|current`: what `make migrate` runs."""

import subprocess
import sys

import pytest

SERVICES = ("auth", "masterdata", "records")


@pytest.mark.parametrize("service", SERVICES)
def test_migrate_brings_an_empty_database_to_the_newest_revision(service: str, database_url: str) -> None:
    before = subprocess.run(
        [sys.executable, "-m", f"dmt_{service}", "current", "--url", database_url],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    assert "not migrated" in before.stdout
    done = subprocess.run(
        [sys.executable, "-m", f"dmt_{service}", "migrate", "--url", database_url],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    assert "is at revision 0001" in done.stdout
    assert "password" not in done.stdout
    again = subprocess.run(
        [sys.executable, "-m", f"dmt_{service}", "current", "--url", database_url],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    assert again.stdout.strip() == f"{service}: 0001"


def test_an_unreachable_database_is_a_clear_error_not_a_traceback() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "dmt_records", "migrate", "--url", "postgresql+asyncpg://nobody@127.0.0.1:1/none"],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert result.returncode == 1
    assert result.stderr.startswith("error: the database cannot be used")
    assert "Traceback" not in result.stderr
