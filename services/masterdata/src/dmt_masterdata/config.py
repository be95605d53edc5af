"""Settings of the masterdata service, from ``MASTERDATA_*`` environment variables (and ``.env``).

The addresses of the other services are the variables every component shares:
``DMT_AUTH_URL`` (its public keys verify tokens) and ``DMT_RECORDS_URL`` (asked, before an
entry is deleted, how many records use it).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache

from dmt_shared.settings import SettingsError, default_sqlite_url, from_env, is_production, service_url

PREFIX = "MASTERDATA"


@dataclass(frozen=True)
class Settings:
    database_url: str = field(default_factory=lambda: default_sqlite_url("masterdata"))
    #: Load the demo catalogs into an empty table on start. Off by default in production.
    demo_data: bool = field(default_factory=lambda: not is_production())
    auth_url: str = field(default_factory=lambda: service_url("auth"))
    records_url: str = field(default_factory=lambda: service_url("records"))
    #: Seconds to wait for the records service's answer before a delete is refused with 503.
    records_timeout: float = 5.0
    db_pool_size: int = 10
    debug: bool = False
    log_level: str = "INFO"

    def __post_init__(self) -> None:
        if self.db_pool_size < 1:
            raise SettingsError(f"MASTERDATA_DB_POOL_SIZE must be at least 1, not {self.db_pool_size}")
        if self.records_timeout <= 0:
            raise SettingsError(f"MASTERDATA_RECORDS_TIMEOUT must be above 0, not {self.records_timeout}")

    def check_production(self) -> None:
        """Refuse what is unsafe in production: made-up catalog entries, debug error pages."""
        if not is_production():
            return
        if self.demo_data:
            raise SettingsError(
                "DMT_ENV=production: MASTERDATA_DEMO_DATA would fill the catalogs with made-up entries; "
                "leave it unset or set it to false"
            )
        if self.debug:
            raise SettingsError("DMT_ENV=production: MASTERDATA_DEBUG would show internals in error pages")


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return from_env(Settings, PREFIX)
