"""The page opens in a real browser, and what the gateway serves for it works under its policy."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from browser.steps import read_qr_codes
from running import System

if TYPE_CHECKING:
    from playwright.sync_api import Page

pytestmark = pytest.mark.browser


def test_the_page_opens_at_the_login_form_without_errors(
    page: Callable[..., Page], page_log: Any, shot: Callable[[Page, str], Path]
) -> None:
    browser_page = page()
    response = browser_page.goto("/")
    assert response is not None
    assert response.status == 200
    browser_page.wait_for_selector("#login-form")
    assert browser_page.locator("#login-username").is_visible()
    assert browser_page.locator("#login-password").is_visible()
    assert browser_page.locator("#login-submit").is_enabled()
    assert browser_page.evaluate("document.documentElement.lang") == "en"
    browser_page.wait_for_load_state("networkidle")
    assert page_log.unexpected_errors() == []
    assert shot(browser_page, "login-en").stat().st_size > 0


def test_a_records_qr_code_shows_as_an_image_and_reads_back_as_its_address(
    page: Callable[..., Page], system: System
) -> None:
    browser_page = page()
    browser_page.goto("/login")
    browser_page.wait_for_selector("#login-form")
    # An <img> on the page itself, so the page's Content-Security-Policy applies to it.
    loaded = browser_page.evaluate(
        """async () => {
            const image = new Image(240, 240);
            image.id = "qr-check";
            image.alt = "QR";
            image.src = "/qr/records/1.svg";
            document.body.append(image);
            await image.decode();
            return image.naturalWidth;
        }"""
    )
    assert loaded > 0
    assert read_qr_codes(browser_page.locator("#qr-check").screenshot()) == [f"{system.gateway}/records/1"]
