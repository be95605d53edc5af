"""Texts in English, Spanish and Chinese: written in one, read in the reader's, cleared at will."""

from __future__ import annotations

import datetime as dt
from typing import Any

from litestar.testing import AsyncTestClient
from sqlalchemy import insert
from sqlalchemy.ext.asyncio import AsyncEngine

from dmt_records.db.models import RecordText
from dmt_shared.tokens import Role

RECORDS = "/api/v1/records"


async def test_texts_are_kept_in_the_writers_language_and_shown_in_the_readers(
    client: AsyncTestClient, headers: dict, new_record: Any, engine: AsyncEngine
) -> None:
    inspector = {**headers[Role.INSPECTOR], "Accept-Language": "es-MX,es;q=0.9,en;q=0.5"}
    created = await client.post(RECORDS, json=new_record(defect_description="Porosidad en la brida"), headers=inspector)
    record = created.json()
    rid = record["id"]
    assert record["texts"]["defect_description"] == {
        "source_language": "es",
        "values": {"es": {"text": "Porosidad en la brida", "origin": "author"}},
    }
    in_chinese = await client.post(
        RECORDS, json=new_record(language="zh", defect_description="法兰面气孔"), headers=inspector
    )
    assert in_chinese.json()["texts"]["defect_description"]["source_language"] == "zh"

    # a translation, as the translation worker will add it
    async with engine.begin() as conn:
        await conn.execute(
            insert(RecordText).values(
                record_id=rid, field="defect_description", language="en", text="Porosity on the flange",
                origin="machine", updated_at=dt.datetime.now(dt.UTC),
            )
        )  # fmt: skip

    def read_as(language: str) -> Any:
        return client.get(f"{RECORDS}/{rid}", headers={**headers[Role.OPERATOR], "Accept-Language": language})

    assert (await read_as("en-US")).json()["defect_description"] == "Porosity on the flange"
    assert (await read_as("es")).json()["defect_description"] == "Porosidad en la brida"
    assert (await read_as("zh-CN")).json()["defect_description"] == "Porosidad en la brida"  # no zh: the original
    assert (await read_as("fr")).json()["defect_description"] == "Porosidad en la brida"
    both = (await read_as("en")).json()["texts"]["defect_description"]
    assert both == {
        "source_language": "es",
        "values": {
            "en": {"text": "Porosity on the flange", "origin": "machine"},
            "es": {"text": "Porosidad en la brida", "origin": "author"},
        },
    }
    listed = await client.get(
        RECORDS, params={"sort": "id", "order": "asc"}, headers={**inspector, "Accept-Language": "en"}
    )
    assert [item["defect_description"] for item in listed.json()["items"]] == ["Porosity on the flange", "法兰面气孔"]

    # a new text replaces the old one in every language: the translations were of the old words
    rewritten = await client.patch(
        f"{RECORDS}/{rid}",
        json={"defect_description": "Porosity on the flange face, 3 mm"},
        headers={**headers[Role.INSPECTOR], "Accept-Language": "en"},
    )
    assert rewritten.status_code == 200
    assert rewritten.json()["texts"]["defect_description"] == {
        "source_language": "en",
        "values": {"en": {"text": "Porosity on the flange face, 3 mm", "origin": "author"}},
    }
    version = rewritten.json()["version"]
    same = await client.patch(
        f"{RECORDS}/{rid}",
        json={"defect_description": " Porosity on the flange face, 3 mm "},
        headers=headers[Role.INSPECTOR],
    )
    assert same.json()["version"] == version  # the same words: no change, no new version
    empty = await client.patch(f"{RECORDS}/{rid}", json={}, headers=headers[Role.INSPECTOR])
    assert (empty.status_code, empty.json()["version"]) == (200, version)


async def test_optional_fields_and_texts_can_be_cleared(
    client: AsyncTestClient, headers: dict, new_record: Any, catalog_id: Any
) -> None:
    rid = (await client.post(RECORDS, json=new_record(), headers=headers[Role.INSPECTOR])).json()["id"]
    filled = await client.patch(
        f"{RECORDS}/{rid}",
        json={"process_description": "Dewax", "analysis": "Ramp too fast", "engineering_remarks": "Blend"},
        headers=headers[Role.TECH_ENGINEER],
    )
    assert filled.json()["status"] == "in_analysis"
    assert set(filled.json()["texts"]) == {
        "defect_description",
        "process_description",
        "analysis",
        "engineering_remarks",
    }

    cleared = await client.patch(
        f"{RECORDS}/{rid}",
        json={"process_description": None, "analysis": "", "engineering_remarks": "   ", "analysis_by_id": None},
        headers=headers[Role.TECH_ENGINEER],
    )
    assert cleared.status_code == 200, cleared.text
    body = cleared.json()
    assert (body["process_description"], body["analysis"], body["engineering_remarks"]) == (None, None, None)
    assert body["analysis_by_id"] is None
    assert set(body["texts"]) == {"defect_description"}
    assert body["status"] == "open"  # nothing of sections 3 and 4 is left

    section_one = await client.patch(
        f"{RECORDS}/{rid}",
        json={"serial_number": None, "level_id": None, "area_id": None},
        headers=headers[Role.INSPECTOR],
    )
    assert section_one.status_code == 200
    assert [section_one.json()[f] for f in ("serial_number", "level_id", "area_id")] == [None, None, None]
    shown = await client.get(f"{RECORDS}/{rid}", headers=headers[Role.INSPECTOR])
    assert shown.json() == section_one.json()
