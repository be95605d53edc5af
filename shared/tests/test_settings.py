import dataclasses

import pytest

from dmt_shared.settings import SettingsError, default_sqlite_url, from_env


@dataclasses.dataclass(frozen=True)
class Example:
    database_url: str = "sqlite+aiosqlite:///x.db"
    pool_size: int = 5
    demo_data: bool = True
    origins: tuple[str, ...] = ()
    key: str | None = None


def test_values_come_from_prefixed_variables(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("EXAMPLE_POOL_SIZE", "12")
    monkeypatch.setenv("EXAMPLE_DEMO_DATA", "false")
    monkeypatch.setenv("EXAMPLE_ORIGINS", "https://a.example, https://b.example")
    monkeypatch.setenv("EXAMPLE_KEY", "")
    s = from_env(Example, "EXAMPLE")
    assert s.pool_size == 12
    assert s.demo_data is False
    assert s.origins == ("https://a.example", "https://b.example")
    assert s.key is None
    assert s.database_url == "sqlite+aiosqlite:///x.db"


def test_a_malformed_number_names_the_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("EXAMPLE_POOL_SIZE", "many")
    with pytest.raises(SettingsError, match="EXAMPLE_POOL_SIZE"):
        from_env(Example, "EXAMPLE")


def test_the_default_database_is_a_sqlite_file_in_the_data_folder(monkeypatch: pytest.MonkeyPatch, tmp_path) -> None:
    monkeypatch.setenv("DMT_DATA_DIR", str(tmp_path))
    assert default_sqlite_url("records") == f"sqlite+aiosqlite:///{tmp_path / 'records.db'}"
