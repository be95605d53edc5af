"""Record answers come back with labels, resolved with one call per service, and survive a failing one."""

from __future__ import annotations

import asyncio
import json
import time
from dataclasses import replace
from typing import Any

import httpx
import msgspec
import pytest
from litestar.testing import AsyncTestClient

from dmt_gateway.asgi import create_app
from dmt_gateway.config import Settings
from dmt_gateway.domain.records.rules import CATALOG_FIELDS, USER_FIELDS, View, labelled_view
from dmt_gateway.domain.records.schemas import CatalogLabel, UserLabel
from dmt_gateway.domain.records.services import batches, decode_answer, labelled_body, references
from dmt_shared.languages import reader_language
from dmt_shared.testing import TokenFactory

from .conftest import UNKNOWN_ENTRY, USERS, Fakes, entry_name, entry_number, make_record

LOOKUPS = (("masterdata", "/api/v1/catalogs/lookup"), ("auth", "/api/v1/users/lookup"))


def lookup_calls(fakes: Fakes) -> dict[str, int]:
    return {name: getattr(fakes, name).count("POST", path) for name, path in LOOKUPS}


def assert_labelled(record: dict[str, Any], language: str = "en") -> None:
    """Each id field has its label right after it, matching what the services know, catalog
    names in ``language``."""
    keys = list(record)
    for field, kind in CATALOG_FIELDS.items():
        label = record[field.removesuffix("_id")]
        assert keys.index(field.removesuffix("_id")) == keys.index(field) + 1
        if record[field] is None:
            assert label is None
        else:
            assert label == {
                "id": record[field],
                "item_number": entry_number(kind, record[field]),
                "item_name": entry_name(kind, record[field], language),
            }
    for field in USER_FIELDS:
        label = record[field.removesuffix("_id")]
        if record[field] is None:
            assert label is None
        else:
            username, full_name = USERS[record[field]]
            assert label == {"id": record[field], "username": username, "full_name": full_name}


async def test_one_record_comes_with_its_labels_and_etag(
    client: AsyncTestClient[Any], fakes: Fakes, tokens: TokenFactory
) -> None:
    record = make_record(3)  # engineer and disposition set, area and failure code empty
    fakes.records.on("GET", "/api/v1/records/3", lambda r: httpx.Response(200, json=record, headers={"ETag": '"3"'}))
    caller = {**tokens.headers(), "Accept-Language": "zh"}
    response = await client.get("/api/v1/records/3", headers=caller)
    assert response.status_code == 200
    assert response.headers["etag"] == '"3"'
    body = response.json()
    assert_labelled(body, "zh")
    assert body["engineer"] == {"id": 3, "username": "ENG001", "full_name": "Wang Wei"}
    assert body["part_number"]["item_number"] == entry_number("part-numbers", record["part_number_id"])
    assert body["part_number"]["item_name"] == "part-numbers 条目 103"
    assert body["prepared_by"]["item_name"] == "prepared-by entry 500"  # no Chinese name: English
    assert body["area"] is None
    assert body["failure_code"] is None
    assert body["closed_by"] is None
    assert body["defect_description"] == record["defect_description"]
    assert "unresolved" not in body
    assert lookup_calls(fakes) == {"masterdata": 1, "auth": 1}
    for name, path in LOOKUPS:
        call = next(c for c in getattr(fakes, name).calls if c.path == path)
        assert call.headers["authorization"] == caller["Authorization"]
        assert call.headers["accept-language"] == "zh"


async def test_a_page_of_fifty_needs_one_lookup_per_service(
    client: AsyncTestClient[Any], fakes: Fakes, tokens: TokenFactory
) -> None:
    response = await client.get(
        "/api/v1/records", params={"page_size": 50, "sort": "report_number"}, headers=tokens.headers()
    )
    assert response.status_code == 200
    page = response.json()
    assert (page["total"], page["page"], page["page_size"], len(page["items"])) == (1234, 1, 50, 50)
    for item in page["items"]:
        assert_labelled(item)
    assert lookup_calls(fakes) == {"masterdata": 1, "auth": 1}
    asked = json.loads(next(c for c in fakes.masterdata.calls if c.path == LOOKUPS[0][1]).body)["items"]
    assert len(asked) == len({(r["kind"], r["id"]) for r in asked})  # each entry asked once
    assert fakes.records.calls[-1].query == "page_size=50&sort=report_number"


async def test_a_page_of_two_hundred_still_needs_one_lookup_per_service(
    client: AsyncTestClient[Any], fakes: Fakes, tokens: TokenFactory
) -> None:
    response = await client.get("/api/v1/records", params={"page_size": 200}, headers=tokens.headers())
    assert len(response.json()["items"]) == 200
    assert lookup_calls(fakes) == {"masterdata": 1, "auth": 1}


async def test_created_edited_and_closed_records_come_back_labelled_with_their_status(
    client: AsyncTestClient[Any], fakes: Fakes, tokens: TokenFactory
) -> None:
    record = make_record(6)
    fakes.records.on(
        "POST",
        "/api/v1/records",
        lambda r: httpx.Response(201, json=record, headers={"Location": "/api/v1/records/6", "ETag": '"1"'}),
    )
    fakes.records.on("PATCH", "/api/v1/records/6", lambda r: httpx.Response(200, json=record, headers={"ETag": '"2"'}))
    fakes.records.on(
        "POST", "/api/v1/records/6/close", lambda r: httpx.Response(200, json={**record, "is_closed": True})
    )

    created = await client.post("/api/v1/records", json={"operation": "OP-20"}, headers=tokens.headers())
    assert created.status_code == 201
    assert created.headers["location"] == "/api/v1/records/6"
    assert created.headers["etag"] == '"1"'
    assert_labelled(created.json())
    assert json.loads(fakes.records.calls[-1].body) == {"operation": "OP-20"}

    edited = await client.patch(
        "/api/v1/records/6", json={"quantity": 2}, headers={**tokens.headers(), "If-Match": '"1"'}
    )
    assert edited.status_code == 200
    assert edited.headers["etag"] == '"2"'
    assert fakes.records.calls[-1].headers["if-match"] == '"1"'
    assert_labelled(edited.json())

    closed = await client.post("/api/v1/records/6/close", json={}, headers=tokens.headers())
    assert closed.json()["is_closed"] is True
    assert_labelled(closed.json())
    assert lookup_calls(fakes) == {"masterdata": 3, "auth": 3}


async def test_reopened_and_corrected_records_come_back_labelled_with_the_new_version(
    client: AsyncTestClient[Any], fakes: Fakes, tokens: TokenFactory
) -> None:
    record = {**make_record(9), "status": "reopened", "reopened_by_id": 4, "version": 5}
    fakes.records.on(
        "POST", "/api/v1/records/9/reopen", lambda r: httpx.Response(200, json=record, headers={"ETag": '"5"'})
    )
    corrected = {**record, "version": 6, "texts": {"defect_description": {"source_language": "en", "values": {}}}}
    fakes.records.on(
        "PUT",
        "/api/v1/records/9/texts/defect_description/es",
        lambda r: httpx.Response(200, json=corrected, headers={"ETag": '"6"'}),
    )
    reason = {"password": "quality123", "reason": "Customer returned two pieces", "version": 4}
    reopened = await client.post("/api/v1/records/9/reopen", json=reason, headers=tokens.headers())
    assert reopened.status_code == 200
    assert reopened.headers["etag"] == '"5"'
    assert json.loads(fakes.records.calls[-1].body) == reason  # the password goes to records untouched
    body = reopened.json()
    assert_labelled(body)
    assert body["reopened_by"] == {"id": 4, "username": "QUA001", "full_name": "Li Na"}
    assert body["status"] == "reopened"

    fixed = await client.put(
        "/api/v1/records/9/texts/defect_description/es",
        json={"text": "Porosidad en la cara de la brida", "version": 5},
        headers={**tokens.headers(), "Accept-Language": "es"},
    )
    assert fixed.status_code == 200
    assert fixed.headers["etag"] == '"6"'
    assert_labelled(fixed.json(), "es")
    assert fixed.json()["texts"] == corrected["texts"]
    assert lookup_calls(fakes) == {"masterdata": 2, "auth": 2}


@pytest.mark.parametrize(
    ("accept_language", "language"),
    [(None, "en"), ("es-MX,es;q=0.9,en;q=0.8", "es"), ("zh-CN", "zh"), ("fr-FR,fr;q=0.9", "en"), ("fr,es;q=0.5", "es")],
)
async def test_catalog_names_come_in_the_readers_language(
    client: AsyncTestClient[Any], fakes: Fakes, tokens: TokenFactory, accept_language: str | None, language: str
) -> None:
    headers = tokens.headers()
    if accept_language:
        headers["Accept-Language"] = accept_language
    page = (await client.get("/api/v1/records", params={"page_size": 4}, headers=headers)).json()
    for item in page["items"]:
        assert_labelled(item, language)
    second = page["items"][1]  # part number 102: even, so no Chinese name
    expected = {"en": "part-numbers entry 102", "es": "part-numbers entrada 102", "zh": "part-numbers entry 102"}
    assert second["part_number"]["item_name"] == expected[language]
    assert second["created_by"]["full_name"] == "Luis Hernández"  # people's names are never translated


async def test_refusals_from_records_pass_through_without_lookups(
    client: AsyncTestClient[Any], fakes: Fakes, tokens: TokenFactory
) -> None:
    problem = {"status": 412, "title": "Precondition Failed", "detail": "the record changed"}
    fakes.records.on(
        "PATCH",
        "/api/v1/records/6",
        lambda r: httpx.Response(412, json=problem, headers={"Content-Type": "application/problem+json"}),
    )
    fakes.records.on("GET", "/api/v1/records/6", lambda r: httpx.Response(304, headers={"ETag": '"2"'}))
    refused = await client.patch("/api/v1/records/6", json={"quantity": 2}, headers=tokens.headers())
    assert refused.status_code == 412
    assert refused.json() == problem
    unchanged = await client.get("/api/v1/records/6", headers={**tokens.headers(), "If-None-Match": '"2"'})
    assert unchanged.status_code == 304
    assert unchanged.headers["etag"] == '"2"'
    assert lookup_calls(fakes) == {"masterdata": 0, "auth": 0}


async def test_entries_masterdata_does_not_know_get_a_null_label(
    client: AsyncTestClient[Any], fakes: Fakes, tokens: TokenFactory
) -> None:
    record = {**make_record(1), "customer_id": UNKNOWN_ENTRY, "engineer_id": 4242}
    fakes.records.on("GET", "/api/v1/records/1", lambda r: httpx.Response(200, json=record))
    body = (await client.get("/api/v1/records/1", headers=tokens.headers())).json()
    assert body["customer_id"] == UNKNOWN_ENTRY
    assert body["customer"] is None
    assert body["engineer_id"] == 4242
    assert body["engineer"] is None
    assert body["part_number"] is not None
    assert "unresolved" not in body


async def test_an_empty_page_asks_nobody(client: AsyncTestClient[Any], fakes: Fakes, tokens: TokenFactory) -> None:
    fakes.records.on(
        "GET",
        "/api/v1/records",
        lambda r: httpx.Response(200, json={"items": [], "total": 0, "page": 3, "page_size": 50}),
    )
    response = await client.get("/api/v1/records", params={"page": 3}, headers=tokens.headers())
    assert response.json() == {"items": [], "total": 0, "page": 3, "page_size": 50}
    assert lookup_calls(fakes) == {"masterdata": 0, "auth": 0}


async def test_when_masterdata_fails_records_still_answer_with_ids_and_say_so(
    client: AsyncTestClient[Any], fakes: Fakes, tokens: TokenFactory
) -> None:
    fakes.masterdata.on("POST", "/api/v1/catalogs/lookup", lambda r: httpx.Response(500, json={"detail": "boom"}))
    response = await client.get("/api/v1/records", headers=tokens.headers())
    assert response.status_code == 200
    page = response.json()
    assert page["unresolved"] == ["masterdata"]
    first = page["items"][0]
    assert first["part_number_id"] == make_record(1)["part_number_id"]
    assert first["part_number"] is None
    assert first["created_by"] == {"id": 2, "username": "INS001", "full_name": "Luis Hernández"}


async def test_when_masterdata_cannot_be_reached_and_auth_refuses_both_are_named(
    fakes: Fakes, tokens: TokenFactory
) -> None:
    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("connection refused", request=request)

    transports = fakes.transports()
    transports["masterdata"] = httpx.MockTransport(refuse)
    fakes.auth.on("POST", "/api/v1/users/lookup", lambda r: httpx.Response(403, json={"detail": "no"}))
    app = create_app(Settings(), transports=transports, verifier=tokens.verifier())
    async with AsyncTestClient(app) as client:
        fakes.records.on("GET", "/api/v1/records/2", lambda r: httpx.Response(200, json=make_record(2)))
        response = await client.get("/api/v1/records/2", headers=tokens.headers())
    assert response.status_code == 200
    body = response.json()
    assert body["unresolved"] == ["auth", "masterdata"]
    assert body["created_by_id"] == 2
    assert body["created_by"] is None
    assert body["part_number"] is None


async def test_a_lookup_answer_that_breaks_the_contract_counts_as_failed(
    client: AsyncTestClient[Any], fakes: Fakes, tokens: TokenFactory
) -> None:
    fakes.auth.on("POST", "/api/v1/users/lookup", lambda r: httpx.Response(200, json={"users": []}))
    body = (await client.get("/api/v1/records", headers=tokens.headers())).json()
    assert body["unresolved"] == ["auth"]
    assert body["items"][0]["part_number"] is not None


async def test_only_the_record_reads_are_labelled(
    client: AsyncTestClient[Any], fakes: Fakes, tokens: TokenFactory
) -> None:
    fakes.records.on("GET", "/api/v1/records/6/history", lambda r: httpx.Response(200, json=[make_record(6)]))
    fakes.records.on("GET", "/api/v1/records/usage", lambda r: httpx.Response(200, json=make_record(6)))
    history = await client.get("/api/v1/records/6/history", headers=tokens.headers())
    assert history.json() == [make_record(6)]
    usage = await client.get("/api/v1/records/usage", headers=tokens.headers())
    assert usage.json() == make_record(6)
    assert lookup_calls(fakes) == {"masterdata": 0, "auth": 0}


# ------------------------------------------------------------------ the rules, without HTTP


@pytest.mark.parametrize(
    ("method", "path", "view"),
    [
        ("GET", "/api/v1/records", View.PAGE),
        ("GET", "/api/v1/records/", View.PAGE),
        ("GET", "/api/v1/records/12", View.ONE),
        ("POST", "/api/v1/records", View.ONE),
        ("PATCH", "/api/v1/records/12", View.ONE),
        ("POST", "/api/v1/records/12/close", View.ONE),
        ("HEAD", "/api/v1/records", None),
        ("GET", "/api/v1/records/export.csv", None),
        ("GET", "/api/v1/records/12/history", None),
        ("POST", "/api/v1/records/12/reopen", View.ONE),
        ("PUT", "/api/v1/records/12/texts/defect_description/es", View.ONE),
        ("PUT", "/api/v1/records/12/texts/defect_description", None),
        ("GET", "/api/v1/records/12/texts/defect_description/es", None),
        ("DELETE", "/api/v1/records/12", None),
        ("GET", "/api/v1/records/export.xlsx", None),
        ("GET", "/api/v1/analytics/pareto", None),
        ("GET", "/api/v1/catalogs", None),
    ],
)
def test_which_answers_get_labels(method: str, path: str, view: View | None) -> None:
    assert labelled_view(method, path) is view


@pytest.mark.parametrize(
    ("header", "language"),
    [
        (None, "en"),
        ("", "en"),
        ("es", "es"),
        ("ES-mx", "es"),
        ("zh-Hans-CN,zh;q=0.9", "zh"),
        ("en;q=0.2,es;q=0.8", "es"),
        ("de,fr;q=0.9", "en"),
        ("es;q=0,zh;q=0.1", "zh"),
        ("es;q=abc,en", "en"),
    ],
)
def test_the_readers_language_is_the_first_supported_one_they_ask_for(header: str | None, language: str) -> None:
    assert reader_language(header, None) == language
    # no language DMT speaks in the header: the reader's profile language
    if language == "en":
        assert reader_language(header, "zh") == ("en" if header and "en" in header.lower() else "zh")


def test_references_are_collected_once_across_records() -> None:
    records = [make_record(i) for i in range(1, 51)]
    catalogs, users = references(records)
    assert ("part-numbers", 101) in catalogs
    assert len(catalogs) == len(set(catalogs))
    assert all(kind in CATALOG_FIELDS.values() for kind, _ in catalogs)
    assert users == {1, 2, 3, 5}
    assert references([{"part_number_id": None, "engineer_id": True, "customer_id": "7"}]) == (set(), set())


def test_labels_from_a_failed_service_are_null_and_named() -> None:
    record = {"id": 1, "part_number_id": 5, "engineer_id": 3, "part_number": "stale", "remarks": "x"}
    out = labelled_body(
        record, View.ONE, None, {3: UserLabel(id=3, username="ENG001", full_name="Wang Wei")}, ["masterdata"]
    )
    assert list(out) == ["id", "part_number_id", "part_number", "engineer_id", "engineer", "remarks", "unresolved"]
    assert out["part_number"] is None
    assert out["engineer"] == UserLabel(id=3, username="ENG001", full_name="Wang Wei")
    assert out["unresolved"] == ["masterdata"]
    label = CatalogLabel(id=5, item_number="9151355", item_name="Housing")
    assert labelled_body(record, View.ONE, {("part-numbers", 5): label}, {}, [])["part_number"] == label


def test_a_labelled_page_keeps_every_other_field_as_the_service_wrote_it() -> None:
    content = (
        b'{"items":[{"id":1,"part_number_id":5,"rework_hours":4.50,"texts":{"zh":"\\u6cd5 \xe6\xb3\x95"},'
        b'"engineer_id":null,"created_by_id":3}],"total":1,"page":1,"page_size":50}'
    )
    label = CatalogLabel(id=5, item_number="9151355", item_name="Housing")
    user = UserLabel(id=3, username="INS003", full_name="Li Na")
    body = decode_answer(content, View.PAGE)
    out = msgspec.json.encode(labelled_body(body, View.PAGE, {("part-numbers", 5): label}, {3: user}, []))
    assert out == (
        b'{"items":[{"id":1,"part_number_id":5,'
        b'"part_number":{"id":5,"item_number":"9151355","item_name":"Housing"},'
        b'"rework_hours":4.50,"texts":{"zh":"\\u6cd5 \xe6\xb3\x95"},"engineer_id":null,"engineer":null,'
        b'"created_by_id":3,"created_by":{"id":3,"username":"INS003","full_name":"Li Na"}}],'
        b'"total":1,"page":1,"page_size":50}'
    )


def test_an_answer_of_another_shape_is_read_whole_and_passed_on() -> None:
    assert labelled_body(decode_answer(b'{"items":[1,"x"]}', View.PAGE), View.PAGE, {}, {}, []) == {"items": [1, "x"]}
    assert labelled_body(decode_answer(b"[1,2]", View.ONE), View.ONE, {}, {}, []) == [1, 2]
    with pytest.raises(msgspec.DecodeError):
        decode_answer(b"{not json", View.PAGE)


def test_lookups_are_cut_into_batches_the_services_accept() -> None:
    assert batches([]) == []
    assert [len(b) for b in batches(range(2500))] == [1000, 1000, 500]


async def test_a_lookup_that_hangs_costs_at_most_the_lookup_timeout(
    fakes: Fakes, settings: Settings, tokens: TokenFactory
) -> None:
    async def hang(request: httpx.Request) -> httpx.Response:
        await asyncio.sleep(10)
        return httpx.Response(200, json={"items": [], "missing": []})

    fakes.masterdata.on("POST", "/api/v1/catalogs/lookup", hang)
    app = create_app(
        replace(settings, lookup_timeout=0.3),
        transports=fakes.transports(),
        verifier=tokens.verifier(),
    )
    async with AsyncTestClient(app) as client:
        started = time.monotonic()
        response = await client.get("/api/v1/records", headers=tokens.headers())
        elapsed = time.monotonic() - started
    assert response.status_code == 200
    assert response.json()["unresolved"] == ["masterdata"]
    assert response.json()["items"][0]["created_by"]["username"] == "INS001"
    assert elapsed < 2.0
