"""The whole life of one record through the web page, one person after another, each reading the
page in their own language: an inspector records the part, an operator analyses the process, an
engineer decides the disposition, a quality engineer signs the closing and prints the tag.

The people are made for this test (with the Admin's API), so their languages and time zones are
theirs to change. Records are translated by a LibreTranslate stand-in that the browser tests'
system runs with (``[es] <text>``), so the page's machine-translation marks can be seen.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from browser.steps import LEGACY_TAG_FIELDS, PASSWORD, Admin, choose, open_record, read_qr_codes
from running import System

if TYPE_CHECKING:
    from playwright.sync_api import Page

#: Words of the page in each language (the navigation's link to the list, section 4's title).
RECORDS_LINK = {"en": "Records", "es": "Registros", "zh": "记录"}
SECTION_FOUR = {"en": "4. Engineering disposition", "es": "4. Disposición de ingeniería", "zh": "4. 工程处置"}


def test_a_record_goes_from_the_shop_floor_to_a_printed_closed_tag_through_the_page(
    system: System,
    admin: Admin,
    page: Callable[..., Page],
    login: Callable[[Page, str, str], None],
    shot: Callable[[Page, str], Path],
) -> None:
    from playwright.sync_api import expect

    inspector = admin.person("Inspector", "en", "America/Mexico_City")
    operator = admin.person("Operator", "es", "America/Mexico_City")
    engineer = admin.person("Tech Engineer", "zh", "Asia/Shanghai")
    quality = admin.person("Quality Engineer", "en", "UTC")
    part = admin.first("part-numbers", 3)

    # 1. The inspector records the nonconforming part, choosing every catalog by typing.
    floor = page(timezone_id="America/Mexico_City")
    login(floor, inspector["username"], PASSWORD)
    floor.locator("#app-header nav").get_by_role("link", name="New record").click()
    expect(floor.locator('main[data-page="record-new"]')).to_be_visible()
    choose(floor, "part_number_id", part["item_number"])
    choose(floor, "work_center_id", "WC-009")
    choose(floor, "customer_id", "A135")
    choose(floor, "level_id", "L2")
    choose(floor, "area_id", admin.first("areas")["item_number"])
    if not floor.input_value("#field-prepared_by_id"):
        choose(floor, "prepared_by_id", admin.first("prepared-by")["item_number"])
    choose(floor, "inspection_item_id", admin.first("inspection-items", 1)["item_number"])
    choose(floor, "process_code_id", admin.first("process-codes", 2)["item_number"])
    floor.fill("[name=operation]", "OP-40 finish turning")
    floor.fill("[name=quantity]", "7")
    floor.fill("[name=serial_number]", "SN-LIFE-0001")
    floor.fill("[name=defect_description]", "Chatter marks on the sealing face")
    floor.click("#create-record")
    expect(floor.locator('main[data-page="record"]')).to_be_visible()
    record_id = int(re.search(r"/records/(\d+)$", floor.url).group(1))  # type: ignore[union-attr]
    created = admin.record(record_id)
    expect(floor.locator("#record-number")).to_have_text(created["report_number"])
    expect(floor.locator("#record-status")).to_have_attribute("data-status", "open")
    assert created["part_number_id"] == part["id"]
    assert created["created_by"]["username"] == inspector["username"]
    shot(floor, "lifecycle-1-inspector-en")

    # 2. The operator, reading Spanish, finds it by its serial number in the list.
    bench = page(timezone_id="America/Mexico_City")
    login(bench, operator["username"], PASSWORD)
    expect(bench.locator("#app-header nav")).to_contain_text(RECORDS_LINK["es"])
    bench.fill("#filter-q", "SN-LIFE-0001")
    bench.press("#filter-q", "Enter")
    expect(bench.locator("#records-total")).to_contain_text("1")
    bench.locator(f'tr[data-record-id="{record_id}"] a').first.click()
    expect(bench.locator('main[data-page="record"]')).to_be_visible()
    # The inspector's English reaches the operator as a machine translation, marked as one, and
    # the original is one step away.
    description = bench.locator('[data-text-field="defect_description"]')
    for _ in range(40):  # the translator works in the background; the page shows what is there
        if description.get_attribute("data-text-origin") == "machine":
            break
        bench.wait_for_timeout(500)
        open_record(bench, record_id)
    expect(description).to_have_attribute("data-text-origin", "machine")
    expect(description).to_contain_text("[es] Chatter marks on the sealing face")
    # The history names the translator in the reader's words too.
    translated = bench.locator('#history li.rec-event[data-action="translated"]').first
    expect(translated).to_contain_text("Traductor automático")
    expect(translated).not_to_contain_text("Machine translation")
    bench.click("#show-original-defect_description")
    expect(bench.locator("#original-defect_description")).to_contain_text("Chatter marks on the sealing face")
    # Section 1 is the inspector's: plain text for the operator, with who may edit it.
    expect(bench.locator('fieldset[data-section="1"]')).to_have_attribute("data-editable", "false")
    expect(bench.locator("[name=quantity]")).to_have_count(0)
    expect(bench.locator('fieldset[data-section="1"] .rec-editable-by')).to_be_visible()
    bench.fill("[name=process_description]", "Torneado de acabado con inserto desgastado")
    bench.fill("[name=analysis]", "El inserto pasó su vida útil")
    bench.click("#save-record")
    expect(bench.locator("#record-version")).to_have_attribute("data-version", str(created["version"] + 1))
    expect(bench.locator("#record-status")).to_have_attribute("data-status", "in_analysis")
    shot(bench, "lifecycle-2-operator-es")

    # 3. The engineer, reading Chinese in Shanghai, decides the disposition and the cost.
    office = page(timezone_id="Asia/Shanghai", locale="zh-CN")
    login(office, engineer["username"], PASSWORD)
    open_record(office, record_id)
    expect(office.locator('fieldset[data-section="4"] legend')).to_have_text(SECTION_FOUR["zh"])
    choose(office, "final_disposition_id", "RW")
    choose(office, "failure_code_id", "FC-02")
    choose(office, "engineer_id", engineer["username"])
    office.fill("[name=disposition_date]", "2026-11-20")
    office.fill("[name=rework_hours]", "2.5")
    office.fill("[name=material_scrap_cost]", "120.40")
    office.fill("[name=other_cost]", "35.10")
    office.fill("[name=responsible_department]", "Machining")
    office.fill("[name=repair_process]", "Re-turn the sealing face, check flatness")
    office.click("#save-record")
    expect(office.locator("#record-status")).to_have_attribute("data-status", "dispositioned")
    # The history says when, in the engineer's time zone.
    expect(office.locator("#history")).to_contain_text("GMT+8")
    shot(office, "lifecycle-3-engineer-zh")

    # 4. The operator's page still holds the version before the engineer's save: a further change
    # there is a stale save, which shows the engineer's change and keeps what the operator typed.
    bench.fill("[name=analysis]", "El inserto pasó su vida útil; falta control de conteo")
    bench.click("#save-record")
    conflict = bench.locator("#conflict")
    expect(conflict).to_be_visible()
    expect(conflict.locator('tr[data-field="failure_code_id"]')).to_contain_text("FC-02")
    expect(conflict).to_contain_text(engineer["full_name"])
    shot(bench, "lifecycle-4-conflict-es")
    bench.click("#conflict-keep-mine")
    expect(conflict).to_have_count(0)
    merged = admin.record(record_id)
    assert merged["failure_code"]["item_number"] == "FC-02"
    assert (
        merged["texts"]["analysis"]["values"]["es"]["text"] == "El inserto pasó su vida útil; falta control de conteo"
    )

    # 5. The quality engineer signs the closing with the password.
    desk = page(timezone_id="UTC")
    login(desk, quality["username"], PASSWORD)
    open_record(desk, record_id)
    desk.click("#close-record")
    expect(desk.locator("#sign-meaning")).to_be_visible()
    desk.fill("#sign-password", PASSWORD)
    desk.fill("#sign-sdr", "SDR-LIFE-1")
    desk.click("#sign-submit")
    expect(desk.locator("#record-status")).to_have_attribute("data-status", "closed")
    closed = admin.record(record_id)
    assert closed["is_closed"] is True
    assert closed["disposition_approved_by"]["username"] == quality["username"]
    expect(desk.locator('#signatures li[data-meaning="approved_disposition"]')).to_contain_text(quality["full_name"])
    shot(desk, "lifecycle-5-quality-en")

    # 6. ... and prints the DMT tag: every field of the legacy form filled, both sign-offs, and a
    # QR code that opens the record.
    desk.click("#print-tag")
    tag = desk.locator('.print-page[data-form="tag"]')
    expect(tag).to_be_visible()
    for name in LEGACY_TAG_FIELDS:
        box = tag.locator(f'[data-print-field="{name}"]').first
        assert box.inner_text().strip(), f"the printed tag leaves {name} empty"
    expect(tag.locator('[data-print-field="serial_number"]').first).to_contain_text("SN-LIFE-0001")
    expect(tag.locator('[data-print-field="part_number_id"]').first).to_contain_text(part["item_number"])
    expect(desk.locator("#signature-engineering")).to_contain_text(engineer["full_name"])
    expect(desk.locator("#signature-quality")).to_have_attribute("data-signed", "true")
    expect(desk.locator("#signature-quality")).to_contain_text(quality["full_name"])
    qr = desk.locator("#print-qr")
    expect(qr).to_be_visible()
    expect(qr).to_have_js_property("complete", True)
    assert read_qr_codes(qr.screenshot()) == [f"{system.gateway}/records/{record_id}"]
    shot(desk, "lifecycle-6-tag-en")

    # 7. The language chosen in the header changes the whole page and stays with the person.
    open_record(desk, record_id)
    desk.select_option("#language-select", "es")
    expect(desk.locator('fieldset[data-section="4"] legend')).to_have_text(SECTION_FOUR["es"])
    desk.select_option("#language-select", "zh")
    expect(desk.locator('fieldset[data-section="4"] legend')).to_have_text(SECTION_FOUR["zh"])
    expect(desk.locator("#app-header nav")).to_contain_text(RECORDS_LINK["zh"])
    assert admin.me(quality["username"])["language"] == "zh"
