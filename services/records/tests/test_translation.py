"""Texts in three languages: what saving an original or a correction stores, and the translator
filling in the rest, against a real LibreTranslate-compatible server over TCP.

These tests talk to the store and the worker with database sessions; test_translation_api.py
does the same through the records API.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import threading
import time
from collections.abc import AsyncIterator

import pytest
from sqlalchemy import select

from dmt_records.config import PREFIX, Settings, language_codes
from dmt_records.db import MIGRATIONS, VERSION_TABLE
from dmt_records.db.models import Record, RecordHistory, RecordText, utcnow
from dmt_records.domain.translation.client import TranslationError, Translator
from dmt_records.domain.translation.schemas import TextValue
from dmt_records.domain.translation.store import TextChange, sha, text_view, write_correction, write_original
from dmt_records.domain.translation.worker import TranslationWorker, counts, retry_failed
from dmt_shared.db import ServiceDatabase
from dmt_shared.problems import ProblemError
from dmt_shared.settings import SettingsError, from_env
from dmt_shared.translator_fake import FakeLibreTranslate

FIELD = "defect_description"
SPANISH = "Porosidad en la brida, 2 mm"


@pytest.fixture
async def database(database_url: str) -> AsyncIterator[ServiceDatabase]:
    db = ServiceDatabase(database_url, migrations=MIGRATIONS, version_table=VERSION_TABLE)
    await db.migrate()
    try:
        yield db
    finally:
        await db.dispose()


def make_worker(database: ServiceDatabase, server: FakeLibreTranslate, **options: object) -> TranslationWorker:
    languages = options.pop("languages", {"zh": "zh-Hans"})
    translator = Translator(server.url, connect_timeout=0.5, timeout=5, languages=languages)  # type: ignore[arg-type]
    settings: dict[str, object] = {
        "attempts": 3,
        "backoff": 0.05,
        "max_backoff": 0.2,
        "poll_interval": 0.02,
        "batch": 10,
        "concurrency": 4,
        "lease": 30,
    }
    settings.update(options)
    return TranslationWorker(database.sessionmaker, translator, **settings)  # type: ignore[arg-type]


async def make_record(database: ServiceDatabase, number: int = 1) -> int:
    async with database.sessionmaker() as session:
        record = Record(
            report_number=f"DMT-2026-{number:05d}", status="open", is_closed=False,
            part_number_id=101, work_center_id=201, customer_id=301, prepared_by_id=601,
            operation="OP-30", quantity=1, date=dt.date(2026, 3, 14),
            inspection_item_id=701, process_code_id=801, created_by_id=2,
        )  # fmt: skip
        session.add(record)
        await session.commit()
        return record.id


async def rows_of(database: ServiceDatabase, record_id: int, field: str = FIELD) -> dict[str, RecordText]:
    async with database.sessionmaker() as session:
        found = await session.execute(
            select(RecordText).where(RecordText.record_id == record_id, RecordText.field == field)
        )
        return {row.language: row for row in found.scalars()}


async def save_original(database: ServiceDatabase, record_id: int, texts: dict, language: str, **kw: bool) -> list:
    async with database.sessionmaker() as session:
        changes = await write_original(session, record_id, texts, language, utcnow(), **kw)
        await session.commit()
        return changes


async def save_correction(database: ServiceDatabase, record_id: int, language: str, text: str) -> TextChange:
    async with database.sessionmaker() as session:
        change = await write_correction(session, record_id, FIELD, language, text, utcnow())
        await session.commit()
        return change


async def translate_all(worker: TranslationWorker, database: ServiceDatabase, seconds: float = 20) -> dict[str, int]:
    """Run rounds until nothing is pending, as the worker's loop would (with a deadline)."""
    deadline = time.monotonic() + seconds
    while True:
        await worker.run_once()
        async with database.sessionmaker() as session:
            now = await counts(session)
        if now["pending"] == 0 or time.monotonic() > deadline:
            return now
        await asyncio.sleep(0.02)


# ---------------------------------------------------------------- saving originals and corrections


async def test_a_new_original_waits_for_its_two_translations(database: ServiceDatabase) -> None:
    rid = await make_record(database)
    changes = await save_original(database, rid, {FIELD: SPANISH, "analysis": None}, "es", fresh=True)
    assert changes == [TextChange(FIELD, "es", None, SPANISH)]  # nothing to clear in a new record
    rows = await rows_of(database, rid)
    assert {lang: (r.origin, r.state, r.text) for lang, r in rows.items()} == {
        "es": ("author", "done", SPANISH),
        "en": ("machine", "pending", None),
        "zh": ("machine", "pending", None),
    }
    assert {r.source_hash for r in rows.values()} == {sha(SPANISH)}
    assert rows["en"].next_attempt_at is not None
    assert rows["en"].next_attempt_at <= utcnow()

    text_set, shown, language = text_view(list(rows.values()), "en")
    assert (shown, language) == (SPANISH, "es")  # no English yet: the original, and in which language
    assert text_set is not None
    assert text_set.source_language == "es"
    assert list(text_set.values) == ["en", "es", "zh"]
    assert text_set.values["en"] == TextValue(text=None, origin="machine", state="pending", outdated=False)
    assert text_view([], "en") == (None, None, None)


async def test_a_changed_original_asks_again_and_outdates_what_people_wrote(database: ServiceDatabase) -> None:
    rid = await make_record(database)
    await save_original(database, rid, {FIELD: SPANISH}, "es", fresh=True)
    correction = await save_correction(database, rid, "zh", "法兰面气孔，2毫米")
    assert correction == TextChange(FIELD, "zh", None, "法兰面气孔，2毫米")
    rows = await rows_of(database, rid)
    assert (rows["zh"].origin, rows["zh"].state, rows["zh"].source_hash) == ("human", "done", sha(SPANISH))
    _, shown, language = text_view(list(rows.values()), "zh")
    assert (shown, language) == ("法兰面气孔，2毫米", "zh")

    # the same words again change nothing
    assert await save_original(database, rid, {FIELD: SPANISH}, "es") == []

    edited = "Porosidad en la brida, 3 mm"
    assert await save_original(database, rid, {FIELD: edited}, "es") == [TextChange(FIELD, "es", SPANISH, edited)]
    rows = await rows_of(database, rid)
    assert (rows["en"].state, rows["en"].text, rows["en"].source_hash) == ("pending", None, sha(edited))
    assert rows["zh"].text == "法兰面气孔，2毫米"  # a person's words are never thrown away
    text_set, _, _ = text_view(list(rows.values()), "zh")
    assert text_set is not None
    assert text_set.values["zh"].outdated is True
    assert text_set.values["es"].outdated is False

    # a correction made now is of the current original again
    await save_correction(database, rid, "zh", "法兰面气孔，3毫米")
    text_set, _, _ = text_view(list((await rows_of(database, rid)).values()), "zh")
    assert text_set is not None
    assert text_set.values["zh"].outdated is False


async def test_an_original_rewritten_in_another_language_swaps_roles(database: ServiceDatabase) -> None:
    rid = await make_record(database)
    await save_original(database, rid, {FIELD: SPANISH}, "es", fresh=True)
    await save_correction(database, rid, "en", "Porosity on the flange, 2 mm")
    english = "Porosity on the flange face, 3 mm"
    changes = await save_original(database, rid, {FIELD: english}, "en")
    assert changes == [TextChange(FIELD, "en", SPANISH, english)]
    rows = await rows_of(database, rid)
    assert {lang: (r.origin, r.state, r.text) for lang, r in rows.items()} == {
        "en": ("author", "done", english),
        "es": ("machine", "pending", None),  # the old original is now a translation to make
        "zh": ("machine", "pending", None),
    }


async def test_clearing_a_text_clears_every_language(database: ServiceDatabase) -> None:
    rid = await make_record(database)
    await save_original(database, rid, {FIELD: SPANISH, "analysis": "Bolsa de gas"}, "es", fresh=True)
    changes = await save_original(database, rid, {FIELD: None, "repair_process": None}, "en")
    assert changes == [TextChange(FIELD, "es", SPANISH, None)]  # repair_process had nothing to clear
    assert await rows_of(database, rid) == {}
    assert set(await rows_of(database, rid, "analysis")) == {"en", "es", "zh"}


async def test_a_correction_is_refused_where_it_makes_no_sense(database: ServiceDatabase) -> None:
    rid = await make_record(database)

    async def refused(language: str, text: str = "x", field: str = FIELD) -> list[dict[str, str]]:
        async with database.sessionmaker() as session:
            with pytest.raises(ProblemError) as caught:
                await write_correction(session, rid, field, language, text, utcnow())
        assert caught.value.status_code == 422
        return caught.value.errors

    assert await refused("es") == [{"field": FIELD, "message": "this field has no text to translate"}]
    await save_original(database, rid, {FIELD: SPANISH}, "es", fresh=True)
    assert [e["field"] for e in await refused("es")] == ["language"]  # the original is edited as the record is
    assert [e["field"] for e in await refused("fr")] == ["language"]
    assert [e["field"] for e in await refused("en", "   ")] == ["text"]
    assert [e["field"] for e in await refused("en", field="operation")] == ["field"]


async def test_imported_translations_without_a_hash_are_never_outdated(database: ServiceDatabase) -> None:
    rid = await make_record(database)
    async with database.sessionmaker() as session:
        session.add_all(
            [
                RecordText(record_id=rid, field=FIELD, language="en", text="Porosity", origin="author"),
                RecordText(record_id=rid, field=FIELD, language="es", text="Porosidad", origin="machine"),
            ]
        )
        await session.commit()
    text_set, shown, language = text_view(list((await rows_of(database, rid)).values()), "es")
    assert (shown, language) == ("Porosidad", "es")
    assert text_set is not None
    assert text_set.values["es"] == TextValue(text="Porosidad", origin="machine", state="done", outdated=False)


# ---------------------------------------------------------------- the worker


async def test_the_worker_fills_in_every_translation_and_notes_it(
    database: ServiceDatabase, libretranslate: FakeLibreTranslate
) -> None:
    rids = [await make_record(database, n) for n in range(1, 4)]
    for rid in rids:
        await save_original(database, rid, {FIELD: f"{SPANISH} #{rid}", "analysis": "Gas atrapado"}, "es", fresh=True)
    worker = make_worker(database, libretranslate)
    try:
        assert await translate_all(worker, database) == {"pending": 0, "failed": 0, "done": 12}
    finally:
        await worker.stop()

    rows = await rows_of(database, rids[0])
    assert rows["en"].text == f"[en] {SPANISH} #{rids[0]}"
    assert rows["zh"].text == f"[zh-Hans] {SPANISH} #{rids[0]}"  # asked as zh-Hans, as the server names it
    assert (rows["zh"].origin, rows["zh"].state, rows["zh"].claimed_until) == ("machine", "done", None)
    assert len(libretranslate.calls) == 12  # each translation asked for once
    assert {(source, target) for _, source, target in libretranslate.calls} == {("es", "en"), ("es", "zh-Hans")}

    async with database.sessionmaker() as session:
        history = list(
            (await session.execute(select(RecordHistory).where(RecordHistory.record_id == rids[0]))).scalars()
        )
        versions = set((await session.execute(select(Record.version))).scalars())
    assert versions == {1}  # a machine translation is not an edit of the record
    assert sorted((h.action, h.field, h.language) for h in history) == [
        ("translated", "analysis", "en"),
        ("translated", "analysis", "zh"),
        ("translated", FIELD, "en"),
        ("translated", FIELD, "zh"),
    ]
    line = next(h for h in history if (h.field, h.language) == (FIELD, "en"))
    assert (line.actor_id, line.actor_username, line.actor_name) == (None, "translator", "Machine translation")
    assert (line.new_value, line.version) == (f"[en] {SPANISH} #{rids[0]}", 1)


async def test_what_changes_during_a_translation_is_kept(
    database: ServiceDatabase, libretranslate: FakeLibreTranslate
) -> None:
    rid = await make_record(database)
    await save_original(database, rid, {FIELD: SPANISH, "analysis": "Gas atrapado"}, "es", fresh=True)
    libretranslate.gate = threading.Event()
    worker = make_worker(database, libretranslate)
    try:
        round_ = asyncio.create_task(worker.run_once())
        for _ in range(1000):
            if libretranslate.arrived == 4:
                break
            await asyncio.sleep(0.01)
        assert libretranslate.arrived == 4  # all four translations are with the translator now

        # meanwhile a person corrects one translation and the author rewrites the other field
        await save_correction(database, rid, "en", "Porosity on the flange, 2 mm (checked)")
        await save_original(database, rid, {"analysis": "Gas atrapado en el molde"}, "es")
        libretranslate.gate.set()
        await round_
        text = await rows_of(database, rid)
        analysis = await rows_of(database, rid, "analysis")
        assert (text["en"].origin, text["en"].text) == ("human", "Porosity on the flange, 2 mm (checked)")
        assert text["zh"].text == f"[zh-Hans] {SPANISH}"
        # the translations of the old analysis came back too late: the new one is still to do
        assert {lang: (r.state, r.text) for lang, r in analysis.items() if lang != "es"} == {
            "en": ("pending", None),
            "zh": ("pending", None),
        }
        assert await translate_all(worker, database) == {"pending": 0, "failed": 0, "done": 4}
        analysis = await rows_of(database, rid, "analysis")
        assert analysis["en"].text == "[en] Gas atrapado en el molde"
    finally:
        await worker.stop()
    assert (await rows_of(database, rid))["en"].text == "Porosity on the flange, 2 mm (checked)"


async def test_a_stopped_worker_lets_go_of_what_it_held(
    database: ServiceDatabase, libretranslate: FakeLibreTranslate
) -> None:
    rid = await make_record(database)
    await save_original(database, rid, {FIELD: SPANISH}, "es", fresh=True)
    libretranslate.gate = threading.Event()
    worker = make_worker(database, libretranslate)
    worker.start()
    for _ in range(1000):
        if libretranslate.arrived == 2:
            break
        await asyncio.sleep(0.01)
    held = [r.claimed_until for r in (await rows_of(database, rid)).values() if r.origin == "machine"]
    assert len(held) == 2
    assert None not in held  # both are with the translator, claimed by this process
    await worker.stop()  # e.g. the service is restarted: another process may take them at once
    rows = await rows_of(database, rid)
    assert [(r.state, r.claimed_until) for r in rows.values() if r.origin == "machine"] == [("pending", None)] * 2


async def test_two_workers_never_translate_the_same_text_twice(
    database: ServiceDatabase, libretranslate: FakeLibreTranslate, database_url: str
) -> None:
    for n in range(1, 21):
        rid = await make_record(database, n)
        await save_original(database, rid, {FIELD: f"Texto {n}"}, "es", fresh=True)
    # the second process has a database connection pool of its own
    other = ServiceDatabase(database_url, migrations=MIGRATIONS, version_table=VERSION_TABLE)
    first, second = make_worker(database, libretranslate, batch=7), make_worker(other, libretranslate, batch=7)
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            await asyncio.gather(first.run_once(), second.run_once())
            async with database.sessionmaker() as session:
                if (await counts(session))["pending"] == 0:
                    break
    finally:
        await first.stop()
        await second.stop()
        await other.dispose()
    assert len(libretranslate.calls) == 40
    assert len({(q, target) for q, _, target in libretranslate.calls}) == 40
    async with database.sessionmaker() as session:
        lines = list((await session.execute(select(RecordHistory.record_id, RecordHistory.language))).tuples())
    assert len(lines) == len(set(lines)) == 40


async def test_a_refused_language_fails_with_the_reason_until_retried(
    database: ServiceDatabase, libretranslate: FakeLibreTranslate
) -> None:
    rid = await make_record(database)
    await save_original(database, rid, {FIELD: SPANISH}, "es", fresh=True)
    worker = make_worker(database, libretranslate, languages={}, max_backoff=60)  # asks for "zh", unknown there
    try:
        assert await translate_all(worker, database) == {"pending": 0, "failed": 1, "done": 1}
        zh = (await rows_of(database, rid))["zh"]
        assert (zh.state, zh.attempts, zh.text) == ("failed", 1, None)  # refused: no point asking again soon
        assert zh.last_error == "translator answered 400: zh is not supported"
        assert zh.next_attempt_at is not None
        assert zh.next_attempt_at > utcnow() + dt.timedelta(seconds=30)

        libretranslate.languages.add("zh")  # the server learns Chinese
        await worker.run_once()
        assert (await rows_of(database, rid))["zh"].state == "failed"  # not due before its time
        async with database.sessionmaker() as session:
            assert await retry_failed(session, utcnow()) == 1
            assert await counts(session) == {"pending": 1, "failed": 0, "done": 1}
        assert await translate_all(worker, database) == {"pending": 0, "failed": 0, "done": 2}
        assert (await rows_of(database, rid))["zh"].text == f"[zh] {SPANISH}"
    finally:
        await worker.stop()


async def test_a_translator_that_is_down_delays_translations_and_loses_none(
    database: ServiceDatabase, libretranslate: FakeLibreTranslate
) -> None:
    rids = [await make_record(database, n) for n in range(1, 6)]
    for rid in rids:
        await save_original(database, rid, {FIELD: f"{SPANISH} #{rid}"}, "es", fresh=True)
    libretranslate.stop()
    worker = make_worker(database, libretranslate)
    try:
        for _ in range(8):
            round_ = await worker.run_once()
            # the first call that finds the server gone stops the batch: the rest wait untried
            assert round_.outage
            assert round_.translated == 0
            assert round_.failed <= worker.concurrency
            await asyncio.sleep(0.1)
        async with database.sessionmaker() as session:
            stuck = await counts(session)
        assert stuck["done"] == 0
        assert stuck["pending"] + stuck["failed"] == 10
        tried = [r for rid in rids for r in (await rows_of(database, rid)).values() if r.attempts]
        assert tried, "the worker tried while the translator was down"
        assert all("unreachable" in (r.last_error or "") for r in tried)

        libretranslate.start()
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            async with database.sessionmaker() as session:
                if (await counts(session))["done"] == 10:
                    break
            await worker.run_once()
            await asyncio.sleep(0.05)
        async with database.sessionmaker() as session:
            assert await counts(session) == {"pending": 0, "failed": 0, "done": 10}
    finally:
        await worker.stop()


async def test_the_client_sorts_failures_into_retry_or_give_up(libretranslate: FakeLibreTranslate) -> None:
    libretranslate.api_key = "secret"
    keyed = Translator(libretranslate.url, api_key="secret", languages={"zh": "zh-Hans"})
    wrong = Translator(libretranslate.url, api_key="wrong")
    try:
        assert await keyed.translate("Hola", "es", "zh") == "[zh-Hans] Hola"
        with pytest.raises(TranslationError) as refused:
            await wrong.translate("Hola", "es", "en")
        assert (refused.value.retryable, str(refused.value)) == (False, "translator answered 403: Invalid API key")
        libretranslate.stop()
        with pytest.raises(TranslationError) as down:
            await keyed.translate("Hola", "es", "en")
        assert (down.value.retryable, down.value.outage) == (True, True)
    finally:
        await keyed.aclose()
        await wrong.aclose()


def test_translator_settings_are_read_and_nonsense_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RECORDS_TRANSLATOR_URL", "http://translate:5000")
    monkeypatch.setenv("RECORDS_TRANSLATOR_LANGUAGES", "zh=zh-Hans, es=es")
    settings = from_env(Settings, PREFIX)
    assert settings.translator_url == "http://translate:5000"
    assert language_codes(settings.translator_languages) == {"zh": "zh-Hans", "es": "es"}
    assert Settings().translator_url == ""  # none unless configured: texts wait as pending

    for wrong, named in (
        ({"translator_url": "translate:5000"}, "RECORDS_TRANSLATOR_URL"),
        ({"translator_languages": "zh"}, "RECORDS_TRANSLATOR_LANGUAGES"),
        ({"translator_languages": "fr=fr"}, "RECORDS_TRANSLATOR_LANGUAGES"),
        ({"translator_backoff": 10.0, "translator_max_backoff": 5.0}, "RECORDS_TRANSLATOR_MAX_BACKOFF"),
        ({"translator_attempts": 0}, "RECORDS_TRANSLATOR_ATTEMPTS"),
        ({"translator_timeout": 0.0}, "RECORDS_TRANSLATOR_TIMEOUT"),
    ):
        with pytest.raises(SettingsError, match=named):
            Settings(**wrong)  # type: ignore[arg-type]
