"""The background translator: fills in the machine translations that saving a text left pending.

One asyncio task per records process. Each round it claims a batch of due rows, asks the
translation server for each (a few at a time), and writes each result in a short transaction
of its own, together with a ``translated`` line in the record's history. Saving a record never
waits for any of this, and the translator being down only delays translations.

Several records processes may run at once: a row is claimed by an UPDATE that only succeeds
while nobody else holds it (``claimed_until`` empty or past), so each row goes to one process;
a process that dies lets go when its claim runs out. A result is written only if the row is
still a machine translation of the same original: one edited or corrected meanwhile keeps
what the person did.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
import math
import random
from collections.abc import Awaitable, Sequence
from dataclasses import dataclass

from sqlalchemy import ColumnElement, func, insert, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from dmt_records.config import Settings, language_codes
from dmt_records.db.models import Record, RecordHistory, RecordText, utcnow
from dmt_records.domain.translation.client import TranslationError, Translator
from dmt_records.domain.translation.store import AUTHOR, DONE, FAILED, HUMAN, MACHINE, PENDING, original_hash

log = logging.getLogger("dmt.records.translator")

TRANSLATOR_USERNAME = "translator"
TRANSLATOR_NAME = "Machine translation"


@dataclass(frozen=True)
class Job:
    """A claimed row and what it is to be translated from."""

    id: int
    record_id: int
    field: str
    language: str
    source_hash: str
    attempts: int
    source_text: str | None
    source_language: str | None


@dataclass
class Round:
    claimed: int = 0
    translated: int = 0
    failed: int = 0
    #: The server was unreachable or overloaded: the rest of the batch was let go untried.
    outage: bool = False
    error: str = ""


def _job(row: RecordText, original: RecordText | None) -> Job:
    """What to translate a claimed row from: its original, if it is still the one the row is for."""
    current = original if original is not None and original_hash(original) == row.source_hash else None
    return Job(
        id=row.id,
        record_id=row.record_id,
        field=row.field,
        language=row.language,
        source_hash=row.source_hash or "",
        attempts=row.attempts,
        source_text=current.text if current else None,
        source_language=current.language if current else None,
    )


def _due(now: dt.datetime) -> list[ColumnElement[bool]]:
    """What makes a row the translator's to take now (a row of a deleted record never is)."""
    return [
        RecordText.origin == MACHINE,
        RecordText.state.in_((PENDING, FAILED)),
        or_(RecordText.next_attempt_at.is_(None), RecordText.next_attempt_at <= now),
        or_(RecordText.claimed_until.is_(None), RecordText.claimed_until < now),
    ]


class TranslationWorker:
    def __init__(
        self,
        sessionmaker: async_sessionmaker[AsyncSession],
        translator: Translator,
        *,
        attempts: int = 5,
        backoff: float = 5.0,
        max_backoff: float = 600.0,
        poll_interval: float = 2.0,
        batch: int = 20,
        concurrency: int = 4,
        lease: float = 120.0,
    ) -> None:
        self.sessionmaker = sessionmaker
        self.translator = translator
        self.attempts = attempts
        self.backoff = backoff
        self.max_backoff = max_backoff
        self.poll_interval = poll_interval
        self.batch = batch
        self.concurrency = concurrency
        #: How long a claim holds: long enough for a whole batch to time out, call by call.
        self.lease = dt.timedelta(seconds=lease)
        self._task: asyncio.Task[None] | None = None

    # ------------------------------------------------------------ life

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name="dmt-records-translator")

    async def stop(self) -> None:
        """Stop between or during calls; rows in the middle of a round are let go of at once, so
        another process (or this one, restarted) takes them up without waiting for the claims to run out."""
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        await self.translator.aclose()

    async def _run(self) -> None:
        """Round after round until cancelled; no error ends the loop, it only makes it wait."""
        outages = 0
        while True:
            try:
                done = await self.run_once()
            except Exception:
                log.exception("a translation round failed; trying again in %.1f s", self.poll_interval)
                await asyncio.sleep(self.poll_interval)
                continue
            if done.outage:
                outages += 1
                pause = self._delay(outages)
                log.warning("the translator is unavailable (%s); trying again in %.1f s", done.error, pause)
                await asyncio.sleep(pause)
                continue
            outages = 0
            if done.claimed < self.batch:
                await asyncio.sleep(self.poll_interval)

    def _delay(self, attempt: int) -> float:
        """Exponential backoff with jitter, so processes that failed together do not retry together."""
        base = min(self.backoff * 2 ** min(attempt - 1, 30), self.max_backoff)
        return base * random.uniform(0.8, 1.2)  # noqa: S311 - jitter, not secrets

    # ------------------------------------------------------------ one round

    async def run_once(self) -> Round:
        """Claim one batch, translate it, write what came back."""
        jobs = await self._claim(utcnow())
        result = Round(claimed=len(jobs))
        if not jobs:
            return result
        gate = asyncio.Semaphore(self.concurrency)
        untried: list[int] = []

        async def one(job: Job) -> None:
            async with gate:
                if result.outage:
                    untried.append(job.id)
                    return
                try:
                    if job.source_text is None or job.source_language is None:
                        raise TranslationError("the original this translation was for is gone", retryable=False)
                    text = await self.translator.translate(job.source_text, job.source_language, job.language)
                except TranslationError as exc:
                    if exc.outage:
                        result.outage, result.error = True, str(exc)
                    result.failed += 1
                    await self._guarded(self._record_failure(job, exc), job)
                    return
                if await self._guarded(self._record_success(job, text), job):
                    result.translated += 1

        try:
            await asyncio.gather(*(one(job) for job in jobs))
        except asyncio.CancelledError:
            # Shutting down: hand back what is unfinished now rather than when the claims run out.
            with contextlib.suppress(Exception):
                await self._release([job.id for job in jobs])
            raise
        if untried:
            await self._release(untried)
        return result

    async def _guarded(self, write: Awaitable[bool], job: Job) -> bool:
        """A failed write loses one result, never the loop: the claim runs out and the row is tried again."""
        try:
            return bool(await write)
        except Exception:
            log.exception(
                "could not store the translation of record %s %s (%s)", job.record_id, job.field, job.language
            )
            return False

    async def _claim(self, now: dt.datetime) -> list[Job]:
        async with self.sessionmaker() as session:
            live = select(Record.id).where(Record.deleted_at.is_(None))
            candidates = list(
                (
                    await session.execute(
                        select(RecordText.id)
                        .where(*_due(now), RecordText.record_id.in_(live))
                        .order_by(RecordText.next_attempt_at, RecordText.id)
                        .limit(self.batch)
                    )
                ).scalars()
            )
            # End the read before writing: SQLite cannot turn a read transaction into a write
            # one once another writer has committed. The UPDATE checks everything again anyway.
            await session.rollback()
            if not candidates:
                return []
            until = now + self.lease
            held: list[int] = []
            # One row at a time, in id order (no deadlock between processes claiming at once):
            # the row is ours only if it was still free when our UPDATE got its lock.
            for row_id in sorted(candidates):
                claimed = await session.execute(
                    update(RecordText)
                    .where(RecordText.id == row_id, *_due(now))
                    .values(claimed_until=until)
                    .execution_options(synchronize_session=False)
                )
                if claimed.rowcount == 1:  # type: ignore[attr-defined]
                    held.append(row_id)
            await session.commit()
            if not held:
                return []
            rows = list((await session.execute(select(RecordText).where(RecordText.id.in_(held)))).scalars())
            originals = (
                await session.execute(
                    select(RecordText).where(
                        RecordText.record_id.in_(sorted({r.record_id for r in rows})), RecordText.origin == AUTHOR
                    )
                )
            ).scalars()
            by_field = {(o.record_id, o.field): o for o in originals}
            return [_job(row, by_field.get((row.record_id, row.field))) for row in sorted(rows, key=lambda r: r.id)]

    def _still_ours(self, job: Job) -> list[ColumnElement[bool]]:
        """The row is still a machine translation of the same original, and not filled in yet."""
        return [
            RecordText.id == job.id,
            RecordText.origin == MACHINE,
            RecordText.source_hash == job.source_hash,
            RecordText.state != DONE,
        ]

    async def _record_success(self, job: Job, text: str) -> bool:
        """Write the translation and its history line together, if the row still wants it.

        The UPDATE comes first so that the transaction holds the write lock from its start.
        """
        now = utcnow()
        async with self.sessionmaker() as session:
            written = await session.execute(
                update(RecordText)
                .where(*self._still_ours(job))
                .values(
                    text=text,
                    state=DONE,
                    attempts=RecordText.attempts + 1,
                    next_attempt_at=None,
                    last_error=None,
                    claimed_until=None,
                    updated_at=now,
                )
                .execution_options(synchronize_session=False)
            )
            if written.rowcount != 1:  # type: ignore[attr-defined]
                await session.rollback()  # edited, corrected or done meanwhile: theirs wins
                return False
            original = await session.scalar(
                select(RecordText).where(
                    RecordText.record_id == job.record_id, RecordText.field == job.field, RecordText.origin == AUTHOR
                )
            )
            if original is None or original_hash(original) != job.source_hash:
                await session.rollback()
                return False
            version = await session.scalar(select(Record.version).where(Record.id == job.record_id))
            await session.execute(
                insert(RecordHistory).values(
                    record_id=job.record_id,
                    at=now,
                    actor_id=None,
                    actor_username=TRANSLATOR_USERNAME,
                    actor_name=TRANSLATOR_NAME,
                    actor_role=None,
                    action="translated",
                    field=job.field,
                    language=job.language,
                    old_value=None,
                    new_value=text,
                    version=version,
                )
            )
            await session.commit()
        return True

    async def _record_failure(self, job: Job, exc: TranslationError) -> bool:
        """Count the attempt and say when the next one is due.

        After the last attempt (or a refusal no retry will change) the row is ``failed``; it is
        still tried every max backoff, so everything is translated once the server is back.
        """
        now = utcnow()
        attempts = job.attempts + 1
        gives_up = not exc.retryable or attempts >= self.attempts
        delay = self.max_backoff * random.uniform(0.9, 1.0) if gives_up else self._delay(attempts)  # noqa: S311
        if exc.retryable and not exc.outage:
            log.info("translation of record %s %s into %s failed: %s", job.record_id, job.field, job.language, exc)
        elif not exc.retryable:
            log.warning("translation of record %s %s into %s refused: %s", job.record_id, job.field, job.language, exc)
        async with self.sessionmaker() as session:
            await session.execute(
                update(RecordText)
                .where(*self._still_ours(job))
                .values(
                    attempts=attempts,
                    state=FAILED if gives_up else PENDING,
                    next_attempt_at=now + dt.timedelta(seconds=delay),
                    last_error=str(exc)[:500],
                    claimed_until=None,
                )
                .execution_options(synchronize_session=False)
            )
            await session.commit()
        return True

    async def _release(self, ids: Sequence[int]) -> None:
        """Let go of rows not tried this round; their due time stays, so they come first next time.
        (A row finished meanwhile has no claim left to let go of.)"""
        async with self.sessionmaker() as session:
            await session.execute(
                update(RecordText)
                .where(RecordText.id.in_(list(ids)), RecordText.origin == MACHINE, RecordText.state != DONE)
                .values(claimed_until=None)
                .execution_options(synchronize_session=False)
            )
            await session.commit()


# ---------------------------------------------------------------- counts for the controller


async def counts(session: AsyncSession) -> dict[str, int]:
    """Translations (every non-original row of a record not deleted) per state."""
    found = await session.execute(
        select(RecordText.state, func.count())
        .where(
            RecordText.origin.in_((MACHINE, HUMAN)),
            RecordText.record_id.in_(select(Record.id).where(Record.deleted_at.is_(None))),
        )
        .group_by(RecordText.state)
    )
    by_state = {state: number for state, number in found.tuples()}
    return {state: by_state.get(state, 0) for state in (PENDING, FAILED, DONE)}


async def retry_failed(session: AsyncSession, now: dt.datetime) -> int:
    """Make every failed machine translation due now, with a fresh set of attempts."""
    result = await session.execute(
        update(RecordText)
        .where(
            RecordText.origin == MACHINE,
            RecordText.state == FAILED,
            RecordText.record_id.in_(select(Record.id).where(Record.deleted_at.is_(None))),
        )
        .values(state=PENDING, attempts=0, next_attempt_at=now)
        .execution_options(synchronize_session=False)
    )
    await session.commit()
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


# ---------------------------------------------------------------- wiring


def worker_from_settings(
    settings: Settings, sessionmaker: async_sessionmaker[AsyncSession]
) -> TranslationWorker | None:
    """The worker the settings ask for, or None when no translation server is configured."""
    if not settings.translator_url:
        return None
    translator = Translator(
        settings.translator_url,
        api_key=settings.translator_api_key,
        connect_timeout=min(settings.connect_timeout, settings.translator_timeout),
        timeout=settings.translator_timeout,
        languages=language_codes(settings.translator_languages),
        max_connections=settings.translator_concurrency,
    )
    rounds = math.ceil(settings.translator_batch / settings.translator_concurrency)
    return TranslationWorker(
        sessionmaker,
        translator,
        attempts=settings.translator_attempts,
        backoff=settings.translator_backoff,
        max_backoff=settings.translator_max_backoff,
        poll_interval=settings.translator_poll_interval,
        batch=settings.translator_batch,
        concurrency=settings.translator_concurrency,
        lease=(rounds + 1) * (settings.translator_timeout + settings.connect_timeout) + 10,
    )
