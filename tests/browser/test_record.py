"""The record page in a browser: creating a record through the form, each role editing only its
sections, a stale save settled in the conflict panel, closing as an electronic signature, user
text shown as text, and the page in English, Spanish and Chinese for every role.

Other browser tests share the running system, so each test makes the records it works on
through the API and asks the API for every value it compares.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx
import pytest

from browser.steps import choose, open_record, use_language
from running import System

if TYPE_CHECKING:
    from playwright.sync_api import Page

pytestmark = pytest.mark.browser

PASSWORDS = {"ADM001": "admin123", "ENG001": "engineer123", "QUA001": "quality123"}
ROLES = {"inspector": "INS001", "operator": "OPR001", "engineer": "ENG001", "quality": "QUA001"}
MARKUP = '<img src=x onerror="window.__x=1">'
#: The core's title of section 1 in each language: the page reads in the language chosen.
SECTION_ONE = {"en": "1. Identification", "es": "1. Identificación", "zh": "1. 识别信息"}


def password(username: str) -> str:
    return PASSWORDS.get(username, "employee123")


class Api:
    """The public API as the demo users, one signed-in client each."""

    def __init__(self, system: System) -> None:
        self.system = system
        self.clients: dict[str, httpx.Client] = {}

    def __call__(self, username: str) -> httpx.Client:
        if username not in self.clients:
            client = self.system.client()
            answer = client.post("/api/v1/auth/login", json={"username": username, "password": password(username)})
            answer.raise_for_status()
            client.headers["Authorization"] = f"Bearer {answer.json()['access_token']}"
            client.headers["Accept-Language"] = "en"
            self.clients[username] = client
        return self.clients[username]

    def close(self) -> None:
        for client in self.clients.values():
            client.close()

    def first(self, kind: str) -> dict[str, Any]:
        query = {"is_active": "true", "sort": "item_number", "order": "asc", "page_size": 1}
        answer = self("ADM001").get(f"/api/v1/catalogs/{kind}", params=query)
        answer.raise_for_status()
        return answer.json()["items"][0]

    def user(self, username: str) -> dict[str, Any]:
        answer = self("ADM001").get("/api/v1/users", params={"q": username, "page_size": 5})
        answer.raise_for_status()
        return next(u for u in answer.json()["items"] if u["username"] == username)

    def record(self, record_id: int) -> dict[str, Any]:
        answer = self("ADM001").get(f"/api/v1/records/{record_id}")
        answer.raise_for_status()
        return answer.json()

    def create(self, **fields: Any) -> dict[str, Any]:
        """A new open record (as INS001), with `fields` over the defaults."""
        body = {
            "part_number_id": self.first("part-numbers")["id"],
            "work_center_id": self.first("work-centers")["id"],
            "customer_id": self.first("customers")["id"],
            "prepared_by_id": self.first("prepared-by")["id"],
            "inspection_item_id": self.first("inspection-items")["id"],
            "process_code_id": self.first("process-codes")["id"],
            "operation": "OP-20 drilling",
            "quantity": 4,
            "date": "2026-11-02",
            "defect_description": "Burr on the inner edge",
            "language": "en",
            **fields,
        }
        answer = self("INS001").post("/api/v1/records", json=body)
        assert answer.status_code == 201, answer.text
        return answer.json()

    def change(self, record: dict[str, Any], username: str = "ADM001", **fields: Any) -> dict[str, Any]:
        path = f"/api/v1/records/{record['id']}"
        version = {"If-Match": f'"{record["version"]}"'}
        answer = self(username).patch(path, json={**fields, "language": "en"}, headers=version)
        assert answer.status_code == 200, answer.text
        return answer.json()

    def dispositioned(self, **fields: Any) -> dict[str, Any]:
        """A record with its analysis and disposition given: ready to close."""
        record = self.create(**fields)
        return self.change(
            record,
            process_description="Deburring tool worn",
            analysis="Tool change interval too long",
            final_disposition_id=self.first("dispositions")["id"],
            failure_code_id=self.first("failure-codes")["id"],
            engineer_id=self.user("ENG001")["id"],
            rework_hours=1.5,
            responsible_department="Machining",
        )


@pytest.fixture
def api(system: System) -> Iterator[Api]:
    clients = Api(system)
    yield clients
    clients.close()


def signed_in(page_factory: Callable[..., Page], login: Callable[[Page, str, str], None], username: str) -> Page:
    page = page_factory()
    login(page, username, password(username))
    return page


def test_an_inspector_creates_a_record_through_the_form(
    page: Callable[..., Page], login: Callable[[Page, str, str], None], api: Api, shot: Callable[[Page, str], Path]
) -> None:
    from playwright.sync_api import expect

    browser_page = signed_in(page, login, "INS001")
    use_language(browser_page, "es")
    browser_page.goto("/records/new")
    expect(browser_page.locator('main[data-page="record-new"]')).to_be_visible()
    # The date starts at today and the required fields are marked.
    assert re.fullmatch(r"\d{4}-\d{2}-\d{2}", browser_page.input_value("[name=date]"))
    expect(browser_page.locator('[data-field="part_number_id"] .required')).to_be_visible()
    expect(browser_page.locator('[data-field="level_id"] .required')).to_have_count(0)

    pickers = {
        "part_number_id": "part-numbers",
        "work_center_id": "work-centers",
        "customer_id": "customers",
        "inspection_item_id": "inspection-items",
        "process_code_id": "process-codes",
    }
    chosen = {kind: api.first(kind) for kind in pickers.values()}
    for field, kind in pickers.items():
        choose(browser_page, field, chosen[kind]["item_number"])
    browser_page.fill("[name=operation]", "OP-50 honing")
    browser_page.fill("[name=quantity]", "3")
    browser_page.fill("[name=serial_number]", "SN-BROWSER-1")
    browser_page.fill("[name=defect_description]", "Chatter marks on the bore")
    if not browser_page.input_value("#field-prepared_by_id"):
        choose(browser_page, "prepared_by_id", "INS001")
    shot(browser_page, "record-new-es")
    browser_page.click("#create-record")

    expect(browser_page.locator('main[data-page="record"]')).to_be_visible()
    record_id = int(re.search(r"/records/(\d+)$", browser_page.url).group(1))  # type: ignore[union-attr]
    record = api.record(record_id)
    expect(browser_page.locator("#record-number")).to_have_text(record["report_number"])
    expect(browser_page.locator(".notice.success")).to_contain_text(record["report_number"])
    assert record["part_number_id"] == chosen["part-numbers"]["id"]
    assert record["process_code_id"] == chosen["process-codes"]["id"]
    assert record["operation"] == "OP-50 honing"
    assert record["quantity"] == 3
    assert record["created_by"]["username"] == "INS001"
    # The page reads Spanish, so the text was written as a Spanish original.
    assert record["texts"]["defect_description"]["source_language"] == "es"


def test_an_operator_edits_only_section_3_and_the_api_refuses_the_rest(
    page: Callable[..., Page], login: Callable[[Page, str, str], None], api: Api
) -> None:
    from playwright.sync_api import expect

    record = api.create()
    browser_page = signed_in(page, login, "OPR001")
    open_record(browser_page, record["id"])
    for number in (1, 2, 4, 5):
        expect(browser_page.locator(f'fieldset[data-section="{number}"]')).to_have_attribute("data-editable", "false")
    expect(browser_page.locator('fieldset[data-section="3"]')).to_have_attribute("data-editable", "true")
    # A field of another section is plain text, not an input.
    expect(browser_page.locator("[name=quantity]")).to_have_count(0)
    expect(browser_page.locator("#value-quantity")).to_have_text("4")
    expect(browser_page.locator('fieldset[data-section="1"] .rec-editable-by')).to_be_visible()

    browser_page.fill("[name=analysis]", "Clamp pressure dropped during the cycle")
    expect(browser_page.locator("#record-savebar")).to_have_attribute("data-dirty", "1")
    browser_page.click("#save-record")
    expect(browser_page.locator("#record-version")).to_have_attribute("data-version", str(record["version"] + 1))
    saved = api.record(record["id"])
    assert saved["texts"]["analysis"]["values"][saved["texts"]["analysis"]["source_language"]]["text"] == (
        "Clamp pressure dropped during the cycle"
    )
    assert saved["analysis_by"]["username"] == "OPR001"  # filled in from who wrote the analysis
    expect(browser_page.locator("#record-savebar")).to_have_attribute("data-dirty", "0")

    # The page's own API, forced to change a section 1 field: refused, naming the field.
    refused = browser_page.evaluate(
        """async ([id, version]) => {
            const { api } = await import("/ui/js/api.js");
            try {
                await api.patch(`/records/${id}`, { quantity: 9 }, { version });
                return { status: 200, fields: [] };
            } catch (error) {
                return { status: error.status, fields: error.errors.map((e) => e.field) };
            }
        }""",
        [record["id"], saved["version"]],
    )
    assert refused == {"status": 403, "fields": ["quantity"]}
    assert api.record(record["id"])["quantity"] == 4


def test_a_stale_save_shows_the_conflict_and_keeps_what_was_typed(
    page: Callable[..., Page], login: Callable[[Page, str, str], None], api: Api
) -> None:
    from playwright.sync_api import expect

    record = api.create()
    first = signed_in(page, login, "ENG001")
    second = signed_in(page, login, "ENG001")
    open_record(first, record["id"])
    open_record(second, record["id"])

    first.fill("[name=responsible_department]", "Foundry")
    first.keyboard.press("Control+s")  # the keyboard saves too
    expect(first.locator("#record-version")).to_have_attribute("data-version", str(record["version"] + 1))

    second.fill("[name=responsible_department]", "Heat treatment")
    second.fill("[name=rework_hours]", "2.5")
    second.click("#save-record")
    conflict = second.locator("#conflict")
    expect(conflict).to_be_visible()
    row = conflict.locator('tr[data-field="responsible_department"]')
    expect(row.locator(".rec-theirs")).to_have_text("Foundry")
    expect(row.locator(".rec-mine")).to_have_text("Heat treatment")
    expect(row).to_contain_text(api.user("ENG001")["full_name"])
    # Nothing typed was lost, and nothing was saved.
    assert second.input_value("[name=responsible_department]") == "Heat treatment"
    assert api.record(record["id"])["responsible_department"] == "Foundry"

    second.click("#conflict-keep-mine")
    expect(conflict).to_have_count(0)
    expect(second.locator("#record-version")).to_have_attribute("data-version", str(record["version"] + 2))
    saved = api.record(record["id"])
    assert saved["responsible_department"] == "Heat treatment"
    assert saved["rework_hours"] == 2.5


def test_closing_is_signed_with_the_password_and_a_wrong_one_is_said_at_the_password(
    page: Callable[..., Page], login: Callable[[Page, str, str], None], api: Api, shot: Callable[[Page, str], Path]
) -> None:
    from playwright.sync_api import expect

    record = api.dispositioned()
    browser_page = signed_in(page, login, "QUA001")
    open_record(browser_page, record["id"])
    browser_page.click("#close-record")
    expect(browser_page.locator("#sign-meaning")).to_be_visible()
    expect(browser_page.locator("#sign-approval-date")).not_to_have_value("")

    browser_page.fill("#sign-password", "not-my-password")
    browser_page.fill("#sign-sdr", "SDR-BROWSER-7")
    browser_page.click("#sign-submit")
    error = browser_page.locator('#sign-form [data-field="password"] .field-error')
    expect(error).to_be_visible()
    expect(error).not_to_be_empty()
    shot(browser_page, "record-close-wrong-password-en")
    assert api.record(record["id"])["is_closed"] is False

    browser_page.fill("#sign-password", password("QUA001"))
    browser_page.click("#sign-submit")
    expect(browser_page.locator("#record-status")).to_have_attribute("data-status", "closed")
    closed = api.record(record["id"])
    assert closed["is_closed"] is True
    assert closed["sdr_number"] == "SDR-BROWSER-7"
    signature = browser_page.locator('#signatures li[data-meaning="approved_disposition"]')
    expect(signature).to_have_count(1)
    expect(signature).to_contain_text(closed["signatures"][0]["signer_name"])
    # Closed: read-only everywhere, and reopening is offered instead of closing.
    expect(browser_page.locator('fieldset[data-section][data-editable="true"]')).to_have_count(0)
    expect(browser_page.locator("#close-record")).to_have_count(0)
    expect(browser_page.locator("#reopen-record")).to_be_visible()
    expect(browser_page.locator("#record-closed-note")).to_be_visible()


def test_text_from_a_record_is_shown_as_text_never_as_markup(
    page: Callable[..., Page], login: Callable[[Page, str, str], None], api: Api
) -> None:
    from playwright.sync_api import expect

    record = api.create(operation=MARKUP[:120], serial_number="<b>SN</b>", defect_description=MARKUP)
    api.change(
        record,
        process_description=MARKUP,
        analysis=MARKUP,
        engineering_remarks=MARKUP,
        repair_process=MARKUP,
        responsible_department=MARKUP,
        sdr_number="<i>SDR</i>",
    )
    for username in ("QUA001", "ADM001"):  # read-only texts, and the same texts in editors
        browser_page = signed_in(page, login, username)
        open_record(browser_page, record["id"])
        if username == "QUA001":
            expect(browser_page.locator("#value-defect_description")).to_have_text(MARKUP)
            expect(browser_page.locator("#value-operation")).to_have_text(MARKUP)
            expect(browser_page.locator("#value-serial_number")).to_have_text("<b>SN</b>")
        else:
            # The editor holds the text in the reader's language (a machine translation of it, here).
            expect(browser_page.locator("[name=analysis]")).to_have_value(re.compile(re.escape(MARKUP)))
        expect(browser_page.locator("#history")).to_contain_text(MARKUP)
        browser_page.wait_for_load_state("networkidle")
        assert browser_page.locator("main img, main b, main i").count() == 0
        assert browser_page.evaluate("window.__x") is None


def test_the_record_page_for_each_role_in_three_languages(
    page: Callable[..., Page], login: Callable[[Page, str, str], None], api: Api, shot: Callable[[Page, str], Path]
) -> None:
    from playwright.sync_api import expect

    record = api.dispositioned(defect_description="Porosity on the flange face")
    editable = {"inspector": {1, 2}, "operator": {3}, "engineer": {3, 4}, "quality": {5}}
    for role, username in ROLES.items():
        browser_page = signed_in(page, login, username)
        for language in ("en", "es", "zh"):
            use_language(browser_page, language)
            open_record(browser_page, record["id"])
            assert browser_page.evaluate("document.documentElement.lang").startswith(language)
            expect(browser_page.locator('fieldset[data-section="1"] legend')).to_have_text(SECTION_ONE[language])
            for number in range(1, 6):
                expect(browser_page.locator(f'fieldset[data-section="{number}"]')).to_have_attribute(
                    "data-editable", json.dumps(number in editable[role])
                )
            shot(browser_page, f"record-{role}-{language}")
    # A tablet shows the page without scrolling sideways.
    tablet = page(tablet=True)
    login(tablet, "ENG001", password("ENG001"))
    use_language(tablet, "en")
    open_record(tablet, record["id"])
    assert tablet.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    shot(tablet, "record-engineer-tablet-en")


def test_leaving_with_unsaved_changes_asks_first_and_staying_keeps_them(
    page: Callable[..., Page], login: Callable[[Page, str, str], None], api: Api
) -> None:
    from playwright.sync_api import expect

    record = api.create()
    browser_page = signed_in(page, login, "ENG001")
    use_language(browser_page, "en")
    open_record(browser_page, record["id"])
    browser_page.fill("[name=responsible_department]", "Assembly")
    asked: list[str] = []

    def answer(dialog: Any, accept: bool) -> None:
        asked.append(dialog.message)
        if accept:
            dialog.accept()
        else:
            dialog.dismiss()

    # Staying: the page and what was typed are still there.
    browser_page.once("dialog", lambda dialog: answer(dialog, False))
    browser_page.locator("#app-header nav a[href='/records']").click()
    expect(browser_page.locator('main[data-page="record"]')).to_be_visible()
    assert browser_page.input_value("[name=responsible_department]") == "Assembly"
    # Changing the language draws the page again: that asks too.
    browser_page.once("dialog", lambda dialog: answer(dialog, False))
    browser_page.select_option("#language-select", "es")
    assert browser_page.input_value("[name=responsible_department]") == "Assembly"
    assert len(asked) == 2
    assert "not saved" in asked[0]

    # Leaving on purpose: nothing was saved.
    browser_page.once("dialog", lambda dialog: answer(dialog, True))
    browser_page.locator("#app-header nav a[href='/records']").click()
    expect(browser_page.locator('main[data-page="dashboard"]')).to_be_visible()
    assert api.record(record["id"])["responsible_department"] is None


def test_the_apis_reasons_are_said_in_the_readers_language_next_to_their_fields(
    page: Callable[..., Page], login: Callable[[Page, str, str], None], api: Api
) -> None:
    from playwright.sync_api import expect

    record = api.create()  # nothing of section 4 yet: it cannot close
    browser_page = signed_in(page, login, "QUA001")
    use_language(browser_page, "es")
    open_record(browser_page, record["id"])
    browser_page.click("#close-record")
    browser_page.fill("#sign-password", password("QUA001"))
    browser_page.click("#sign-submit")
    missing = browser_page.locator('#record-form [data-field="final_disposition_id"] .field-error')
    expect(missing).to_have_text("Necesario antes de poder cerrar el registro.")
    # The API's own English stays one hover away.
    expect(missing).to_have_attribute("title", "required to close the record")
    assert api.record(record["id"])["is_closed"] is False

    # The other shapes of the API's messages, as the page words them in Spanish.
    said = browser_page.evaluate(
        """async () => {
            const { fieldMessage } = await import("/ui/js/widgets/ui.js");
            return [
                "Expected `int` >= 1",
                "Expected `str` of length <= 120",
                "no failure-codes entry 999",
                "inactive: part-numbers entry X-1 is no longer in use",
                "something the page has no words for",
            ].map(fieldMessage);
        }"""
    )
    assert said == [
        "Debe ser al menos 1.",
        "Como máximo 120 caracteres.",
        "Esta entrada no existe en Códigos de falla.",
        "X-1 ya no se usa en Números de parte.",
        "something the page has no words for",
    ]
