"""Texts in English, Spanish and Chinese: written in one, read in the reader's, cleared at will."""

from __future__ import annotations

import datetime as dt
from typing import Any

from litestar.testing import AsyncTestClient
from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncEngine

from dmt_records.db.models import RecordText
from dmt_shared.testing import TokenFactory
from dmt_shared.tokens import Role

RECORDS = "/api/v1/records"


def pending() -> dict[str, Any]:
    return {"text": None, "origin": "machine", "state": "pending", "outdated": False}


def text(words: str, origin: str = "author") -> dict[str, Any]:
    return {"text": words, "origin": origin, "state": "done", "outdated": False}


async def test_texts_are_kept_in_the_writers_language_and_shown_in_the_readers(
    client: AsyncTestClient, headers: dict, new_record: Any, engine: AsyncEngine, write: Any
) -> None:
    inspector = {**headers[Role.INSPECTOR], "Accept-Language": "es-MX,es;q=0.9,en;q=0.5"}
    created = await client.post(RECORDS, json=new_record(defect_description="Porosidad en la brida"), headers=inspector)
    record = created.json()
    rid = record["id"]
    assert record["texts"]["defect_description"] == {
        "source_language": "es",
        "values": {"en": pending(), "es": text("Porosidad en la brida"), "zh": pending()},
    }
    in_chinese = await client.post(
        RECORDS, json=new_record(language="zh", defect_description="法兰面气孔"), headers=inspector
    )
    assert in_chinese.json()["texts"]["defect_description"]["source_language"] == "zh"

    # the English translation arrives, as the translation worker writes it
    async with engine.begin() as conn:
        await conn.execute(
            update(RecordText)
            .where(RecordText.record_id == rid, RecordText.field == "defect_description", RecordText.language == "en")
            .values(text="Porosity on the flange", state="done", updated_at=dt.datetime.now(dt.UTC))
        )

    def read_as(language: str) -> Any:
        return client.get(f"{RECORDS}/{rid}", headers={**headers[Role.OPERATOR], "Accept-Language": language})

    english = (await read_as("en-US")).json()
    assert (english["defect_description"], english["text_languages"]) == (
        "Porosity on the flange",
        {"defect_description": "en"},
    )
    assert english["version"] == 1  # a machine translation is no change of the record
    assert (await read_as("es")).json()["defect_description"] == "Porosidad en la brida"
    chinese = (await read_as("zh-CN")).json()  # no Chinese yet: the original, and it says which language that is
    assert (chinese["defect_description"], chinese["text_languages"]) == (
        "Porosidad en la brida",
        {"defect_description": "es"},
    )
    # a language DMT does not speak: the reader's profile language (English for this one)
    assert (await read_as("fr")).json()["defect_description"] == "Porosity on the flange"
    assert (await read_as("en")).json()["texts"]["defect_description"] == {
        "source_language": "es",
        "values": {
            "en": text("Porosity on the flange", "machine"),
            "es": text("Porosidad en la brida"),
            "zh": pending(),
        },
    }
    listed = await client.get(
        RECORDS, params={"sort": "id", "order": "asc"}, headers={**inspector, "Accept-Language": "en"}
    )
    assert [item["defect_description"] for item in listed.json()["items"]] == ["Porosity on the flange", "法兰面气孔"]

    # a new original, now in English: the translations of the old words are to be made again
    rewritten = await write.patch(
        rid,
        {"defect_description": "Porosity on the flange face, 3 mm"},
        {**headers[Role.INSPECTOR], "Accept-Language": "en"},
    )
    assert rewritten.status_code == 200
    assert rewritten.json()["texts"]["defect_description"] == {
        "source_language": "en",
        "values": {"en": text("Porosity on the flange face, 3 mm"), "es": pending(), "zh": pending()},
    }
    version = rewritten.json()["version"]
    same = await write.patch(
        rid, {"defect_description": " Porosity on the flange face, 3 mm "}, headers[Role.INSPECTOR]
    )
    assert same.json()["version"] == version  # the same words: no change, no new version
    empty = await write.patch(rid, {}, headers[Role.INSPECTOR])
    assert (empty.status_code, empty.json()["version"]) == (200, version)


async def test_optional_fields_and_texts_can_be_cleared(
    client: AsyncTestClient, headers: dict, new_record: Any, catalog_id: Any, write: Any
) -> None:
    rid = (await client.post(RECORDS, json=new_record(), headers=headers[Role.INSPECTOR])).json()["id"]
    filled = await write.patch(
        rid,
        {"process_description": "Dewax", "analysis": "Ramp too fast", "engineering_remarks": "Blend"},
        headers[Role.TECH_ENGINEER],
    )
    assert filled.json()["status"] == "in_analysis"
    assert set(filled.json()["texts"]) == {
        "defect_description",
        "process_description",
        "analysis",
        "engineering_remarks",
    }

    cleared = await write.patch(
        rid,
        {"process_description": None, "analysis": "", "engineering_remarks": "   ", "analysis_by_id": None},
        headers[Role.TECH_ENGINEER],
    )
    assert cleared.status_code == 200, cleared.text
    body = cleared.json()
    assert (body["process_description"], body["analysis"], body["engineering_remarks"]) == (None, None, None)
    assert body["analysis_by_id"] is None
    assert set(body["texts"]) == {"defect_description"}
    assert body["status"] == "open"  # nothing of sections 3 and 4 is left

    section_one = await write.patch(
        rid, {"serial_number": None, "level_id": None, "area_id": None}, headers[Role.INSPECTOR]
    )
    assert section_one.status_code == 200
    assert [section_one.json()[f] for f in ("serial_number", "level_id", "area_id")] == [None, None, None]
    shown = await client.get(f"{RECORDS}/{rid}", headers=headers[Role.INSPECTOR])
    assert shown.json() == section_one.json()


async def test_without_accept_language_the_profile_language_is_used_to_write_and_to_read(
    client: AsyncTestClient, tokens: TokenFactory, new_record: Any, engine: AsyncEngine
) -> None:
    inspector = tokens.headers(Role.INSPECTOR, user_id=2, username="INS001", language="zh")
    created = (await client.post(RECORDS, json=new_record(defect_description="法兰面气孔"), headers=inspector)).json()
    assert created["texts"]["defect_description"]["source_language"] == "zh"
    async with engine.begin() as conn:
        await conn.execute(
            update(RecordText)
            .where(RecordText.record_id == created["id"], RecordText.language == "es")
            .values(text="Porosidad en la brida", state="done")
        )
    spanish_reader = tokens.headers(Role.OPERATOR, user_id=3, username="OPR001", language="es")
    read = (await client.get(f"{RECORDS}/{created['id']}", headers=spanish_reader)).json()
    assert (read["defect_description"], read["text_languages"]) == (
        "Porosidad en la brida",
        {"defect_description": "es"},
    )
    # the request's own Accept-Language still wins over the profile
    asked = await client.get(f"{RECORDS}/{created['id']}", headers={**spanish_reader, "Accept-Language": "zh"})
    assert asked.json()["defect_description"] == "法兰面气孔"
