"""Stand-ins for the three services, speaking their contracts, counting every call they get."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient

from dmt_gateway.asgi import create_app
from dmt_gateway.config import Settings
from dmt_shared.testing import TokenFactory

Handler = Callable[[httpx.Request], Awaitable[httpx.Response] | httpx.Response]


@dataclass
class Seen:
    method: str
    path: str
    query: str
    headers: httpx.Headers
    body: bytes
    pieces: int

    def json(self) -> Any:
        return json.loads(self.body)


def as_network_answer(response: httpx.Response) -> httpx.Response:
    """The answer with its body still to be read, as it comes from a socket."""
    if not response.is_stream_consumed:
        return response

    async def body(content: bytes = response.content) -> AsyncIterator[bytes]:
        yield content

    return httpx.Response(response.status_code, headers=response.headers, content=body())


@dataclass
class FakeService:
    """A service at the other end of a mock transport: answers by (method, path), else echoes the call."""

    name: str
    routes: dict[tuple[str, str], Handler] = field(default_factory=dict)
    calls: list[Seen] = field(default_factory=list)

    async def __call__(self, request: httpx.Request) -> httpx.Response:
        parts = [part async for part in request.stream]  # as the pieces arrive over the wire
        body = b"".join(parts)
        self.calls.append(
            Seen(request.method, request.url.path, request.url.query.decode(), request.headers, body, len(parts))
        )
        request = httpx.Request(request.method, request.url, headers=request.headers, content=body)
        handler = self.routes.get((request.method, request.url.path))
        if handler is None:
            return as_network_answer(self.echo(request, body))
        result = handler(request)
        return as_network_answer(await result if isinstance(result, Awaitable) else result)

    def echo(self, request: httpx.Request, body: bytes) -> httpx.Response:
        return httpx.Response(
            200,
            json={
                "service": self.name,
                "method": request.method,
                "path": request.url.raw_path.decode().split("?", 1)[0],
                "query": request.url.query.decode(),
                "body": body.decode("utf-8", "replace"),
            },
        )

    def on(self, method: str, path: str, handler: Handler) -> None:
        self.routes[(method, path)] = handler

    def count(self, method: str, path: str) -> int:
        return sum(1 for c in self.calls if c.method == method and c.path == path)

    def transport(self) -> httpx.AsyncBaseTransport:
        return _Wire(self)


class _Wire(httpx.AsyncBaseTransport):
    def __init__(self, service: FakeService) -> None:
        self.service = service

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        return await self.service(request)


# ------------------------------------------------------------------ contract data

USERS = {
    1: ("ADM001", "Ana Torres"),
    2: ("INS001", "Luis Hernández"),
    3: ("ENG001", "Wang Wei"),
    4: ("QUA001", "Li Na"),
    5: ("OPR001", "José Ramírez"),
}

CATALOG_FIELDS = {
    "part_number_id": "part-numbers",
    "work_center_id": "work-centers",
    "customer_id": "customers",
    "level_id": "levels",
    "area_id": "areas",
    "prepared_by_id": "prepared-by",
    "inspection_item_id": "inspection-items",
    "process_code_id": "process-codes",
    "final_disposition_id": "dispositions",
    "failure_code_id": "failure-codes",
}

#: A catalog id that masterdata does not know (answered as missing).
UNKNOWN_ENTRY = 999


def entry_number(kind: str, ident: int) -> str:
    return f"{kind[:2].upper()}-{ident:03d}"


def entry_name(kind: str, ident: int, language: str = "en") -> str:
    """Every entry has an English and a Spanish name; only odd ids have a Chinese one."""
    if language == "es":
        return f"{kind} entrada {ident}"
    if language == "zh" and ident % 2:
        return f"{kind} 条目 {ident}"
    return f"{kind} entry {ident}"


def make_record(ident: int) -> dict[str, Any]:
    """A record as the records service answers it: ids only, some sections still empty."""
    return {
        "id": ident,
        "report_number": f"DMT-2024-{ident:05d}",
        "part_number_id": 100 + ident % 7,
        "work_center_id": 200 + ident % 15,
        "customer_id": 300 + ident % 6,
        "level_id": 400 + ident % 4,
        "area_id": None,
        "prepared_by_id": 500 + ident % 3,
        "operation": "OP-20",
        "quantity": ident,
        "inspection_item_id": 600 + ident % 5,
        "process_code_id": 700 + ident % 5,
        "defect_description": {"en": "porosity on flange", "es": "porosidad en brida", "zh": "法兰气孔"},
        "analysis_by_id": 5 if ident % 2 else None,
        "final_disposition_id": 800 + ident % 4 if ident % 3 == 0 else None,
        "engineer_id": 3 if ident % 3 == 0 else None,
        "failure_code_id": None,
        "disposition_approved_by_id": None,
        "is_closed": False,
        "created_by_id": 2,
        "updated_by_id": 1,
        "closed_by_id": None,
        "reopened_at": None,
        "reopened_by_id": None,
        "version": 1,
    }


class Fakes:
    """The three services as the gateway sees them."""

    def __init__(self, tokens: TokenFactory) -> None:
        self.auth = FakeService("auth")
        self.masterdata = FakeService("masterdata")
        self.records = FakeService("records")
        self.auth.on("GET", "/api/v1/auth/jwks", lambda r: httpx.Response(200, json=tokens.jwks()))
        self.auth.on("POST", "/api/v1/users/lookup", self.user_lookup)
        self.masterdata.on("POST", "/api/v1/catalogs/lookup", self.catalog_lookup)
        self.records.on("GET", "/api/v1/records", self.record_page)
        for service in (self.auth, self.masterdata, self.records):
            service.on("GET", "/health", lambda r, s=service.name: httpx.Response(200, json={"service": s}))

    def transports(self) -> dict[str, httpx.AsyncBaseTransport]:
        return {s.name: s.transport() for s in (self.auth, self.masterdata, self.records)}

    @staticmethod
    def user_lookup(request: httpx.Request) -> httpx.Response:
        ids = json.loads(request.content)["ids"]
        items = [
            {"id": i, "username": USERS[i][0], "full_name": USERS[i][1], "role": "Admin", "is_active": True}
            for i in ids
            if i in USERS
        ]
        return httpx.Response(200, json={"items": items, "missing": [i for i in ids if i not in USERS]})

    @staticmethod
    def catalog_lookup(request: httpx.Request) -> httpx.Response:
        refs = json.loads(request.content)["items"]
        items = [
            {
                "id": r["id"],
                "kind": r["kind"],
                "item_number": entry_number(r["kind"], r["id"]),
                "item_name": entry_name(r["kind"], r["id"]),
                "item_name_es": entry_name(r["kind"], r["id"], "es"),
                "item_name_zh": entry_name(r["kind"], r["id"], "zh") if r["id"] % 2 else None,
                "is_active": True,
            }
            for r in refs
            if r["id"] != UNKNOWN_ENTRY
        ]
        return httpx.Response(200, json={"items": items, "missing": [r for r in refs if r["id"] == UNKNOWN_ENTRY]})

    @staticmethod
    def record_page(request: httpx.Request) -> httpx.Response:
        size = int(request.url.params.get("page_size", "50"))
        items = [make_record(i) for i in range(1, size + 1)]
        return httpx.Response(200, json={"items": items, "total": 1234, "page": 1, "page_size": size})


@pytest.fixture
def fakes(tokens: TokenFactory) -> Fakes:
    return Fakes(tokens)


@pytest.fixture
def settings() -> Settings:
    return Settings(
        auth_urls=("http://auth.test",),
        masterdata_urls=("http://masterdata.test",),
        records_urls=("http://records.test",),
    )


@pytest.fixture
def app(fakes: Fakes, settings: Settings, tokens: TokenFactory) -> Litestar:
    return create_app(settings, transports=fakes.transports(), verifier=tokens.verifier())


@pytest.fixture
async def client(app: Litestar) -> AsyncIterator[AsyncTestClient[Any]]:
    async with AsyncTestClient(app) as test_client:
        yield test_client
