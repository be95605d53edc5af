"""Settings of the masterdata service, from ``MASTERDATA_*`` environment variables (and ``.env``).

The addresses of the other services are the variables every component shares:
``DMT_AUTH_URL`` (its public keys verify tokens) and ``DMT_RECORDS_URL`` (asked, before an
entry is deleted, how many records use it).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache

from dmt_shared.production import check_database_url, refuse
from dmt_shared.settings import SettingsError, default_sqlite_url, from_env, is_production, service_urls

PREFIX = "MASTERDATA"


@dataclass(frozen=True)
class Settings:
    database_url: str = field(default_factory=lambda: default_sqlite_url("masterdata"))
    #: Load the demo catalogs into an empty table on start. Off by default in production.
    demo_data: bool = field(default_factory=lambda: not is_production())
    #: Base URL of each service called, or a comma-separated list of its replicas.
    auth_url: str = field(default_factory=lambda: ",".join(service_urls("auth")))
    records_url: str = field(default_factory=lambda: ",".join(service_urls("records")))
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
        for name, urls in (("DMT_AUTH_URL", self.auth_url), ("DMT_RECORDS_URL", self.records_url)):
            for url in urls.split(","):
                if not url.strip().startswith(("http://", "https://")):
                    raise SettingsError(f"{name} must be an http:// or https:// URL, not {url!r}")

    def check_production(self) -> None:
        """Refuse what is unsafe in production: made-up catalog entries, debug error pages, a
        well-known database password."""
        if not is_production():
            return
        refuse(
            self.demo_data,
            "MASTERDATA_DEMO_DATA would fill the catalogs with made-up entries; leave it unset or set it to false",
        )
        refuse(
            self.debug,
            "MASTERDATA_DEBUG would show internals in error pages; leave it unset or set it to false",
        )
        check_database_url(self.database_url, "MASTERDATA_DATABASE_URL")


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return from_env(Settings, PREFIX)
