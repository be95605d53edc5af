"""The service as a whole: its documentation, health, and sign-in required everywhere else."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from litestar.testing import AsyncTestClient

from dmt_records.asgi import create_app
from dmt_records.config import Settings
from dmt_shared.testing import TokenFactory


async def test_health_and_docs_are_open_and_every_record_path_needs_a_token(
    tmp_path: Path, tokens: TokenFactory, upstreams: Any
) -> None:
    settings = Settings(
        database_url=f"sqlite+aiosqlite:///{tmp_path / 'records.db'}",
        auth_url="http://auth.test",
        masterdata_url="http://masterdata.test",
    )
    app = create_app(settings, transports=upstreams.transports(), verifier=tokens.verifier())
    async with AsyncTestClient(app) as client:
        assert (await client.get("/health")).json() == {"status": "ok", "service": "records"}
        ready = await client.get("/health/ready")
        assert (ready.status_code, ready.json()["checks"]) == (200, {"database": "ok"})

        document = (await client.get("/schema/openapi.json")).json()
        # the records' own paths (exports, analytics and translations are tested with their code)
        assert {
            "/api/v1/records",
            "/api/v1/records/rules",
            "/api/v1/records/usage",
            "/api/v1/records/{record_id}",
            "/api/v1/records/{record_id}/close",
            "/api/v1/records/{record_id}/reopen",
            "/api/v1/records/{record_id}/history",
            "/api/v1/records/{record_id}/texts/{field}/{language}",
        } <= set(document["paths"])
        assert set(document["paths"]["/api/v1/records/{record_id}"]) == {"get", "patch", "delete"}
        assert set(document["paths"]["/api/v1/records/{record_id}/history"]) == {"get"}
        listed = {p["name"] for p in document["paths"]["/api/v1/records"]["get"]["parameters"]}
        assert {"status", "part_number_id", "engineer_id", "date_from", "created_to", "q", "sort", "page"} <= listed

        calls = [
            ("GET", "/api/v1/records"),
            ("POST", "/api/v1/records"),
            ("GET", "/api/v1/records/1"),
            ("PATCH", "/api/v1/records/1"),
            ("POST", "/api/v1/records/1/close"),
            ("DELETE", "/api/v1/records/1"),
            ("POST", "/api/v1/records/1/reopen"),
            ("GET", "/api/v1/records/1/history"),
            ("PUT", "/api/v1/records/1/texts/analysis/es"),
            ("GET", "/api/v1/records/rules"),
            ("GET", "/api/v1/records/usage?kind=areas&id=1"),
        ]
        for method, path in calls:
            response = await client.request(method, path, json={} if method in ("POST", "PATCH", "PUT") else None)
            assert response.status_code == 401, (method, path)
            assert response.headers["content-type"].startswith("application/problem+json")
        forged = {"Authorization": f"Bearer {TokenFactory().token('Admin')}"}
        assert (await client.get("/api/v1/records", headers=forged)).status_code == 401
    assert upstreams.calls == {}
