"""The auth service's application: ``uvicorn dmt_auth.asgi:create_app --factory``."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping
from typing import Any

import httpx
from litestar import Litestar
from litestar.datastructures import State
from litestar.di import Provide
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from dmt_auth.config import Settings, get_settings
from dmt_auth.db import MIGRATIONS, VERSION_TABLE
from dmt_auth.db.models import UserAccount
from dmt_auth.domain.sessions.controllers import SessionController, verify_password, well_known_jwks
from dmt_auth.domain.sessions.services import SessionService
from dmt_auth.domain.users.controllers import ProfileController, UserController
from dmt_auth.domain.users.demo import DEMO_USERS, load_demo_users
from dmt_auth.domain.users.services import UserService
from dmt_auth.keys import load_signing_key
from dmt_auth.passwords import Passwords
from dmt_auth.ratelimit import LoginThrottle
from dmt_shared.app import create_component_app
from dmt_shared.db import ServiceDatabase, provide_db_session
from dmt_shared.production import refuse
from dmt_shared.settings import SettingsError, is_production
from dmt_shared.tokens import Role, TokenSigner, TokenVerifier

VERSION = "0.1.0"

log = logging.getLogger("dmt.auth")


# ---------------------------------------------------------------- dependencies


def provide_users(db_session: AsyncSession, state: State) -> UserService:
    return UserService(db_session, passwords=state.passwords, throttle=state.throttle)


def provide_sessions(db_session: AsyncSession, state: State) -> SessionService:
    settings: Settings = state.settings
    return SessionService(
        db_session,
        passwords=state.passwords,
        signer=state.signer,
        throttle=state.throttle,
        access_ttl=settings.access_token_ttl,
        refresh_ttl=settings.refresh_token_ttl,
    )


def provide_signer(state: State) -> TokenSigner:
    return state.signer


DEPENDENCIES = {
    "db_session": Provide(provide_db_session),
    "users": Provide(provide_users, sync_to_thread=False),
    "sessions": Provide(provide_sessions, sync_to_thread=False),
    "signer": Provide(provide_signer, sync_to_thread=False),
}


# ---------------------------------------------------------------- start-up


#: username -> (role, published password) of every demo user.
DEMO_PASSWORDS: dict[str, tuple[str, str]] = {row[0]: (row[2].value, row[3]) for row in DEMO_USERS}


async def refuse_published_demo_passwords(session: AsyncSession, passwords: Passwords) -> None:
    """Refuse to start while a demo user is active and still has its published password.

    Demo users were loaded with one hash per distinct password, so the untouched ones share a
    few hashes: each distinct (hash, password) pair is checked once (about 0.1 s each).
    """
    rows = (
        await session.execute(
            select(UserAccount.username, UserAccount.is_active, UserAccount.password_hash).where(
                UserAccount.username.in_(DEMO_PASSWORDS)
            )
        )
    ).all()
    active = [(username, stored, DEMO_PASSWORDS[username][1]) for username, is_active, stored in rows if is_active]
    pairs = sorted({(stored, password) for _, stored, password in active})
    verified = await asyncio.gather(*(passwords.verify(stored, password) for stored, password in pairs))
    holds = dict(zip(pairs, verified, strict=True))
    exposed = sorted(username for username, stored, password in active if holds[(stored, password)])
    if not exposed:
        return
    admins = [u for u in exposed if DEMO_PASSWORDS[u][0] == Role.ADMIN.value]
    others = [u for u in exposed if u not in admins]
    fixes = [f"give {u} a new password with `python -m dmt_auth create-admin {u} --full-name NAME`" for u in admins]
    if others:
        names = ", ".join(f"'{u}'" for u in others)
        fixes.append(
            # A message for the operator, never run here.
            f"deactivate the others in the auth database (UPDATE user_account SET is_active = false "  # noqa: S608
            f"WHERE username IN ({names})); an Admin can give them new passwords and activate them again afterwards"
        )
    refuse(
        True,
        f"the demo users {', '.join(exposed)} are active and still have their published demo passwords; "
        + "; ".join(fixes),
    )


def _startup(settings: Settings, database: ServiceDatabase) -> Any:
    async def prepare_database(app: Litestar) -> None:
        await database.migrate()
        if is_production():
            async with database.sessionmaker() as session:
                try:
                    await refuse_published_demo_passwords(session, app.state.passwords)
                except SettingsError as exc:
                    # Said plainly before the server prints the traceback and exits.
                    log.critical("refusing to start: %s", exc)
                    raise
        await app.state.passwords.prepare()
        async with database.sessionmaker() as session:
            await SessionService(
                session,
                passwords=app.state.passwords,
                signer=app.state.signer,
                throttle=app.state.throttle,
                access_ttl=settings.access_token_ttl,
                refresh_ttl=settings.refresh_token_ttl,
            ).prune_expired()
            if settings.load_demo_data:
                await load_demo_users(session, app.state.passwords)

    return prepare_database


def create_app(
    settings: Settings | None = None,
    *,
    transports: Mapping[str, httpx.AsyncBaseTransport] | None = None,
    verifier: TokenVerifier | None = None,
) -> Litestar:
    """The auth service. It calls no other component, so ``transports`` is accepted and unused.

    In production it refuses to start (``SettingsError``) with unsafe settings (see
    ``Settings.check_production``), with the development signing key, and, once the database is
    migrated, while a demo user still has its published password.
    """
    settings = settings or get_settings()
    settings.check_production()
    signer = TokenSigner(load_signing_key(settings))
    database = ServiceDatabase(
        settings.database_url,
        migrations=MIGRATIONS,
        version_table=VERSION_TABLE,
        pool_size=settings.db_pool_size,
        component="auth",
    )

    async def dispose(_: Litestar) -> None:
        await database.dispose()

    return create_component_app(
        service="auth",
        title="DMT auth",
        version=VERSION,
        description="Users, sign-in, access and refresh tokens, and the public keys that verify access tokens.",
        route_handlers=[SessionController, well_known_jwks, verify_password, ProfileController, UserController],
        verifier=verifier or TokenVerifier.from_static(signer.jwks()),
        ready_checks={"database": database.ping},
        on_startup=[_startup(settings, database)],
        on_shutdown=[dispose],
        dependencies=DEPENDENCIES,
        state={
            "settings": settings,
            "database": database,
            "signer": signer,
            "passwords": Passwords(settings),
            "throttle": LoginThrottle(
                user_limit=settings.login_user_limit,
                client_limit=settings.login_client_limit,
                window=settings.login_window_seconds,
            ),
        },
        debug=settings.debug,
        log_level=settings.log_level,
    )
