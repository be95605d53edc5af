"""The auth service's application: ``uvicorn dmt_auth.asgi:create_app --factory``."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import httpx
from litestar import Litestar
from litestar.datastructures import State
from litestar.di import Provide
from sqlalchemy.ext.asyncio import AsyncSession

from dmt_auth.config import Settings, get_settings
from dmt_auth.db import MIGRATIONS, VERSION_TABLE
from dmt_auth.domain.sessions.controllers import SessionController, verify_password, well_known_jwks
from dmt_auth.domain.sessions.services import SessionService
from dmt_auth.domain.users.controllers import ProfileController, UserController
from dmt_auth.domain.users.demo import load_demo_users
from dmt_auth.domain.users.services import UserService
from dmt_auth.keys import load_signing_key
from dmt_auth.passwords import Passwords
from dmt_auth.ratelimit import LoginThrottle
from dmt_shared.app import create_component_app
from dmt_shared.db import ServiceDatabase, provide_db_session
from dmt_shared.tokens import TokenSigner, TokenVerifier

VERSION = "0.1.0"


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


def _startup(settings: Settings, database: ServiceDatabase) -> Any:
    async def prepare_database(app: Litestar) -> None:
        await database.migrate()
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

    Refuses to start (``SettingsError``) in production without a signing key.
    """
    settings = settings or get_settings()
    settings.check_production()
    signer = TokenSigner(load_signing_key(settings))
    database = ServiceDatabase(
        settings.database_url, migrations=MIGRATIONS, version_table=VERSION_TABLE, pool_size=settings.db_pool_size
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
