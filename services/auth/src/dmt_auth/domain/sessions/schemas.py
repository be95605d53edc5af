"""Request and response bodies for signing in, refreshing and signing out."""

from __future__ import annotations

from typing import Annotated, Literal

import msgspec

from dmt_auth.domain.users.rules import PASSWORD_MAX

LoginName = Annotated[str, msgspec.Meta(min_length=1, max_length=64, examples=["INS001"])]
LoginPassword = Annotated[str, msgspec.Meta(min_length=1, max_length=PASSWORD_MAX)]
OpaqueToken = Annotated[str, msgspec.Meta(min_length=1, max_length=256)]


class LoginRequest(msgspec.Struct, forbid_unknown_fields=True):
    username: LoginName
    password: LoginPassword


class TokenForm(msgspec.Struct):
    """The OAuth2 password grant, as the API docs' Authorize button sends it.

    Unknown form fields (``scope``, ``client_id``, ...) are ignored, as OAuth2 clients send them.
    """

    username: LoginName
    password: LoginPassword
    grant_type: Literal["password"] = "password"


class RefreshRequest(msgspec.Struct, forbid_unknown_fields=True):
    refresh_token: OpaqueToken


class SignedInUser(msgspec.Struct):
    id: int
    username: str
    full_name: str
    role: str
    language: str
    time_zone: str


class LoginResponse(msgspec.Struct):
    access_token: str
    refresh_token: str
    token_type: str
    expires_in: int
    user: SignedInUser


class TokenResponse(msgspec.Struct):
    access_token: str
    token_type: str
    expires_in: int
    refresh_token: str
