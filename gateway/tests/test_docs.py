"""One OpenAPI document for the whole API and the documentation page."""

from typing import Any

import httpx
import msgspec
from litestar import Litestar, get, post, put
from litestar.testing import AsyncTestClient

from dmt_gateway.asgi import create_app
from dmt_gateway.config import Settings
from dmt_gateway.domain.docs.services import PublicApiDocument, dangling_refs, merge_documents
from dmt_gateway.domain.web.services import STATIC_DIR
from dmt_gateway.upstreams import Upstreams
from dmt_shared.app import create_component_app
from dmt_shared.pagination import Page
from dmt_shared.testing import TokenFactory

# ------------------------------------------------------------------ small stand-ins built like the services


class Login(msgspec.Struct):
    username: str
    password: str


class TokenPair(msgspec.Struct):
    access_token: str
    expires_in: int


class EntryCreate(msgspec.Struct):
    item_number: str
    item_name: str


class RecordRead(msgspec.Struct):
    id: int
    report_number: str
    part_number_id: int


class Reopen(msgspec.Struct):
    password: str
    reason: str


class TextCorrection(msgspec.Struct):
    text: str


class ParetoItem(msgspec.Struct):
    id: int | None
    label: str
    count: int


class Pareto(msgspec.Struct):
    by: str
    items: list[ParetoItem]


def auth_app(tokens: TokenFactory) -> Litestar:
    # The same schema name as in masterdata, on purpose.
    Summary = msgspec.defstruct("Summary", [("id", int), ("username", str)], module=__name__)

    @post("/api/v1/auth/login")
    async def login(data: Login) -> TokenPair:
        return TokenPair(access_token="x", expires_in=900)

    @get("/api/v1/users")
    async def users() -> Page[Summary]:
        return Page(items=[], total=0, page=1, page_size=50)

    return create_component_app(
        service="auth",
        title="auth",
        version="1",
        route_handlers=[login, users],
        verifier=tokens.verifier(),
        ready_checks={},
    )


def masterdata_app(tokens: TokenFactory) -> Litestar:
    Summary = msgspec.defstruct("Summary", [("id", int), ("item_number", str), ("item_name", str)], module=__name__)

    @get("/api/v1/catalogs/{kind:str}")
    async def entries(kind: str) -> Page[Summary]:
        return Page(items=[], total=0, page=1, page_size=50)

    @post("/api/v1/catalogs/{kind:str}")
    async def create(kind: str, data: EntryCreate) -> Summary:
        return Summary(id=1, item_number=data.item_number, item_name=data.item_name)

    return create_component_app(
        service="masterdata",
        title="masterdata",
        version="1",
        route_handlers=[entries, create],
        verifier=tokens.verifier(),
        ready_checks={},
    )


def records_app(tokens: TokenFactory) -> Litestar:
    @get("/api/v1/records")
    async def records() -> Page[RecordRead]:
        return Page(items=[], total=0, page=1, page_size=50)

    @get("/api/v1/records/{record_id:int}")
    async def record(record_id: int) -> RecordRead:
        return RecordRead(id=record_id, report_number="R", part_number_id=1)

    @post("/api/v1/records/{record_id:int}/reopen")
    async def reopen(record_id: int, data: Reopen) -> RecordRead:
        return RecordRead(id=record_id, report_number="R", part_number_id=1)

    @put("/api/v1/records/{record_id:int}/texts/{field:str}/{language:str}")
    async def correct(record_id: int, field: str, language: str, data: TextCorrection) -> RecordRead:
        return RecordRead(id=record_id, report_number="R", part_number_id=1)

    @get("/api/v1/analytics/pareto")
    async def pareto() -> Pareto:
        return Pareto(by="failure_code", items=[])

    @get("/internal/rebuild")  # not a public path: the gateway routes nothing here
    async def rebuild() -> None:
        return None

    return create_component_app(
        service="records",
        title="records",
        version="1",
        route_handlers=[records, record, reopen, correct, pareto, rebuild],
        verifier=tokens.verifier(),
        ready_checks={},
    )


class Counting(httpx.AsyncBaseTransport):
    def __init__(self, inner: httpx.AsyncBaseTransport) -> None:
        self.inner = inner
        self.paths: list[str] = []

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        self.paths.append(request.url.path)
        return await self.inner.handle_async_request(request)


def service_transports(tokens: TokenFactory) -> dict[str, Counting]:
    return {
        "auth": Counting(httpx.ASGITransport(app=auth_app(tokens))),
        "masterdata": Counting(httpx.ASGITransport(app=masterdata_app(tokens))),
        "records": Counting(httpx.ASGITransport(app=records_app(tokens))),
    }


# ------------------------------------------------------------------ over HTTP


async def test_the_merged_document_covers_every_service_without_clashes(tokens: TokenFactory) -> None:
    transports = service_transports(tokens)
    app = create_app(Settings(), transports=transports, verifier=tokens.verifier())
    async with AsyncTestClient(app) as client:
        response = await client.get("/api/openapi.json")  # no token needed
        again = await client.get("/api/openapi.json")
    assert response.status_code == 200
    document = response.json()
    assert again.json() == document
    assert document["openapi"].startswith("3.1")
    assert set(document["paths"]) == {
        "/api/v1/auth/login",
        "/api/v1/users",
        "/api/v1/catalogs/{kind}",
        "/api/v1/records",
        "/api/v1/records/{record_id}",
        "/api/v1/records/{record_id}/reopen",
        "/api/v1/records/{record_id}/texts/{field}/{language}",
        "/api/v1/analytics/pareto",
    }
    assert set(document["paths"]["/api/v1/catalogs/{kind}"]) == {"get", "post"}
    assert set(document["paths"]["/api/v1/records/{record_id}/texts/{field}/{language}"]) == {"put"}
    pareto = document["paths"]["/api/v1/analytics/pareto"]["get"]["responses"]["200"]
    assert pareto["content"]["application/json"]["schema"]["$ref"] == "#/components/schemas/RecordsPareto"
    assert "RecordsParetoItem" in document["components"]["schemas"]
    assert "/api/v1/analytics" in document["info"]["description"]
    schemas = document["components"]["schemas"]
    assert "AuthSummary" in schemas
    assert "MasterdataSummary" in schemas
    assert set(schemas["AuthSummary"]["properties"]) == {"id", "username"}
    assert set(schemas["MasterdataSummary"]["properties"]) == {"id", "item_number", "item_name"}
    assert all(name.startswith(("Auth", "Masterdata", "Records")) for name in schemas)
    assert dangling_refs(document) == []
    assert document["components"]["securitySchemes"]["BearerToken"]["scheme"] == "bearer"
    assert document["security"] == [{"BearerToken": []}]
    assert "x-unavailable" not in document["info"]
    for counting in transports.values():  # the second answer came from the cache
        assert counting.paths == ["/schema/openapi.json"]


async def test_a_service_that_is_down_is_left_out_and_named(tokens: TokenFactory) -> None:
    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("connection refused", request=request)

    transports: dict[str, httpx.AsyncBaseTransport] = {**service_transports(tokens)}
    transports["masterdata"] = httpx.MockTransport(refuse)
    app = create_app(Settings(), transports=transports, verifier=tokens.verifier())
    async with AsyncTestClient(app) as client:
        response = await client.get("/api/openapi.json")
    assert response.status_code == 200
    document = response.json()
    assert document["info"]["x-unavailable"] == ["masterdata"]
    assert "/api/v1/records" in document["paths"]
    assert "/api/v1/users" in document["paths"]
    assert not [p for p in document["paths"] if p.startswith("/api/v1/catalogs")]
    assert dangling_refs(document) == []


async def test_the_document_is_fetched_again_once_it_is_old(tokens: TokenFactory) -> None:
    now = [1000.0]
    transports = service_transports(tokens)
    upstreams = Upstreams(Settings(), transports)
    upstreams.open()
    try:
        document = PublicApiDocument(upstreams, ttl=60, timeout=2, clock=lambda: now[0])
        await document.get()
        now[0] += 59
        await document.get()
        assert len(transports["records"].paths) == 1
        now[0] += 2
        await document.get()
        assert len(transports["records"].paths) == 2
    finally:
        await upstreams.aclose()


async def test_the_documentation_and_web_pages_need_no_token(client: AsyncTestClient[Any]) -> None:
    docs = await client.get("/api/docs")
    assert docs.status_code == 200
    assert docs.headers["content-type"].startswith("text/html")
    assert 'id="swagger-ui"' in docs.text
    assert "http://" not in docs.text
    assert "https://" not in docs.text
    starter = await client.get("/api/docs/assets/docs.js")
    assert starter.status_code == 200
    assert 'url: "/api/openapi.json"' in starter.text
    home = await client.get("/")  # the web page
    assert home.status_code == 200
    assert home.text == (STATIC_DIR / "index.html").read_text()
    assert (await client.get("/api/docs/assets/home.css")).status_code == 404  # the old home page's style


# ------------------------------------------------------------------ merging, without HTTP


def test_merging_renames_each_services_components_and_every_reference_to_them() -> None:
    page = {
        "type": "object",
        "properties": {"items": {"type": "array", "items": {"$ref": "#/components/schemas/Item"}}},
    }
    records = {
        "paths": {
            "/api/v1/records": {
                "get": {
                    "parameters": [{"$ref": "#/components/parameters/PageSize"}],
                    "responses": {
                        "200": {"content": {"application/json": {"schema": {"$ref": "#/components/schemas/Page"}}}}
                    },
                }
            },
            "/health": {"get": {}},
        },
        "components": {
            "schemas": {"Page": page, "Item": {"type": "object"}, "a/b": {"type": "string"}},
            "parameters": {
                "PageSize": {"name": "page_size", "in": "query", "schema": {"$ref": "#/components/schemas/a~1b"}}
            },
            "securitySchemes": {"BearerToken": {"type": "http", "scheme": "bearer"}},
        },
        "tags": [{"name": "records"}],
    }
    auth = {
        "paths": {"/api/v1/users": {"get": {"responses": {"200": {"$ref": "#/components/schemas/Page"}}}}},
        "components": {"schemas": {"Page": {"type": "object"}}},
    }
    merged = merge_documents({"records": records, "auth": auth}, ["masterdata"])
    assert set(merged["paths"]) == {"/api/v1/records", "/api/v1/users"}
    assert set(merged["components"]["schemas"]) == {"RecordsPage", "RecordsItem", "Recordsa/b", "AuthPage"}
    assert merged["components"]["parameters"]["RecordsPageSize"]["schema"]["$ref"] == "#/components/schemas/Recordsa~1b"
    assert merged["components"]["schemas"]["RecordsPage"]["properties"]["items"]["items"]["$ref"] == (
        "#/components/schemas/RecordsItem"
    )
    get_records = merged["paths"]["/api/v1/records"]["get"]
    assert get_records["parameters"][0]["$ref"] == "#/components/parameters/RecordsPageSize"
    assert merged["paths"]["/api/v1/users"]["get"]["responses"]["200"]["$ref"] == "#/components/schemas/AuthPage"
    assert merged["info"]["x-unavailable"] == ["masterdata"]
    assert merged["tags"] == [{"name": "records"}]
    assert dangling_refs(merged) == []
    assert records["components"]["schemas"]["Page"] is page  # the services' documents are left as they were
    assert page["properties"]["items"]["items"]["$ref"] == "#/components/schemas/Item"


def test_a_dangling_reference_is_found() -> None:
    assert dangling_refs({"paths": {"/x": {"$ref": "#/components/schemas/Nope"}}}) == ["#/components/schemas/Nope"]
