"""Settings of the records service, from ``RECORDS_*`` environment variables (and ``.env``).

The addresses of the services it calls are the variables every component shares:
``DMT_AUTH_URL`` (users, token keys) and ``DMT_MASTERDATA_URL`` (catalogs).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache

from dmt_shared.settings import SettingsError, default_sqlite_url, from_env, is_production, service_url

PREFIX = "RECORDS"


@dataclass(frozen=True)
class Settings:
    database_url: str = field(default_factory=lambda: default_sqlite_url("records"))
    auth_url: str = field(default_factory=lambda: service_url("auth"))
    masterdata_url: str = field(default_factory=lambda: service_url("masterdata"))
    #: Seconds to open a connection to auth or masterdata; a service that is down costs at most this.
    connect_timeout: float = 1.0
    #: Seconds to wait for a look-up answer from auth or masterdata.
    read_timeout: float = 10.0
    db_pool_size: int = 10
    debug: bool = False
    log_level: str = "INFO"

    def __post_init__(self) -> None:
        for name in ("connect_timeout", "read_timeout"):
            if getattr(self, name) <= 0:
                raise SettingsError(f"{PREFIX}_{name.upper()} must be more than 0 seconds")
        if self.db_pool_size < 1:
            raise SettingsError(f"{PREFIX}_DB_POOL_SIZE must be at least 1, not {self.db_pool_size}")
        for name, url in (("DMT_AUTH_URL", self.auth_url), ("DMT_MASTERDATA_URL", self.masterdata_url)):
            if not url.startswith(("http://", "https://")):
                raise SettingsError(f"{name} must be an http:// or https:// URL, not {url!r}")

    def check_production(self) -> None:
        """Refuse what is unsafe in production: debug mode shows internals in error answers."""
        if is_production() and self.debug:
            raise SettingsError("DMT_ENV=production: RECORDS_DEBUG must be off")


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return from_env(Settings, PREFIX)
