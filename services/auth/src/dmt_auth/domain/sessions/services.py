"""Signing in, refreshing and signing out.

- A sign-in issues a short-lived access token (a signed JWT) and an opaque refresh token. Only
  the refresh token's SHA-256 is stored.
- Refreshing rotates: the presented token is revoked and a new one of the same family issued.
  Presenting a token that was already revoked means it was copied (one of the two holders is
  not the user), so the whole family is revoked and both must sign in again.
- Unknown user, wrong password and inactive user all get the same answer, after the same work.
- Failed sign-ins are counted per username and per client address (see :mod:`dmt_auth.ratelimit`).
- A password re-entered to sign a record is checked for the user the access token names; wrong
  guesses count against that username's sign-in limit, so a stolen token cannot be used to guess
  the password faster than signing in would allow.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
import secrets
from dataclasses import dataclass

from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from dmt_auth.db.models import RefreshToken, UserAccount
from dmt_auth.domain.users.rules import normalize_username
from dmt_auth.passwords import Passwords
from dmt_auth.ratelimit import LoginThrottle
from dmt_shared.problems import FieldError, ProblemError
from dmt_shared.tokens import TokenSigner

log = logging.getLogger("dmt.auth.sessions")

WRONG_CREDENTIALS = "wrong username or password"
INVALID_REFRESH = "the refresh token is not valid; sign in again"
REUSED_REFRESH = "this refresh token was already used; every session of that sign-in has been ended, sign in again"
WRONG_PASSWORD = "the password is not right"
GONE_ACCOUNT = "this account no longer exists or is deactivated"


def token_digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


@dataclass(frozen=True)
class Tokens:
    access_token: str
    expires_in: int
    refresh_token: str
    user: UserAccount


def unauthorized(detail: str) -> ProblemError:
    return ProblemError(401, detail, headers={"WWW-Authenticate": "Bearer"})


class SessionService:
    def __init__(
        self,
        session: AsyncSession,
        *,
        passwords: Passwords,
        signer: TokenSigner,
        throttle: LoginThrottle,
        access_ttl: int,
        refresh_ttl: int,
    ) -> None:
        self.session = session
        self.passwords = passwords
        self.signer = signer
        self.throttle = throttle
        self.access_ttl = access_ttl
        self.refresh_ttl = refresh_ttl

    async def login(self, username: str, password: str, client: str) -> Tokens:
        key = normalize_username(username)[:64]
        wait = self.throttle.retry_after(key, client)
        if wait:
            raise ProblemError(
                429,
                f"too many failed sign-ins; try again in {wait} seconds",
                headers={"Retry-After": str(wait)},
            )
        user = (await self.session.execute(select(UserAccount).where(UserAccount.username == key))).scalar_one_or_none()
        if user is None:
            await self.passwords.verify_nobody(password)
            ok = False
        else:
            ok = await self.passwords.verify(user.password_hash, password) and user.is_active
        if user is None or not ok:
            self.throttle.failed(key, client)
            raise unauthorized(WRONG_CREDENTIALS)
        self.throttle.succeeded(key)
        if self.passwords.needs_rehash(user.password_hash):
            user.password_hash = await self.passwords.hash(password)
        user.last_login_at = utcnow()
        return await self._issue(user, family_id=secrets.token_hex(16))

    async def check_password(self, user_id: int, password: str) -> UserAccount:
        """The signed-in user ``user_id``, when ``password`` is theirs (21 CFR 11.200: a signature
        needs the password again, even within a session).

        401 when the account is gone or deactivated since the token was issued; 429 (Retry-After)
        while the username is locked by wrong guesses; 403 naming ``password`` when it is wrong.
        Nothing here logs the password, only who failed.
        """
        user = await self.session.get(UserAccount, user_id)
        if user is None or not user.is_active:
            raise unauthorized(GONE_ACCOUNT)
        wait = self.throttle.user_retry_after(user.username)
        if wait:
            raise ProblemError(
                429,
                f"too many wrong passwords; try again in {wait} seconds",
                headers={"Retry-After": str(wait)},
            )
        if not await self.passwords.verify(user.password_hash, password):
            self.throttle.user_failed(user.username)
            log.warning("a signature password check failed for user %s (%s)", user.id, user.username)
            raise ProblemError(403, WRONG_PASSWORD, errors=[FieldError("password", WRONG_PASSWORD)])
        self.throttle.succeeded(user.username)
        return user

    async def refresh(self, presented: str) -> Tokens:
        row = (
            await self.session.execute(select(RefreshToken).where(RefreshToken.token_hash == token_digest(presented)))
        ).scalar_one_or_none()
        now = utcnow()
        if row is None:
            raise unauthorized(INVALID_REFRESH)
        if row.revoked_at is not None:
            await self._revoke_family(row.family_id, now)
            await self.session.commit()
            raise unauthorized(REUSED_REFRESH)
        if row.expires_at <= now:
            raise unauthorized(INVALID_REFRESH)
        # Revoke only if still unrevoked: of two concurrent refreshes with one token, one loses.
        result = await self.session.execute(
            update(RefreshToken)
            .where(RefreshToken.id == row.id, RefreshToken.revoked_at.is_(None))
            .values(revoked_at=now)
            .execution_options(synchronize_session=False)
        )
        if result.rowcount != 1:  # type: ignore[attr-defined]
            await self._revoke_family(row.family_id, now)
            await self.session.commit()
            raise unauthorized(REUSED_REFRESH)
        user = await self.session.get(UserAccount, row.user_id)
        if user is None or not user.is_active:
            await self._revoke_family(row.family_id, now)
            await self.session.commit()
            raise unauthorized(INVALID_REFRESH)
        return await self._issue(user, family_id=row.family_id)

    async def logout(self, presented: str) -> None:
        """End the sign-in the token belongs to; unknown or already revoked tokens are fine."""
        row = (
            await self.session.execute(
                select(RefreshToken.family_id).where(RefreshToken.token_hash == token_digest(presented))
            )
        ).first()
        if row is None:
            return
        await self._revoke_family(row.family_id, utcnow())
        await self.session.commit()

    async def prune_expired(self, older_than: dt.timedelta = dt.timedelta(days=1)) -> None:
        """Forget refresh tokens that expired a while ago (their reuse no longer matters)."""
        await self.session.execute(
            delete(RefreshToken)
            .where(RefreshToken.expires_at < utcnow() - older_than)
            .execution_options(synchronize_session=False)
        )
        await self.session.commit()

    async def _revoke_family(self, family_id: str, now: dt.datetime) -> None:
        await self.session.execute(
            update(RefreshToken)
            .where(RefreshToken.family_id == family_id, RefreshToken.revoked_at.is_(None))
            .values(revoked_at=now)
            .execution_options(synchronize_session=False)
        )

    async def _issue(self, user: UserAccount, *, family_id: str) -> Tokens:
        access, _ = self.signer.issue(
            user_id=user.id,
            username=user.username,
            full_name=user.full_name,
            role=user.role,
            ttl_seconds=self.access_ttl,
            language=user.language,
            time_zone=user.time_zone,
        )
        refresh = secrets.token_urlsafe(32)
        self.session.add(
            RefreshToken(
                user_id=user.id,
                token_hash=token_digest(refresh),
                family_id=family_id,
                expires_at=utcnow() + dt.timedelta(seconds=self.refresh_ttl),
            )
        )
        await self.session.commit()
        return Tokens(access_token=access, expires_in=self.access_ttl, refresh_token=refresh, user=user)
