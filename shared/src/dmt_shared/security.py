"""Litestar glue for token verification: the authentication middleware and role guards."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from litestar.connection import ASGIConnection
from litestar.exceptions import NotAuthorizedException, PermissionDeniedException
from litestar.handlers.base import BaseRouteHandler
from litestar.middleware import AbstractAuthenticationMiddleware, AuthenticationResult, DefineMiddleware
from litestar.types import ASGIApp

from dmt_shared.logs import set_user_id
from dmt_shared.problems import unavailable
from dmt_shared.tokens import InvalidToken, KeysUnavailable, Principal, Role, TokenVerifier

VERIFIER_STATE_KEY = "token_verifier"

# Paths that never need a token, in every component.
PUBLIC_PATHS = ["^/health(/|$)", "^/schema(/|$)", "^/metrics/?$"]


def bearer_token(connection: ASGIConnection[Any, Any, Any, Any]) -> str | None:
    header = connection.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    return token.strip()


class TokenAuthMiddleware(AbstractAuthenticationMiddleware):
    """Puts the verified :class:`Principal` on ``request.user``; 401 without a valid token."""

    def __init__(self, app: ASGIApp, verifier: TokenVerifier, exclude: list[str] | None = None) -> None:
        super().__init__(app, exclude=exclude)
        self.verifier = verifier

    async def authenticate_request(self, connection: ASGIConnection[Any, Any, Any, Any]) -> AuthenticationResult:
        token = bearer_token(connection)
        if token is None:
            raise NotAuthorizedException(
                "sign in first: a bearer token is required", headers={"WWW-Authenticate": "Bearer"}
            )
        try:
            principal = await self.verifier.verify(token)
        except InvalidToken as exc:
            raise NotAuthorizedException(f"invalid token: {exc}", headers={"WWW-Authenticate": "Bearer"}) from exc
        except KeysUnavailable as exc:
            raise unavailable(
                "tokens cannot be verified right now: the auth service's keys are unreachable", retry_after=2
            ) from exc
        set_user_id(principal.id)  # on this request's log lines
        return AuthenticationResult(user=principal, auth=token)


def token_auth(verifier: TokenVerifier, exclude: Iterable[str] = ()) -> DefineMiddleware:
    patterns = [*PUBLIC_PATHS, *exclude]
    return DefineMiddleware(TokenAuthMiddleware, verifier=verifier, exclude=patterns)


def principal_of(connection: ASGIConnection[Any, Any, Any, Any]) -> Principal:
    user = connection.scope.get("user")
    if not isinstance(user, Principal):
        raise NotAuthorizedException("sign in first")
    return user


def require_roles(*roles: Role):
    """A guard that lets only the given roles through (403 otherwise)."""
    allowed = frozenset(roles)

    def guard(connection: ASGIConnection[Any, Any, Any, Any], _: BaseRouteHandler) -> None:
        principal = principal_of(connection)
        if principal.role not in allowed:
            names = ", ".join(sorted(r.value for r in allowed))
            raise PermissionDeniedException(f"only {names} may do this")

    return guard


require_admin = require_roles(Role.ADMIN)
