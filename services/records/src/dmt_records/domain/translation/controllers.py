"""``/api/v1/records/translations``: how far the machine translation is, and a retry of what failed."""

from __future__ import annotations

from litestar import Controller, get, post
from litestar.datastructures import State
from litestar.status_codes import HTTP_200_OK
from sqlalchemy.ext.asyncio import AsyncSession

from dmt_records.db.models import utcnow
from dmt_records.domain.translation.schemas import RetryResult, TranslationStatus
from dmt_records.domain.translation.worker import counts, retry_failed
from dmt_shared.security import require_admin


class TranslationController(Controller):
    # A path of its own: more specific than /api/v1/records/{record_id:int}, which it must not meet.
    path = "/api/v1/records/translations"
    tags = ["Translations"]

    @get(
        "/",
        summary="How many translations are pending, failed and done",
        description=(
            "`configured` says whether a translation server is set (RECORDS_TRANSLATOR_URL). Without one, "
            "texts wait as pending and are translated once one is configured."
        ),
    )
    async def translation_status(self, db_session: AsyncSession, state: State) -> TranslationStatus:
        found = await counts(db_session)
        return TranslationStatus(configured=bool(state.settings.translator_url), **found)

    @post(
        "/retry",
        guards=[require_admin],
        status_code=HTTP_200_OK,
        summary="Try every failed translation again now (Admin)",
        description="For when the translation server is back or has been fixed; answers how many are due again.",
    )
    async def retry_translations(self, db_session: AsyncSession) -> RetryResult:
        return RetryResult(retried=await retry_failed(db_session, utcnow()))
