"""Steps the browser tests take on the page, and what the printed tag must show."""

from __future__ import annotations

import io
import secrets
from typing import TYPE_CHECKING, Any

import httpx

from running import System

if TYPE_CHECKING:
    from playwright.sync_api import Page

#: The password of the people a test makes with Admin.person().
PASSWORD = "Browser-test-passw0rd"
ADMIN = ("ADM001", "admin123")

#: Every field of the legacy DMT-001 tag, by the API's name, that a dispositioned record prints filled.
LEGACY_TAG_FIELDS = (
    "report_number",
    "part_number_id",
    "work_center_id",
    "customer_id",
    "level_id",
    "area_id",
    "prepared_by_id",
    "operation",
    "serial_number",
    "quantity",
    "date",
    "inspection_item_id",
    "process_code_id",
    "defect_description",
    "final_disposition_id",
    "failure_code_id",
    "disposition_date",
    "engineer_id",
)


def choose(page: Page, field: str, text: str) -> None:
    """Types into a picker, moves to the first match with the arrow key and takes it with Enter."""
    from playwright.sync_api import expect

    box = page.locator(f"#field-{field}")
    box.fill(text)
    expect(page.locator(f"#field-{field}-list [role=option]").first).to_be_visible()
    box.press("ArrowDown")
    box.press("Enter")
    expect(page.locator(f"#field-{field}-list")).to_be_hidden()


def open_record(page: Page, record_id: int) -> None:
    """Opens a record's page and waits until its history has loaded."""
    from playwright.sync_api import expect

    page.goto(f"/records/{record_id}")
    expect(page.locator('main[data-page="record"]')).to_be_visible()
    expect(page.locator("#history")).not_to_have_attribute("aria-busy", "true")


def use_language(page: Page, language: str) -> None:
    """Reads the page in `language` in this browser only (the user's profile, which other tests
    share, is left as it is); the next screen drawn is in that language."""
    page.evaluate(
        """(language) => {
            const stored = JSON.parse(localStorage.getItem("dmt.session"));
            stored.user.language = language;
            localStorage.setItem("dmt.session", JSON.stringify(stored));
        }""",
        language,
    )


def spoil_access_token(page: Page) -> None:
    """Makes the stored access token one the server refuses, as an expired one is."""
    page.evaluate(
        """() => {
            const stored = JSON.parse(localStorage.getItem("dmt.session"));
            stored.access_token = "expired.token.value";
            localStorage.setItem("dmt.session", JSON.stringify(stored));
        }"""
    )


def read_qr_codes(png: bytes) -> list[str]:
    """The text of every QR code in a screenshot."""
    import zxingcpp
    from PIL import Image

    return [found.text for found in zxingcpp.read_barcodes(Image.open(io.BytesIO(png)))]


class Admin:
    """The Admin's signed-in API client, for making the people and reading back what was saved."""

    def __init__(self, system: System) -> None:
        self.client = system.client()
        answer = self.client.post("/api/v1/auth/login", json={"username": ADMIN[0], "password": ADMIN[1]})
        answer.raise_for_status()
        self.client.headers["Authorization"] = f"Bearer {answer.json()['access_token']}"

    def person(self, role: str, language: str, time_zone: str) -> dict[str, Any]:
        username = f"BT{secrets.token_hex(3).upper()}"
        answer = self.client.post(
            "/api/v1/users",
            json={
                "username": username,
                "full_name": f"{role} {username}",
                "role": role,
                "password": PASSWORD,
                "language": language,
                "time_zone": time_zone,
            },
        )
        assert answer.status_code == 201, answer.text
        return answer.json()

    def record(self, record_id: int) -> dict[str, Any]:
        answer = self.client.get(f"/api/v1/records/{record_id}")
        answer.raise_for_status()
        return answer.json()

    def me(self, username: str) -> dict[str, Any]:
        with httpx.Client(base_url=str(self.client.base_url)) as client:
            answer = client.post("/api/v1/auth/login", json={"username": username, "password": PASSWORD})
            answer.raise_for_status()
            return answer.json()["user"]

    def first(self, kind: str, number: int = 0) -> dict[str, Any]:
        query = {"is_active": "true", "sort": "item_number", "order": "asc", "page_size": number + 1}
        answer = self.client.get(f"/api/v1/catalogs/{kind}", params=query)
        answer.raise_for_status()
        return answer.json()["items"][number]
