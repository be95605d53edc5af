"""``/api/v1/auth``: sign in, OAuth2 token, refresh, sign out, the public keys, and the password
check that signing a record needs."""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Controller, Request, Response, get, post
from litestar.enums import RequestEncodingType
from litestar.params import Body
from litestar.status_codes import HTTP_200_OK, HTTP_204_NO_CONTENT

from dmt_auth.domain.sessions.schemas import (
    LoginRequest,
    LoginResponse,
    RefreshRequest,
    SignedInUser,
    TokenForm,
    TokenResponse,
)
from dmt_auth.domain.sessions.services import SessionService, Tokens
from dmt_shared.contracts import PASSWORD_CHECK_PATH, PasswordCheck, SignerIdentity
from dmt_shared.security import principal_of
from dmt_shared.tokens import TokenSigner

JWKS_CACHE = "public, max-age=300"


def client_address(request: Request[Any, Any, Any], trust_forwarded: bool) -> str:
    """The caller's address; X-Forwarded-For counts only behind a proxy we were told to trust."""
    if trust_forwarded:
        forwarded = request.headers.get("x-forwarded-for", "")
        first = forwarded.split(",", 1)[0].strip()
        if first:
            return first[:64]
    return request.client.host if request.client else "unknown"


def login_response(tokens: Tokens) -> LoginResponse:
    user = tokens.user
    return LoginResponse(
        access_token=tokens.access_token,
        refresh_token=tokens.refresh_token,
        token_type="bearer",
        expires_in=tokens.expires_in,
        user=SignedInUser(
            id=user.id,
            username=user.username,
            full_name=user.full_name,
            role=user.role,
            language=user.language,
            time_zone=user.time_zone,
        ),
    )


class SessionController(Controller):
    path = "/api/v1/auth"
    tags = ["Sign in"]
    opt = {"exclude_from_auth": True}
    security = [{}]

    @post("/login", status_code=HTTP_200_OK, summary="Sign in with username and password")
    async def login(
        self, request: Request[Any, Any, Any], data: LoginRequest, sessions: SessionService
    ) -> LoginResponse:
        client = client_address(request, request.app.state.settings.trust_forwarded)
        return login_response(await sessions.login(data.username, data.password, client))

    @post("/token", status_code=HTTP_200_OK, summary="OAuth2 password grant (for the API docs' Authorize button)")
    async def token(
        self,
        request: Request[Any, Any, Any],
        data: Annotated[TokenForm, Body(media_type=RequestEncodingType.URL_ENCODED)],
        sessions: SessionService,
    ) -> TokenResponse:
        client = client_address(request, request.app.state.settings.trust_forwarded)
        tokens = await sessions.login(data.username, data.password, client)
        return TokenResponse(
            access_token=tokens.access_token,
            token_type="bearer",
            expires_in=tokens.expires_in,
            refresh_token=tokens.refresh_token,
        )

    @post("/refresh", status_code=HTTP_200_OK, summary="Exchange a refresh token for new tokens")
    async def refresh(self, data: RefreshRequest, sessions: SessionService) -> LoginResponse:
        return login_response(await sessions.refresh(data.refresh_token))

    @post("/logout", status_code=HTTP_204_NO_CONTENT, summary="Sign out: end the refresh token's sign-in")
    async def logout(self, data: RefreshRequest, sessions: SessionService) -> None:
        await sessions.logout(data.refresh_token)

    @get("/jwks", summary="The public keys that verify access tokens (JWKS)", sync_to_thread=False)
    def jwks(self, signer: TokenSigner) -> Response[dict[str, Any]]:
        return Response(signer.jwks(), headers={"Cache-Control": JWKS_CACHE})


@get(
    "/.well-known/jwks.json",
    tags=["Sign in"],
    opt={"exclude_from_auth": True},
    security=[{}],
    summary="The public keys that verify access tokens (JWKS)",
    sync_to_thread=False,
)
def well_known_jwks(signer: TokenSigner) -> Response[dict[str, Any]]:
    return Response(signer.jwks(), headers={"Cache-Control": JWKS_CACHE})


@post(
    PASSWORD_CHECK_PATH,
    status_code=HTTP_200_OK,
    tags=["Sign in"],
    summary="Check your own password again, to sign",
    description=(
        "Signing a record (closing or reopening it) needs the signer's password again, even when "
        "signed in. The access token says who you are; the body gives the password. 200: who was "
        "checked, as a signature records them. 403 (field `password`): wrong password. 429 with "
        "Retry-After: too many wrong passwords (they count with wrong sign-ins of the same user). "
        "401: no valid token, or the account was deactivated since it was issued."
    ),
)
async def verify_password(
    request: Request[Any, Any, Any], data: PasswordCheck, sessions: SessionService
) -> SignerIdentity:
    user = await sessions.check_password(principal_of(request).id, data.password)
    return SignerIdentity(id=user.id, username=user.username, full_name=user.full_name, role=user.role)
