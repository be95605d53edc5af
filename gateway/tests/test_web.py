"""The web page served by the gateway: its screens, its files, and the QR codes of records."""

from __future__ import annotations

import os
import re
import xml.etree.ElementTree as ET
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
import zxingcpp
from litestar.testing import AsyncTestClient
from PIL import Image, ImageDraw

from dmt_gateway.asgi import create_app
from dmt_gateway.config import PREFIX, Settings
from dmt_gateway.domain.web import controllers as web
from dmt_gateway.domain.web.services import STATIC_DIR, StaticFiles
from dmt_shared.settings import SettingsError, from_env
from dmt_shared.testing import TokenFactory

from .conftest import Fakes

PROBLEM = "application/problem+json"
INDEX = '<!doctype html>\n<title>DMT</title>\n<script type="module" src="/ui/js/main.js"></script>\n'
SECRET = "export const key = 'not for the browser';\n"

SCREENS = [
    "/",
    "/login",
    "/records",
    "/records/new",
    "/records/42",
    "/records/42/",
    "/records/9999999/print/tag",
    "/records/42/print/mrb",
    "/records/42/print/car",
    "/admin",
    "/admin/catalogs",
    "/admin/catalogs/part-numbers",
    "/admin/users",
    "/profile",
]


@pytest.fixture
def static(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A static folder of known files, with a secret one beside it (which must never be served)."""
    root = tmp_path / "static"
    files = {
        "index.html": INDEX,
        "js/main.js": "import './pages/login.js';\n",
        "js/pages/login.js": "export function show() {}\n",
        "css/app.css": "body { margin: 0; }\n",
        "i18n/core.json": '{"en": {}}\n',
        "favicon.svg": '<svg xmlns="http://www.w3.org/2000/svg"/>\n',
        "print/form.html": "<!doctype html>\n",
        ".hidden.js": SECRET,
        "notes.txt": SECRET,
        "js/main.js.map": SECRET,
    }
    for name, text in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text)
    for name, data in {"logo.png": b"\x89PNG\r\n\x1a\n", "favicon.ico": b"\0\0\1\0", "font.woff2": b"wOF2"}.items():
        (root / name).write_bytes(data)
    (tmp_path / "secret.js").write_text(SECRET)
    (root / "link.js").symlink_to(tmp_path / "secret.js")
    monkeypatch.setattr(web, "STATIC", StaticFiles(root))
    return root


# ------------------------------------------------------------------ the screens


@pytest.mark.parametrize("path", SCREENS)
async def test_each_screen_of_the_page_answers_index_html_without_a_token(
    client: AsyncTestClient[Any], static: Path, path: str
) -> None:
    response = await client.get(path)  # no Authorization header
    assert response.status_code == 200, response.text
    assert response.text == INDEX
    assert response.headers["content-type"] == "text/html; charset=utf-8"
    assert response.headers["cache-control"] == "no-cache"
    assert response.headers["etag"]
    assert response.headers["last-modified"]
    # The page keeps to the strict policy: scripts and styles from the gateway only.
    policy = response.headers["content-security-policy"]
    assert "script-src 'self'" in policy
    assert "unsafe-inline" not in policy


@pytest.mark.parametrize("path", ["/records/abc", "/records/42/print", "/admin/nothing", "/api", "/ui", "/ui/"])
async def test_paths_that_are_no_screen_are_404_problems(client: AsyncTestClient[Any], static: Path, path: str) -> None:
    response = await client.get(path)
    assert response.status_code == 404, path
    assert response.headers["content-type"].startswith(PROBLEM)
    assert response.text != INDEX


async def test_the_api_still_needs_a_token_next_to_the_page(
    client: AsyncTestClient[Any], static: Path, tokens: TokenFactory
) -> None:
    assert (await client.get("/api/v1/records")).status_code == 401
    assert (await client.get("/api/v1/records", headers=tokens.headers())).status_code == 200


# ------------------------------------------------------------------ the files under /ui/


@pytest.mark.parametrize(
    ("path", "media_type"),
    [
        ("/ui/js/main.js", "text/javascript; charset=utf-8"),
        ("/ui/js/pages/login.js", "text/javascript; charset=utf-8"),
        ("/ui/css/app.css", "text/css; charset=utf-8"),
        ("/ui/i18n/core.json", "application/json"),
        ("/ui/favicon.svg", "image/svg+xml"),
        ("/ui/print/form.html", "text/html; charset=utf-8"),
        ("/ui/logo.png", "image/png"),
        ("/ui/favicon.ico", "image/x-icon"),
        ("/ui/font.woff2", "font/woff2"),
    ],
)
async def test_files_come_with_their_media_type_and_no_token(
    client: AsyncTestClient[Any], static: Path, path: str, media_type: str
) -> None:
    response = await client.get(path)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == media_type
    assert response.content == (static / path.removeprefix("/ui/")).read_bytes()
    assert response.headers["cache-control"] == "no-cache"
    assert response.headers["x-content-type-options"] == "nosniff"
    assert "attachment" not in response.headers.get("content-disposition", "")


@pytest.mark.parametrize(
    "path",
    [
        "/ui/%2e%2e/secret.js",  # arrives as /ui/../secret.js
        "/ui/js/%2e%2e/%2e%2e/secret.js",
        "/ui/..%2fsecret.js",
        "/ui/%2e%2e%2fsecret.js",
        "/ui/%2Fetc%2Fpasswd",
        "/ui//etc/passwd",
        "/ui/%2F{tmp}/secret.js",  # the secret file's absolute path
        "/ui/link.js",  # a link leading out of the folder
        "/ui/.hidden.js",
        "/ui/notes.txt",  # not a kind of file the page is made of
        "/ui/js/main.js.map",
        "/ui/js",  # a folder
        "/ui/js/",
        "/ui/missing.js",
        "/ui/js%5c..%5c..%5csecret.js",  # backslashes
        "/ui/index.html%00.js",
    ],
)
async def test_nothing_outside_the_page_files_is_served(client: AsyncTestClient[Any], static: Path, path: str) -> None:
    response = await client.get(path.replace("{tmp}", str(static.parent).lstrip("/")))
    assert response.status_code == 404, path
    assert response.headers["content-type"].startswith(PROBLEM)
    assert "not for the browser" not in response.text


def test_only_plain_paths_under_the_folder_are_found(static: Path) -> None:
    files = StaticFiles(static)
    assert files.find("js/main.js") is not None
    for relative in (
        "../secret.js",
        "js/../../secret.js",
        "js/../main.js",
        "./js/main.js",
        str(static.parent / "secret.js"),  # absolute
        "/js/main.js",
        "js//main.js",
        "link.js",
        "",
        "js",
        "x" * 300 + ".js",
    ):
        assert files.find(relative) is None, relative


async def test_an_unchanged_file_is_answered_304_and_a_changed_one_in_full(
    client: AsyncTestClient[Any], static: Path
) -> None:
    first = await client.get("/ui/js/main.js")
    etag, modified = first.headers["etag"], first.headers["last-modified"]
    assert re.fullmatch(r'"[0-9a-f]{32}"', etag)

    again = await client.get("/ui/js/main.js", headers={"If-None-Match": etag})
    assert again.status_code == 304
    assert again.content == b""
    assert again.headers["etag"] == etag
    assert again.headers["cache-control"] == "no-cache"
    assert (await client.get("/ui/js/main.js", headers={"If-None-Match": f'"x", W/{etag}'})).status_code == 304
    assert (await client.get("/ui/js/main.js", headers={"If-Modified-Since": modified})).status_code == 304
    assert (await client.get("/ui/js/main.js", headers={"If-None-Match": '"other"'})).status_code == 200
    # If-None-Match decides when both are sent.
    both = {"If-None-Match": '"other"', "If-Modified-Since": modified}
    assert (await client.get("/ui/js/main.js", headers=both)).status_code == 200
    page = await client.get("/records/7")
    assert (await client.get("/profile", headers={"If-None-Match": page.headers["etag"]})).status_code == 304

    # A new release: the next load gets the new file, whatever the browser held.
    script = static / "js" / "main.js"
    script.write_text("import './pages/login.js';\nconsole.log('new');\n")
    later = os.stat(script).st_mtime + 5
    os.utime(script, (later, later))
    changed = await client.get("/ui/js/main.js", headers={"If-None-Match": etag, "If-Modified-Since": modified})
    assert changed.status_code == 200
    assert "new" in changed.text
    assert changed.headers["etag"] != etag


async def test_the_same_file_has_the_same_etag_on_every_replica(
    fakes: Fakes, settings: Settings, tokens: TokenFactory, static: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with AsyncTestClient(create_app(settings, transports=fakes.transports(), verifier=tokens.verifier())) as one:
        etag = (await one.get("/ui/css/app.css")).headers["etag"]
    os.utime(static / "css" / "app.css", (1_000_000_000, 1_000_000_000))  # unpacked at another time
    monkeypatch.setattr(web, "STATIC", StaticFiles(static))  # another process, nothing remembered
    async with AsyncTestClient(create_app(settings, transports=fakes.transports(), verifier=tokens.verifier())) as two:
        assert (await two.get("/ui/css/app.css", headers={"If-None-Match": etag})).status_code == 304


async def test_the_shipped_page_and_every_file_it_names_are_served(client: AsyncTestClient[Any]) -> None:
    page = await client.get("/")
    assert page.status_code == 200
    assert page.text == (STATIC_DIR / "index.html").read_text()
    # Nothing inline and nothing from elsewhere, as the Content-Security-Policy demands.
    assert "<style" not in page.text
    assert not re.search(r"<script(?![^>]*\bsrc=)", page.text)
    named = re.findall(r'(?:src|href)="([^"#]+)"', page.text)
    assert named
    assert all(url.startswith("/ui/") for url in named), named
    for url in named:
        assert (await client.get(url)).status_code == 200, url
    shipped = [p for p in STATIC_DIR.rglob("*") if p.is_file() and p.suffix in {".js", ".css", ".json", ".svg"}]
    for path in shipped:
        response = await client.get(f"/ui/{path.relative_to(STATIC_DIR).as_posix()}")
        assert response.status_code == 200, path
        assert response.content == path.read_bytes()
    scripts = [p for p in shipped if p.suffix == ".js"]
    for path in scripts:
        response = await client.get(f"/ui/{path.relative_to(STATIC_DIR).as_posix()}")
        assert response.headers["content-type"] == "text/javascript; charset=utf-8", path


# ------------------------------------------------------------------ QR codes


def _rasterise(svg: bytes, pixels_per_module: int = 8) -> Image.Image:
    """Draw the SVG the gateway made the way a browser would, for a reader to decode.

    It understands what a QR code's SVG holds: a ``viewBox``, a ``scale`` transform, a white
    background and one path of 1-unit strokes made of ``M``/``m``/``h``; anything else fails.
    """
    root = ET.fromstring(svg)
    ns = "{http://www.w3.org/2000/svg}"
    assert root.tag == f"{ns}svg"
    for element in root.iter():
        assert element.tag in {f"{ns}svg", f"{ns}g", f"{ns}path"}, element.tag  # no script, style, foreignObject
        assert "style" not in element.attrib
        assert not any(name.startswith("on") for name in element.attrib)
    _, _, width, height = (float(v) for v in root.attrib["viewBox"].split())
    assert (root.attrib["width"], root.attrib["height"]) == (f"{width:g}", f"{height:g}")
    scale = 1.0
    dark: list[tuple[float, float, float]] = []  # (x from, x to, y) in viewBox units
    for element in root.iter():
        transform = element.attrib.get("transform")
        if transform:
            match = re.fullmatch(r"scale\(([0-9.]+)\)", transform)
            assert match, transform
            scale = float(match.group(1))
        if element.tag != f"{ns}path":
            continue
        if element.attrib.get("fill") == "#fff":
            continue  # the light background
        assert element.attrib.get("stroke") == "#000", element.attrib
        x = y = 0.0
        for command, args in re.findall(r"([A-Za-z])([^A-Za-z]*)", element.attrib["d"]):
            numbers = [float(n) for n in re.findall(r"-?[0-9.]+", args)]
            if command == "M":
                x, y = numbers
            elif command == "m":
                x, y = x + numbers[0], y + numbers[1]
            elif command == "h":
                dark.append((x, x + numbers[0], y))
                x += numbers[0]
            else:
                raise AssertionError(f"path command {command} is not drawn here")
    modules = int(width / scale)
    image = Image.new("L", (modules * pixels_per_module, modules * pixels_per_module), 255)
    draw = ImageDraw.Draw(image)
    for x_from, x_to, y in dark:  # a 1-unit stroke centred on y covers the row above y
        top = (y - 0.5) * pixels_per_module
        draw.rectangle(
            (x_from * pixels_per_module, top, x_to * pixels_per_module - 1, top + pixels_per_module - 1), fill=0
        )
    return image


def _decode(svg: bytes) -> zxingcpp.Barcode:
    found = zxingcpp.read_barcodes(_rasterise(svg))
    assert len(found) == 1, found
    return found[0]


async def test_a_records_qr_code_leads_to_its_page_at_the_requests_own_address(
    client: AsyncTestClient[Any],
) -> None:
    response = await client.get("/qr/records/123.svg")  # no token: it only holds an address
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "image/svg+xml"
    assert response.headers["cache-control"] == "public, max-age=3600"
    code = _decode(response.content)
    assert code.text == "http://testserver.local/records/123"
    assert code.format == zxingcpp.BarcodeFormat.QRCode
    assert code.ec_level == "M"
    assert b"<script" not in response.content
    assert b"<style" not in response.content


async def test_the_public_url_setting_is_what_the_qr_code_holds(
    fakes: Fakes, settings: Settings, tokens: TokenFactory
) -> None:
    app = create_app(
        replace(settings, public_url="https://dmt.plant.example/"),
        transports=fakes.transports(),
        verifier=tokens.verifier(),
    )
    async with AsyncTestClient(app, base_url="http://10.0.0.5:8000") as client:
        response = await client.get("/qr/records/9223372036854775807.svg")
        assert response.status_code == 200
        assert _decode(response.content).text == "https://dmt.plant.example/records/9223372036854775807"
        # Behind a proxy the Host header may say anything; the setting still decides.
        forged = await client.get("/qr/records/5.svg", headers={"Host": "evil.example"})
        assert _decode(forged.content).text == "https://dmt.plant.example/records/5"


@pytest.mark.parametrize("host", ["evil.example/login?next=", "user@evil.example", "evil_example", "a b", ""])
async def test_a_host_header_that_is_no_host_name_makes_no_qr_code(client: AsyncTestClient[Any], host: str) -> None:
    response = await client.get("/qr/records/5.svg", headers={"Host": host})
    assert response.status_code == 400, response.text
    assert response.headers["content-type"].startswith(PROBLEM)


@pytest.mark.parametrize("host", ["dmt.plant.example:8443", "10.0.0.5", "[2001:db8::5]:8000"])
async def test_the_qr_code_holds_the_host_it_was_asked_at(client: AsyncTestClient[Any], host: str) -> None:
    response = await client.get("/qr/records/5.svg", headers={"Host": host})
    assert _decode(response.content).text == f"http://{host}/records/5"


@pytest.mark.parametrize(
    "name", ["0.svg", "-1.svg", "+1.svg", "01.svg", "9223372036854775808.svg", "1.png", "abc.svg", "1.svg.svg", "1"]
)
async def test_only_record_ids_have_qr_codes(client: AsyncTestClient[Any], name: str) -> None:
    response = await client.get(f"/qr/records/{name}")
    assert response.status_code == 404, name
    assert response.headers["content-type"].startswith(PROBLEM)


# ------------------------------------------------------------------ the setting


def test_the_public_url_comes_from_the_environment_without_its_trailing_slash(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GATEWAY_PUBLIC_URL", "https://dmt.plant.example/")
    assert from_env(Settings, PREFIX).public_url == "https://dmt.plant.example"
    monkeypatch.setenv("GATEWAY_PUBLIC_URL", "")
    assert from_env(Settings, PREFIX).public_url == ""
    assert Settings(public_url="http://10.0.0.5:8000").public_url == "http://10.0.0.5:8000"


@pytest.mark.parametrize(
    "bad",
    ["dmt.plant.example", "ftp://dmt.plant.example", "https://", "https://x/?a=1", "https://x/#top", "javascript:1"],
)
def test_a_public_url_that_is_no_web_address_is_refused(bad: str) -> None:
    with pytest.raises(SettingsError, match="GATEWAY_PUBLIC_URL"):
        Settings(public_url=bad)
