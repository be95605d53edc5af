"""The rules about user accounts, as data and small pure functions.

- usernames are employee numbers: stored stripped and upper case, 3..32 of ``A-Z 0-9 . _ -``;
- emails are stored stripped and lower case; full names stripped and never blank;
- a time zone must be an IANA name (``America/Mexico_City``, ``Asia/Shanghai``, ``UTC``);
- an Admin sees every user's email; anyone else sees only their own;
- the last active Admin can be neither deactivated nor given another role.
"""

from __future__ import annotations

import re
import zoneinfo
from functools import lru_cache

from dmt_shared.tokens import Role

USERNAME_RE = re.compile(r"^[A-Z0-9._-]{3,32}$")
LANGUAGES = ("en", "es", "zh")
PASSWORD_MIN = 8
PASSWORD_MAX = 128


def normalize_username(raw: str) -> str:
    return raw.strip().upper()


def username_is_valid(username: str) -> bool:
    """``username`` as stored (already normalised)."""
    return bool(USERNAME_RE.match(username))


def normalize_email(raw: str | None) -> str | None:
    if raw is None:
        return None
    email = raw.strip().lower()
    return email or None


def normalize_full_name(raw: str) -> str:
    return " ".join(raw.split())


@lru_cache(maxsize=1)
def _time_zones() -> frozenset[str]:
    return frozenset(zoneinfo.available_timezones())


def time_zone_is_valid(name: str) -> bool:
    return name in _time_zones()


def may_see_email(viewer_role: str, viewer_id: int, user_id: int) -> bool:
    return viewer_role == Role.ADMIN or viewer_id == user_id


def is_active_admin(role: str, is_active: bool) -> bool:
    return is_active and role == Role.ADMIN


def removes_an_active_admin(*, role: str, is_active: bool, new_role: str, new_active: bool) -> bool:
    """Whether a change turns an active Admin into something else (demoted or deactivated)."""
    return is_active_admin(role, is_active) and not is_active_admin(new_role, new_active)
