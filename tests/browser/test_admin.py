"""The administration pages in a browser: catalog entries added, found, edited, deactivated and
deleted; a CSV file imported row by row with a report of the rows refused; users added, their
password reset and used to sign in; other roles refused; the pages in English, Spanish and Chinese.

The tests sign in as ADM001 with the interface in English and put ADM001's language back at the
end. Everything they add carries a ``ZT-`` code or a ``ZTADM`` username and is removed (entries)
or deactivated (users, who cannot be deleted) afterwards, so other tests sharing the system do
not meet it in their pickers.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from running import System

if TYPE_CHECKING:
    from playwright.sync_api import Page

pytestmark = pytest.mark.browser

ADMIN = ("ADM001", "admin123")
KIND = "inspection-items"
PREFIX = "ZT-"


def sign_in(client: httpx.Client, username: str, password: str) -> dict[str, str]:
    answer = client.post("/api/v1/auth/login", json={"username": username, "password": password})
    answer.raise_for_status()
    return {"Authorization": f"Bearer {answer.json()['access_token']}", "Accept-Language": "en"}


@pytest.fixture
def api(system: System) -> Iterator[httpx.Client]:
    """The public API as ADM001, whose interface is English while the test runs; afterwards the
    test's catalog entries are deleted and ADM001's language is what it was."""
    with system.client() as client:
        client.headers.update(sign_in(client, *ADMIN))
        language = client.get("/api/v1/auth/me").json()["language"]
        client.patch("/api/v1/auth/me", json={"language": "en"}).raise_for_status()
        try:
            yield client
        finally:
            for entry in entries(client, q=PREFIX):
                if entry["item_number"].startswith(PREFIX):
                    client.delete(f"/api/v1/catalogs/{KIND}/{entry['id']}")
            client.patch("/api/v1/auth/me", json={"language": language}).raise_for_status()


def entries(api: httpx.Client, **params: Any) -> list[dict[str, Any]]:
    answer = api.get(f"/api/v1/catalogs/{KIND}", params={"page_size": 200, **params})
    answer.raise_for_status()
    return answer.json()["items"]


def entry(api: httpx.Client, number: str) -> dict[str, Any] | None:
    found = [e for e in entries(api, q=number) if e["item_number"].lower() == number.lower()]
    return found[0] if found else None


def address(page: Page) -> dict[str, list[str]]:
    return parse_qs(urlsplit(page.url).query)


def missing_words(page: Page) -> list[str]:
    """Collects the page's warnings about words missing from the dictionaries."""
    found: list[str] = []
    page.on("console", lambda message: found.append(message.text) if "no words for" in message.text else None)
    return found


def open_admin(page: Page, login: Callable[[Page, str, str], None], path: str, name: str) -> None:
    from playwright.sync_api import expect

    login(page, *ADMIN)
    page.goto(path)
    expect(page.locator(f'main[data-page="{name}"]')).to_be_visible()


def save_dialog(page: Page, button: str) -> None:
    from playwright.sync_api import expect

    page.click(button)
    expect(page.locator("dialog[open]")).to_have_count(0)


def test_a_catalog_entry_is_added_found_edited_refused_twice_deactivated_and_deleted(
    page: Callable[..., Page], login: Callable[[Page, str, str], None], api: httpx.Client
) -> None:
    from playwright.sync_api import expect

    browser_page = page()
    warnings = missing_words(browser_page)
    open_admin(browser_page, login, f"/admin/catalogs/{KIND}", "admin-catalogs")
    expect(browser_page.locator(f'#catalog-kinds a[data-kind="{KIND}"]')).to_have_attribute("aria-current", "page")
    count = browser_page.locator(f'#catalog-kinds a[data-kind="{KIND}"] .admin-count')
    before = int(count.get_attribute("data-total") or "-1")

    browser_page.click("#catalog-add")
    dialog = browser_page.locator("dialog[open]")
    dialog.locator("[name=item_number]").fill("ZT-ADM-1")
    dialog.locator("[name=item_name]").fill("Borescope check")
    dialog.locator("[name=item_name_es]").fill("Revisión con boroscopio")
    dialog.locator("[name=item_name_zh]").fill("内窥镜检查")
    save_dialog(browser_page, "#catalog-save")
    added = entry(api, "ZT-ADM-1")
    assert added is not None
    assert (added["item_name_es"], added["item_name_zh"]) == ("Revisión con boroscopio", "内窥镜检查")
    expect(count).to_have_attribute("data-total", str(before + 1))

    # Found by search; the search is in the address, so a reload shows the same view.
    browser_page.fill("#catalog-q", "zt-adm")
    row = browser_page.locator(f'#catalog-table tr[data-entry-id="{added["id"]}"]')
    expect(browser_page.locator("#catalog-table tbody tr")).to_have_count(1)
    expect(row).to_contain_text("内窥镜检查")
    expect(row).to_contain_text("Revisión con boroscopio")
    assert address(browser_page)["q"] == ["zt-adm"]
    browser_page.reload()
    expect(browser_page.locator("#catalog-q")).to_have_value("zt-adm")
    expect(browser_page.locator("#catalog-table tbody tr")).to_have_count(1)

    # Edited.
    row.locator("button[data-action=edit]").click()
    browser_page.locator("dialog[open] [name=item_name]").fill("Borescope inspection")
    save_dialog(browser_page, "#catalog-save")
    expect(row).to_contain_text("Borescope inspection")
    assert entry(api, "ZT-ADM-1")["item_name"] == "Borescope inspection"  # type: ignore[index]

    # The same number again (letter case aside) is refused, and the form says so at the number.
    browser_page.click("#catalog-add")
    dialog = browser_page.locator("dialog[open]")
    dialog.locator("[name=item_number]").fill("zt-adm-1")
    dialog.locator("[name=item_name]").fill("Twice")
    browser_page.click("#catalog-save")
    message = dialog.locator('[data-field="item_number"] .field-error')
    expect(message).to_be_visible()
    expect(message).to_contain_text("already has an entry with the number zt-adm-1")
    dialog.locator("[name=item_name]").press("Escape")
    expect(browser_page.locator("dialog[open]")).to_have_count(0)
    assert len([e for e in entries(api, q="ZT-ADM-1")]) == 1

    # Deactivated after a confirmation; the row offers to activate it again.
    row.locator("button[data-action=deactivate]").click()
    save_dialog(browser_page, "#admin-confirm")
    expect(row).to_have_attribute("data-active", "false")
    expect(row.locator("button[data-action=activate]")).to_be_visible()
    assert entry(api, "ZT-ADM-1")["is_active"] is False  # type: ignore[index]
    browser_page.select_option("#catalog-active", "true")
    expect(browser_page.locator("#catalog-table tr[data-entry-id]")).to_have_count(0)
    assert address(browser_page)["active"] == ["true"]
    browser_page.go_back()
    expect(browser_page.locator("#catalog-active")).to_have_value("")
    expect(row).to_be_visible()

    # No record uses it, so it can be deleted.
    row.locator("button[data-action=delete]").click()
    save_dialog(browser_page, "#admin-confirm")
    expect(row).to_have_count(0)
    assert entry(api, "ZT-ADM-1") is None
    expect(count).to_have_attribute("data-total", str(before))
    assert warnings == []


def test_deleting_an_entry_records_use_offers_to_deactivate_it_instead(
    page: Callable[..., Page], login: Callable[[Page, str, str], None], api: httpx.Client
) -> None:
    from playwright.sync_api import expect

    used = api.get("/api/v1/records", params={"page_size": 1}).json()["items"][0]["work_center_id"]
    code = api.get(f"/api/v1/catalogs/work-centers/{used}").json()["item_number"]
    browser_page = page()
    open_admin(browser_page, login, f"/admin/catalogs/work-centers?q={code}", "admin-catalogs")
    row = browser_page.locator(f'#catalog-table tr[data-entry-id="{used}"]')
    row.locator("button[data-action=delete]").click()
    browser_page.click("#admin-confirm")
    explanation = browser_page.locator("#catalog-in-use")
    expect(explanation).to_contain_text(re.compile(r"cannot be deleted: \d+ records use it"))
    expect(browser_page.locator("#catalog-deactivate-instead")).to_be_visible()
    explanation.locator("button", has_text="Close").click()
    expect(row).to_have_attribute("data-active", "true")
    assert api.get(f"/api/v1/catalogs/work-centers/{used}").json()["is_active"] is True


def test_the_list_sorts_by_a_column_and_back_returns_to_the_previous_order(
    page: Callable[..., Page], login: Callable[[Page, str, str], None], api: httpx.Client
) -> None:
    from playwright.sync_api import expect

    browser_page = page()
    open_admin(browser_page, login, "/admin/catalogs/work-centers", "admin-catalogs")
    first = browser_page.locator("#catalog-table tbody tr").first
    ascending = api.get("/api/v1/catalogs/work-centers", params={"sort": "item_number", "order": "asc"}).json()
    descending = api.get("/api/v1/catalogs/work-centers", params={"sort": "item_number", "order": "desc"}).json()
    expect(first).to_have_attribute("data-entry-id", str(ascending["items"][0]["id"]))
    browser_page.click("#catalog-table th button[data-sort=item_number]")
    expect(first).to_have_attribute("data-entry-id", str(descending["items"][0]["id"]))
    assert address(browser_page)["order"] == ["desc"]
    expect(
        browser_page.locator("#catalog-table th[aria-sort=descending] button[data-sort=item_number]")
    ).to_be_visible()
    browser_page.go_back()
    expect(first).to_have_attribute("data-entry-id", str(ascending["items"][0]["id"]))


CSV_ROWS = (
    "\ufeffitem_number,item_name,item_name_es,item_name_zh,note\r\n"
    'ZT-IMP-1,"Gauge, thread",Calibre de rosca,螺纹量规,x\r\n'
    'ZT-IMP-2,"Check ""go"" side",,,\r\n'
    "ZT-IMP-DUP,Duplicate,Duplicado,重复,\r\n"
    "ZT-IMP-4,,Sin nombre,无名称,\r\n"
    "ZT-IMP-5,Surface plate,Mármol de inspección,检验平台,\r\n"
)


def test_a_csv_file_is_imported_row_by_row_and_the_refused_rows_are_reported(
    page: Callable[..., Page],
    login: Callable[[Page, str, str], None],
    api: httpx.Client,
    shot: Callable[[Page, str], Path],
) -> None:
    from playwright.sync_api import expect

    api.post(
        f"/api/v1/catalogs/{KIND}", json={"item_number": "ZT-IMP-DUP", "item_name": "Already here"}
    ).raise_for_status()
    browser_page = page()
    warnings = missing_words(browser_page)
    in_flight = {"now": 0, "most": 0}

    def started(request: Any) -> None:
        if request.method == "POST" and f"/api/v1/catalogs/{KIND}" in request.url:
            in_flight["now"] += 1
            in_flight["most"] = max(in_flight["most"], in_flight["now"])

    def ended(request: Any) -> None:
        if request.method == "POST" and f"/api/v1/catalogs/{KIND}" in request.url:
            in_flight["now"] -= 1

    browser_page.on("request", started)
    browser_page.on("requestfinished", ended)
    browser_page.on("requestfailed", ended)
    open_admin(browser_page, login, f"/admin/catalogs/{KIND}", "admin-catalogs")
    browser_page.set_input_files(
        "#catalog-import-file",
        files=[{"name": "gauges.csv", "mimeType": "text/csv", "buffer": CSV_ROWS.encode("utf-8")}],
    )
    expect(browser_page.locator("#catalog-import-preview")).to_contain_text("5 rows to import from gauges.csv")
    expect(browser_page.locator("#catalog-import-preview")).to_contain_text("not used: note")
    browser_page.click("#catalog-import-start")

    report = browser_page.locator("#catalog-import-report")
    expect(report).to_be_visible()
    expect(browser_page.locator("#catalog-import-progress")).to_have_js_property("value", 5)
    expect(browser_page.locator("#catalog-import-progress")).to_have_js_property("max", 5)
    expect(browser_page.locator("#catalog-import-count")).to_have_text("5 of 5")
    summary = browser_page.locator("#catalog-import-summary")
    expect(summary).to_have_attribute("data-created", "3")
    expect(summary).to_have_attribute("data-rejected", "2")
    expect(summary).to_contain_text("3 created, 0 updated, 2 rejected (of 5 rows)")
    rejected = report.locator("#catalog-import-rejected tbody tr")
    expect(rejected).to_have_count(2)
    expect(rejected.nth(0)).to_have_attribute("data-line", "4")
    expect(rejected.nth(0)).to_contain_text("ZT-IMP-DUP")
    expect(rejected.nth(0)).to_contain_text("Already exists")
    expect(rejected.nth(0)).to_contain_text("already has an entry")
    expect(rejected.nth(1)).to_have_attribute("data-line", "5")
    expect(rejected.nth(1)).to_contain_text("Name missing")
    expect(rejected.nth(1)).to_contain_text("item_name")
    assert 1 <= in_flight["most"] <= 4

    # Quoted commas and doubled quotes arrived whole; the rows refused left nothing behind.
    assert entry(api, "ZT-IMP-1")["item_name"] == "Gauge, thread"  # type: ignore[index]
    assert entry(api, "ZT-IMP-1")["item_name_zh"] == "螺纹量规"  # type: ignore[index]
    assert entry(api, "ZT-IMP-2")["item_name"] == 'Check "go" side'  # type: ignore[index]
    assert entry(api, "ZT-IMP-5") is not None
    assert entry(api, "ZT-IMP-4") is None
    assert entry(api, "ZT-IMP-DUP")["item_name"] == "Already here"  # type: ignore[index]
    shot(browser_page, "admin-import-en")

    # The refused rows come back as a CSV file, with the reasons, ready to be corrected and imported again.
    with browser_page.expect_download() as waiting:
        browser_page.click("#catalog-import-download")
    text = Path(waiting.value.path()).read_text(encoding="utf-8-sig")
    lines = list(csv.reader(io.StringIO(text)))
    assert lines[0] == ["line", "item_number", "item_name", "item_name_es", "item_name_zh", "reason"]
    assert [line[:2] for line in lines[1:]] == [["4", "ZT-IMP-DUP"], ["5", "ZT-IMP-4"]]
    assert lines[1][5].startswith("Already exists")
    assert warnings == []


def test_importing_again_with_update_existing_changes_the_names(
    page: Callable[..., Page], login: Callable[[Page, str, str], None], api: httpx.Client
) -> None:
    from playwright.sync_api import expect

    api.post(f"/api/v1/catalogs/{KIND}", json={"item_number": "ZT-UPD-1", "item_name": "Old"}).raise_for_status()
    browser_page = page()
    open_admin(browser_page, login, f"/admin/catalogs/{KIND}", "admin-catalogs")
    content = "item_name;item_number;item_name_es\nNew name;zt-upd-1;Nombre nuevo\nFresh;ZT-UPD-2;\n"
    browser_page.set_input_files(
        "#catalog-import-file", files=[{"name": "again.csv", "mimeType": "text/csv", "buffer": content.encode()}]
    )
    browser_page.check("#catalog-import-update")
    browser_page.click("#catalog-import-start")
    summary = browser_page.locator("#catalog-import-summary")
    expect(summary).to_have_attribute("data-updated", "1")
    expect(summary).to_have_attribute("data-created", "1")
    expect(summary).to_have_attribute("data-rejected", "0")
    updated = entry(api, "ZT-UPD-1")
    assert updated is not None
    assert (updated["item_name"], updated["item_name_es"]) == ("New name", "Nombre nuevo")


def test_the_csv_reader_handles_quotes_line_breaks_byte_order_marks_and_bad_files(page: Callable[..., Page]) -> None:
    browser_page = page()
    browser_page.goto("/login")
    browser_page.wait_for_selector("#login-form")
    sample = (
        '\ufeffItem_Number,ITEM_NAME,item_name_zh\r\nA1,"Cast, grey",灰\r\n\r\nA2,"two\nlines",\r\nA3,"say ""hi""",x'
    )
    results = browser_page.evaluate(
        """async (sample) => {
            const csv = await import("/ui/js/pages/admin-csv.js");
            const round = csv.parseCsv(csv.toCsv([["a", "b, c", 'q"q', "x\\ny", " s"]])).records[0].fields;
            return {
                rows: csv.readCatalogCsv(sample).rows,
                round,
                cr: csv.parseCsv("a\\rb\\r").records.map((r) => r.fields),
                missing: csv.readCatalogCsv("code,name\\n1,2").error,
                empty: csv.readCatalogCsv("").error,
                open: csv.readCatalogCsv('item_number,item_name\\n"x,y\\n').error,
            };
        }""",
        sample,
    )
    assert results["rows"] == [
        {"line": 2, "item_number": "A1", "item_name": "Cast, grey", "item_name_es": "", "item_name_zh": "灰"},
        {"line": 4, "item_number": "A2", "item_name": "two\nlines", "item_name_es": "", "item_name_zh": ""},
        {"line": 6, "item_number": "A3", "item_name": 'say "hi"', "item_name_es": "", "item_name_zh": "x"},
    ]
    assert results["round"] == ["a", "b, c", 'q"q', "x\ny", " s"]
    assert results["cr"] == [["a"], ["b"]]
    assert results["missing"] == {"code": "missing-columns", "line": 1, "columns": ["item_number", "item_name"]}
    assert results["empty"]["code"] == "empty"
    assert results["open"] == {"code": "unterminated", "line": 2}


def test_a_user_is_added_their_password_reset_and_they_sign_in_with_it(
    page: Callable[..., Page], login: Callable[[Page, str, str], None], api: httpx.Client
) -> None:
    from playwright.sync_api import expect

    taken = {u["username"] for u in api.get("/api/v1/users", params={"q": "ZTADM", "page_size": 200}).json()["items"]}
    username = next(f"ZTADM{n}" for n in range(1, 1000) if f"ZTADM{n}" not in taken)
    browser_page = page()
    warnings = missing_words(browser_page)
    open_admin(browser_page, login, "/admin/users", "admin-users")
    try:
        browser_page.click("#user-add")
        dialog = browser_page.locator("dialog[open]")
        dialog.locator("[name=username]").fill(username.lower())
        dialog.locator("[name=full_name]").fill("Zoe Test")
        dialog.locator("[name=email]").fill(f"{username.lower()}@dmt.example")
        dialog.locator("[name=role]").select_option("Operator")
        dialog.locator("[name=password]").fill("first-pass-1")
        dialog.locator("[name=language]").select_option("es")
        dialog.locator("[name=time_zone]").select_option("Asia/Shanghai")
        save_dialog(browser_page, "#user-save")

        browser_page.fill("#users-q", username)
        row = browser_page.locator(f'#users-table tr[data-username="{username}"]')
        expect(browser_page.locator("#users-table tr[data-user-id]")).to_have_count(1)
        expect(row).to_contain_text("Zoe Test")
        expect(row).to_contain_text("Operator")
        expect(row).to_contain_text("Asia/Shanghai")
        assert address(browser_page)["q"] == [username]

        # Edited: the role and the name change.
        row.locator("button[data-action=edit]").click()
        dialog = browser_page.locator("dialog[open]")
        dialog.locator("[name=full_name]").fill("Zoe Tester")
        dialog.locator("[name=role]").select_option("Inspector")
        save_dialog(browser_page, "#user-save")
        expect(row).to_contain_text("Zoe Tester")
        expect(row).to_contain_text("Inspector")

        # The new password differs from the repeated one: the page says so without asking the server.
        row.locator("button[data-action=reset-password]").click()
        dialog = browser_page.locator("dialog[open]")
        expect(dialog).to_contain_text("sessions end")
        dialog.locator("[name=password]").fill("second-pass-2")
        dialog.locator("[name=password_again]").fill("second-pass-3")
        browser_page.click("#user-save")
        expect(dialog.locator('[data-field="password_again"] .field-error')).to_be_visible()
        dialog.locator("[name=password_again]").fill("second-pass-2")
        save_dialog(browser_page, "#user-save")

        other = page()
        login(other, username, "second-pass-2")
        expect(other.locator("#current-user")).to_contain_text("Zoe Tester")
        assert other.evaluate("document.documentElement.lang") == "es"
        with httpx.Client(base_url=api.base_url) as client:
            refused = client.post("/api/v1/auth/login", json={"username": username, "password": "first-pass-1"})
            assert refused.status_code == 401

        # Deactivated after a confirmation; they can no longer sign in.
        row.locator("button[data-action=deactivate]").click()
        save_dialog(browser_page, "#admin-confirm")
        expect(row).to_have_attribute("data-active", "false")
        expect(row.locator("button[data-action=activate]")).to_be_visible()
        with httpx.Client(base_url=api.base_url) as client:
            refused = client.post("/api/v1/auth/login", json={"username": username, "password": "second-pass-2"})
            assert refused.status_code == 401
        assert warnings == []
    finally:
        for user in api.get("/api/v1/users", params={"q": username}).json()["items"]:
            if user["username"] == username:
                api.patch(f"/api/v1/users/{user['id']}", json={"is_active": False})


def test_the_last_active_admin_cannot_deactivate_themselves_and_the_page_says_why(
    page: Callable[..., Page], login: Callable[[Page, str, str], None], api: httpx.Client
) -> None:
    from playwright.sync_api import expect

    admins = api.get("/api/v1/users", params={"role": "Admin", "is_active": "true"}).json()["total"]
    if admins != 1:
        pytest.skip("another active Admin exists, so ADM001 could really be deactivated")
    browser_page = page()
    open_admin(browser_page, login, "/admin/users?q=ADM001", "admin-users")
    row = browser_page.locator('#users-table tr[data-username="ADM001"]')
    row.locator("button[data-action=deactivate]").click()
    expect(browser_page.locator("dialog[open]")).to_contain_text("This is your own account.")
    save_dialog(browser_page, "#admin-confirm")
    expect(browser_page.locator(".notice.error")).to_contain_text("last active Admin")
    expect(row).to_have_attribute("data-active", "true")


@pytest.mark.parametrize("path", ["/admin/catalogs", "/admin/users"])
def test_other_roles_are_told_only_an_admin_may(
    page: Callable[..., Page], login: Callable[[Page, str, str], None], path: str
) -> None:
    from playwright.sync_api import expect

    browser_page = page()
    login(browser_page, "INS001", "employee123")
    browser_page.goto(path)
    refusal = browser_page.locator("#admin-forbidden")
    expect(refusal).to_be_visible()
    # INS001 reads Spanish; the refusal is in the reader's language.
    expect(refusal).to_contain_text(re.compile("Only an Admin may|Solo un administrador puede|只有管理员可以"))
    expect(browser_page.locator("#catalog-table, #users-table, #catalog-add, #user-add")).to_have_count(0)


@pytest.mark.parametrize(
    ("language", "catalogs", "users"),
    [("en", "Catalogs", "Users"), ("es", "Catálogos", "Usuarios"), ("zh", "目录", "用户")],
)
def test_the_admin_pages_read_in_each_language(
    page: Callable[..., Page],
    login: Callable[[Page, str, str], None],
    api: httpx.Client,
    shot: Callable[[Page, str], Path],
    language: str,
    catalogs: str,
    users: str,
) -> None:
    from playwright.sync_api import expect

    browser_page = page()
    warnings = missing_words(browser_page)
    open_admin(browser_page, login, "/admin/catalogs/work-centers", "admin-catalogs")
    if language != "en":
        browser_page.select_option("#language-select", language)
    expect(browser_page.locator("main h1")).to_have_text(catalogs)
    expect(browser_page.locator("main[data-page=admin-catalogs] #catalog-table tbody tr").first).to_be_visible()
    assert browser_page.evaluate("document.documentElement.lang").startswith(language)
    shot(browser_page, f"admin-catalogs-{language}")
    browser_page.click("header a[href='/admin/users']")
    expect(browser_page.locator("main h1")).to_have_text(users)
    expect(browser_page.locator("main[data-page=admin-users] #users-table tbody tr").first).to_be_visible()
    shot(browser_page, f"admin-users-{language}")
    assert warnings == []
