"""``/api/openapi.json`` (the merged document) and ``/api/docs`` (Swagger UI, served from the gateway
itself, no CDN)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from litestar import MediaType, Request, Response, get
from litestar.response import File
from openapi_ui_bundles import swagger_ui

from dmt_gateway.domain.docs.services import TITLE, PublicApiDocument
from dmt_shared.problems import not_found

ASSETS_PATH = "/api/docs/assets"
OWN_ASSETS = Path(__file__).parent / "assets"

#: The files the pages load, by name: Swagger UI's (from the installed package) and our own.
ASSETS: dict[str, Path] = {
    "swagger-ui.css": swagger_ui.static_path / "swagger-ui.css",
    "swagger-ui-bundle.js": swagger_ui.static_path / "swagger-ui-bundle.js",
    "favicon-32x32.png": swagger_ui.static_path / "favicon-32x32.png",
    "favicon-16x16.png": swagger_ui.static_path / "favicon-16x16.png",
    "docs.js": OWN_ASSETS / "docs.js",
}

MEDIA_TYPES = {
    ".js": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".png": "image/png",
}

#: The assets change only with a new release of the gateway.
ASSET_CACHE_CONTROL = "public, max-age=3600"

#: Patterns of the paths above that need no token, for the token check's exclusions.
PUBLIC_PATTERNS = [f"^{ASSETS_PATH}/[^/]+$"]

DOCS_PAGE = f"""<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{TITLE}</title>
<link rel="stylesheet" href="{ASSETS_PATH}/swagger-ui.css">
<link rel="icon" type="image/png" href="{ASSETS_PATH}/favicon-32x32.png" sizes="32x32">
<link rel="icon" type="image/png" href="{ASSETS_PATH}/favicon-16x16.png" sizes="16x16">
</head>
<body>
<div id="swagger-ui"></div>
<script src="{ASSETS_PATH}/swagger-ui-bundle.js"></script>
<script src="{ASSETS_PATH}/docs.js"></script>
</body>
</html>
"""


@get("/api/openapi.json", include_in_schema=False, name="openapi")
async def openapi_document(request: Request[Any, Any, Any]) -> Response[dict[str, Any]]:
    document: PublicApiDocument = request.app.state.openapi
    return Response(await document.get(), media_type=MediaType.JSON)


@get("/api/docs", include_in_schema=False, media_type=MediaType.HTML, sync_to_thread=False, name="docs")
def docs_page() -> str:
    return DOCS_PAGE


@get(f"{ASSETS_PATH}/{{name:str}}", include_in_schema=False, sync_to_thread=False, name="docs-asset")
def docs_asset(name: str) -> File:
    path = ASSETS.get(name)
    if path is None:
        raise not_found("documentation file", name)
    return File(
        path,
        media_type=MEDIA_TYPES[path.suffix],
        content_disposition_type="inline",
        headers={"Cache-Control": ASSET_CACHE_CONTROL},
    )


route_handlers = [openapi_document, docs_page, docs_asset]
