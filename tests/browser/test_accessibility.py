"""Every screen checked with axe-core against WCAG 2.1 A and AA: labels on every input, names on
every button and link, contrast, headings, ARIA used as it should be, the language of the page.
What axe finds is the part of accessibility a machine can check; the keyboard test and the
screenshots cover more."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import httpx
import pytest

from browser.steps import open_record, use_language
from running import System

if TYPE_CHECKING:
    from playwright.sync_api import Page

WCAG = {"runOnly": {"type": "tag", "values": ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]}}


def violations(page: Page) -> list[str]:
    """axe's findings on the page as it is now, one line per rule and element."""
    from axe_playwright_python.sync_playwright import Axe

    found: list[dict[str, Any]] = Axe().run(page, options=WCAG).response["violations"]
    return [
        f"{rule['id']} ({rule['impact']}): {node['target']} {node['failureSummary']}"
        for rule in found
        for node in rule["nodes"]
    ]


@pytest.fixture(scope="module")
def a_closed_record(system: System) -> int:
    with httpx.Client(base_url=system.gateway) as client:
        answer = client.post("/api/v1/auth/login", json={"username": "QUA001", "password": "quality123"})
        token = answer.json()["access_token"]
        closed = client.get(
            "/api/v1/records", params={"status": "closed", "page_size": 1}, headers={"Authorization": f"Bearer {token}"}
        )
        return int(closed.json()["items"][0]["id"])


@pytest.mark.parametrize("language", ["en", "zh"])
def test_every_screen_passes_the_automatic_accessibility_checks(
    page: Callable[..., Page], login: Callable[[Page, str, str], None], a_closed_record: int, language: str
) -> None:
    from playwright.sync_api import expect

    found: dict[str, list[str]] = {}
    browser_page = page()
    browser_page.goto("/login")
    expect(browser_page.locator("#login-form")).to_be_visible()
    if language != "en":
        browser_page.select_option("#login-language", language)
        expect(browser_page.locator("html")).to_have_attribute("lang", "zh-CN")
    found["login"] = violations(browser_page)

    # The Admin sees every screen, with every control the screens have. The language is set in this
    # browser only: the Admin's profile, which other tests share, keeps its own.
    browser_page.evaluate("() => sessionStorage.removeItem('dmt.language.picked')")
    login(browser_page, "ADM001", "admin123")
    use_language(browser_page, language)
    browser_page.goto("/records")
    expect(browser_page.locator("html")).to_have_attribute("lang", "zh-CN" if language == "zh" else language)
    expect(browser_page.locator("#chart-pareto")).to_have_attribute("data-state", "drawn")
    found["dashboard"] = violations(browser_page)
    open_record(browser_page, a_closed_record)
    found["record, closed"] = violations(browser_page)
    browser_page.click("#reopen-record")
    expect(browser_page.locator("#sign-form")).to_be_visible()
    found["reopen dialog"] = violations(browser_page)
    browser_page.keyboard.press("Escape")
    browser_page.goto("/records/new")
    expect(browser_page.locator("#record-new-form")).to_be_visible()
    found["new record"] = violations(browser_page)
    browser_page.goto(f"/records/{a_closed_record}/print/tag")
    expect(browser_page.locator('.print-page[data-form="tag"]')).to_be_visible()
    found["printed tag"] = violations(browser_page)
    browser_page.goto("/admin/catalogs/failure-codes")
    expect(browser_page.locator("#catalog-table")).to_be_visible()
    found["catalogs"] = violations(browser_page)
    browser_page.goto("/admin/users")
    expect(browser_page.locator("#users-table")).to_be_visible()
    found["users"] = violations(browser_page)
    browser_page.goto("/profile")
    expect(browser_page.locator("#profile-form")).to_be_visible()
    found["profile"] = violations(browser_page)

    failing = {screen: lines for screen, lines in found.items() if lines}
    assert not failing, "\n".join(f"{screen}:\n  " + "\n  ".join(lines) for screen, lines in failing.items())
