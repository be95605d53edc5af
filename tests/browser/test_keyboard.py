"""The page with the keyboard alone: signing in, finding a record in the list, changing it and
saving, and a catalog picker that opens with Down and closes with Escape. No mouse, no clicks."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

import httpx

from running import System

if TYPE_CHECKING:
    from playwright.sync_api import Page

#: Tab presses allowed to reach an element; a page that needs more is not usable by keyboard.
MOST_TABS = 120


def focused(page: Page) -> str:
    """Which element has the focus, as `tag#id[name]` plus its text, for matching and messages."""
    return page.evaluate(
        """() => {
            const e = document.activeElement;
            if (!e) return "";
            const name = e.getAttribute("name") || "";
            const text = (e.textContent || "").trim().slice(0, 40);
            return `${e.tagName.toLowerCase()}#${e.id || ""}[${name}] ${text}`;
        }"""
    )


def tab_to(page: Page, selector: str) -> None:
    """Presses Tab until the element matching `selector` has the focus."""
    seen = []
    for _ in range(MOST_TABS):
        page.keyboard.press("Tab")
        if page.evaluate("(selector) => document.activeElement?.matches(selector) ?? false", selector):
            return
        seen.append(focused(page))
    raise AssertionError(f"{MOST_TABS} Tabs never reached {selector}; the focus went through:\n" + "\n".join(seen))


def test_sign_in_find_change_and_save_a_record_with_the_keyboard_alone(
    system: System, page: Callable[..., Page]
) -> None:
    from playwright.sync_api import expect

    with httpx.Client(base_url=system.gateway) as client:
        token = client.post("/api/v1/auth/login", json={"username": "INS002", "password": "employee123"})
        headers = {"Authorization": f"Bearer {token.json()['access_token']}"}
        mine = client.get("/api/v1/records", params={"page_size": 1, "status": "open"}, headers=headers).json()
        record = mine["items"][0]

    browser_page = page()
    browser_page.goto("/login")
    expect(browser_page.locator("#login-username")).to_be_focused()
    browser_page.keyboard.type("INS002")
    browser_page.keyboard.press("Tab")
    browser_page.keyboard.type("employee123")
    browser_page.keyboard.press("Enter")
    expect(browser_page.locator('main[data-page="dashboard"]')).to_be_visible()

    # The search field, a query, Enter; then the record's link and Enter.
    tab_to(browser_page, "#filter-q")
    browser_page.keyboard.type(record["report_number"])
    browser_page.keyboard.press("Enter")
    expect(browser_page.locator("#records-total")).to_have_attribute("data-total", "1")
    tab_to(browser_page, f'tr[data-record-id="{record["id"]}"] a')
    browser_page.keyboard.press("Enter")
    expect(browser_page.locator('main[data-page="record"]')).to_be_visible()

    # A field of section 1, a new value, and the save key.
    tab_to(browser_page, "[name=operation]")
    browser_page.keyboard.press("Control+a")
    browser_page.keyboard.type("OP-60 keyboard check")
    browser_page.keyboard.press("Control+s")
    expect(browser_page.locator("#record-version")).to_have_attribute("data-version", str(record["version"] + 1))

    # A picker opens with Down and closes with Escape.
    tab_to(browser_page, "#field-work_center_id")
    browser_page.keyboard.press("ArrowDown")
    expect(browser_page.locator("#field-work_center_id-list")).to_be_visible()
    browser_page.keyboard.press("Escape")
    expect(browser_page.locator("#field-work_center_id-list")).to_be_hidden()

    with httpx.Client(base_url=system.gateway, headers=headers) as client:
        saved = client.get(f"/api/v1/records/{record['id']}").json()
    assert saved["operation"] == "OP-60 keyboard check"
