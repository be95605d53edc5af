"""Refresh tokens rotate, a reused one ends its sign-in, sign-out ends it too; access tokens
that are expired, foreign or altered are refused."""

from __future__ import annotations

import asyncio
import base64
import datetime as dt
import json

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from dmt_auth.db.models import RefreshToken
from dmt_auth.domain.sessions.services import SessionService, Tokens
from dmt_auth.passwords import Passwords
from dmt_auth.ratelimit import LoginThrottle
from dmt_shared.db import create_engine
from dmt_shared.problems import ProblemError
from dmt_shared.testing import TokenFactory
from dmt_shared.tokens import Role, TokenSigner, load_private_key

REFRESH = "/api/v1/auth/refresh"
LOGOUT = "/api/v1/auth/logout"


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def test_refresh_rotates_and_a_reused_token_ends_the_whole_sign_in(api, db) -> None:
    client = api.client
    first = await api.login("OPR001")
    other_sign_in = await api.login("OPR001")

    rotated = await client.post(REFRESH, json={"refresh_token": first["refresh_token"]})
    assert rotated.status_code == 200, rotated.text
    second = rotated.json()
    assert second["refresh_token"] != first["refresh_token"]
    assert second["user"]["username"] == "OPR001"
    assert (await client.get("/api/v1/auth/me", headers=_bearer(second["access_token"]))).status_code == 200

    # The old token again: someone holds a copy, so this sign-in ends for both holders.
    reused = await client.post(REFRESH, json={"refresh_token": first["refresh_token"]})
    assert reused.status_code == 401
    assert "already used" in reused.json()["detail"]
    assert (await client.post(REFRESH, json={"refresh_token": second["refresh_token"]})).status_code == 401

    # The user's other sign-in is not affected.
    assert (await client.post(REFRESH, json={"refresh_token": other_sign_in["refresh_token"]})).status_code == 200

    async with db() as session:
        stored = (await session.execute(select(RefreshToken.token_hash))).scalars().all()
    assert len(stored) == 4
    assert first["refresh_token"] not in stored
    assert all(len(h) == 64 for h in stored)


async def test_an_expired_or_unknown_refresh_token_is_refused(api, db) -> None:
    body = await api.login("OPR002")
    async with db() as session:
        await session.execute(update(RefreshToken).values(expires_at=dt.datetime.now(dt.UTC) - dt.timedelta(seconds=1)))
        await session.commit()
    expired = await api.client.post(REFRESH, json={"refresh_token": body["refresh_token"]})
    assert expired.status_code == 401
    assert (await api.client.post(REFRESH, json={"refresh_token": "not-a-token"})).status_code == 401
    assert (await api.client.post(REFRESH, json={})).status_code == 400


async def test_logout_ends_the_sign_in_and_is_idempotent(api, db) -> None:
    client = api.client
    body = await api.login("INS009")
    out = await client.post(LOGOUT, json={"refresh_token": body["refresh_token"]})
    assert out.status_code == 204
    assert (await client.post(REFRESH, json={"refresh_token": body["refresh_token"]})).status_code == 401
    assert (await client.post(LOGOUT, json={"refresh_token": body["refresh_token"]})).status_code == 204
    assert (await client.post(LOGOUT, json={"refresh_token": "never-issued"})).status_code == 204
    async with db() as session:
        live = await session.execute(
            select(func.count()).select_from(RefreshToken).where(RefreshToken.revoked_at.is_(None))
        )
        assert live.scalar_one() == 0


async def test_expired_foreign_and_altered_access_tokens_are_refused(api, auth_key: TokenFactory) -> None:
    client = api.client
    body = await api.login("INS010")
    token = body["access_token"]
    uid = body["user"]["id"]
    assert (await client.get("/api/v1/auth/me", headers=_bearer(token))).status_code == 200

    # Signed with the right key but long expired.
    expired = auth_key.token(Role.INSPECTOR, user_id=uid, username="INS010", ttl_seconds=60, now=1_000_000)
    # Valid in every way but signed by a key the service does not know.
    foreign = TokenFactory().token(Role.ADMIN, user_id=uid, username="INS010")
    # The real token with its role changed to Admin and the original signature kept.
    header, payload, signature = token.split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    claims["role"] = "Admin"
    forged_payload = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=").decode()
    tampered = f"{header}.{forged_payload}.{signature}"

    for bad in (expired, foreign, tampered, body["refresh_token"], "garbage"):
        response = await client.get("/api/v1/auth/me", headers=_bearer(bad))
        assert response.status_code == 401, bad
        assert response.headers["content-type"].startswith("application/problem+json")
    assert (await client.get("/api/v1/auth/me")).status_code == 401
    # The forged Admin gets nowhere near the Admin-only endpoints either.
    forged_create = await client.post(
        "/api/v1/users",
        json={"username": "EVIL01", "full_name": "Evil", "role": "Admin", "password": "evil-evil"},
        headers=_bearer(tampered),
    )
    assert forged_create.status_code == 401


async def test_deactivation_and_password_reset_end_the_users_sessions(api) -> None:
    client = api.client
    admin = await api.bearer("ADM001")
    target = await api.user_id(admin, "INS011")

    before_reset = await api.login("INS011")
    reset = await client.patch(f"/api/v1/users/{target}", json={"password": "new-secret-1"}, headers=admin)
    assert reset.status_code == 200
    assert (await client.post(REFRESH, json={"refresh_token": before_reset["refresh_token"]})).status_code == 401
    bad_old = await client.post("/api/v1/auth/login", json={"username": "INS011", "password": "employee123"})
    assert bad_old.status_code == 401

    after_reset = await api.login("INS011", "new-secret-1")
    off = await client.patch(f"/api/v1/users/{target}", json={"is_active": False}, headers=admin)
    assert off.status_code == 200
    assert off.json()["is_active"] is False
    assert (await client.post(REFRESH, json={"refresh_token": after_reset["refresh_token"]})).status_code == 401
    # The access token still verifies until it expires, but the account is gone for /me.
    assert (await client.get("/api/v1/auth/me", headers=_bearer(after_reset["access_token"]))).status_code == 401
    gone = await client.post("/api/v1/auth/login", json={"username": "INS011", "password": "new-secret-1"})
    assert gone.status_code == 401


async def test_when_refreshes_race_with_one_token_only_one_gets_through(api, database_url, make_settings) -> None:
    body = await api.login("OPR006")
    settings = make_settings()
    engine = create_engine(database_url, pool_size=3)
    signer = TokenSigner(load_private_key(settings.signing_key.encode()))
    try:
        sessions = [AsyncSession(engine, expire_on_commit=False) for _ in range(3)]
        services = [
            SessionService(
                session,
                passwords=Passwords(settings),
                signer=signer,
                throttle=LoginThrottle(user_limit=5, client_limit=20, window=900),
                access_ttl=900,
                refresh_ttl=3600,
            )
            for session in sessions
        ]
        # Each reads the token before any revokes it; the database lets one revoke win.
        outcomes = await asyncio.gather(*(s.refresh(body["refresh_token"]) for s in services), return_exceptions=True)
        for session in sessions:
            await session.close()
    finally:
        await engine.dispose()
    issued = [o for o in outcomes if isinstance(o, Tokens)]
    refused = [o for o in outcomes if isinstance(o, ProblemError) and o.status_code == 401]
    assert (len(issued), len(refused)) == (1, 2), outcomes
