"""Request and response bodies for users and the caller's own profile."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Literal

import msgspec
from msgspec import UNSET, UnsetType

from dmt_auth.domain.users.rules import PASSWORD_MAX, PASSWORD_MIN
from dmt_shared.tokens import Role

# Lower case is accepted and stored upper case; surrounding spaces are dropped.
Username = Annotated[
    str,
    msgspec.Meta(
        pattern=r"^\s*[A-Za-z0-9._-]{3,32}\s*$",
        max_length=64,
        description="Employee number, 3 to 32 of A-Z 0-9 . _ - (stored upper case)",
        examples=["INS012"],
    ),
]
FullName = Annotated[
    str,
    msgspec.Meta(min_length=1, max_length=120, pattern=r"\S", description="Not blank", examples=["Wang Wei"]),
]
Email = Annotated[
    str,
    msgspec.Meta(
        max_length=254,
        pattern=r"^\s*[^@\s]+@[^@\s]+\.[^@\s]+\s*$",
        description="Stored lower case",
        examples=["ins012@dmt.example"],
    ),
]
Password = Annotated[str, msgspec.Meta(min_length=PASSWORD_MIN, max_length=PASSWORD_MAX)]
Language = Literal["en", "es", "zh"]
TimeZone = Annotated[
    str, msgspec.Meta(min_length=1, max_length=64, description="IANA time zone", examples=["America/Mexico_City"])
]


class UserCreate(msgspec.Struct, forbid_unknown_fields=True):
    username: Username
    full_name: FullName
    role: Role
    password: Password
    email: Email | None = None
    language: Language = "en"
    time_zone: TimeZone = "UTC"
    is_active: bool = True


class UserUpdate(msgspec.Struct, forbid_unknown_fields=True):
    """What an Admin may change; absent fields stay as they are, ``email: null`` clears it.

    A new ``password`` is a reset: every refresh token of the user is revoked.
    """

    full_name: FullName | UnsetType = UNSET
    email: Email | UnsetType | None = UNSET
    role: Role | UnsetType = UNSET
    is_active: bool | UnsetType = UNSET
    password: Password | UnsetType = UNSET
    language: Language | UnsetType = UNSET
    time_zone: TimeZone | UnsetType = UNSET


class ProfileUpdate(msgspec.Struct, forbid_unknown_fields=True):
    """What a user may change about themselves. A new ``password`` needs ``current_password``."""

    full_name: FullName | UnsetType = UNSET
    email: Email | UnsetType | None = UNSET
    language: Language | UnsetType = UNSET
    time_zone: TimeZone | UnsetType = UNSET
    password: Password | UnsetType = UNSET
    current_password: Annotated[str, msgspec.Meta(max_length=PASSWORD_MAX)] | UnsetType = UNSET


class UserPublic(msgspec.Struct):
    """A user as every signed-in user sees them (no email)."""

    id: int
    username: str
    full_name: str
    role: str
    is_active: bool
    language: str
    time_zone: str
    created_at: dt.datetime


class UserRead(msgspec.Struct):
    """A user as an Admin, or the user themselves, sees them."""

    id: int
    username: str
    email: str | None
    full_name: str
    role: str
    is_active: bool
    language: str
    time_zone: str
    created_at: dt.datetime
    updated_at: dt.datetime
    last_login_at: dt.datetime | None


UserSort = Literal["username", "full_name", "role", "created_at"]
SortOrder = Literal["asc", "desc"]
