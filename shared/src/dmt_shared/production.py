"""What every component refuses to start with in production (``DMT_ENV=production``).

Each component's ``Settings.check_production`` returns at once outside production and otherwise
calls these helpers; a refusal is a :class:`~dmt_shared.settings.SettingsError` whose message
begins with ``DMT_ENV=production:`` and says which variable to change and to what.
"""

from __future__ import annotations

from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from dmt_shared.settings import SettingsError

__all__ = ["WELL_KNOWN_PASSWORDS", "check_database_url", "refuse"]

#: Passwords that images, tutorials and default installations use; compared ignoring case.
WELL_KNOWN_PASSWORDS = frozenset(
    {
        "password",
        "passwd",
        "pass",
        "postgres",
        "root",
        "admin",
        "secret",
        "changeme",
        "change_me",
        "change-me",
        "dmt",
        "mysql",
        "mariadb",
        "oracle",
        "example",
        "test",
        "default",
        "123456",
        "12345678",
        "qwerty",
    }
)

_PREFIX = "DMT_ENV=production: "


def refuse(flag: bool, message: str) -> None:
    """Refuse to start when ``flag`` is true; ``message`` says what to set instead."""
    if flag:
        raise SettingsError(_PREFIX + message)


def check_database_url(url: str, variable: str) -> None:
    """Refuse a database URL whose password is well known (see :data:`WELL_KNOWN_PASSWORDS`) or
    the user name again. A URL without a password passes: the server may trust the host, a peer
    or a socket, which is for its administrator to decide."""
    try:
        parsed = make_url(url)
    except ArgumentError as exc:
        raise SettingsError(f"{variable} is not a database URL: {exc}") from exc
    password = parsed.password
    if not password:
        return
    known = password.strip().lower()
    refuse(
        known in WELL_KNOWN_PASSWORDS or known == (parsed.username or "").strip().lower(),
        f"{variable} gives the database user {parsed.username or '(none)'} a well-known password; "
        f"set the user's password in the database to a generated one (for example `openssl rand -hex 24`) "
        f"and put that in {variable}",
    )
