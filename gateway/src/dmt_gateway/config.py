"""Settings of the gateway, from ``GATEWAY_*`` environment variables (and ``.env``).

The addresses of the services are the variables every component shares:
``DMT_AUTH_URL``, ``DMT_MASTERDATA_URL`` and ``DMT_RECORDS_URL``, each one base URL or a
comma-separated list of replicas (``GATEWAY_<NAME>_URLS`` overrides them for the gateway alone).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from functools import lru_cache
from urllib.parse import urlsplit

from dmt_shared.settings import SettingsError, from_env, is_production, service_urls, service_urls_variable

PREFIX = "GATEWAY"


@dataclass(frozen=True)
class Settings:
    #: Base URLs of each service's replicas; calls are balanced over them.
    auth_urls: tuple[str, ...] = field(default_factory=lambda: service_urls("auth"))
    masterdata_urls: tuple[str, ...] = field(default_factory=lambda: service_urls("masterdata"))
    records_urls: tuple[str, ...] = field(default_factory=lambda: service_urls("records"))
    #: Seconds to open a connection to a service; a service that is down answers 503 this fast at worst.
    connect_timeout: float = 1.0
    #: Seconds to wait for each read from a service (a large export streams in many reads).
    read_timeout: float = 30.0
    #: Connections kept open to each service at most.
    max_connections: int = 100
    #: Seconds an idle connection is kept; shorter than the services' own keep-alive (5 s).
    keepalive_expiry: float = 4.0
    #: Seconds a service's answer may take to begin (its headers), all tries together.
    total_timeout: float = 60.0
    #: Further tries a call may get where that is safe (another replica where there is one).
    retries: int = 2
    #: Seconds the wait before a retry may reach at most (it grows from 50 ms, with jitter).
    retry_backoff_max: float = 1.0
    #: Failures in a row after which a replica is skipped for a while (a refused connection: at once).
    breaker_failures: int = 3
    #: Seconds a failing replica is skipped before one call tries it again (doubling up to 60).
    breaker_open_seconds: float = 5.0
    #: Seconds between readiness checks of every replica (``/health/ready``); 0 = no checks.
    health_interval: float = 2.0
    #: Bytes a request body may have at most; a larger one is refused with 413.
    max_body_bytes: int = 20 * 1024 * 1024
    #: Bytes up to which a request body is held, so the call can be sent again to another replica;
    #: larger bodies stream through as they arrive.
    buffer_body_bytes: int = 1024 * 1024
    #: Seconds the label look-ups of a record read may take before the read answers without labels.
    lookup_timeout: float = 5.0
    #: Seconds labels of records (catalog names, user names) are used without asking masterdata or
    #: auth; after that one call asks whether they changed. 0 keeps no labels.
    label_cache_seconds: float = 30.0
    #: Labels kept at most, for each of catalog entries and users (the least recently used go first).
    label_cache_max_entries: int = 100_000
    #: Seconds past label_cache_seconds labels are still used while masterdata or auth cannot say
    #: whether they changed (rather than showing bare ids).
    label_cache_grace_seconds: float = 300.0
    #: Seconds the merged OpenAPI document is reused before the services are asked again.
    openapi_cache_seconds: float = 60.0
    #: Browser origins allowed to call the API (comma list); empty means no CORS at all.
    cors_origins: tuple[str, ...] = ()
    #: Requests a second one signed-in user may make, on average (0 = no limit; refused in production).
    rate_limit_user: float = 50.0
    #: Requests one signed-in user may make at once before the per-second rate applies.
    rate_limit_user_burst: int = 500
    #: Requests a second one client address may make, on average (0 = no limit; refused in production).
    rate_limit_client: float = 100.0
    #: Requests one client address may make at once before the per-second rate applies.
    rate_limit_client_burst: int = 1000
    #: Seconds browsers are told to reach the gateway over HTTPS only (sent on HTTPS answers; 0 = not sent).
    hsts_seconds: int = 31_536_000
    #: The address people reach the web page at (``https://dmt.plant.example``), for links that
    #: leave the screen, such as the QR code on a printed record. Empty: each request's own address.
    public_url: str = ""
    debug: bool = False
    log_level: str = "INFO"

    def __post_init__(self) -> None:
        for name in ("connect_timeout", "read_timeout", "keepalive_expiry", "lookup_timeout"):
            if getattr(self, name) <= 0:
                raise SettingsError(f"{PREFIX}_{name.upper()} must be more than 0 seconds")
        if self.openapi_cache_seconds < 0:
            raise SettingsError(f"{PREFIX}_OPENAPI_CACHE_SECONDS must not be negative")
        for name in ("label_cache_seconds", "label_cache_grace_seconds"):
            if not getattr(self, name) >= 0:  # NaN too
                raise SettingsError(f"{PREFIX}_{name.upper()} must be a number of seconds, 0 or more")
        if self.label_cache_max_entries < 1:
            raise SettingsError(
                f"{PREFIX}_LABEL_CACHE_MAX_ENTRIES must be at least 1, not {self.label_cache_max_entries}"
            )
        if self.max_connections < 1:
            raise SettingsError(f"{PREFIX}_MAX_CONNECTIONS must be at least 1, not {self.max_connections}")
        for name in ("rate_limit_user", "rate_limit_client"):
            if not getattr(self, name) >= 0:  # NaN too
                raise SettingsError(f"{PREFIX}_{name.upper()} must be a number, 0 or more (0 switches the limit off)")
            if getattr(self, f"{name}_burst") < 1:
                raise SettingsError(f"{PREFIX}_{name.upper()}_BURST must be at least 1")
        if self.hsts_seconds < 0:
            raise SettingsError(f"{PREFIX}_HSTS_SECONDS must not be negative (0 sends no Strict-Transport-Security)")
        self._check_resilience()
        self._check_addresses()
        self._check_public_url()
        if is_production():
            if "*" in self.cors_origins:
                raise SettingsError(
                    "DMT_ENV=production: GATEWAY_CORS_ORIGINS may not be '*'; name the web origins allowed"
                )
            if self.debug:
                raise SettingsError("DMT_ENV=production: GATEWAY_DEBUG would show error details to every caller")
            for name, default in (("rate_limit_user", 50), ("rate_limit_client", 100)):
                if getattr(self, name) <= 0:
                    raise SettingsError(
                        f"DMT_ENV=production: {PREFIX}_{name.upper()} may not be 0 (rate limit off); "
                        f"set the requests a second allowed (default {default})"
                    )

    def _check_resilience(self) -> None:
        for name in ("total_timeout", "breaker_open_seconds"):
            if not getattr(self, name) > 0:
                raise SettingsError(f"{PREFIX}_{name.upper()} must be more than 0 seconds")
        for name in ("retry_backoff_max", "health_interval"):
            if not getattr(self, name) >= 0:
                raise SettingsError(f"{PREFIX}_{name.upper()} must be 0 seconds or more")
        if not 0 <= self.retries <= 10:
            raise SettingsError(f"{PREFIX}_RETRIES must be from 0 to 10, not {self.retries}")
        if self.breaker_failures < 1:
            raise SettingsError(f"{PREFIX}_BREAKER_FAILURES must be at least 1, not {self.breaker_failures}")
        if self.max_body_bytes < 1:
            raise SettingsError(f"{PREFIX}_MAX_BODY_BYTES must be at least 1, not {self.max_body_bytes}")
        if not 0 <= self.buffer_body_bytes <= self.max_body_bytes:
            raise SettingsError(f"{PREFIX}_BUFFER_BODY_BYTES must be from 0 to {PREFIX}_MAX_BODY_BYTES")

    def _check_addresses(self) -> None:
        for name, urls in self.upstream_urls.items():
            variable = self.address_variable(name)
            if not urls:
                raise SettingsError(f"{variable} names no address; give one base URL or a comma-separated list")
            for url in urls:
                if not url.startswith(("http://", "https://")):
                    raise SettingsError(f"{variable} must list http:// or https:// addresses, not {url!r}")

    def _check_public_url(self) -> None:
        url = self.public_url.strip().rstrip("/")
        if url:
            parts = urlsplit(url)
            if parts.scheme not in ("http", "https") or not parts.hostname or parts.query or parts.fragment:
                raise SettingsError(
                    f"{PREFIX}_PUBLIC_URL must be an http:// or https:// address such as "
                    f"https://dmt.plant.example (no query, no fragment), not {self.public_url!r}"
                )
        object.__setattr__(self, "public_url", url)  # frozen: the one normalisation, made once

    @staticmethod
    def address_variable(name: str) -> str:
        """The variable the addresses of service ``name`` came from (for messages)."""
        own = f"{PREFIX}_{name.upper()}_URLS"
        return own if os.environ.get(own) is not None else service_urls_variable(name)

    @property
    def upstream_urls(self) -> dict[str, tuple[str, ...]]:
        """The base URLs of each service, by name."""
        return {"auth": self.auth_urls, "masterdata": self.masterdata_urls, "records": self.records_urls}


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return from_env(Settings, PREFIX)
