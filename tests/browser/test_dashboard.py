"""The record list in a browser: what it shows agrees with the API, its state lives in the address,
exports hold what the filters hold, the charts draw, and it reads in English, Spanish and Chinese.

Other browser tests share the running system and may add records, so every expected number is
asked of the API at the moment it is compared, never written down.
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

USER = ("QUA001", "quality123")
STATUSES = ("open", "in_analysis", "dispositioned", "closed", "reopened")


@pytest.fixture
def api(system: System) -> Iterator[httpx.Client]:
    """The public API as QUA001, with English names (the page's sign-in language is English)."""
    with system.client() as client:
        answer = client.post("/api/v1/auth/login", json={"username": USER[0], "password": USER[1]})
        answer.raise_for_status()
        client.headers["Authorization"] = f"Bearer {answer.json()['access_token']}"
        client.headers["Accept-Language"] = "en"
        yield client


def records(api: httpx.Client, **params: Any) -> dict[str, Any]:
    answer = api.get("/api/v1/records", params=params)
    answer.raise_for_status()
    return answer.json()


def total(api: httpx.Client, **params: Any) -> int:
    return int(records(api, page_size=1, **params)["total"])


def address(page: Page) -> dict[str, list[str]]:
    return parse_qs(urlsplit(page.url).query)


def open_list(page: Page, login: Callable[[Page, str, str], None], path: str = "/records") -> None:
    from playwright.sync_api import expect

    login(page, *USER)
    if path != "/records":
        page.goto(path)
    expect(page.locator('main[data-page="dashboard"]')).to_be_visible()


def shown_total(page: Page) -> int:
    from playwright.sync_api import expect

    expect(page.locator("#records-total")).to_have_attribute("data-total", re.compile(r"^\d+$"))
    return int(page.locator("#records-total").get_attribute("data-total") or "-1")


def charts_drawn(page: Page) -> None:
    from playwright.sync_api import expect

    for chart in ("#chart-pareto", "#chart-trend", "#chart-copq"):
        expect(page.locator(chart)).to_have_attribute("data-state", "drawn")


def test_the_list_total_and_the_counts_are_the_apis(
    page: Callable[..., Page], login: Callable[..., None], api: httpx.Client, shot: Callable[[Page, str], Path]
) -> None:
    from playwright.sync_api import expect

    browser_page = page()
    open_list(browser_page, login)
    everything = records(api, page_size=50)
    assert shown_total(browser_page) == everything["total"] > 0
    expect(browser_page.locator("#records-total")).to_contain_text(str(everything["total"]))
    ids = [int(row.get_attribute("data-record-id") or 0) for row in browser_page.locator("tr[data-record-id]").all()]
    assert ids == [item["id"] for item in everything["items"]]
    for status in STATUSES:
        expect(browser_page.locator(f"#count-{status}")).to_have_attribute("data-total", str(total(api, status=status)))
    # The report number is a link to the record, the way a keyboard reaches each row.
    first = everything["items"][0]
    link = browser_page.locator(f'tr[data-record-id="{first["id"]}"] a')
    expect(link).to_have_attribute("href", f"/records/{first['id']}")
    expect(link).to_have_text(first["report_number"])
    # A Quality Engineer does not create records.
    expect(browser_page.locator("#new-record")).to_have_count(0)
    charts_drawn(browser_page)
    shot(browser_page, "dashboard-en")


def test_an_inspector_gets_the_new_record_button(page: Callable[..., Page], login: Callable[..., None]) -> None:
    from playwright.sync_api import expect

    browser_page = page()
    login(browser_page, "INS002", "employee123")
    expect(browser_page.locator('main[data-page="dashboard"]')).to_be_visible()
    expect(browser_page.locator("#new-record")).to_have_attribute("href", "/records/new")


def test_a_count_button_filters_by_its_status_and_the_address_keeps_it(
    page: Callable[..., Page], login: Callable[..., None], api: httpx.Client
) -> None:
    from playwright.sync_api import expect

    browser_page = page()
    open_list(browser_page, login)
    everything = shown_total(browser_page)
    status = next(s for s in STATUSES if 0 < total(api, status=s) < everything)
    expected = total(api, status=status)

    browser_page.click(f"#count-{status}")
    expect(browser_page.locator("#records-total")).to_have_attribute("data-total", str(expected))
    assert address(browser_page)["status"] == [status]
    expect(browser_page.locator(f"#count-{status}")).to_have_attribute("aria-pressed", "true")
    expect(browser_page.locator(f"#filter-status-{status}")).to_be_checked()
    statuses = {row.get_attribute("data-status") for row in browser_page.locator("tr[data-record-id]").all()}
    assert statuses == {status}

    # The address alone brings the same view back: a reload, a bookmark, a shared link.
    browser_page.reload()
    expect(browser_page.locator("#records-total")).to_have_attribute("data-total", str(expected))
    expect(browser_page.locator(f"#filter-status-{status}")).to_be_checked()

    # Back returns to the list before the filter.
    browser_page.go_back()
    expect(browser_page.locator("#records-total")).to_have_attribute("data-total", str(total(api)))
    assert "status" not in address(browser_page)
    expect(browser_page.locator(f"#filter-status-{status}")).not_to_be_checked()


def test_sorting_by_report_number_and_paging(
    page: Callable[..., Page], login: Callable[..., None], api: httpx.Client
) -> None:
    from playwright.sync_api import expect

    browser_page = page()
    open_list(browser_page, login)
    sort = browser_page.locator('button[data-sort="report_number"]')
    sort.click()
    expect(browser_page.locator('th[aria-sort="ascending"] button[data-sort="report_number"]')).to_have_count(1)
    assert address(browser_page)["sort"] == ["report_number"]
    assert address(browser_page)["order"] == ["asc"]
    ascending = records(api, sort="report_number", order="asc", page_size=50)["items"]
    expect(browser_page.locator("tr[data-record-id] a").first).to_have_text(ascending[0]["report_number"])

    sort.click()
    expect(browser_page.locator('th[aria-sort="descending"] button[data-sort="report_number"]')).to_have_count(1)
    descending = records(api, sort="report_number", order="desc", page_size=25, page=2)
    assert descending["items"], "the demo data has more than 25 records"

    browser_page.locator(".pager select").select_option("25")
    expect(browser_page.locator("tr[data-record-id]")).to_have_count(25)
    browser_page.locator(".pager button").nth(1).click()
    expect(browser_page.locator("tr[data-record-id]")).to_have_count(len(descending["items"]))
    assert address(browser_page)["page"] == ["2"]
    assert address(browser_page)["page_size"] == ["25"]
    ids = [int(row.get_attribute("data-record-id") or 0) for row in browser_page.locator("tr[data-record-id]").all()]
    assert ids == [item["id"] for item in descending["items"]]


def test_searching_a_serial_number_finds_its_record(
    page: Callable[..., Page], login: Callable[..., None], api: httpx.Client
) -> None:
    from playwright.sync_api import expect

    serial = next(item["serial_number"] for item in records(api, page_size=50)["items"] if item["serial_number"])
    found = records(api, q=serial, page_size=50)
    browser_page = page()
    open_list(browser_page, login)
    browser_page.fill("#filter-q", serial)
    browser_page.click("#filters-apply")
    expect(browser_page.locator("#records-total")).to_have_attribute("data-total", str(found["total"]))
    assert address(browser_page)["q"] == [serial]
    expect(browser_page.locator("tr[data-record-id]")).to_have_count(len(found["items"]))
    ids = {int(row.get_attribute("data-record-id") or 0) for row in browser_page.locator("tr[data-record-id]").all()}
    assert ids == {item["id"] for item in found["items"]}


def test_the_csv_export_holds_every_record_of_the_filter(
    page: Callable[..., Page], login: Callable[..., None], api: httpx.Client
) -> None:
    browser_page = page(accept_downloads=True)
    open_list(browser_page, login, "/records?status=open,in_analysis")
    expected = total(api, status="open,in_analysis")
    assert shown_total(browser_page) == expected
    with browser_page.expect_download() as waiting:
        browser_page.click("#export-csv")
    saved = waiting.value
    assert saved.suggested_filename.endswith(".csv")
    text = Path(saved.path()).read_text(encoding="utf-8-sig")
    rows = list(csv.reader(io.StringIO(text)))
    assert len(rows) - 1 == expected


def test_the_charts_draw_the_filtered_records(
    page: Callable[..., Page], login: Callable[..., None], api: httpx.Client
) -> None:
    from playwright.sync_api import expect

    browser_page = page()
    open_list(browser_page, login)
    charts_drawn(browser_page)
    for chart in ("#chart-pareto", "#chart-trend", "#chart-copq"):
        assert browser_page.locator(f"{chart} svg.chart-svg rect").count() > 0, chart
    pareto = api.get("/api/v1/analytics/pareto", params={"by": "failure_code", "measure": "count"}).json()
    bars = len(pareto["items"]) + (1 if pareto["other"] else 0)
    expect(browser_page.locator("#chart-pareto svg.chart-svg rect")).to_have_count(bars)
    expect(browser_page.locator("#chart-pareto .chart-table tbody tr")).to_have_count(bars)

    # Cost instead of count: the bars come again, in the order of cost, and the address keeps it.
    by_cost = api.get("/api/v1/analytics/pareto", params={"by": "failure_code", "measure": "cost"}).json()
    browser_page.click("#pareto-cost")
    expect(browser_page.locator("#pareto-cost")).to_have_attribute("aria-pressed", "true")
    first = by_cost["items"][0]["label"]
    expect(browser_page.locator("#chart-pareto .chart-table tbody tr th").first).to_have_text(first)
    assert address(browser_page)["pareto"] == ["cost"]

    # A filter that holds nothing gives each chart its empty state, not an empty drawing.
    browser_page.goto("/records?q=no-such-record-anywhere")
    expect(browser_page.locator("#records-total")).to_have_attribute("data-total", "0")
    for chart in ("#chart-pareto", "#chart-trend", "#chart-copq"):
        expect(browser_page.locator(chart)).to_have_attribute("data-state", "empty")
        expect(browser_page.locator(f"{chart} svg.chart-svg")).to_have_count(0)


def test_a_bad_value_in_the_address_is_shown_next_to_its_filter(
    page: Callable[..., Page], login: Callable[..., None]
) -> None:
    from playwright.sync_api import expect

    browser_page = page()
    open_list(browser_page, login, "/records?quantity_min=abc")
    message = browser_page.locator('[data-field="quantity_min"] .field-error')
    expect(message).to_be_visible()
    expect(message).not_to_be_empty()
    expect(browser_page.locator("#filters-more")).to_have_attribute("open", "")
    expect(browser_page.locator("#records-error")).to_be_visible()
    expect(browser_page.locator("#chart-pareto")).to_have_attribute("data-state", "blocked")
    # Clearing the filters mends the address and the list.
    browser_page.locator("#filters-clear").click()
    assert "quantity_min" not in address(browser_page)
    expect(browser_page.locator("tr[data-record-id]").first).to_be_visible()
    expect(message).to_be_hidden()


@pytest.mark.parametrize(
    ("language", "words"),
    [
        ("es", ["Registros", "Aplicar filtros", "Más filtros", "Pareto por código de falla", "Tendencia semanal"]),
        ("zh", ["记录", "应用筛选", "更多筛选条件", "按故障代码的帕累托图", "每周趋势"]),
    ],
)
def test_the_list_reads_in_spanish_and_chinese(
    page: Callable[..., Page],
    login: Callable[..., None],
    api: httpx.Client,
    shot: Callable[[Page, str], Path],
    language: str,
    words: list[str],
) -> None:
    from playwright.sync_api import expect

    browser_page = page()
    open_list(browser_page, login)
    try:
        browser_page.select_option("#language-select", language)
        expect(browser_page.locator("#filters-apply")).to_have_text(words[1])
        expect(browser_page.locator("main h1")).to_have_text(words[0])
        expect(browser_page.locator("#filters-more summary")).to_contain_text(words[2])
        expect(browser_page.locator("#chart-pareto h3")).to_have_text(words[3])
        expect(browser_page.locator("#chart-trend h3")).to_have_text(words[4])
        assert browser_page.evaluate("document.documentElement.lang").startswith(language)
        charts_drawn(browser_page)
        shot(browser_page, f"dashboard-{language}")
    finally:
        # The header keeps the choice in the profile: put English back for the tests that follow.
        api.patch("/api/v1/auth/me", json={"language": "en"}).raise_for_status()


def test_the_list_is_usable_on_a_tablet(
    page: Callable[..., Page], login: Callable[..., None], shot: Callable[[Page, str], Path]
) -> None:
    from playwright.sync_api import expect

    browser_page = page(tablet=True)
    open_list(browser_page, login)
    expect(browser_page.locator("tr[data-record-id]").first).to_be_visible()
    # Nothing but the table's own box scrolls sideways.
    assert browser_page.evaluate("document.documentElement.scrollWidth") <= 820
    for hook in ("#filter-q", "#filters-apply", "#export-csv", "#export-xlsx", "#count-open"):
        box = browser_page.locator(hook).bounding_box()
        assert box is not None, hook
        assert 0 <= box["x"] <= box["x"] + box["width"] <= 820, hook
    charts_drawn(browser_page)
    shot(browser_page, "dashboard-tablet-en")
