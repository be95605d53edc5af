"""Settings of the auth service, from ``AUTH_*`` environment variables (and ``.env``)."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache

from dmt_shared.production import check_database_url, refuse
from dmt_shared.settings import SettingsError, default_sqlite_url, from_env, is_production

PREFIX = "AUTH"

#: The weakest argon2id memory cost accepted in production (OWASP's floor: 19 MiB).
PRODUCTION_MIN_ARGON2_MEMORY_KIB = 19456


@dataclass(frozen=True)
class Settings:
    database_url: str = field(default_factory=lambda: default_sqlite_url("auth"))
    #: The Ed25519 private key itself (PEM, PKCS#8). Required in production, or ``signing_key_file``.
    signing_key: str | None = None
    #: A file holding the Ed25519 private key (PEM, PKCS#8).
    signing_key_file: str | None = None
    access_token_ttl: int = 900
    refresh_token_ttl: int = 43200
    argon2_time_cost: int = 3
    argon2_memory_kib: int = 65536
    argon2_parallelism: int = 2
    #: How many password hashes may be computed at once (each takes ``argon2_memory_kib``).
    hash_concurrency: int = 4
    #: Failed logins allowed per username, and per client address, within ``login_window_seconds``.
    login_user_limit: int = 5
    login_client_limit: int = 20
    login_window_seconds: int = 900
    #: Take the client address from the first hop of X-Forwarded-For (only behind a trusted proxy).
    trust_forwarded: bool = False
    #: Load the demo users into an empty database. Off by default in production, refused there when set.
    demo_data: bool = field(default_factory=lambda: not is_production())
    db_pool_size: int = 10
    debug: bool = False
    log_level: str = "INFO"

    def __post_init__(self) -> None:
        positive = {
            "AUTH_ACCESS_TOKEN_TTL": self.access_token_ttl,
            "AUTH_REFRESH_TOKEN_TTL": self.refresh_token_ttl,
            "AUTH_ARGON2_TIME_COST": self.argon2_time_cost,
            "AUTH_ARGON2_PARALLELISM": self.argon2_parallelism,
            "AUTH_HASH_CONCURRENCY": self.hash_concurrency,
            "AUTH_LOGIN_USER_LIMIT": self.login_user_limit,
            "AUTH_LOGIN_CLIENT_LIMIT": self.login_client_limit,
            "AUTH_LOGIN_WINDOW_SECONDS": self.login_window_seconds,
            "AUTH_DB_POOL_SIZE": self.db_pool_size,
        }
        for name, value in positive.items():
            if value < 1:
                raise SettingsError(f"{name} must be at least 1, not {value}")
        if self.argon2_memory_kib < 8 * self.argon2_parallelism:
            raise SettingsError("AUTH_ARGON2_MEMORY_KIB must be at least 8 x AUTH_ARGON2_PARALLELISM")
        if self.signing_key and self.signing_key_file:
            raise SettingsError("set AUTH_SIGNING_KEY or AUTH_SIGNING_KEY_FILE, not both")

    @property
    def load_demo_data(self) -> bool:
        """Demo users are loaded only when asked for, and never in production."""
        return self.demo_data and not is_production()

    def check_production(self) -> None:
        """Refuse what is unsafe in production: demo users, debug error pages, a missing signing
        key, weak password hashing, a well-known database password. (The key generated for
        development and demo users that still have their demo passwords are refused as well,
        when the key is read and when the service starts.)"""
        if not is_production():
            return
        refuse(
            self.demo_data,
            "AUTH_DEMO_DATA would load demo users whose passwords are published; "
            "leave it unset or set it to false, and create the first Admin with "
            "`python -m dmt_auth create-admin USERNAME --full-name NAME`",
        )
        refuse(self.debug, "AUTH_DEBUG would show internals in error answers; leave it unset or set it to false")
        refuse(
            not (self.signing_key or self.signing_key_file),
            "the auth service needs its signing key; set AUTH_SIGNING_KEY "
            "(an Ed25519 private key, PEM PKCS#8) or AUTH_SIGNING_KEY_FILE (a file holding it); "
            "make one with `openssl genpkey -algorithm ed25519 -out auth_signing_key.pem`",
        )
        refuse(
            self.argon2_memory_kib < PRODUCTION_MIN_ARGON2_MEMORY_KIB or self.argon2_time_cost < 2,
            "password hashing is too weak; use AUTH_ARGON2_MEMORY_KIB >= "
            f"{PRODUCTION_MIN_ARGON2_MEMORY_KIB} and AUTH_ARGON2_TIME_COST >= 2 (or leave both unset)",
        )
        check_database_url(self.database_url, "AUTH_DATABASE_URL")


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return from_env(Settings, PREFIX)
