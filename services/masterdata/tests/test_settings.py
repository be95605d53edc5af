"""What the service refuses to start with in production."""

import pytest

from dmt_masterdata.config import Settings
from dmt_shared.settings import SettingsError


def test_demo_data_is_on_in_development_and_off_in_production(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DMT_ENV", "development")
    assert Settings().demo_data is True
    monkeypatch.setenv("DMT_ENV", "production")
    settings = Settings()
    assert settings.demo_data is False
    settings.check_production()


def test_production_refuses_demo_data_and_debug(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DMT_ENV", "production")
    with pytest.raises(SettingsError, match="MASTERDATA_DEMO_DATA"):
        Settings(demo_data=True).check_production()
    with pytest.raises(SettingsError, match="MASTERDATA_DEBUG"):
        Settings(debug=True).check_production()


def test_other_services_are_found_through_the_common_variables(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DMT_RECORDS_URL", "http://records.internal:9003")
    monkeypatch.setenv("DMT_AUTH_URL", "http://auth.internal:9001")
    settings = Settings()
    assert settings.records_url == "http://records.internal:9003"
    assert settings.auth_url == "http://auth.internal:9001"


def test_nonsense_numbers_are_refused() -> None:
    with pytest.raises(SettingsError):
        Settings(db_pool_size=0)
    with pytest.raises(SettingsError):
        Settings(records_timeout=0)
