"""Where the service finds the others, and what it refuses to start with."""

from __future__ import annotations

import pytest

from dmt_records.config import Settings
from dmt_shared.settings import SettingsError


def test_other_services_are_found_through_the_common_variables(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("DMT_AUTH_URL", raising=False)
    monkeypatch.delenv("DMT_MASTERDATA_URL", raising=False)
    defaults = Settings()
    assert (defaults.auth_url, defaults.masterdata_url) == ("http://127.0.0.1:8001", "http://127.0.0.1:8002")
    monkeypatch.setenv("DMT_AUTH_URL", "http://auth.internal:9001")
    monkeypatch.setenv("DMT_MASTERDATA_URL", "http://masterdata.internal:9002")
    settings = Settings()
    assert (settings.auth_url, settings.masterdata_url) == (
        "http://auth.internal:9001",
        "http://masterdata.internal:9002",
    )


def test_production_refuses_debug(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DMT_ENV", "production")
    Settings().check_production()
    with pytest.raises(SettingsError, match="RECORDS_DEBUG"):
        Settings(debug=True).check_production()
    monkeypatch.setenv("DMT_ENV", "development")
    Settings(debug=True).check_production()


def test_nonsense_settings_are_refused() -> None:
    with pytest.raises(SettingsError, match="RECORDS_DB_POOL_SIZE"):
        Settings(db_pool_size=0)
    with pytest.raises(SettingsError, match="RECORDS_CONNECT_TIMEOUT"):
        Settings(connect_timeout=0)
    with pytest.raises(SettingsError, match="DMT_MASTERDATA_URL"):
        Settings(masterdata_url="masterdata:8002")
