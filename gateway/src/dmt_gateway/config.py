"""Settings of the gateway, from ``GATEWAY_*`` environment variables (and ``.env``).

The addresses of the services are the variables every component shares:
``DMT_AUTH_URL``, ``DMT_MASTERDATA_URL`` and ``DMT_RECORDS_URL``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache

from dmt_shared.settings import SettingsError, from_env, is_production, service_url

PREFIX = "GATEWAY"


@dataclass(frozen=True)
class Settings:
    auth_url: str = field(default_factory=lambda: service_url("auth"))
    masterdata_url: str = field(default_factory=lambda: service_url("masterdata"))
    records_url: str = field(default_factory=lambda: service_url("records"))
    #: Seconds to open a connection to a service; a service that is down answers 503 this fast at worst.
    connect_timeout: float = 1.0
    #: Seconds to wait for each read from a service (a large export streams in many reads).
    read_timeout: float = 30.0
    #: Connections kept open to each service at most.
    max_connections: int = 100
    #: Seconds an idle connection is kept; shorter than the services' own keep-alive (5 s).
    keepalive_expiry: float = 4.0
    #: Seconds the label look-ups of a record read may take before the read answers without labels.
    lookup_timeout: float = 5.0
    #: Seconds the merged OpenAPI document is reused before the services are asked again.
    openapi_cache_seconds: float = 60.0
    #: Browser origins allowed to call the API (comma list); empty means no CORS at all.
    cors_origins: tuple[str, ...] = ()
    debug: bool = False
    log_level: str = "INFO"

    def __post_init__(self) -> None:
        for name in ("connect_timeout", "read_timeout", "keepalive_expiry", "lookup_timeout"):
            if getattr(self, name) <= 0:
                raise SettingsError(f"{PREFIX}_{name.upper()} must be more than 0 seconds")
        if self.openapi_cache_seconds < 0:
            raise SettingsError(f"{PREFIX}_OPENAPI_CACHE_SECONDS must not be negative")
        if self.max_connections < 1:
            raise SettingsError(f"{PREFIX}_MAX_CONNECTIONS must be at least 1, not {self.max_connections}")
        for name, url in self.upstream_urls.items():
            if not url.startswith(("http://", "https://")):
                raise SettingsError(f"DMT_{name.upper()}_URL must be an http:// or https:// address, not {url!r}")
        if is_production():
            if "*" in self.cors_origins:
                raise SettingsError(
                    "DMT_ENV=production: GATEWAY_CORS_ORIGINS may not be '*'; name the web origins allowed"
                )
            if self.debug:
                raise SettingsError("DMT_ENV=production: GATEWAY_DEBUG would show error details to every caller")

    @property
    def upstream_urls(self) -> dict[str, str]:
        return {"auth": self.auth_url, "masterdata": self.masterdata_url, "records": self.records_url}


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return from_env(Settings, PREFIX)
