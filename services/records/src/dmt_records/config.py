"""Settings of the records service, from ``RECORDS_*`` environment variables (and ``.env``).

The addresses of the services it calls are the variables every component shares:
``DMT_AUTH_URL`` (users, token keys) and ``DMT_MASTERDATA_URL`` (catalogs).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache

from dmt_records.domain.records.languages import LANGUAGES
from dmt_shared.production import check_database_url, refuse
from dmt_shared.settings import SettingsError, default_sqlite_url, from_env, is_production, service_urls

PREFIX = "RECORDS"


@dataclass(frozen=True)
class Settings:
    database_url: str = field(default_factory=lambda: default_sqlite_url("records"))
    #: Base URL of each service called, or a comma-separated list of its replicas.
    auth_url: str = field(default_factory=lambda: ",".join(service_urls("auth")))
    masterdata_url: str = field(default_factory=lambda: ",".join(service_urls("masterdata")))
    #: Seconds to open a connection to auth or masterdata; a service that is down costs at most this.
    connect_timeout: float = 1.0
    #: Seconds to wait for a look-up answer from auth or masterdata.
    read_timeout: float = 10.0
    db_pool_size: int = 10
    #: A LibreTranslate-compatible server (``http://translate:5000``); empty: no machine translation
    #: (texts wait as pending, and are translated once one is configured).
    translator_url: str = ""
    translator_api_key: str = ""
    #: Seconds to wait for one translation (a long text on a busy CPU server takes a while).
    translator_timeout: float = 30.0
    #: Failed tries before a translation counts as failed (it is still tried every max backoff).
    translator_attempts: int = 5
    #: Seconds before the first retry, doubling each time up to the max backoff.
    translator_backoff: float = 5.0
    translator_max_backoff: float = 120.0
    #: Seconds between looks for texts to translate when there was nothing to do.
    translator_poll_interval: float = 2.0
    #: Texts claimed at a time, and translated at once (at most that many calls in flight).
    translator_batch: int = 20
    translator_concurrency: int = 4
    #: The server's names of our languages where they differ, e.g. ``zh=zh-Hans``.
    translator_languages: str = ""
    #: What an hour of rework costs, in the currency of the record costs (analytics: cost of poor quality).
    rework_hourly_rate: float = 50.0
    debug: bool = False
    log_level: str = "INFO"

    def __post_init__(self) -> None:
        for name in ("connect_timeout", "read_timeout"):
            if getattr(self, name) <= 0:
                raise SettingsError(f"{PREFIX}_{name.upper()} must be more than 0 seconds")
        if self.db_pool_size < 1:
            raise SettingsError(f"{PREFIX}_DB_POOL_SIZE must be at least 1, not {self.db_pool_size}")
        self._check_translator()
        if not 0 <= self.rework_hourly_rate < float("inf"):
            raise SettingsError(f"{PREFIX}_REWORK_HOURLY_RATE must be a number from 0, not {self.rework_hourly_rate}")
        for name, urls in (("DMT_AUTH_URL", self.auth_url), ("DMT_MASTERDATA_URL", self.masterdata_url)):
            for url in urls.split(","):
                if not url.strip().startswith(("http://", "https://")):
                    raise SettingsError(f"{name} must be an http:// or https:// URL, not {url!r}")

    def _check_translator(self) -> None:
        if self.translator_url and not self.translator_url.startswith(("http://", "https://")):
            raise SettingsError(
                f"{PREFIX}_TRANSLATOR_URL must be an http:// or https:// URL, not {self.translator_url!r}"
            )
        for name in ("translator_timeout", "translator_backoff", "translator_poll_interval"):
            if getattr(self, name) <= 0:
                raise SettingsError(f"{PREFIX}_{name.upper()} must be more than 0 seconds")
        if self.translator_max_backoff < self.translator_backoff:
            raise SettingsError(f"{PREFIX}_TRANSLATOR_MAX_BACKOFF must be at least {PREFIX}_TRANSLATOR_BACKOFF")
        for name in ("translator_attempts", "translator_batch", "translator_concurrency"):
            if getattr(self, name) < 1:
                raise SettingsError(f"{PREFIX}_{name.upper()} must be at least 1, not {getattr(self, name)}")
        language_codes(self.translator_languages)

    def check_production(self) -> None:
        """Refuse what is unsafe in production: debug mode (it shows internals in error answers),
        a well-known database password."""
        if not is_production():
            return
        refuse(self.debug, "RECORDS_DEBUG would show internals in error answers; leave it unset or set it to false")
        check_database_url(self.database_url, f"{PREFIX}_DATABASE_URL")


def language_codes(setting: str) -> dict[str, str]:
    """``"zh=zh-Hans, es=es"`` -> ``{"zh": "zh-Hans", "es": "es"}``: what a translation server calls
    our languages; a language not named keeps its own code."""
    codes: dict[str, str] = {}
    for part in setting.split(","):
        if not part.strip():
            continue
        ours, sep, theirs = (s.strip() for s in part.partition("="))
        if not sep or ours not in LANGUAGES or not theirs:
            raise SettingsError(
                f"{PREFIX}_TRANSLATOR_LANGUAGES takes pairs like 'zh=zh-Hans' of en, es or zh, not {part.strip()!r}"
            )
        codes[ours] = theirs
    return codes


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return from_env(Settings, PREFIX)
