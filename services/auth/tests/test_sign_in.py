"""Signing in: what a user gets, what a wrong guess gets, and when guessing is stopped."""

from __future__ import annotations

from sqlalchemy import select

from dmt_auth.db.models import UserAccount
from dmt_shared.tokens import Role, TokenVerifier

WRONG = "wrong username or password"


async def test_sign_in_gives_tokens_that_the_published_keys_verify(api) -> None:
    client = api.client
    body = await api.login("  ins001 ", "employee123")
    assert body["token_type"] == "bearer"
    assert body["expires_in"] == 900
    assert body["refresh_token"]
    assert body["refresh_token"] != body["access_token"]
    assert body["user"] == {
        "id": body["user"]["id"],
        "username": "INS001",
        "full_name": "Guadalupe Hernández Ruiz",
        "role": "Inspector",
        "language": "es",
        "time_zone": "America/Mexico_City",
    }

    jwks = await client.get("/api/v1/auth/jwks")
    assert jwks.status_code == 200
    assert (await client.get("/.well-known/jwks.json")).json() == jwks.json()
    principal = await TokenVerifier.from_static(jwks.json()).verify(body["access_token"])
    assert (principal.id, principal.username, principal.role) == (body["user"]["id"], "INS001", Role.INSPECTOR)

    me = await client.get("/api/v1/auth/me", headers={"Authorization": f"Bearer {body['access_token']}"})
    assert me.status_code == 200
    assert me.json()["username"] == "INS001"
    assert me.json()["email"] == "ins001@dmt.example"
    assert me.json()["last_login_at"] is not None
    assert "password_hash" not in me.json()


async def test_the_oauth2_password_form_signs_in_too(api) -> None:
    form = {"grant_type": "password", "username": "qua001", "password": "quality123", "scope": ""}
    response = await api.client.post("/api/v1/auth/token", data=form)
    assert response.status_code == 200, response.text
    assert set(response.json()) == {"access_token", "token_type", "expires_in", "refresh_token"}
    me = await api.client.get("/api/v1/auth/me", headers={"Authorization": f"Bearer {response.json()['access_token']}"})
    assert me.json()["role"] == "Quality Engineer"

    wrong = await api.client.post("/api/v1/auth/token", data={**form, "password": "nope"})
    assert wrong.status_code == 401
    other_grant = await api.client.post("/api/v1/auth/token", data={**form, "grant_type": "client_credentials"})
    assert other_grant.status_code == 400
    assert other_grant.json()["errors"][0]["field"] == "grant_type"


async def test_unknown_user_wrong_password_and_inactive_user_get_the_same_answer(api) -> None:
    client = api.client
    admin = await api.bearer("ADM001")
    opr = await api.user_id(admin, "OPR012")
    assert (await client.patch(f"/api/v1/users/{opr}", json={"is_active": False}, headers=admin)).status_code == 200

    answers = [
        await client.post("/api/v1/auth/login", json={"username": "NOBODY9", "password": "employee123"}),
        await client.post("/api/v1/auth/login", json={"username": "OPR011", "password": "employee124"}),
        await client.post("/api/v1/auth/login", json={"username": "OPR012", "password": "employee123"}),
    ]
    for answer in answers:
        assert answer.status_code == 401
        assert answer.headers["content-type"].startswith("application/problem+json")
        assert answer.json()["detail"] == WRONG
    missing = await client.post("/api/v1/auth/login", json={"username": "OPR011"})
    assert missing.status_code == 400
    assert missing.json()["errors"] == [{"field": "password", "message": "this field is required"}]


async def test_failed_sign_ins_are_limited_per_username_then_per_client(start) -> None:
    async with start(login_user_limit=3, login_client_limit=8) as api:

        async def attempt(username: str, password: str, **headers: str):
            body = {"username": username, "password": password}
            return await api.client.post("/api/v1/auth/login", json=body, headers=headers)

        # Per username: the 4th attempt is refused even with the right password, without checking it.
        for _ in range(3):
            assert (await attempt("INS003", "guess-guess")).status_code == 401
        locked = await attempt("ins003", "employee123")
        assert locked.status_code == 429
        assert 1 <= int(locked.headers["retry-after"]) <= 900
        assert locked.headers["content-type"].startswith("application/problem+json")
        # Another user from the same client may still sign in (3 failures < 8 for the client).
        await api.login("INS004")

        # A success clears the username's count.
        for _ in range(2):
            assert (await attempt("INS005", "guess-guess")).status_code == 401
        await api.login("INS005")
        for _ in range(2):
            assert (await attempt("INS005", "guess-guess")).status_code == 401
        await api.login("INS005")

        # Per client: the 8th failure from this client reaches its limit, whatever
        # X-Forwarded-For claims (not trusted by default).
        assert (await attempt("INS006", "guess-guess", **{"X-Forwarded-For": "198.51.100.7"})).status_code == 401
        assert (await attempt("INS007", "employee123")).status_code == 429
        blocked = await attempt("INS008", "employee123", **{"X-Forwarded-For": "203.0.113.9"})
        assert blocked.status_code == 429
        assert int(blocked.headers["retry-after"]) >= 1


async def test_behind_a_trusted_proxy_the_first_forwarded_address_is_the_client(start) -> None:
    async with start(login_user_limit=50, login_client_limit=2, trust_forwarded=True) as api:

        async def attempt(username: str, password: str, address: str):
            return await api.client.post(
                "/api/v1/auth/login",
                json={"username": username, "password": password},
                headers={"X-Forwarded-For": f"{address}, 10.0.0.1"},
            )

        for name in ("INS001", "INS002"):
            assert (await attempt(name, "guess-guess", "203.0.113.5")).status_code == 401
        assert (await attempt("INS003", "employee123", "203.0.113.5")).status_code == 429
        assert (await attempt("INS003", "employee123", "198.51.100.7")).status_code == 200


async def test_a_password_hashed_with_old_parameters_is_rehashed_at_sign_in(start, db) -> None:
    async def stored_hash(api) -> str:
        async with db() as session:
            query = select(UserAccount.password_hash).where(UserAccount.username == "ENG001")
            return (await session.execute(query)).scalar_one()

    async with start() as api:
        assert ",t=1," in await stored_hash(api)
    async with start(argon2_time_cost=2) as api:
        await api.login("ENG001")
        assert ",t=2," in await stored_hash(api)
