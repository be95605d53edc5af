"""The web page at ``/`` and each of its own paths, its files under ``/ui/``, and the QR codes of
records at ``/qr/records/{id}.svg``. None of them needs a token: the page signs in through the API.

The page routes in the browser (History API), so each path it shows answers the same
``index.html``, and a reload or a link opened in a new tab lands on the right screen. A record
that does not exist is the page's to say; only a path that can never be one of its screens
(``/records/abc``) is a 404 here.
"""

from __future__ import annotations

from typing import Any

from litestar import Request, Response, get
from litestar.datastructures import ETag
from litestar.response import File

from dmt_gateway.domain.web.services import (
    StaticFile,
    StaticFiles,
    origin_of,
    qr_svg,
    record_id_of,
    record_page_url,
    still_current,
)
from dmt_shared.problems import ProblemError, not_found

#: The paths the page shows a screen at; each answers index.html.
PAGE_PATHS = [
    "/",
    "/login",
    "/records",
    "/records/new",
    "/records/{record_id:int}",
    "/records/{record_id:int}/print/{form:str}",
    "/admin",
    "/admin/catalogs",
    "/admin/catalogs/{kind:str}",
    "/admin/users",
    "/profile",
]

FILES_PATH = "/ui"
QR_PATH = "/qr/records"

#: Browsers keep the page's files but ask on each load whether they changed (a cheap 304 if not).
FILE_CACHE_CONTROL = "no-cache"
#: A record's QR code only ever encodes its address, which does not change.
QR_CACHE_CONTROL = "public, max-age=3600"

#: Patterns of the paths above that need no token, for the token check's exclusions.
PUBLIC_PATTERNS = [
    r"^/(login|records|records/new|records/[0-9]+|records/[0-9]+/print/[^/]+"
    r"|admin|admin/catalogs|admin/catalogs/[^/]+|admin/users|profile)?/?$",
    f"^{FILES_PATH}/",
    f"^{QR_PATH}/[^/]+$",
]

#: The files of the page; tests may point this at a folder of their own.
STATIC = StaticFiles()


def _send(request: Request[Any, Any, Any], file: StaticFile) -> Response[Any]:
    headers = {"Cache-Control": FILE_CACHE_CONTROL, "Last-Modified": file.last_modified}
    if still_current(file, request.headers.get("if-none-match"), request.headers.get("if-modified-since")):
        return Response(content=b"", status_code=304, headers={**headers, "ETag": file.etag})
    return File(
        file.path,
        media_type=file.media_type,
        content_disposition_type="inline",
        etag=ETag(value=file.etag.strip('"')),
        stat_result=file.stat,
        headers=headers,
    )


@get(PAGE_PATHS, include_in_schema=False, sync_to_thread=False, name="web-page")
def web_page(request: Request[Any, Any, Any]) -> Response[Any]:
    file = STATIC.find("index.html")
    if file is None:
        raise ProblemError(404, "the web page is not installed with this gateway")
    return _send(request, file)


@get(f"{FILES_PATH}/{{path:path}}", include_in_schema=False, sync_to_thread=False, name="web-file")
def web_file(request: Request[Any, Any, Any], path: str) -> Response[Any]:
    relative = path.removeprefix("/")
    file = STATIC.find(relative)
    if file is None:
        raise not_found("file", f"{FILES_PATH}/{relative}")
    return _send(request, file)


def _host_of(request: Request[Any, Any, Any]) -> str:
    """The Host the request was sent to (the address the server listens at without one)."""
    host = request.headers.get("host")
    if host is not None:
        return host
    server = request.scope.get("server")
    return f"{server[0]}:{server[1]}" if server and server[1] is not None else ""


@get(f"{QR_PATH}/{{name:str}}", include_in_schema=False, sync_to_thread=False, name="record-qr-code")
def record_qr_code(request: Request[Any, Any, Any], name: str) -> Response[bytes]:
    """The QR code a printed record carries: it opens the record's page."""
    record_id = record_id_of(name)
    if record_id is None:
        raise ProblemError(404, f"no QR code at {QR_PATH}/{name}: ask for /qr/records/<record id>.svg")
    public_url: str = request.app.state.public_url
    base = public_url or origin_of(request.scope["scheme"], _host_of(request))
    if base is None:
        raise ProblemError(400, "the Host of this request is not a host name; GATEWAY_PUBLIC_URL names the address")
    return Response(
        content=qr_svg(record_page_url(base, record_id)),
        media_type="image/svg+xml",
        headers={"Cache-Control": QR_CACHE_CONTROL},
    )


route_handlers = [web_page, web_file, record_qr_code]
