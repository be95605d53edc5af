"""The whole system as a user meets it: `scripts/run.py` (what `make run` starts) on free
ports and a fresh data folder (tests/running.py), then HTTP calls against the gateway, the way
a client does.

The tests of this module share one running system and run in file order: the last one stops
the records service.
"""

from __future__ import annotations

import asyncio
import csv
import datetime as dt
import io
import os
import signal
import time
from collections.abc import Iterator

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from dmt_shared.pytest_plugin import SERVER_URLS, create_server_database, drop_server_database
from dmt_shared.testing import TokenFactory
from dmt_shared.tokens import TokenSigner, load_private_key

from running import System, running_system

pytestmark = pytest.mark.e2e

PASSWORDS = {"ADM001": "admin123", "ENG001": "engineer123", "QUA001": "quality123"}
ROLE_USERS = {
    "Admin": "ADM001",
    "Inspector": "INS001",
    "Operator": "OPR001",
    "Tech Engineer": "ENG001",
    "Quality Engineer": "QUA001",
}


#: Which database each service runs on, per variant of the system. "mixed" is three kinds at once.
LAYOUTS = {
    "sqlite": {"auth": "sqlite", "masterdata": "sqlite", "records": "sqlite"},
    "postgres": {"auth": "postgres", "masterdata": "postgres", "records": "postgres"},
    "mariadb": {"auth": "mariadb", "masterdata": "mariadb", "records": "mariadb"},
    "mixed": {"auth": "sqlite", "masterdata": "mariadb", "records": "postgres"},
}


def _server_url(backend: str) -> str:
    admin_url = os.environ.get(SERVER_URLS[backend])
    if not admin_url:
        if os.environ.get("DMT_TEST_REQUIRE_SERVERS") == "1":
            pytest.fail(f"{SERVER_URLS[backend]} is not set but DMT_TEST_REQUIRE_SERVERS=1")
        pytest.skip(f"{SERVER_URLS[backend]} not set: no {backend} server given")
    return admin_url


@pytest.fixture(scope="module", params=list(LAYOUTS))
def system(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[System]:
    layout = LAYOUTS[request.param]
    admin_urls = {b: _server_url(b) for b in set(layout.values()) if b != "sqlite"}
    created: list[tuple[str, str]] = []  # (admin URL, database name) to drop afterwards
    database_urls: dict[str, str] = {}
    try:
        for service, backend in layout.items():
            if backend != "sqlite":  # SQLite: the default file in the data folder
                url, name = asyncio.run(create_server_database(admin_urls[backend]))
                created.append((admin_urls[backend], name))
                database_urls[service] = url
        yield from running_system(tmp_path_factory, database_urls, request.param)
    finally:
        for admin_url, name in created:
            asyncio.run(drop_server_database(admin_url, name))


def _login(client: httpx.Client, username: str) -> dict[str, str]:
    password = PASSWORDS.get(username, "employee123")
    response = client.post("/api/v1/auth/login", json={"username": username, "password": password})
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["token_type"] == "bearer"
    return {"Authorization": f"Bearer {body['access_token']}"}


@pytest.fixture(scope="module")
def headers(system: System) -> dict[str, dict[str, str]]:
    with system.client() as client:
        return {role: _login(client, user) for role, user in ROLE_USERS.items()}


@pytest.fixture(scope="module")
def catalog(system: System, headers: dict[str, dict[str, str]]) -> dict[str, list[dict]]:
    """The first few active entries of each catalog a record needs."""
    kinds = ["part-numbers", "work-centers", "customers", "levels", "areas", "prepared-by",
             "inspection-items", "process-codes", "dispositions", "failure-codes"]  # fmt: skip
    found: dict[str, list[dict]] = {}
    with system.client() as client:
        for kind in kinds:
            response = client.get(f"/api/v1/catalogs/{kind}", params={"is_active": "true", "page_size": 5},
                                  headers=headers["Inspector"])  # fmt: skip
            assert response.status_code == 200, response.text
            found[kind] = response.json()["items"]
            assert found[kind], f"the demo data has no {kind}"
    return found


def _new_record(catalog: dict[str, list[dict]], **overrides: object) -> dict:
    body = {
        "part_number_id": catalog["part-numbers"][0]["id"],
        "work_center_id": catalog["work-centers"][0]["id"],
        "customer_id": catalog["customers"][0]["id"],
        "level_id": catalog["levels"][0]["id"],
        "area_id": catalog["areas"][0]["id"],
        "prepared_by_id": catalog["prepared-by"][0]["id"],
        "operation": "OP-30 final machining",
        "quantity": 3,
        "serial_number": "SN-0001",
        "date": dt.date.today().isoformat(),
        "inspection_item_id": catalog["inspection-items"][0]["id"],
        "process_code_id": catalog["process-codes"][0]["id"],
        "defect_description": "Porosity on the flange face, 2 mm",
    }
    body.update(overrides)
    return body


def test_each_service_keeps_its_data_in_its_own_database(system: System) -> None:
    tables = {"auth": "user_account", "masterdata": "catalog_entry", "records": "dmt_record"}

    async def count(url: str, table: str) -> int:
        engine = create_async_engine(url)
        try:
            async with engine.connect() as conn:
                return (await conn.execute(text(f"SELECT COUNT(*) FROM {table}"))).scalar_one()
        finally:
            await engine.dispose()

    for service, table in tables.items():
        url = system.database_url(service)
        assert asyncio.run(count(url, table)) > 0, (service, url)
        others = [t for s, t in tables.items() if s != service]
        for other in others:  # nothing of another service lives there
            with pytest.raises(Exception, match=r"(?i)no such table|does not exist|doesn.t exist"):
                asyncio.run(count(url, other))


def test_every_role_signs_in_and_sees_who_it_is(system: System, headers: dict[str, dict[str, str]]) -> None:
    with system.client() as client:
        for role, username in ROLE_USERS.items():
            me = client.get("/api/v1/auth/me", headers=headers[role])
            assert me.status_code == 200, me.text
            assert (me.json()["username"], me.json()["role"]) == (username, role)
        wrong = client.post("/api/v1/auth/login", json={"username": "INS001", "password": "nope-nope"})
        unknown = client.post("/api/v1/auth/login", json={"username": "NOBODY", "password": "nope-nope"})
        assert wrong.status_code == unknown.status_code == 401
        assert wrong.json()["detail"] == unknown.json()["detail"]


def test_a_new_installation_shows_demo_records_in_every_state(
    system: System, headers: dict[str, dict[str, str]]
) -> None:
    with system.client() as client:
        counts = {}
        for status in ("open", "in_analysis", "dispositioned", "closed", "reopened"):
            page = client.get(
                "/api/v1/records", params={"status": status, "page_size": 1}, headers=headers["Inspector"]
            )
            assert page.status_code == 200, page.text
            counts[status] = page.json()["total"]
        assert all(counts[s] >= 5 for s in ("open", "in_analysis", "dispositioned", "closed")), counts
        assert counts["reopened"] >= 1, counts
        items = _expect(client.get("/api/v1/records", params={"page_size": 100}, headers=headers["Inspector"]))
        assert items["total"] == sum(counts.values()) == 39  # 40 demo records, one deleted (not listed)
        languages = {
            (field, text["source_language"]) for item in items["items"] for field, text in item["texts"].items()
        }
        for field in ("defect_description", "analysis", "engineering_remarks"):
            assert {lang for f, lang in languages if f == field} == {"en", "es", "zh"}, field

        # A reopened demo record carries both signatures, and the reason.
        listed = _expect(client.get("/api/v1/records", params={"status": "reopened", "page_size": 1},
                                    headers=headers["Inspector"]))["items"][0]  # fmt: skip
        reopened = _expect(client.get(f"/api/v1/records/{listed['id']}", headers=headers["Inspector"]))
        assert [s["meaning"] for s in reopened["signatures"]] == ["approved_disposition", "reopened"]
        assert reopened["signatures"][1]["reason"]
        assert reopened["reopened_by"]["username"] == "QUA001"


def test_a_record_goes_from_inspection_to_closed_through_the_gateway(
    system: System, headers: dict[str, dict[str, str]], catalog: dict[str, list[dict]]
) -> None:
    with system.client() as client:
        created = client.post("/api/v1/records", json=_new_record(catalog), headers=headers["Inspector"])
        assert created.status_code == 201, created.text
        record = created.json()
        rid = record["id"]
        assert record["report_number"]
        assert record["status"] == "open"

        assert created.headers["etag"] == f'"{record["version"]}"'

        unversioned = client.patch(f"/api/v1/records/{rid}", headers=headers["Operator"],
                                   json={"analysis": "Autoclave pressure ramp too fast"})  # fmt: skip
        assert unversioned.status_code == 428, unversioned.text
        assert [e["field"] for e in unversioned.json()["errors"]] == ["version"]

        analysed = client.patch(f"/api/v1/records/{rid}", headers=headers["Operator"], json={
            "process_description": "Shell cracked during dewax",
            "analysis": "Autoclave pressure ramp too fast",
            "version": record["version"],
        })  # fmt: skip
        assert analysed.status_code == 200, analysed.text
        assert analysed.json()["status"] == "in_analysis"
        assert analysed.json()["version"] == record["version"] + 1
        assert analysed.headers["etag"] == f'"{analysed.json()["version"]}"'

        stale = client.patch(f"/api/v1/records/{rid}", headers=headers["Operator"],
                             json={"analysis": "Overwritten?", "version": record["version"]})  # fmt: skip
        assert stale.status_code == 412, stale.text
        assert stale.json()["current_version"] == analysed.json()["version"]

        engineer = client.get("/api/v1/auth/me", headers=headers["Tech Engineer"]).json()
        decided = client.patch(f"/api/v1/records/{rid}", headers=headers["Tech Engineer"], json={
            "final_disposition_id": catalog["dispositions"][0]["id"],
            "failure_code_id": catalog["failure-codes"][0]["id"],
            "engineer_id": engineer["id"],
            "disposition_date": dt.date.today().isoformat(),
            "rework_hours": 1.5,
            "material_scrap_cost": 120.0,
            "other_cost": 0,
            "engineering_remarks": "Rework by blending, re-inspect",
            "version": analysed.json()["version"],
        })  # fmt: skip
        assert decided.status_code == 200, decided.text
        assert decided.json()["status"] == "dispositioned"

        quality = client.get("/api/v1/auth/me", headers=headers["Quality Engineer"]).json()
        close = {
            "disposition_approval_date": dt.date.today().isoformat(),
            "disposition_approved_by_id": quality["id"],
            "sdr_number": "SDR-7781",
            "version": decided.json()["version"],
        }
        for password in (None, "not-my-password"):
            unsigned = client.post(f"/api/v1/records/{rid}/close", headers=headers["Quality Engineer"],
                                   json={**close, **({"password": password} if password else {})})  # fmt: skip
            assert 400 <= unsigned.status_code < 500, unsigned.text
            assert "password" in [e["field"] for e in unsigned.json()["errors"]], unsigned.text
        assert unsigned.status_code == 403
        closed = client.post(f"/api/v1/records/{rid}/close", headers=headers["Quality Engineer"],
                             json={**close, "password": PASSWORDS["QUA001"]})  # fmt: skip
        assert closed.status_code == 200, closed.text
        assert closed.json()["is_closed"] is True
        assert closed.json()["status"] == "closed"
        assert closed.json()["version"] == decided.json()["version"] + 1

        for role in ROLE_USERS:
            refused = client.patch(f"/api/v1/records/{rid}", headers=headers[role],
                                   json={"sdr_number": "X", "version": closed.json()["version"]})  # fmt: skip
            assert 400 <= refused.status_code < 500, (role, refused.text)
            assert refused.status_code in (403, 409), (role, refused.text)

        read = client.get(f"/api/v1/records/{rid}", headers={**headers["Operator"], "Accept-Language": "en"})
        assert read.status_code == 200
        shown = read.json()
        part = catalog["part-numbers"][0]
        assert shown["part_number"]["item_number"] == part["item_number"]
        assert shown["part_number"]["item_name"] == part["item_name"]
        # without Accept-Language, names come in the language of the reader's profile
        profile = _expect(client.get("/api/v1/auth/me", headers=headers["Operator"]))["language"]
        unasked = _expect(client.get(f"/api/v1/records/{rid}", headers=headers["Operator"]))
        assert unasked["part_number"]["item_name"] == (part.get(f"item_name_{profile}") or part["item_name"])
        assert shown["engineer"]["username"] == "ENG001"
        assert shown["disposition_approved_by"]["username"] == "QUA001"
        assert shown["created_by"]["username"] == "INS001"
        assert shown["defect_description"] == "Porosity on the flange face, 2 mm"

        page = client.get("/api/v1/records", params={"status": "closed"}, headers=headers["Inspector"])
        assert page.status_code == 200
        assert page.json()["total"] >= 1
        assert all(item["part_number"]["item_number"] for item in page.json()["items"])


def _expect(response: httpx.Response, status: int = 200) -> dict:
    assert response.status_code == status, response.text
    return response.json() if response.content else {}


def _closed_record(
    client: httpx.Client, headers: dict[str, dict[str, str]], catalog: dict[str, list[dict]], **overrides: object
) -> dict:
    """A record taken through its life to closed, each step sending the version it read."""
    record = _expect(client.post("/api/v1/records", json=_new_record(catalog, **overrides),
                                 headers=headers["Inspector"]), 201)  # fmt: skip
    rid = record["id"]
    record = _expect(client.patch(f"/api/v1/records/{rid}", headers=headers["Operator"], json={
        "process_description": "Metal temperature low at pour",
        "analysis": "Furnace thermocouple drifted 15 °C",
        "version": record["version"],
    }))  # fmt: skip
    record = _expect(client.patch(f"/api/v1/records/{rid}", headers=headers["Tech Engineer"], json={
        "final_disposition_id": catalog["dispositions"][0]["id"],
        "failure_code_id": catalog["failure-codes"][0]["id"],
        "disposition_date": dt.date.today().isoformat(),
        "rework_hours": 2,
        "material_scrap_cost": 80.5,
        "other_cost": 10,
        "version": record["version"],
    }))  # fmt: skip
    return _expect(client.post(f"/api/v1/records/{rid}/close", headers=headers["Quality Engineer"], json={
        "password": PASSWORDS["QUA001"],
        "disposition_approval_date": dt.date.today().isoformat(),
        "sdr_number": "SDR-5120",
        "version": record["version"],
    }))  # fmt: skip


def test_closing_and_reopening_are_signed_and_the_signatures_show_through_the_gateway(
    system: System, headers: dict[str, dict[str, str]], catalog: dict[str, list[dict]]
) -> None:
    quality_engineer = headers["Quality Engineer"]
    with system.client() as client:
        me = _expect(client.get("/api/v1/auth/me", headers=quality_engineer))
        closed = _closed_record(client, headers, catalog, serial_number="SN-SIGN-1")
        rid = closed["id"]
        [approval] = closed["signatures"]
        assert approval["meaning"] == "approved_disposition"
        assert approval["meaning_text"] == "Approved disposition"
        assert (approval["signer_id"], approval["signer_username"]) == (me["id"], "QUA001")
        assert approval["signer_name"] == me["full_name"]
        assert approval["signer_role"] == "Quality Engineer"
        assert approval["signed_at"]
        assert closed["disposition_approved_by"]["username"] == "QUA001"  # the signer, by default

        reopen = f"/api/v1/records/{rid}/reopen"
        reason = "Customer returned two pieces with the same porosity"
        body = {"password": PASSWORDS["QUA001"], "reason": reason, "version": closed["version"]}
        assert client.post(reopen, headers=headers["Operator"], json=body).status_code == 403
        assert client.post(reopen, headers=quality_engineer, json={**body, "reason": ""}).status_code in (400, 422)
        wrong = client.post(reopen, headers=quality_engineer, json={**body, "password": "admin123"})
        assert wrong.status_code == 403
        assert [e["field"] for e in wrong.json()["errors"]] == ["password"]
        assert client.post(reopen, headers=quality_engineer, json={**body, "version": 1}).status_code == 412
        reopened = client.post(reopen, headers=quality_engineer, json=body)
        assert reopened.status_code == 200, reopened.text
        assert reopened.headers["etag"] == f'"{reopened.json()["version"]}"'
        shown = reopened.json()
        assert shown["status"] == "reopened"
        assert shown["is_closed"] is False
        assert shown["reopened_by"]["username"] == "QUA001"  # labelled by the gateway
        assert shown["part_number"]["item_number"] == catalog["part-numbers"][0]["item_number"]
        again = client.post(reopen, headers=quality_engineer, json={**body, "version": shown["version"]})
        assert again.status_code == 409, again.text  # only a closed record reopens

        read = _expect(client.get(f"/api/v1/records/{rid}", headers={**headers["Inspector"], "Accept-Language": "es"}))
        assert [s["meaning"] for s in read["signatures"]] == ["approved_disposition", "reopened"]
        code = catalog["failure-codes"][0]
        assert read["failure_code"]["item_name"] == (code.get("item_name_es") or code["item_name"])
        assert read["signatures"][1]["reason"] == reason
        assert read["signatures"][1]["meaning_text"] == "Reopened"
        assert read["signatures"][0] == approval  # a signature never changes
        listed = _expect(client.get("/api/v1/records", params={"status": "reopened", "q": "SN-SIGN-1"},
                                    headers=headers["Inspector"]))  # fmt: skip
        assert [item["id"] for item in listed["items"]] == [rid]


def test_the_history_through_the_gateway_keeps_every_change_and_both_signatures(
    system: System, headers: dict[str, dict[str, str]], catalog: dict[str, list[dict]]
) -> None:
    quality_engineer = headers["Quality Engineer"]
    with system.client() as client:
        closed = _closed_record(client, headers, catalog, serial_number="SN-HIST-1")
        rid = closed["id"]
        reason = "Audit found the wrong SDR number"
        reopened = _expect(client.post(f"/api/v1/records/{rid}/reopen", headers=quality_engineer, json={
            "password": PASSWORDS["QUA001"], "reason": reason, "version": closed["version"],
        }))  # fmt: skip
        fixed = _expect(client.patch(f"/api/v1/records/{rid}", headers=quality_engineer,
                                     json={"sdr_number": "SDR-5121", "version": reopened["version"]}))  # fmt: skip
        _expect(client.post(f"/api/v1/records/{rid}/close", headers=quality_engineer, json={
            "password": PASSWORDS["QUA001"], "version": fixed["version"],
            "disposition_approval_date": dt.date.today().isoformat(),  # a new approval, of today
        }))  # fmt: skip

        path = f"/api/v1/records/{rid}/history"
        page = _expect(client.get(path, params={"tz": "Europe/Madrid", "page_size": 200}, headers=headers["Operator"]))
        lines = page["items"]
        assert page["total"] == len(lines)
        assert [line["id"] for line in lines] == sorted(line["id"] for line in lines)  # oldest first
        actions = [line["action"] for line in lines]
        assert actions[0] == "created"
        assert actions.count("closed") == 2
        assert actions.count("reopened") == 1
        signed = [line for line in lines if line["action"] == "signed"]
        assert [line["new_value"] for line in signed] == ["approved_disposition", "reopened", "approved_disposition"]
        assert {line["actor_username"] for line in signed} == {"QUA001"}
        assert signed[1]["reason"] == reason
        assert next(line for line in lines if line["action"] == "reopened")["reason"] == reason
        sdr = [line for line in lines if line["field"] == "sdr_number"]
        assert sdr[-1]["action"] == "changed"
        assert (sdr[-1]["old_value"], sdr[-1]["new_value"], sdr[-1]["version"]) == (
            "SDR-5120",
            "SDR-5121",
            fixed["version"],
        )
        analysis = next(line for line in lines if line["field"] == "analysis")
        assert (analysis["old_value"], analysis["new_value"]) == (None, "Furnace thermocouple drifted 15 °C")
        assert analysis["actor_username"] == "OPR001"
        for line in lines:
            assert line["at_local"][-6:] in ("+01:00", "+02:00"), line  # Madrid
        status_lines = [(line["old_value"], line["new_value"]) for line in lines if line["action"] == "reopened"]
        assert status_lines == [("closed", "reopened")]

        for method in ("PUT", "PATCH", "DELETE", "POST"):
            assert client.request(method, path, json={}, headers=headers["Admin"]).status_code in (404, 405), method
        again = _expect(client.get(path, params={"page_size": 200}, headers=headers["Admin"]))["items"]
        # no tz asked: the same lines, told in the time zone of the reader's profile
        assert [{**line, "at_local": None} for line in again] == [{**line, "at_local": None} for line in lines]
        assert all(line["at_local"] for line in again)


def test_a_deleted_record_is_gone_for_everyone_but_its_history_stays_for_the_admin(
    system: System, headers: dict[str, dict[str, str]], catalog: dict[str, list[dict]]
) -> None:
    admin = headers["Admin"]
    with system.client() as client:
        record = _expect(client.post("/api/v1/records", json=_new_record(catalog, serial_number="SN-DEL-1"),
                                     headers=headers["Inspector"]), 201)  # fmt: skip
        rid = record["id"]
        path = f"/api/v1/records/{rid}"
        body = {"reason": "Entered twice by mistake", "version": record["version"]}
        assert client.request("DELETE", path, json=body, headers=headers["Inspector"]).status_code == 403
        no_reason = client.request("DELETE", path, json={"version": record["version"]}, headers=admin)
        assert 400 <= no_reason.status_code < 500
        assert "reason" in no_reason.text
        assert client.request("DELETE", path, json=body, headers=admin).status_code == 204
        assert client.get(f"/api/v1/records/{rid}", headers=admin).status_code == 404
        listed = _expect(client.get("/api/v1/records", params={"q": "SN-DEL-1"}, headers=admin))
        assert listed["total"] == 0
        assert client.get(f"/api/v1/records/{rid}/history", headers=headers["Inspector"]).status_code == 404
        history = _expect(client.get(f"/api/v1/records/{rid}/history", headers=admin))["items"]
        assert history[-1]["action"] == "deleted"
        assert history[-1]["reason"] == "Entered twice by mistake"
        assert history[-1]["actor_username"] == "ADM001"


def test_an_export_through_the_gateway_has_the_legacy_columns_and_labels(
    system: System, headers: dict[str, dict[str, str]], catalog: dict[str, list[dict]]
) -> None:
    serial = f"SN-EXP-{system.layout}"
    with system.client() as client:
        closed = _closed_record(client, headers, catalog, serial_number=serial)
        with client.stream("GET", "/api/v1/records/export.csv", params={"q": serial, "language": "en"},
                           headers=headers["Operator"]) as response:  # fmt: skip
            assert response.status_code == 200, response.read()
            assert response.headers["content-type"].startswith("text/csv")
            assert "attachment" in response.headers["content-disposition"]
            assert ".csv" in response.headers["content-disposition"]
            content = response.read()
        assert content.startswith("\ufeff".encode())  # a BOM, so spreadsheets read UTF-8
        rows = list(csv.reader(io.StringIO(content.decode("utf-8-sig"), newline="")))
        header, data = rows[0], rows[1:]
        assert len(header) == 34
        assert header[:2] == ["ID", "Report Number"]
        assert [row[0] for row in data] == [str(closed["id"])]
        row = dict(zip(header, data[0], strict=True))
        part = catalog["part-numbers"][0]
        assert row["Part Number"] == f"{part['item_number']} - {part['item_name']}"
        assert row["Report Number"] == closed["report_number"]
        assert row["Created By"].startswith("INS001 - ")
        assert row["Serial Number"] == serial

        spanish = client.get("/api/v1/records/export.csv", params={"q": serial, "language": "es"},
                             headers=headers["Operator"])  # fmt: skip
        assert spanish.status_code == 200
        spanish_rows = list(csv.reader(io.StringIO(spanish.content.decode("utf-8-sig"), newline="")))
        assert spanish_rows[0][1] == "Número de reporte"
        assert spanish_rows[1][0] == str(closed["id"])


def test_a_pareto_through_the_gateway_counts_what_the_list_holds(
    system: System, headers: dict[str, dict[str, str]], catalog: dict[str, list[dict]]
) -> None:
    with system.client() as client:
        serial = f"SN-PARETO-{system.layout}"
        _closed_record(client, headers, catalog, serial_number=serial)
        total = _expect(client.get("/api/v1/records", params={"page_size": 1}, headers=headers["Inspector"]))["total"]
        pareto = _expect(client.get("/api/v1/analytics/pareto", params={"by": "failure_code", "measure": "count"},
                                    headers=headers["Inspector"]))  # fmt: skip
        assert pareto["total_count"] == total
        items = pareto["items"]
        other = (pareto.get("other") or {}).get("count", 0)
        assert sum(item["count"] for item in items) + other == total
        values = [item["value"] for item in items]
        assert values == sorted(values, reverse=True)
        code = catalog["failure-codes"][0]
        mine = next(item for item in items if item["id"] == code["id"])
        assert mine["count"] >= 1
        assert mine["label"].startswith(f"{code['item_number']} - ")
        assert pareto["unresolved"] == []

        closed_only = _expect(client.get("/api/v1/analytics/pareto", params={"by": "part_number", "status": "closed"},
                                         headers=headers["Inspector"]))  # fmt: skip
        closed_total = _expect(client.get("/api/v1/records", params={"status": "closed", "page_size": 1},
                                          headers=headers["Inspector"]))["total"]  # fmt: skip
        assert closed_only["total_count"] == closed_total

        # Only the record made here, read by a Spanish reader: its part, named in Spanish.
        just_ours = _expect(client.get("/api/v1/analytics/pareto", params={"by": "part_number", "q": serial},
                                       headers={**headers["Inspector"], "Accept-Language": "es"}))  # fmt: skip
        part = catalog["part-numbers"][0]
        assert just_ours["total_count"] == 1
        assert [(item["id"], item["count"]) for item in just_ours["items"]] == [(part["id"], 1)]
        assert (
            just_ours["items"][0]["label"] == f"{part['item_number']} - {part.get('item_name_es') or part['item_name']}"
        )


def test_every_forbidden_field_edit_by_every_role_is_refused(
    system: System, headers: dict[str, dict[str, str]], catalog: dict[str, list[dict]]
) -> None:
    samples = {
        "part_number_id": catalog["part-numbers"][1 % len(catalog["part-numbers"])]["id"],
        "work_center_id": catalog["work-centers"][0]["id"],
        "customer_id": catalog["customers"][0]["id"],
        "level_id": catalog["levels"][0]["id"],
        "area_id": catalog["areas"][0]["id"],
        "prepared_by_id": catalog["prepared-by"][0]["id"],
        "inspection_item_id": catalog["inspection-items"][0]["id"],
        "process_code_id": catalog["process-codes"][0]["id"],
        "final_disposition_id": catalog["dispositions"][0]["id"],
        "failure_code_id": catalog["failure-codes"][0]["id"],
        "operation": "OP-40",
        "quantity": 2,
        "serial_number": "SN-9",
        "date": dt.date.today().isoformat(),
        "defect_description": "Crack",
        "process_description": "Casting",
        "analysis": "Cooling",
        "disposition_date": dt.date.today().isoformat(),
        "rework_hours": 1,
        "responsible_department": "Casting",
        "material_scrap_cost": 1,
        "other_cost": 1,
        "engineering_remarks": "None",
        "repair_process": "Blend",
        "disposition_approval_date": dt.date.today().isoformat(),
        "sdr_number": "SDR-1",
    }
    with system.client() as client:
        rules = client.get("/api/v1/records/rules", headers=headers["Inspector"]).json()
        me = {role: client.get("/api/v1/auth/me", headers=headers[role]).json()["id"] for role in ROLE_USERS}
        for field in ("analysis_by_id", "engineer_id", "disposition_approved_by_id"):
            samples[field] = me["Admin"]
        every_field = {f for fields in rules["sections"].values() for f in fields if f != "report_number"}
        assert every_field <= set(samples), every_field - set(samples)
        created = client.post("/api/v1/records", json=_new_record(catalog), headers=headers["Inspector"]).json()
        rid, version = created["id"], created["version"]
        refused = 0
        for role in ROLE_USERS:
            allowed = set(rules["editable_fields"][role])
            for field in sorted(every_field - allowed):
                response = client.patch(f"/api/v1/records/{rid}", json={field: samples[field], "version": version},
                                        headers=headers[role])  # fmt: skip
                assert response.status_code == 403, (role, field, response.text)
                assert field in [e["field"] for e in response.json().get("errors", [])] or field in response.text
                refused += 1
        assert refused > 40  # the table forbids most fields to most roles
        for role in ("Operator", "Tech Engineer", "Quality Engineer"):
            create = client.post("/api/v1/records", json=_new_record(catalog), headers=headers[role])
            assert create.status_code == 403, role
        assert client.post("/api/v1/records", json=_new_record(catalog), headers=headers["Admin"]).status_code == 201


def test_bad_input_is_refused_with_the_field_named_never_a_500(
    system: System, headers: dict[str, dict[str, str]], catalog: dict[str, list[dict]]
) -> None:
    inspector = headers["Inspector"]
    cases = {
        "quantity": _new_record(catalog, quantity=-4),
        "defect_description": _new_record(catalog, defect_description=""),
        "operation": _new_record(catalog, operation="x" * 500),
        "part_number_id": _new_record(catalog, part_number_id=987654321),
        "customer_id": _new_record(catalog, customer_id=catalog["work-centers"][0]["id"]),  # another catalog's id
        "date": _new_record(catalog, date="yesterday"),
    }
    missing = _new_record(catalog)
    del missing["process_code_id"]
    cases["process_code_id"] = missing
    with system.client() as client:
        for field, body in cases.items():
            response = client.post("/api/v1/records", json=body, headers=inspector)
            assert 400 <= response.status_code < 500, (field, response.text)
            assert response.headers["content-type"].startswith("application/problem+json")
            assert field in [e["field"] for e in response.json()["errors"]], (field, response.text)
        created = client.post("/api/v1/records", json=_new_record(catalog), headers=inspector).json()
        rid, version = created["id"], created["version"]
        nulled = client.patch(f"/api/v1/records/{rid}", json={"operation": None, "version": version}, headers=inspector)
        assert nulled.status_code == 422
        assert "operation" in nulled.text
        unknown_user = client.patch(f"/api/v1/records/{rid}", json={"engineer_id": 987654321, "version": version},
                                    headers=headers["Tech Engineer"])  # fmt: skip
        assert unknown_user.status_code == 422
        assert "engineer_id" in unknown_user.text
        cleared = client.patch(f"/api/v1/records/{rid}", json={"serial_number": None, "version": version},
                               headers=inspector)  # fmt: skip
        assert cleared.status_code == 200
        assert cleared.json()["serial_number"] is None

        admin = headers["Admin"]
        retired = catalog["areas"][-1]
        deactivated = client.patch(f"/api/v1/catalogs/areas/{retired['id']}", json={"is_active": False}, headers=admin)
        assert deactivated.status_code == 200, deactivated.text
        inactive = client.post("/api/v1/records", json=_new_record(catalog, area_id=retired["id"]), headers=inspector)
        assert inactive.status_code == 422
        assert "area_id" in inactive.text
        client.patch(f"/api/v1/catalogs/areas/{retired['id']}", json={"is_active": True}, headers=admin)

        existing = catalog["customers"][0]["item_number"]
        dup = client.post("/api/v1/catalogs/customers", json={"item_number": existing, "item_name": "Again"},
                          headers=admin)  # fmt: skip
        assert dup.status_code == 409
        dup_user = client.post("/api/v1/users", headers=admin, json={
            "username": "INS001", "full_name": "Someone Else", "role": "Inspector", "password": "long-enough-1",
        })  # fmt: skip
        assert dup_user.status_code == 409
        bad_role = client.post("/api/v1/users", headers=admin, json={
            "username": "NEW001", "full_name": "New Person", "role": "Superuser", "password": "long-enough-1",
        })  # fmt: skip
        assert 400 <= bad_role.status_code < 500
        assert "role" in bad_role.text


def test_foreign_expired_and_edited_tokens_are_refused_everywhere(
    system: System, headers: dict[str, dict[str, str]]
) -> None:
    real = TokenSigner(load_private_key((system.data_dir / "auth_signing_key.pem").read_bytes()))
    expired, _ = real.issue(user_id=1, username="ADM001", full_name="x", role="Admin", ttl_seconds=60,
                            now=time.time() - 7200)  # fmt: skip
    header, payload, signature = headers["Operator"]["Authorization"].removeprefix("Bearer ").split(".")
    import base64
    import json

    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    claims["role"] = "Admin"
    edited_payload = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=").decode()
    bad_tokens = {
        "foreign key": TokenFactory().token("Admin"),
        "expired": expired,
        "edited role": f"{header}.{edited_payload}.{signature}",
    }
    targets = [
        (system.gateway, "/api/v1/records"),
        (system.gateway, "/api/v1/catalogs"),
        (system.services["auth"], "/api/v1/auth/me"),
        (system.services["auth"], "/api/v1/users"),
        (system.services["masterdata"], "/api/v1/catalogs"),
        (system.services["records"], "/api/v1/records"),
    ]
    for what, token in bad_tokens.items():
        for base, path in targets:
            response = httpx.get(base + path, headers={"Authorization": f"Bearer {token}"}, timeout=10)
            assert response.status_code == 401, (what, base + path, response.text)
    for base, path in targets:  # the real token works directly too
        assert httpx.get(base + path, headers=headers["Admin"], timeout=10).status_code == 200


def test_api_docs_cover_the_whole_public_api(system: System) -> None:
    with system.client() as client:
        assert client.get("/api/docs").status_code == 200
        document = client.get("/api/openapi.json").json()
        paths = document["paths"]
        for path in (
            "/api/v1/auth/login",
            "/api/v1/auth/verify-password",
            "/api/v1/users",
            "/api/v1/catalogs/{kind}",
            "/api/v1/records",
            "/api/v1/records/{record_id}/reopen",
            "/api/v1/records/{record_id}/history",
            "/api/v1/records/{record_id}/texts/{field}/{language}",
            "/api/v1/records/export.csv",
            "/api/v1/analytics/pareto",
        ):
            assert path in paths, sorted(paths)
        for name in ("auth", "masterdata", "records"):
            assert httpx.get(system.services[name] + "/schema/openapi.json", timeout=10).status_code == 200


def _requests_counted(text: str, component: str) -> float:
    return sum(
        sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
        if sample.name == "dmt_http_requests_total" and sample.labels.get("component") == component
    )


def test_every_component_serves_metrics_that_move_with_traffic(
    system: System, headers: dict[str, dict[str, str]]
) -> None:
    components = {"gateway": system.gateway, **system.services}
    with httpx.Client(timeout=10) as plain:
        before = {}
        for name, url in components.items():
            answer = plain.get(f"{url}/metrics")  # scrapers carry no token
            assert answer.status_code == 200, (name, answer.text)
            assert answer.headers["content-type"].startswith("text/plain")
            before[name] = _requests_counted(answer.text, name)
        with system.client() as client:
            # Labels may come from the gateway's cache, so masterdata and auth are each asked directly.
            _expect(client.get("/api/v1/records", params={"page_size": 5}, headers=headers["Operator"]))
            _expect(client.get("/api/v1/catalogs/part-numbers", params={"page_size": 5}, headers=headers["Operator"]))
            _expect(client.get("/api/v1/auth/me", headers=headers["Operator"]))
        for name, url in components.items():
            after = _requests_counted(plain.get(f"{url}/metrics").text, name)
            assert after > before[name], name


def test_concurrent_writers_get_no_errors_and_every_acknowledged_record_is_stored(
    system: System, headers: dict[str, dict[str, str]], catalog: dict[str, list[dict]]
) -> None:
    """32 clients create records through the gateway as fast as they can (30 s on SQLite, the
    embedded default whose single writer is the usual worry; 10 s on the servers)."""
    seconds = 30.0 if system.layout == "sqlite" else 10.0
    clients = 32
    inspectors = [headers["Inspector"], headers["Admin"]]

    async def drive() -> tuple[list[int], list[str]]:
        acknowledged: list[int] = []
        failures: list[str] = []
        limits = httpx.Limits(max_connections=clients)
        async with httpx.AsyncClient(base_url=system.gateway, timeout=60, limits=limits) as client:
            deadline = time.monotonic() + seconds

            async def writer(n: int) -> None:
                while time.monotonic() < deadline:
                    body = _new_record(catalog, serial_number=f"LOAD-{n}-{len(acknowledged)}")
                    response = await client.post("/api/v1/records", json=body, headers=inspectors[n % 2])
                    if response.status_code == 201:
                        acknowledged.append(response.json()["id"])
                    else:
                        failures.append(f"{response.status_code} {response.text[:200]}")

            await asyncio.gather(*(writer(n) for n in range(clients)))
        return acknowledged, failures

    acknowledged, failures = asyncio.run(drive())
    print(f"{system.layout}: {len(acknowledged)} records created in {seconds:.0f} s by {clients} clients")
    assert failures == []
    assert len(acknowledged) > clients  # it did write, and more than one round

    async def stored_ids() -> set[int]:
        engine = create_async_engine(system.database_url("records"))
        try:
            async with engine.connect() as conn:
                rows = await conn.execute(text("SELECT id FROM dmt_record WHERE serial_number LIKE 'LOAD-%'"))
                return {row[0] for row in rows}
        finally:
            await engine.dispose()

    assert set(acknowledged) == asyncio.run(stored_ids())
    assert len(set(acknowledged)) == len(acknowledged)
    logs = (system.data_dir / "run.log").read_text().lower()
    assert "database is locked" not in logs
    assert "deadlock" not in logs


def test_with_the_records_service_stopped_records_answer_503_fast_and_catalogs_still_work(
    system: System, headers: dict[str, dict[str, str]]
) -> None:
    pid = int((system.data_dir / "run" / "records.pid").read_text())
    os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        try:
            httpx.get(system.services["records"] + "/health", timeout=0.5)
        except httpx.TransportError:
            break
        time.sleep(0.2)
    with system.client() as client:
        started = time.monotonic()
        response = client.get("/api/v1/records", headers=headers["Inspector"])
        elapsed = time.monotonic() - started
        assert response.status_code == 503
        assert elapsed < 1.0
        assert response.headers["content-type"].startswith("application/problem+json")
        assert client.get("/api/v1/catalogs", headers=headers["Inspector"]).status_code == 200
        ready = client.get("/health/ready")
        assert ready.status_code == 503
        assert "records" in ready.text
