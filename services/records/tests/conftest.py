"""The records service on a real database, with auth and masterdata played by in-memory fakes.

The fakes answer the look-up contracts of ``dmt_shared.contracts`` from small tables and count
every call, so a test can say how many look-ups a write made. ``down`` makes one unreachable.

The fake auth also checks a signer's password (``PASSWORD_CHECK_PATH``): the password of user
``ENG001`` is ``pw-ENG001`` (see :func:`password_of`); the user is the one the bearer token
names, read from the token without verifying it (the records service verified it already).
"""

from __future__ import annotations

import base64
import json
from collections import Counter
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import httpx
import msgspec
import pytest
from litestar.testing import AsyncTestClient
from sqlalchemy.ext.asyncio import AsyncEngine

from dmt_records.asgi import create_app
from dmt_records.config import Settings
from dmt_shared.contracts import (
    CATALOG_KINDS,
    CATALOG_LOOKUP_PATH,
    PASSWORD_CHECK_PATH,
    USER_LOOKUP_PATH,
    CatalogEntrySummary,
    CatalogLookupRequest,
    CatalogLookupResponse,
    PasswordCheck,
    SignerIdentity,
    UserLookupRequest,
    UserLookupResponse,
    UserSummary,
)
from dmt_shared.db import create_engine
from dmt_shared.testing import TokenFactory
from dmt_shared.tokens import Role
from dmt_shared.translator_fake import FakeLibreTranslate

#: Each catalog kind gets its own block of ids (part-numbers 101.., work-centers 201.., ...), so an
#: id of one catalog is unknown in every other. ``x09`` is an inactive entry of each kind.
KIND_BASE = {kind: 100 * (n + 1) for n, kind in enumerate(CATALOG_KINDS)}
INACTIVE = 9


def entry(kind: str, n: int = 1) -> int:
    return KIND_BASE[kind] + n


#: The people of the tests: one per role, a second Tech Engineer, and a deactivated user.
USERS: dict[Role | str, UserSummary] = {
    Role.ADMIN: UserSummary(id=1, username="ADM001", full_name="Ana Admin", role="Admin", is_active=True),
    Role.INSPECTOR: UserSummary(id=2, username="INS001", full_name="Ivan Inspector", role="Inspector", is_active=True),
    Role.OPERATOR: UserSummary(id=3, username="OPR001", full_name="Olga Operator", role="Operator", is_active=True),
    Role.TECH_ENGINEER: UserSummary(id=4, username="ENG001", full_name="Li Wei", role="Tech Engineer", is_active=True),
    Role.QUALITY_ENGINEER: UserSummary(
        id=5, username="QUA001", full_name="Maria Quality", role="Quality Engineer", is_active=True
    ),
    "second engineer": UserSummary(
        id=6, username="ENG002", full_name="Zhang Min", role="Tech Engineer", is_active=True
    ),
    "deactivated": UserSummary(id=9, username="OPR099", full_name="Gone Person", role="Operator", is_active=False),
}
USERS_BY_ID: dict[int, UserSummary] = {u.id: u for u in USERS.values()}


def password_of(username: str) -> str:
    """Every test user's password, as the fake auth knows it."""
    return f"pw-{username}"


def _token_user(authorization: str | None) -> int | None:
    """The user id a bearer token names, read without verifying it (a test fake)."""
    if not authorization or not authorization.lower().startswith("bearer "):
        return None
    try:
        payload = authorization.split(" ", 1)[1].split(".")[1]
        claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
        return int(claims["sub"])
    except (IndexError, KeyError, ValueError):
        return None


def _problem(status: int, detail: str, headers: dict[str, str] | None = None, **extra: Any) -> httpx.Response:
    body = {"type": "about:blank", "status": status, "title": "", "detail": detail, **extra}
    return httpx.Response(
        status, content=json.dumps(body), headers={"content-type": "application/problem+json", **(headers or {})}
    )


@dataclass
class FakeUpstreams:
    """masterdata's catalog look-up, auth's user look-up and auth's password check, in memory.

    ``calls["password"]`` counts password checks; ``locked`` holds user ids whose password auth
    refuses to check now (429 with ``Retry-After: 30``), as after too many wrong ones.
    """

    catalog: dict[tuple[str, int], CatalogEntrySummary] = field(default_factory=dict)
    users: dict[int, UserSummary] = field(default_factory=dict)
    calls: Counter[str] = field(default_factory=Counter)
    down: set[str] = field(default_factory=set)
    seen_headers: list[dict[str, str]] = field(default_factory=list)
    locked: set[int] = field(default_factory=set)

    def __post_init__(self) -> None:
        for kind, base in KIND_BASE.items():
            for n in (1, 2, 3, INACTIVE):
                ident = base + n
                self.catalog[(kind, ident)] = CatalogEntrySummary(
                    id=ident, kind=kind, item_number=f"{kind[:3].upper()}-{n}", item_name=f"{kind} {n}",
                    is_active=n != INACTIVE,
                )  # fmt: skip
        self.users = {u.id: u for u in USERS.values()}

    def _refuse_if_down(self, name: str, request: httpx.Request) -> None:
        if name in self.down:
            raise httpx.ConnectError("connection refused", request=request)

    def masterdata(self, request: httpx.Request) -> httpx.Response:
        self._refuse_if_down("masterdata", request)
        assert (request.method, request.url.path) == ("POST", CATALOG_LOOKUP_PATH)
        self.calls["masterdata"] += 1
        self.seen_headers.append(dict(request.headers))
        asked = msgspec.json.decode(request.content, type=CatalogLookupRequest)
        found = [self.catalog[(r.kind, r.id)] for r in asked.items if (r.kind, r.id) in self.catalog]
        missing = [r for r in asked.items if (r.kind, r.id) not in self.catalog]
        return httpx.Response(200, content=msgspec.json.encode(CatalogLookupResponse(items=found, missing=missing)))

    def auth(self, request: httpx.Request) -> httpx.Response:
        self._refuse_if_down("auth", request)
        if request.url.path == PASSWORD_CHECK_PATH:
            return self.password_check(request)
        assert (request.method, request.url.path) == ("POST", USER_LOOKUP_PATH)
        self.calls["auth"] += 1
        self.seen_headers.append(dict(request.headers))
        asked = msgspec.json.decode(request.content, type=UserLookupRequest)
        found = [self.users[i] for i in asked.ids if i in self.users]
        missing = [i for i in asked.ids if i not in self.users]
        return httpx.Response(200, content=msgspec.json.encode(UserLookupResponse(items=found, missing=missing)))

    def password_check(self, request: httpx.Request) -> httpx.Response:
        assert request.method == "POST"
        self.calls["password"] += 1
        self.seen_headers.append(dict(request.headers))
        asked = msgspec.json.decode(request.content, type=PasswordCheck)
        user = self.users.get(_token_user(request.headers.get("authorization")) or 0)
        if user is None or not user.is_active:
            return _problem(401, "this account no longer exists or is deactivated")
        if user.id in self.locked:
            return _problem(429, "too many wrong passwords; try again in 30 seconds", {"Retry-After": "30"})
        if asked.password != password_of(user.username):
            wrong = "the password is not right"
            return _problem(403, wrong, errors=[{"field": "password", "message": wrong}])
        signer = SignerIdentity(id=user.id, username=user.username, full_name=user.full_name, role=user.role)
        return httpx.Response(200, content=msgspec.json.encode(signer))

    def transports(self) -> dict[str, httpx.AsyncBaseTransport]:
        return {"masterdata": httpx.MockTransport(self.masterdata), "auth": httpx.MockTransport(self.auth)}


RECORDS = "/api/v1/records"


class Writer:
    """Changes made the way a client makes them: read the record's version (its ETag) just before,
    send it back as If-Match, and type the password when signing. For tests where the version
    is not the point; tests about versions and passwords send them themselves."""

    def __init__(self, http: httpx.AsyncClient | AsyncTestClient[Any]) -> None:
        self.http = http

    async def if_match(self, rid: int, headers: dict[str, str]) -> dict[str, str]:
        shown = await self.http.get(f"{RECORDS}/{rid}", headers=headers)
        return {**headers, "If-Match": shown.headers["etag"]} if "etag" in shown.headers else dict(headers)

    @staticmethod
    def password(headers: dict[str, str]) -> str:
        user = USERS_BY_ID.get(_token_user(headers.get("Authorization")) or 0)
        return password_of(user.username) if user else "unknown"

    async def patch(self, rid: int, body: dict[str, Any], headers: dict[str, str]) -> httpx.Response:
        return await self.http.patch(f"{RECORDS}/{rid}", json=body, headers=await self.if_match(rid, headers))

    async def close(self, rid: int, body: dict[str, Any], headers: dict[str, str]) -> httpx.Response:
        signed = {"password": self.password(headers), **body}
        return await self.http.post(f"{RECORDS}/{rid}/close", json=signed, headers=await self.if_match(rid, headers))

    async def reopen(self, rid: int, reason: str, headers: dict[str, str]) -> httpx.Response:
        signed = {"password": self.password(headers), "reason": reason}
        return await self.http.post(f"{RECORDS}/{rid}/reopen", json=signed, headers=await self.if_match(rid, headers))

    async def correct(self, rid: int, field: str, language: str, text: str, headers: dict[str, str]) -> httpx.Response:
        return await self.http.put(
            f"{RECORDS}/{rid}/texts/{field}/{language}", json={"text": text}, headers=await self.if_match(rid, headers)
        )

    async def delete(self, rid: int, reason: str, headers: dict[str, str]) -> httpx.Response:
        return await self.http.request("DELETE", f"{RECORDS}/{rid}", json={"reason": reason}, headers=headers)


@pytest.fixture
def upstreams() -> FakeUpstreams:
    return FakeUpstreams()


@pytest.fixture
def headers(tokens: TokenFactory) -> dict[Role, dict[str, str]]:
    """Authorization headers of the one user of each role."""
    return {
        role: tokens.headers(
            role, user_id=USERS[role].id, username=USERS[role].username, full_name=USERS[role].full_name
        )
        for role in Role
    }


@pytest.fixture
def password() -> Callable[[Role | str], str]:
    """``password(Role.QUALITY_ENGINEER)``: that test user's password, as the fake auth checks it."""
    return lambda who: password_of(USERS[who].username)


@pytest.fixture
async def client(
    database_url: str, tokens: TokenFactory, upstreams: FakeUpstreams
) -> AsyncIterator[AsyncTestClient[Any]]:
    settings = Settings(database_url=database_url, auth_url="http://auth.test", masterdata_url="http://masterdata.test")
    app = create_app(settings, transports=upstreams.transports(), verifier=tokens.verifier())
    async with AsyncTestClient(app) as test_client:
        yield test_client


@pytest.fixture
def concurrent_client(
    database_url: str, tokens: TokenFactory, upstreams: FakeUpstreams
) -> Callable[[], AbstractAsyncContextManager[httpx.AsyncClient]]:
    """``async with concurrent_client() as http``: a client whose requests really run at once.

    ``AsyncTestClient`` hands each request to the app's own event loop one at a time, so
    ``asyncio.gather`` over it runs requests one after another; here the app runs in the test's
    loop and gathered requests interleave, as they do in a server. (A context manager rather
    than a fixture that yields: the app's lifespan must end in the task that started it.)
    """

    @asynccontextmanager
    async def running() -> AsyncIterator[httpx.AsyncClient]:
        settings = Settings(
            database_url=database_url, auth_url="http://auth.test", masterdata_url="http://masterdata.test"
        )
        app = create_app(settings, transports=upstreams.transports(), verifier=tokens.verifier())
        transport = httpx.ASGITransport(app=app)
        async with app.lifespan(), httpx.AsyncClient(transport=transport, base_url="http://records.test") as http:
            yield http

    return running


@pytest.fixture
def write(client: AsyncTestClient[Any]) -> Writer:
    """:class:`Writer` over the test's client."""
    return Writer(client)


@pytest.fixture
def writer() -> type[Writer]:
    """:class:`Writer` itself, for a client of the test's own (``Writer(http)``)."""
    return Writer


@pytest.fixture
async def engine(database_url: str) -> AsyncIterator[AsyncEngine]:
    """The test's database, straight (the app's own engine belongs to the app's event loop)."""
    db = create_engine(database_url)
    try:
        yield db
    finally:
        await db.dispose()


def _new_record(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "part_number_id": entry("part-numbers"),
        "work_center_id": entry("work-centers"),
        "customer_id": entry("customers"),
        "level_id": entry("levels"),
        "area_id": entry("areas"),
        "prepared_by_id": entry("prepared-by"),
        "operation": "OP-30 final machining",
        "quantity": 3,
        "serial_number": "SN-0001",
        "date": "2026-03-14",
        "inspection_item_id": entry("inspection-items"),
        "process_code_id": entry("process-codes"),
        "defect_description": "Porosity on the flange face, 2 mm",
    }
    body.update(overrides)
    return body


@pytest.fixture
def new_record() -> Callable[..., dict[str, Any]]:
    """A complete, valid creation body (sections 1 and 2); keyword arguments replace fields."""
    return _new_record


@pytest.fixture
def catalog_id() -> Callable[..., int]:
    """``catalog_id("dispositions")``: an active entry; ``catalog_id(kind, INACTIVE)``: an inactive one."""
    return entry


@pytest.fixture
def libretranslate() -> Iterator[FakeLibreTranslate]:
    """A LibreTranslate-compatible server on a free port, really listening; stopped afterwards."""
    server = FakeLibreTranslate()
    server.start()
    try:
        yield server
    finally:
        if server.gate is not None:
            server.gate.set()
        server.stop()
