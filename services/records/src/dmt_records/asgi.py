"""The records service's application: ``uvicorn dmt_records.asgi:create_app --factory``."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping

import httpx
from litestar import Litestar
from litestar.datastructures import State
from litestar.di import Provide
from sqlalchemy.ext.asyncio import AsyncSession

from dmt_records.config import Settings, get_settings
from dmt_records.db import MIGRATIONS, VERSION_TABLE
from dmt_records.domain.analytics.controllers import AnalyticsController
from dmt_records.domain.export.controllers import ExportController
from dmt_records.domain.records.controllers import RecordController
from dmt_records.domain.records.references import References
from dmt_records.domain.records.services import RecordService
from dmt_records.domain.translation.controllers import TranslationController
from dmt_records.domain.translation.worker import worker_from_settings
from dmt_shared.app import create_component_app, jwks_from
from dmt_shared.db import ServiceDatabase, dialect_of, provide_db_session
from dmt_shared.http import ServiceClient
from dmt_shared.tokens import TokenVerifier

VERSION = "0.1.0"


# ---------------------------------------------------------------- dependencies


def provide_records(db_session: AsyncSession, state: State) -> RecordService:
    return RecordService(db_session, references=state.references, write_turn=state.write_turn)


DEPENDENCIES = {
    "db_session": Provide(provide_db_session),
    "records": Provide(provide_records, sync_to_thread=False),
}


# ---------------------------------------------------------------- upstreams


def _client(name: str, url: str, settings: Settings, transports: Mapping[str, httpx.AsyncBaseTransport] | None):
    return ServiceClient(
        name,
        url,
        component="records",
        transport=transports.get(name) if transports else None,
        connect_timeout=settings.connect_timeout,
        read_timeout=settings.read_timeout,
    )


def create_app(
    settings: Settings | None = None,
    *,
    transports: Mapping[str, httpx.AsyncBaseTransport] | None = None,
    verifier: TokenVerifier | None = None,
) -> Litestar:
    """The records service. It calls masterdata (catalog look-ups) and auth (user look-ups and
    the public keys that verify tokens); ``transports`` replaces their network in tests."""
    settings = settings or get_settings()
    settings.check_production()
    database = ServiceDatabase(
        settings.database_url,
        migrations=MIGRATIONS,
        version_table=VERSION_TABLE,
        pool_size=settings.db_pool_size,
        component="records",
    )
    sqlite = dialect_of(settings.database_url) == "sqlite"
    # The clients exist before the first request, so the verifier can fetch the keys on first use.
    auth = _client("auth", settings.auth_url, settings, transports)
    masterdata = _client("masterdata", settings.masterdata_url, settings, transports)
    # Fills in machine translations in the background; None without RECORDS_TRANSLATOR_URL.
    translator = worker_from_settings(settings, database.sessionmaker)

    async def prepare_database(_: Litestar) -> None:
        await database.migrate()
        if translator is not None:
            translator.start()

    async def shut_down(_: Litestar) -> None:
        if translator is not None:
            await translator.stop()
        await auth.aclose()
        await masterdata.aclose()
        await database.dispose()

    return create_component_app(
        service="records",
        title="DMT records",
        version=VERSION,
        description=(
            "DMT records (nonconformance reports) in five sections: who may create, edit, close and delete them, "
            "report numbers, texts in English, Spanish and Chinese, lists with filters and search."
        ),
        route_handlers=[RecordController, ExportController, TranslationController, AnalyticsController],
        verifier=verifier or TokenVerifier(jwks_from(auth)),
        ready_checks={"database": database.ping},
        on_startup=[prepare_database],
        on_shutdown=[shut_down],
        dependencies=DEPENDENCIES,
        state={
            "settings": settings,
            "database": database,
            "auth_client": auth,
            "masterdata_client": masterdata,
            "references": References(masterdata=masterdata, auth=auth),
            "translator": translator,
            # SQLite lets one writer in at a time: the records written here take turns in the
            # process rather than wait for the database (see RecordService._writing).
            "write_turn": asyncio.Lock() if sqlite else None,
        },
        debug=settings.debug,
        log_level=settings.log_level,
    )
