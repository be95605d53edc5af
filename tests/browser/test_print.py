"""The printed forms of a record (/records/{id}/print/tag|mrb|car) in Chromium: every field of the
legacy tag filled from the record, the two sign-off blocks, a QR code that reads back as the
record's address, one page of Letter and of A4, user text printed literally, the MRB total.

The records are made here through the public API (created by an inspector, dispositioned by the
engineer, closed by Quality), so the tests do not depend on the demo records. The pages are read
by a user of this module's own (PRT001), so changing the language here changes nobody else's.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

import httpx
import pytest

from dmt_shared.contracts import RECORD_CATALOG_FIELDS

from browser.steps import LEGACY_TAG_FIELDS, read_qr_codes
from running import System

if TYPE_CHECKING:
    from playwright.sync_api import Page

pytestmark = pytest.mark.browser

READER = ("PRT001", "printer123")
READER_ZONE = "Asia/Shanghai"
XSS = '<img src=x onerror="window.__xss=1"><script>window.__xss=2</script>'

#: The values of the legacy tag (form DMT-001) that a filled record prints, by API field name.
TAG_FIELDS = [*LEGACY_TAG_FIELDS, "status"]


@dataclass
class Records:
    closed: dict[str, Any]
    hostile: dict[str, Any]


def _sign_in(client: httpx.Client, username: str, password: str) -> dict[str, str]:
    answer = client.post("/api/v1/auth/login", json={"username": username, "password": password})
    assert answer.status_code == 200, answer.text
    return {"Authorization": f"Bearer {answer.json()['access_token']}"}


def _first_id(client: httpx.Client, headers: dict[str, str], path: str, **query: str) -> int:
    answer = client.get(f"/api/v1{path}", params={"page_size": 1, **query}, headers=headers)
    assert answer.status_code == 200, answer.text
    return int(answer.json()["items"][0]["id"])


def _checked(answer: httpx.Response) -> dict[str, Any]:
    assert answer.status_code in (200, 201), answer.text
    return answer.json()


@pytest.fixture(scope="module")
def records(system: System) -> Records:
    """A record filled and closed by the book, and an open one whose texts are markup."""
    with system.client() as client:
        admin = _sign_in(client, "ADM001", "admin123")
        user = {"username": READER[0], "full_name": "Print Reader", "role": "Inspector", "password": READER[1]}
        created = client.post("/api/v1/users", json={**user, "language": "en", "time_zone": READER_ZONE}, headers=admin)
        assert created.status_code in (201, 409), created.text
        ids = {
            kind: _first_id(client, admin, f"/catalogs/{kind}", is_active="true")
            for kind in RECORD_CATALOG_FIELDS.values()
        }
        engineer_id = _first_id(client, admin, "/users", q="ENG001")
        operator_id = _first_id(client, admin, "/users", q="OPR001")
        inspector = _sign_in(client, "INS001", "employee123")
        engineer = _sign_in(client, "ENG001", "engineer123")
        quality = _sign_in(client, "QUA001", "quality123")

        def create(text: str, serial: str) -> dict[str, Any]:
            body = {
                "part_number_id": ids["part-numbers"],
                "work_center_id": ids["work-centers"],
                "customer_id": ids["customers"],
                "level_id": ids["levels"],
                "area_id": ids["areas"],
                "prepared_by_id": ids["prepared-by"],
                "inspection_item_id": ids["inspection-items"],
                "process_code_id": ids["process-codes"],
                "operation": f"OP-30 final machining {text}".strip(),
                "quantity": 12,
                "date": "2026-11-20",
                "serial_number": serial,
                "defect_description": f"Porosity on the flange face, 2 mm {text}".strip(),
                "language": "en",
            }
            return _checked(client.post("/api/v1/records", json=body, headers=inspector))

        def disposition(record: dict[str, Any], text: str) -> dict[str, Any]:
            body = {
                "process_description": f"Pour temperature low {text}".strip(),
                "analysis": f"Furnace thermocouple drifted 15 °C {text}".strip(),
                "analysis_by_id": operator_id,
                "final_disposition_id": ids["dispositions"],
                "failure_code_id": ids["failure-codes"],
                "engineer_id": engineer_id,
                "disposition_date": "2026-11-22",
                "rework_hours": 1.5,
                "responsible_department": f"Casting {text}".strip(),
                "material_scrap_cost": 1234.1,
                "other_cost": 0.2,
                "engineering_remarks": f"Check the thermocouple weekly {text}".strip(),
                "repair_process": f"Grind 0.5 mm, penetrant test {text}".strip(),
                # The texts are English whatever the engineer's own language is.
                "language": "en",
            }
            headers = {**engineer, "If-Match": f'"{record["version"]}"'}
            return _checked(client.patch(f"/api/v1/records/{record['id']}", json=body, headers=headers))

        closed = disposition(create("", "SN-PRINT-1"), "")
        close = {"password": "quality123", "disposition_approval_date": "2026-11-23", "sdr_number": "SDR-7781"}
        headers = {**quality, "If-Match": f'"{closed["version"]}"'}
        closed = _checked(client.post(f"/api/v1/records/{closed['id']}/close", json=close, headers=headers))
        hostile = disposition(create(XSS, XSS[:64]), XSS)
    return Records(closed=closed, hostile=hostile)


@pytest.fixture
def reader(page: Callable[..., Page], login: Callable[[Page, str, str], None]) -> Callable[..., Page]:
    """A page signed in as this module's reader: ``reader()`` or ``reader(device_scale_factor=2)``."""

    def open_page(**options: Any) -> Page:
        opened = page(**options)
        login(opened, *READER)
        return opened

    return open_page


def show(browser_page: Page, record: dict[str, Any], form: str) -> None:
    browser_page.goto(f"/records/{record['id']}/print/{form}")
    browser_page.wait_for_selector(f'main[data-page="print"] .print-page[data-form="{form}"]')


def values(browser_page: Page) -> dict[str, str]:
    """Each [data-print-field] box's text, by field name."""
    pairs = browser_page.eval_on_selector_all(
        "[data-print-field]", "boxes => boxes.map(box => [box.dataset.printField, box.textContent.trim()])"
    )
    return dict(pairs)


def choose_language(browser_page: Page, language: str, print_word: str) -> None:
    browser_page.select_option("#print-language", language)
    browser_page.wait_for_selector(f'main[data-page="print"] #print-button:text-is("{print_word}")')
    browser_page.wait_for_load_state("networkidle")


def pdf_pages(browser_page: Page, paper: str) -> int:
    browser_page.click(f"#paper-{paper.lower()}")
    browser_page.wait_for_selector(f'.print-page[data-paper-loaded="{paper.lower()}"]')
    document = browser_page.pdf(format=paper)
    return len(re.findall(rb"/Type\s*/Page(?![a-zA-Z])", document))


def test_the_tag_of_a_closed_record_prints_every_field_and_both_signatures(
    reader: Callable[..., Page], records: Records, shot: Callable[[Page, str], Path]
) -> None:
    record = records.closed
    browser_page = reader()
    show(browser_page, record, "tag")
    browser_page.wait_for_load_state("networkidle")

    printed = values(browser_page)
    assert [name for name in TAG_FIELDS if not printed.get(name)] == []
    assert printed["report_number"] == record["report_number"]
    assert printed["part_number_id"].startswith(record["part_number"]["item_number"])
    assert printed["engineer_id"] == "ENG001 - Zhang Wei"
    assert printed["quantity"] == "12"
    assert printed["date"] == "11/20/2026"
    assert printed["version"] == str(record["version"])
    assert "Defective Material Tag — DMT-001" in browser_page.inner_text("#print-title")
    assert browser_page.locator("#print-stamp").count() == 0

    engineering = browser_page.locator("#signature-engineering")
    assert "Zhang Wei" in engineering.locator('[data-signature-part="name"]').inner_text()
    assert engineering.locator('[data-signature-part="time"]').inner_text() == "11/22/2026"
    assert "Disposition decided" in engineering.locator('[data-signature-part="meaning"]').inner_text()

    signature = next(s for s in record["signatures"] if s["meaning"] == "approved_disposition")
    quality = browser_page.locator("#signature-quality")
    assert quality.get_attribute("data-signed") == "true"
    assert signature["signer_name"] in quality.locator('[data-signature-part="name"]').inner_text()
    assert quality.locator('[data-signature-part="role"]').inner_text() == "Quality Engineer"
    signed_at = datetime.fromisoformat(signature["signed_at"].replace("Z", "+00:00")).astimezone(ZoneInfo(READER_ZONE))
    when = quality.locator('[data-signature-part="time"]').inner_text()
    assert signed_at.strftime("%m/%d/%Y") in when
    assert "GMT+8" in when
    assert "Approved disposition / Disposición aprobada / 批准处置" in quality.inner_text()
    assert shot(browser_page, "print-tag-en").stat().st_size > 0

    try:
        for language, word in (("es", "Imprimir"), ("zh", "打印")):
            choose_language(browser_page, language, word)
            assert browser_page.evaluate("document.documentElement.lang").startswith(language)
            assert values(browser_page)["date"] == {"es": "20/11/2026", "zh": "2026/11/20"}[language]
            assert shot(browser_page, f"print-tag-{language}").stat().st_size > 0
    finally:
        choose_language(browser_page, "en", "Print")


def test_the_qr_code_of_the_tag_reads_back_as_the_records_address(
    reader: Callable[..., Page], records: Records, system: System
) -> None:
    record = records.closed
    browser_page = reader(device_scale_factor=2)
    show(browser_page, record, "tag")
    browser_page.wait_for_function("() => document.querySelector('#print-qr').naturalWidth > 0")
    address = f"{system.gateway}/records/{record['id']}"
    assert read_qr_codes(browser_page.locator("#print-qr").screenshot()) == [address]
    assert browser_page.inner_text("#print-qr-url") == address


def test_the_tag_fits_one_page_of_letter_and_of_a4(reader: Callable[..., Page], records: Records) -> None:
    browser_page = reader()
    show(browser_page, records.hostile, "tag")  # the longer texts of the two
    assert pdf_pages(browser_page, "Letter") == 1
    assert pdf_pages(browser_page, "A4") == 1


def test_record_text_prints_literally_and_an_open_record_is_stamped(
    reader: Callable[..., Page], records: Records
) -> None:
    record = records.hostile
    browser_page = reader()
    for form, fields in (
        ("tag", ["operation", "serial_number", "defect_description"]),
        ("mrb", ["defect_description", "analysis", "repair_process", "engineering_remarks", "responsible_department"]),
        ("car", ["defect_description", "analysis", "repair_process", "engineering_remarks"]),
    ):
        show(browser_page, record, form)
        printed = values(browser_page)
        for name in fields:
            assert XSS[:60] in printed[name], (form, name)
        assert browser_page.locator(".print-page img:not(#print-qr), .print-page script").count() == 0
        assert browser_page.evaluate("window.__xss") is None
        text = browser_page.inner_text(".print-page")
        assert "undefined" not in text
        assert "null" not in text
        stamp = browser_page.locator("#print-stamp")
        assert stamp.is_visible()
        assert stamp.inner_text().split() == ["NOT", "APPROVED", "SIN", "APROBAR", "未批准"]
    # Not approved yet: the quality block is left for ink, and nothing prints as "null".
    show(browser_page, record, "tag")
    quality = browser_page.locator("#signature-quality")
    assert quality.get_attribute("data-signed") == "false"
    assert quality.locator('[data-signature-part="name"]').inner_text() == ""
    assert browser_page.locator("#signature-engineering [data-signature-part='name']").inner_text() != ""


def test_the_mrb_sheet_adds_scrap_and_other_cost(
    reader: Callable[..., Page], records: Records, shot: Callable[[Page, str], Path]
) -> None:
    record = records.closed
    browser_page = reader()
    show(browser_page, record, "mrb")
    printed = values(browser_page)
    assert printed["material_scrap_cost"] == "1,234.10"
    assert printed["other_cost"] == "0.20"
    assert printed["total_cost"] == "1,234.30"
    assert printed["rework_hours"] == "1.5"
    assert printed["analysis"].endswith("Furnace thermocouple drifted 15 °C")
    assert printed["responsible_department"] == "Casting"
    signoff = browser_page.eval_on_selector_all("[data-signoff]", "rows => rows.map(row => row.dataset.signoff)")
    assert signoff == ["engineering", "quality", "production", "plant-manager"]
    assert "Alejandro" in browser_page.inner_text("#print-esignatures li[data-meaning='approved_disposition']")
    assert shot(browser_page, "print-mrb-en").stat().st_size > 0


def test_the_car_is_numbered_from_the_report_and_says_problem_cause_and_action(
    reader: Callable[..., Page], records: Records, shot: Callable[[Page, str], Path]
) -> None:
    record = records.closed
    browser_page = reader()
    show(browser_page, record, "car")
    printed = values(browser_page)
    assert printed["car_number"] == f"CAR-{record['report_number']}"
    assert printed["sdr_number"] == "SDR-7781"
    assert printed["defect_description"].startswith("Porosity on the flange face")
    assert printed["analysis"].startswith("Furnace thermocouple")
    assert printed["repair_process"].startswith("Grind 0.5 mm")
    assert browser_page.locator("[data-print-ink='due_date']").inner_text() == ""
    assert shot(browser_page, "print-car-en").stat().st_size > 0


def test_the_toolbar_remembers_the_paper_prints_and_does_not_print_itself(
    reader: Callable[..., Page], records: Records
) -> None:
    browser_page = reader()
    browser_page.add_init_script("window.print = () => { window.__printed = (window.__printed || 0) + 1; };")
    show(browser_page, records.closed, "tag")
    browser_page.click("#paper-a4")
    browser_page.wait_for_selector('.print-page[data-paper-loaded="a4"]')
    assert browser_page.get_attribute("#print-paper-css", "href") == "/ui/css/paper-a4.css"
    browser_page.reload()
    browser_page.wait_for_selector('.print-page[data-paper-loaded="a4"]')
    assert browser_page.get_attribute("#paper-a4", "aria-pressed") == "true"
    assert browser_page.get_attribute("#paper-letter", "aria-pressed") == "false"

    browser_page.click("#print-button")
    assert browser_page.evaluate("window.__printed") == 1

    browser_page.click("#print-form-mrb")
    browser_page.wait_for_selector('.print-page[data-form="mrb"]')
    assert browser_page.get_attribute("#print-form-mrb", "aria-current") == "page"

    browser_page.emulate_media(media="print")
    assert not browser_page.locator("#print-toolbar").is_visible()
    assert browser_page.locator(".print-page").is_visible()
    assert browser_page.locator("#print-footer").is_visible()
    browser_page.goto(f"/records/{records.closed['id']}")
    browser_page.wait_for_selector('main[data-page="record"]')
    assert not browser_page.locator("#app-header").is_visible()
