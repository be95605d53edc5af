"""Machine translation as a user meets it through the records API, with a real LibreTranslate-
compatible server over TCP that can go down and come back."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Any

import pytest
from litestar.testing import AsyncTestClient

from dmt_records.asgi import create_app
from dmt_records.config import Settings
from dmt_shared.testing import TokenFactory
from dmt_shared.tokens import Role
from dmt_shared.translator_fake import FakeLibreTranslate

from .conftest import FakeUpstreams

RECORDS = "/api/v1/records"
TRANSLATIONS = "/api/v1/records/translations"
TEXTS = ("defect_description", "analysis", "engineering_remarks")

AppClient = Callable[..., AbstractAsyncContextManager[AsyncTestClient[Any]]]


@pytest.fixture
def app_client(database_url: str, tokens: TokenFactory, upstreams: FakeUpstreams) -> AppClient:
    """``async with app_client(translator_url=...) as client``: the records app with these settings;
    retries are quick here (a real server backs off for seconds to minutes)."""

    @asynccontextmanager
    async def running(**overrides: Any) -> AsyncIterator[AsyncTestClient[Any]]:
        settings: dict[str, Any] = {
            "database_url": database_url,
            "auth_url": "http://auth.test",
            "masterdata_url": "http://masterdata.test",
            "translator_timeout": 5.0,
            "translator_attempts": 3,
            "translator_backoff": 0.05,
            "translator_max_backoff": 0.3,
            "translator_poll_interval": 0.02,
            "translator_languages": "zh=zh-Hans",
        }
        settings.update(overrides)
        app = create_app(Settings(**settings), transports=upstreams.transports(), verifier=tokens.verifier())
        async with AsyncTestClient(app) as client:
            yield client

    return running


def as_(headers: dict, role: Role, language: str = "en") -> dict[str, str]:
    return {**headers[role], "Accept-Language": language}


async def status(client: AsyncTestClient[Any], headers: dict) -> dict[str, Any]:
    answer = await client.get(TRANSLATIONS, headers=headers[Role.OPERATOR])
    assert answer.status_code == 200, answer.text
    return answer.json()


async def wait_for(client: AsyncTestClient[Any], headers: dict, done: int, *, seconds: float = 60) -> dict[str, Any]:
    """Poll the translation counts until ``done`` translations are there and nothing is pending."""
    deadline = time.monotonic() + seconds
    while True:
        now = await status(client, headers)
        if (now["done"], now["pending"]) == (done, 0) or time.monotonic() > deadline:
            return now
        await asyncio.sleep(0.05)


async def create(client: AsyncTestClient[Any], headers: dict, new_record: Any, text: str) -> dict[str, Any]:
    created = await client.post(RECORDS, json=new_record(defect_description=text), headers=as_(headers, Role.INSPECTOR))
    assert created.status_code == 201, created.text
    return created.json()


def states(record: dict[str, Any], field: str = "defect_description") -> dict[str, str]:
    return {lang: value["state"] for lang, value in record["texts"][field]["values"].items()}


async def test_texts_are_translated_in_the_background_and_people_have_the_last_word(
    app_client: AppClient, libretranslate: FakeLibreTranslate, headers: dict, new_record: Any
) -> None:
    async with app_client(translator_url=libretranslate.url) as client:
        record = await create(client, headers, new_record, "Porosity on the flange face, 2 mm")
        assert states(record) == {"en": "done", "es": "pending", "zh": "pending"}  # saved without waiting
        rid = record["id"]
        engineer = {**as_(headers, Role.TECH_ENGINEER), "If-Match": f'"{record["version"]}"'}
        changed = await client.patch(
            f"{RECORDS}/{rid}",
            json={"analysis": "Gas trapped in the mould", "engineering_remarks": "Scrap the part"},
            headers=engineer,
        )
        assert changed.status_code == 200, changed.text
        assert (await wait_for(client, headers, done=6))["done"] == 6

        in_spanish = (await client.get(f"{RECORDS}/{rid}", headers=as_(headers, Role.OPERATOR, "es"))).json()
        assert in_spanish["defect_description"] == "[es] Porosity on the flange face, 2 mm"
        assert in_spanish["analysis"] == "[es] Gas trapped in the mould"
        assert in_spanish["text_languages"]["defect_description"] == "es"
        assert in_spanish["version"] == changed.json()["version"]  # translations are not edits
        for field in TEXTS:
            assert states(in_spanish, field) == {"en": "done", "es": "done", "zh": "done"}
        in_chinese = (await client.get(f"{RECORDS}/{rid}", headers=as_(headers, Role.OPERATOR, "zh-CN"))).json()
        assert in_chinese["engineering_remarks"] == "[zh-Hans] Scrap the part"

        # a person corrects the Spanish; the machine never writes over it
        corrected = await client.put(
            f"{RECORDS}/{rid}/texts/defect_description/es",
            json={"text": "Porosidad en la cara de la brida, 2 mm"},
            headers={**as_(headers, Role.INSPECTOR, "es"), "If-Match": f'"{in_spanish["version"]}"'},
        )
        assert corrected.status_code == 200, corrected.text
        assert corrected.json()["defect_description"] == "Porosidad en la cara de la brida, 2 mm"

        # the author rewrites the original: the machine's translations are made again, the person's
        # stays and says it is of an older original
        rewritten = await client.patch(
            f"{RECORDS}/{rid}",
            json={"defect_description": "Porosity on the flange face, 3 mm"},
            headers={**as_(headers, Role.INSPECTOR), "If-Match": f'"{corrected.json()["version"]}"'},
        )
        assert rewritten.status_code == 200, rewritten.text
        values = rewritten.json()["texts"]["defect_description"]["values"]
        assert values["zh"] == {"text": None, "origin": "machine", "state": "pending", "outdated": False}
        assert values["es"] == {
            "text": "Porosidad en la cara de la brida, 2 mm",
            "origin": "human",
            "state": "done",
            "outdated": True,
        }
        await wait_for(client, headers, done=6)
        final = (await client.get(f"{RECORDS}/{rid}", headers=as_(headers, Role.OPERATOR, "zh"))).json()
        values = final["texts"]["defect_description"]["values"]
        assert values["zh"]["text"] == "[zh-Hans] Porosity on the flange face, 3 mm"
        assert (values["es"]["text"], values["es"]["origin"]) == ("Porosidad en la cara de la brida, 2 mm", "human")
        assert ("Porosity on the flange face, 3 mm", "en", "es") not in libretranslate.calls  # not even asked

        lines = (await client.get(f"{RECORDS}/{rid}/history", headers=headers[Role.ADMIN])).json()["items"]
        translated = [(line["field"], line["language"]) for line in lines if line["action"] == "translated"]
        assert sorted(translated) == sorted(
            [(f, lang) for f in TEXTS for lang in ("es", "zh")] + [("defect_description", "zh")]
        )
        assert {line["actor_name"] for line in lines if line["action"] == "translated"} == {"Machine translation"}


async def test_saving_never_waits_for_the_translator(
    app_client: AppClient, libretranslate: FakeLibreTranslate, headers: dict, new_record: Any
) -> None:
    async with app_client(translator_url=libretranslate.url) as client:
        # translator up (and working through the texts while records are being created)
        started = time.perf_counter()
        for n in range(100):
            await create(client, headers, new_record, f"Crack near hole {n}")
        up = time.perf_counter() - started
        assert (await wait_for(client, headers, done=200))["done"] == 200

        # translator down: saving is as quick, and nothing is lost
        libretranslate.stop()
        asked_before = len(libretranslate.calls)
        started = time.perf_counter()
        for n in range(100):
            record = await create(client, headers, new_record, f"Dent on the face {n}")
            assert states(record) == {"en": "done", "es": "pending", "zh": "pending"}
        down = time.perf_counter() - started
        print(f"\n100 records created in {up:.2f} s with the translator up, {down:.2f} s with it down")
        assert down <= 2 * up + 0.5
        waiting = await status(client, headers)
        assert waiting["done"] == 200
        assert waiting["pending"] + waiting["failed"] == 200
        assert len(libretranslate.calls) == asked_before

        libretranslate.start()
        assert await wait_for(client, headers, done=400) == {"configured": True, "pending": 0, "failed": 0, "done": 400}
        last = await client.get(
            RECORDS, params={"sort": "id", "order": "desc"}, headers=as_(headers, Role.OPERATOR, "es")
        )
        assert last.json()["items"][0]["defect_description"] == "[es] Dent on the face 99"


async def test_a_translator_that_hangs_does_not_hold_up_a_save(
    app_client: AppClient, libretranslate: FakeLibreTranslate, headers: dict, new_record: Any
) -> None:
    libretranslate.gate = threading.Event()  # it takes the requests and answers none of them yet
    async with app_client(translator_url=libretranslate.url) as client:
        started = time.perf_counter()
        for n in range(5):
            await create(client, headers, new_record, f"Scratch {n}")
        for _ in range(500):
            if libretranslate.arrived:
                break
            await asyncio.sleep(0.01)
        assert libretranslate.arrived > 0  # the translator has been asked ...
        assert libretranslate.calls == []  # ... and has answered nothing yet
        assert time.perf_counter() - started < 5  # the translator's timeout; saving did not wait for it
        libretranslate.gate.set()
        assert (await wait_for(client, headers, done=10))["done"] == 10


async def test_without_a_translator_texts_wait_and_are_translated_once_one_is_configured(
    app_client: AppClient, libretranslate: FakeLibreTranslate, headers: dict, new_record: Any
) -> None:
    async with app_client() as client:
        rid = (await create(client, headers, new_record, "Burr on the edge"))["id"]
        assert await status(client, headers) == {"configured": False, "pending": 2, "failed": 0, "done": 0}
    assert libretranslate.calls == []
    async with app_client(translator_url=libretranslate.url) as client:
        assert (await wait_for(client, headers, done=2))["configured"] is True
        shown = (await client.get(f"{RECORDS}/{rid}", headers=as_(headers, Role.OPERATOR, "es"))).json()
        assert shown["defect_description"] == "[es] Burr on the edge"


async def test_a_refused_translation_shows_why_and_an_admin_can_retry_it(
    app_client: AppClient, libretranslate: FakeLibreTranslate, headers: dict, new_record: Any
) -> None:
    # no language map: the server is asked for "zh", which it does not know (it says zh-Hans)
    async with app_client(translator_url=libretranslate.url, translator_languages="") as client:
        rid = (await create(client, headers, new_record, "Corrosion spot"))["id"]
        assert await wait_for(client, headers, done=1) == {"configured": True, "pending": 0, "failed": 1, "done": 1}
        record = (await client.get(f"{RECORDS}/{rid}", headers=as_(headers, Role.OPERATOR, "zh"))).json()
        assert record["texts"]["defect_description"]["values"]["zh"]["state"] == "failed"
        assert (record["defect_description"], record["text_languages"]["defect_description"]) == (
            "Corrosion spot",
            "en",
        )
        assert libretranslate.refusals[0] == (400, "zh")

        refused = await client.post(f"{TRANSLATIONS}/retry", headers=headers[Role.QUALITY_ENGINEER])
        assert refused.status_code == 403
        libretranslate.languages.add("zh")  # the server gets the language
        retried = await client.post(f"{TRANSLATIONS}/retry", headers=headers[Role.ADMIN])
        assert (retried.status_code, retried.json()) == (200, {"retried": 1})
        assert await wait_for(client, headers, done=2) == {"configured": True, "pending": 0, "failed": 0, "done": 2}
        record = (await client.get(f"{RECORDS}/{rid}", headers=as_(headers, Role.OPERATOR, "zh"))).json()
        assert record["defect_description"] == "[zh] Corrosion spot"


async def test_the_translation_paths_are_not_taken_for_record_ids(app_client: AppClient, headers: dict) -> None:
    async with app_client() as client:
        assert (await client.get(f"{TRANSLATIONS}/", headers=headers[Role.OPERATOR])).status_code == 200
        assert (await client.get(f"{TRANSLATIONS}/retry", headers=headers[Role.ADMIN])).status_code == 405
        assert (await client.get(TRANSLATIONS)).status_code == 401
