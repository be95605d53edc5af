"""``/api/openapi.json`` (the merged document), ``/api/docs`` (Swagger UI) and ``/`` (the home page)."""

from __future__ import annotations

from typing import Any

from litestar import MediaType, Request, Response, get

from dmt_gateway.domain.docs.services import TITLE, PublicApiDocument

SWAGGER_UI = "https://cdn.jsdelivr.net/npm/swagger-ui-dist@5"

DOCS_PAGE = f"""<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{TITLE}</title>
<link rel="stylesheet" href="{SWAGGER_UI}/swagger-ui.css">
</head>
<body>
<div id="swagger-ui"></div>
<script src="{SWAGGER_UI}/swagger-ui-bundle.js" crossorigin="anonymous"></script>
<script>
window.onload = function () {{
  window.ui = SwaggerUIBundle({{
    url: "/api/openapi.json",
    dom_id: "#swagger-ui",
    deepLinking: true,
    persistAuthorization: false
  }});
}};
</script>
</body>
</html>
"""

HOME_PAGE = """<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>DMT - Defect Management &amp; Tracking</title>
<style>
body { font-family: system-ui, sans-serif; max-width: 40rem; margin: 3rem auto; padding: 0 1rem; color: #222; }
a { color: #0b57d0; }
</style>
</head>
<body>
<h1>DMT &mdash; Defect Management &amp; Tracking</h1>
<p>Nonconformance records of the plant: defect tags, process analysis, engineering disposition
and quality approval.</p>
<ul>
<li><a href="/api/docs">API documentation</a></li>
<li><a href="/api/openapi.json">OpenAPI document</a></li>
<li><a href="/health/ready">Service status</a></li>
</ul>
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


@get("/", include_in_schema=False, media_type=MediaType.HTML, sync_to_thread=False, name="home")
def home_page() -> str:
    return HOME_PAGE


route_handlers = [openapi_document, docs_page, home_page]
