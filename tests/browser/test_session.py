"""Sign-ins in the browser: an access token that ran out is refreshed without the person
noticing, an ended sign-in returns to the login form with the reason, and tabs that run out at
the same moment refresh one at a time (the server ends the whole sign-in when a refresh token is
used twice), with Web Locks and without them (a page served over plain http to another host)."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

import httpx
import pytest

from browser.steps import PASSWORD, Admin, spoil_access_token
from running import System

if TYPE_CHECKING:
    from playwright.sync_api import Page

#: Tabs of one browser that all make a call at the same moment with a token that ran out.
TABS = 3


def test_an_expired_token_is_refreshed_and_an_ended_sign_in_returns_to_the_login(
    system: System, admin: Admin, page: Callable[..., Page], login: Callable[[Page, str, str], None]
) -> None:
    from playwright.sync_api import expect

    person = admin.person("Inspector", "en", "UTC")
    browser_page = page()
    login(browser_page, person["username"], PASSWORD)
    expect(browser_page.locator("#records-table")).to_be_visible()

    # The access token runs out: the next call refreshes it and the page goes on.
    before = browser_page.evaluate("JSON.parse(localStorage.getItem('dmt.session'))")
    spoil_access_token(browser_page)
    browser_page.goto("/records?status=open")
    expect(browser_page.locator('main[data-page="dashboard"]')).to_be_visible()
    expect(browser_page.locator("#records-table")).to_be_visible()
    after = browser_page.evaluate("JSON.parse(localStorage.getItem('dmt.session'))")
    assert after["refresh_token"] != before["refresh_token"]
    assert after["access_token"] not in (before["access_token"], "expired.token.value")

    # The sign-in ends elsewhere (signed out on another device): a clear return to the login,
    # and back to the same view after signing in again.
    with httpx.Client(base_url=system.gateway) as client:
        ended = client.post("/api/v1/auth/logout", json={"refresh_token": after["refresh_token"]})
        assert ended.status_code == 204, ended.text
    spoil_access_token(browser_page)
    browser_page.goto("/records?status=closed")
    expect(browser_page.locator("#login-form")).to_be_visible()
    expect(browser_page.locator("#login-reason")).to_be_visible()
    login(browser_page, person["username"], PASSWORD)
    expect(browser_page.locator('main[data-page="dashboard"]')).to_be_visible()
    assert browser_page.url.endswith("/records?status=closed")


@pytest.mark.parametrize("web_locks", [True, False], ids=["web-locks", "no-web-locks"])
def test_tabs_whose_token_ran_out_together_refresh_one_at_a_time_and_stay_signed_in(
    admin: Admin, page: Callable[..., Page], login: Callable[[Page, str, str], None], web_locks: bool
) -> None:
    from playwright.sync_api import expect

    person = admin.person("Operator", "en", "UTC")
    first = page()
    if not web_locks:
        # As in a page served over plain http to another computer: no navigator.locks.
        first.context.add_init_script("Object.defineProperty(Navigator.prototype, 'locks', { get: () => undefined });")
    login(first, person["username"], PASSWORD)
    tabs = [first, *(first.context.new_page() for _ in range(TABS - 1))]
    for tab in tabs[1:]:
        page.log.watch(tab)  # type: ignore[attr-defined]  # its errors count too
        tab.goto("/records")
        expect(tab.locator('main[data-page="dashboard"]')).to_be_visible()
    assert all(tab.evaluate("() => Boolean(navigator.locks)") == web_locks for tab in tabs)

    # The token runs out in every tab at once, and each makes a call at the same instant.
    first.evaluate(
        """() => {
            const stored = JSON.parse(localStorage.getItem("dmt.session"));
            stored.expires_at = Date.now() - 1000;
            localStorage.setItem("dmt.session", JSON.stringify(stored));
        }"""
    )
    at = first.evaluate("() => Date.now() + 1500")
    for tab in tabs:
        tab.evaluate(
            """(at) => {
                window.__call = new Promise((resolve) => setTimeout(resolve, at - Date.now())).then(async () => {
                    const { api } = await import("/ui/js/api.js");
                    return api.get("/auth/me").then((me) => me.username, (error) => `failed: ${error.status}`);
                });
            }""",
            at,
        )
    answers = [tab.evaluate("() => window.__call") for tab in tabs]
    assert answers == [person["username"]] * TABS
    # Still signed in: one new pair, kept for every tab.
    stored = first.evaluate("() => JSON.parse(localStorage.getItem('dmt.session'))")
    assert stored is not None
    assert stored["expires_at"] > first.evaluate("() => Date.now()")
    # ... and the sign-in itself survived: had two tabs used one refresh token, the server would have
    # ended it, and the next refresh (15 minutes later, here at once) would send everyone to the login.
    first.evaluate(
        """() => {
            const stored = JSON.parse(localStorage.getItem("dmt.session"));
            stored.expires_at = Date.now() - 1000;
            localStorage.setItem("dmt.session", JSON.stringify(stored));
        }"""
    )
    tabs[-1].reload()
    # Without Web Locks a tab may wait out another's lease (3 s at most) before it refreshes.
    expect(tabs[-1].locator('main[data-page="dashboard"]')).to_be_visible(timeout=15_000)
    expect(tabs[-1].locator("#records-table")).to_be_visible()
    assert tabs[-1].evaluate("() => JSON.parse(localStorage.getItem('dmt.session'))") is not None
