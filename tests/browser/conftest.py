"""The web page in a real browser: Chromium (Debian's, driven by Playwright) against the whole
system started as `make run` starts it, on SQLite with the demo data.

Without Chromium or the playwright package the browser tests are skipped, and the reason says
what to install; with ``DMT_TEST_REQUIRE_BROWSER=1`` (as CI sets it) that is a failure instead.
``DMT_CHROMIUM`` names another Chromium binary. Screenshots go to ``DMT_SCREENSHOT_DIR``
(default ``test-artifacts/screenshots/`` in the repository).

A test fails when the page logs a JavaScript error (an uncaught exception, a refused script or
style, a ``console.error``); the errors, and the requests that failed, are in the message.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from dmt_shared.translator_fake import FakeLibreTranslate

from browser.steps import Admin
from running import ROOT, System, running_system

if TYPE_CHECKING:
    from playwright.sync_api import Browser, BrowserContext, ConsoleMessage, Page, Playwright, Request

CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
DESKTOP = {"width": 1366, "height": 900}
TABLET = {"width": 820, "height": 1180}
INSTALL = "apt-get install chromium fonts-wqy-microhei"

#: Seconds Playwright waits for an element or a navigation before the test fails.
TIMEOUT_SECONDS = 15

#: Console errors that are not the page's: the browser's own line for an answer such as a 404,
#: which the page handles (a record that does not exist shows its own not-found screen).
NOT_SCRIPT_ERRORS = re.compile(r"^Failed to load resource: the server responded with a status of \d+")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Every test in this folder is a browser test (``-m browser``, ``-m "not browser"``)."""
    here = Path(__file__).parent
    for item in items:
        if here in item.path.parents:
            item.add_marker(pytest.mark.browser)


def _unavailable(reason: str) -> None:
    if os.environ.get("DMT_TEST_REQUIRE_BROWSER") == "1":
        pytest.fail(f"{reason} (DMT_TEST_REQUIRE_BROWSER=1: the browser tests must run)", pytrace=False)
    pytest.skip(reason)


@pytest.fixture(scope="session")
def chromium_path() -> str:
    """The Chromium to drive; skips (or fails, when required) without it or without playwright."""
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        _unavailable("browser tests need the playwright package: .venv/bin/pip install -r requirements-dev.txt")
    path = os.environ.get("DMT_CHROMIUM", "/usr/bin/chromium")
    if not (os.path.isfile(path) and os.access(path, os.X_OK)):
        _unavailable(f"browser tests need Chromium, not found at {path}: {INSTALL} (or set DMT_CHROMIUM)")
    return path


# Playwright and Chromium live for one test module, not the session: while Playwright's sync API
# is started, the main thread counts as inside an event loop, and the asyncio tests that run
# after the browser tests (asyncio.run, pytest-asyncio) would refuse to start.
@pytest.fixture(scope="module")
def playwright(chromium_path: str) -> Iterator[Playwright]:
    from playwright.sync_api import sync_playwright

    driver = sync_playwright().start()
    yield driver
    driver.stop()


@pytest.fixture(scope="module")
def browser(playwright: Playwright, chromium_path: str) -> Iterator[Browser]:
    chromium = playwright.chromium.launch(executable_path=chromium_path, headless=True, args=CHROMIUM_ARGS)
    yield chromium
    chromium.close()


@pytest.fixture(scope="session")
def translator(chromium_path: str) -> Iterator[FakeLibreTranslate]:
    """A LibreTranslate stand-in (``[es] <text>``), so the page has machine translations to mark."""
    server = FakeLibreTranslate()
    server.start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def system(
    chromium_path: str, translator: FakeLibreTranslate, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[System]:
    """DMT running on SQLite with the demo users, catalogs and records, and a translator
    (started only with a browser)."""
    env = {
        "RECORDS_TRANSLATOR_URL": translator.url,
        "RECORDS_TRANSLATOR_LANGUAGES": "zh=zh-Hans",
        "RECORDS_TRANSLATOR_POLL_INTERVAL": "0.5",
    }
    yield from running_system(tmp_path_factory, {}, "sqlite", env=env)


@pytest.fixture(scope="session")
def screenshot_dir() -> Path:
    folder = Path(os.environ.get("DMT_SCREENSHOT_DIR") or ROOT / "test-artifacts" / "screenshots")
    folder.mkdir(parents=True, exist_ok=True)
    return folder


@dataclass
class PageLog:
    """What the pages of one test said that a person would not see: errors and failed requests."""

    errors: list[str] = field(default_factory=list)
    failed_requests: list[str] = field(default_factory=list)
    allowed: list[re.Pattern[str]] = field(default_factory=list)

    def allow(self, pattern: str) -> None:
        """Expect a console error matching ``pattern`` (a test that provokes one on purpose)."""
        self.allowed.append(re.compile(pattern))

    def watch(self, page: Page) -> None:
        page.on("pageerror", lambda error: self.errors.append(f"{page.url}: uncaught {error}"))
        page.on("console", lambda message: self._console(page, message))
        page.on("requestfailed", lambda request: self._failed(request))

    def _console(self, page: Page, message: ConsoleMessage) -> None:
        if message.type == "error" and not NOT_SCRIPT_ERRORS.match(message.text):
            self.errors.append(f"{page.url}: console.error {message.text} ({message.location.get('url', '')})")

    def _failed(self, request: Request) -> None:
        failure = request.failure or ""
        if "ERR_ABORTED" not in failure:  # navigating away cancels what was still loading
            self.failed_requests.append(f"{request.method} {request.url}: {failure}")

    def unexpected_errors(self) -> list[str]:
        return [e for e in self.errors if not any(pattern.search(e) for pattern in self.allowed)]


@pytest.fixture
def page_log() -> PageLog:
    return PageLog()


class Pages:
    """Opens pages on the running system, each in a browser context of its own (no shared
    session): ``page()`` at desktop size, ``page(tablet=True)``, ``page(timezone_id=..., locale=...)``.
    """

    def __init__(self, browser: Browser, base_url: str, log: PageLog) -> None:
        self.browser = browser
        self.base_url = base_url
        self.log = log
        self.contexts: list[BrowserContext] = []

    def __call__(
        self,
        *,
        tablet: bool = False,
        timezone_id: str = "UTC",
        locale: str = "en-US",
        **context_options: Any,
    ) -> Page:
        context = self.browser.new_context(
            base_url=self.base_url,
            viewport=TABLET if tablet else DESKTOP,
            timezone_id=timezone_id,
            locale=locale,
            **context_options,
        )
        context.set_default_timeout(TIMEOUT_SECONDS * 1000)
        self.contexts.append(context)
        opened = context.new_page()
        self.log.watch(opened)
        return opened

    def close(self) -> None:
        for context in self.contexts:
            context.close()


@pytest.fixture
def page(browser: Browser, system: System, page_log: PageLog) -> Iterator[Pages]:
    """A factory of pages; the test fails at its end if any of them logged a JavaScript error."""
    pages = Pages(browser, system.gateway, page_log)
    try:
        yield pages
    finally:
        pages.close()
    errors = page_log.unexpected_errors()
    if errors:
        failed = "".join(f"\n  failed request: {r}" for r in page_log.failed_requests)
        pytest.fail("the page logged JavaScript errors:\n  " + "\n  ".join(errors) + failed, pytrace=False)


@pytest.fixture
def shot(screenshot_dir: Path) -> Callable[[Page, str], Path]:
    """``shot(page, "login-en")`` saves the whole page as ``login-en.png`` and returns its path."""

    def take(page: Page, name: str) -> Path:
        path = screenshot_dir / (name if name.endswith(".png") else f"{name}.png")
        page.screenshot(path=str(path), full_page=True)
        return path

    return take


@pytest.fixture
def login() -> Callable[[Page, str, str], None]:
    """``login(page, "INS001", "employee123")``: signs in through the login form and waits for the
    screen that follows it. The form's ids (``#login-username``, ``#login-password``,
    ``#login-submit``) and ``[data-page]`` on the screen shown are what the page promises."""

    def sign_in(page: Page, username: str, password: str) -> None:
        if page.locator("#login-form").count() == 0:
            page.goto("/login")
        page.fill("#login-username", username)
        page.fill("#login-password", password)
        page.click("#login-submit")
        page.wait_for_selector('[data-page]:not([data-page="login"]), #login-error:not([hidden])')
        error = page.locator("#login-error:not([hidden])")
        if error.count():
            pytest.fail(f"{username} could not sign in: {error.inner_text()}", pytrace=False)

    return sign_in


@pytest.fixture
def admin(system: System) -> Iterator[Admin]:
    """The Admin's API client: makes people of their own for a test, reads back what was saved."""
    made = Admin(system)
    yield made
    made.client.close()
