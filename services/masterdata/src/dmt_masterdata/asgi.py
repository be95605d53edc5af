"""The masterdata service's application: ``uvicorn dmt_masterdata.asgi:create_app --factory``."""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager

import httpx
from litestar import Litestar
from litestar.di import Provide

from dmt_masterdata import __doc__ as service_description
from dmt_masterdata.config import Settings, get_settings
from dmt_masterdata.db import MIGRATIONS, VERSION_TABLE
from dmt_masterdata.domain.catalogs.controllers import CatalogController
from dmt_masterdata.domain.catalogs.seed import load_demo_catalogs
from dmt_shared.app import create_component_app, jwks_from
from dmt_shared.db import ServiceDatabase, provide_db_session
from dmt_shared.http import ServiceClient
from dmt_shared.tokens import TokenVerifier

SERVICE = "masterdata"
VERSION = "0.1.0"


def _database(settings: Settings) -> ServiceDatabase:
    return ServiceDatabase(
        settings.database_url,
        migrations=MIGRATIONS,
        version_table=VERSION_TABLE,
        pool_size=settings.db_pool_size,
        echo=settings.debug,
        component=SERVICE,
    )


def _clients(
    settings: Settings, transports: Mapping[str, httpx.AsyncBaseTransport] | None
) -> tuple[ServiceClient, ServiceClient]:
    transports = transports or {}
    auth = ServiceClient("auth", settings.auth_url, component=SERVICE, transport=transports.get("auth"))
    records = ServiceClient(
        "records",
        settings.records_url,
        component=SERVICE,
        transport=transports.get("records"),
        read_timeout=settings.records_timeout,
        total_timeout=settings.records_timeout,
    )
    return auth, records


def create_app(
    settings: Settings | None = None,
    *,
    transports: Mapping[str, httpx.AsyncBaseTransport] | None = None,
    verifier: TokenVerifier | None = None,
) -> Litestar:
    settings = settings or get_settings()
    settings.check_production()
    database = _database(settings)
    auth_client, records_client = _clients(settings, transports)

    @asynccontextmanager
    async def lifespan(_: Litestar) -> AsyncIterator[None]:
        try:
            await database.migrate()
            if settings.demo_data:
                async with database.sessionmaker() as session:
                    await load_demo_catalogs(session)
            yield
        finally:
            await records_client.aclose()
            await auth_client.aclose()
            await database.dispose()

    return create_component_app(
        service=SERVICE,
        title="DMT masterdata",
        version=VERSION,
        description=service_description or "",
        route_handlers=[CatalogController],
        verifier=verifier or TokenVerifier(jwks_from(auth_client)),
        ready_checks={"database": database.ping},
        lifespan=[lifespan],
        dependencies={"db_session": Provide(provide_db_session)},
        state={
            "database": database,
            "auth_client": auth_client,
            "records_client": records_client,
            "settings": settings,
        },
        debug=settings.debug,
        log_level=settings.log_level,
    )
