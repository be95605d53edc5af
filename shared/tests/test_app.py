"""What every component answers the same way: problem details, request ids, health, tokens."""

from typing import Annotated

import msgspec
from litestar import get, post
from litestar.testing import AsyncTestClient
from prometheus_client.parser import text_string_to_metric_families

from dmt_shared.app import create_component_app
from dmt_shared.problems import FieldError, unprocessable
from dmt_shared.testing import TokenFactory
from dmt_shared.tokens import Role


class Body(msgspec.Struct, forbid_unknown_fields=True):
    quantity: Annotated[int, msgspec.Meta(ge=1)]
    operation: Annotated[str, msgspec.Meta(min_length=1, max_length=10)]


@post("/things")
async def create_thing(data: Body) -> dict[str, int]:
    return {"quantity": data.quantity}


@get("/things/{thing_id:int}")
async def read_thing(thing_id: int) -> dict[str, int]:
    raise unprocessable([FieldError("part_number_id", f"no part-numbers entry {thing_id}")])


@get("/reports/health")
async def health_report() -> dict[str, str]:
    return {"secret": "only for signed-in users"}


async def _broken() -> None:
    raise RuntimeError("database gone")


def _app(tokens: TokenFactory, ready_ok: bool = True):
    async def ok() -> None:
        return None

    return create_component_app(
        service="example",
        title="Example",
        version="1",
        route_handlers=[create_thing, read_thing, health_report],
        verifier=tokens.verifier(),
        ready_checks={"database": ok if ready_ok else _broken},
    )


async def test_bad_input_is_a_400_problem_naming_each_field(tokens: TokenFactory) -> None:
    async with AsyncTestClient(_app(tokens)) as client:
        headers = tokens.headers(Role.INSPECTOR)
        cases = {
            "quantity": {"quantity": -1, "operation": "cut"},
            "operation": {"quantity": 1, "operation": "x" * 11},
            "extra": {"quantity": 1, "operation": "cut", "extra": 1},
        }
        for field, body in cases.items():
            response = await client.post("/things", json=body, headers=headers)
            assert response.status_code == 400
            assert response.headers["content-type"].startswith("application/problem+json")
            problem = response.json()
            assert [e["field"] for e in problem["errors"]] == [field]
        missing = await client.post("/things", json={"quantity": 2}, headers=headers)
        assert missing.json()["errors"] == [{"field": "operation", "message": "this field is required"}]


async def test_semantic_errors_are_422_with_the_field(tokens: TokenFactory) -> None:
    async with AsyncTestClient(_app(tokens)) as client:
        response = await client.get("/things/9", headers=tokens.headers())
        assert response.status_code == 422
        assert response.json()["errors"][0]["field"] == "part_number_id"


async def test_no_token_foreign_token_and_expired_token_get_401(tokens: TokenFactory) -> None:
    async with AsyncTestClient(_app(tokens)) as client:
        assert (await client.get("/things/1")).status_code == 401
        foreign = TokenFactory().headers()
        assert (await client.get("/things/1", headers=foreign)).status_code == 401
        expired = tokens.headers(ttl_seconds=1, now=0)
        assert (await client.get("/things/1", headers=expired)).status_code == 401


async def test_request_id_is_kept_or_made(tokens: TokenFactory) -> None:
    async with AsyncTestClient(_app(tokens)) as client:
        given = await client.get("/health", headers={"X-Request-ID": "abc-123"})
        assert given.headers["x-request-id"] == "abc-123"
        made = await client.get("/health")
        assert len(made.headers["x-request-id"]) == 32
        refused = await client.get("/things/1", headers={"X-Request-ID": "trace-401"})
        assert refused.status_code == 401
        assert refused.headers["x-request-id"] == "trace-401"
        invalid = await client.post("/things", json={}, headers={**tokens.headers(), "X-Request-ID": "trace-400"})
        assert invalid.status_code == 400
        assert invalid.headers["x-request-id"] == "trace-400"


async def test_health_and_readiness(tokens: TokenFactory) -> None:
    async with AsyncTestClient(_app(tokens)) as client:
        assert (await client.get("/health")).json()["status"] == "ok"
        assert (await client.get("/health/ready")).status_code == 200
    async with AsyncTestClient(_app(tokens, ready_ok=False)) as client:
        response = await client.get("/health/ready")
        assert response.status_code == 503
        assert "database gone" in response.json()["checks"]["database"]


async def test_a_path_that_merely_contains_health_still_needs_a_token(tokens: TokenFactory) -> None:
    async with AsyncTestClient(_app(tokens)) as client:
        assert (await client.get("/reports/health")).status_code == 401
        assert (await client.get("/reports/health", headers=tokens.headers())).status_code == 200
        assert (await client.get("/health/ready")).status_code == 200


def _samples(text: str, name: str, **labels: str) -> float:
    """The sum of the samples of ``name`` whose labels include ``labels``, parsed as Prometheus does."""
    total = 0.0
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == name and all(sample.labels.get(k) == v for k, v in labels.items()):
                total += sample.value
    return total


async def test_metrics_parse_as_prometheus_text_and_move_with_traffic(tokens: TokenFactory) -> None:
    async with AsyncTestClient(_app(tokens)) as client:
        before = await client.get("/metrics")  # a scraper carries no token
        assert before.status_code == 200
        assert before.headers["content-type"].startswith("text/plain")
        template = {"component": "example", "route": "/things/{thing_id}", "method": "GET"}
        counted = _samples(before.text, "dmt_http_requests_total", **template)

        headers = tokens.headers(Role.INSPECTOR)
        for thing in (5, 6, 7):
            assert (await client.get(f"/things/{thing}", headers=headers)).status_code == 422
        assert (await client.get("/things/8")).status_code == 401  # refused requests count too

        after = (await client.get("/metrics")).text
        assert _samples(after, "dmt_http_requests_total", **template) == counted + 4
        assert _samples(after, "dmt_http_requests_total", status="422", **template) >= 3
        assert _samples(after, "dmt_http_requests_total", status="401", **template) >= 1
        assert _samples(after, "dmt_http_request_duration_seconds_count", **template) == counted + 4
        # one series per route, never one per id
        assert "/things/5" not in after


async def test_no_free_database_connection_is_a_503_to_retry_not_a_500(tokens: TokenFactory, tmp_path) -> None:
    from sqlalchemy import text
    from sqlalchemy.ext.asyncio import create_async_engine

    engine = create_async_engine(
        f"sqlite+aiosqlite:///{tmp_path / 'busy.db'}", pool_size=1, max_overflow=0, pool_timeout=0.1
    )

    @get("/busy")
    async def busy() -> dict[str, int]:
        async with engine.connect() as first:
            await first.execute(text("SELECT 1"))
            async with engine.connect() as second:  # the pool's only connection is taken
                await second.execute(text("SELECT 1"))
        return {"never": 1}

    app = create_component_app(
        service="test", title="t", version="0", route_handlers=[busy], verifier=tokens.verifier(), ready_checks={}
    )
    try:
        async with AsyncTestClient(app) as client:
            response = await client.get("/busy", headers=tokens.headers())
    finally:
        await engine.dispose()
    assert response.status_code == 503
    assert response.headers["retry-after"] == "2"
    assert "database connection" in response.json()["detail"]
