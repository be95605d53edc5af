"""Managing users: only Admins write, values are checked, duplicates are 409, emails stay private,
the last Admin stays, lists are ordered, filtered and paged, and many users are looked up at once."""

from __future__ import annotations

import asyncio

from sqlalchemy.ext.asyncio import AsyncSession

from dmt_auth.domain.users.schemas import UserUpdate
from dmt_auth.domain.users.services import UserService
from dmt_auth.passwords import Passwords
from dmt_shared.db import create_engine
from dmt_shared.problems import ProblemError
from dmt_shared.testing import TokenFactory
from dmt_shared.tokens import Role

USERS = "/api/v1/users"


def new_user(**overrides: object) -> dict[str, object]:
    body: dict[str, object] = {
        "username": "  ins012 ",
        "full_name": "  Rosa   Elena Navarro ",
        "role": "Inspector",
        "password": "steel-casting-7",
        "email": " Rosa.Navarro@DMT.example ",
        "language": "es",
        "time_zone": "America/Monterrey",
    }
    body.update(overrides)
    return body


async def test_an_admin_creates_a_user_who_can_then_sign_in(api) -> None:
    admin = await api.bearer("ADM001")
    created = await api.client.post(USERS, json=new_user(), headers=admin)
    assert created.status_code == 201, created.text
    user = created.json()
    assert (user["username"], user["full_name"], user["email"]) == (
        "INS012",
        "Rosa Elena Navarro",
        "rosa.navarro@dmt.example",
    )
    assert (user["role"], user["is_active"], user["language"], user["time_zone"]) == (
        "Inspector",
        True,
        "es",
        "America/Monterrey",
    )
    assert "password" not in user
    assert "password_hash" not in user
    fetched = await api.client.get(f"{USERS}/{user['id']}", headers=admin)
    assert fetched.json() == user
    signed_in = await api.login("INS012", "steel-casting-7")
    assert signed_in["user"]["id"] == user["id"]

    minimal = await api.client.post(
        USERS,
        json={"username": "OPR013", "full_name": "Gao Yan", "role": "Operator", "password": "12345678"},
        headers=admin,
    )
    assert minimal.status_code == 201
    assert (minimal.json()["email"], minimal.json()["language"], minimal.json()["time_zone"]) == (None, "en", "UTC")


async def test_bad_values_are_refused_naming_the_field(api) -> None:
    admin = await api.bearer("ADM001")
    cases = {
        "role": new_user(role="Supervisor"),
        "username": new_user(username="a!"),
        "full_name": new_user(full_name="   "),
        "password": new_user(password="short"),
        "email": new_user(email="not-an-email"),
        "language": new_user(language="fr"),
        "extra": new_user(extra="x"),
    }
    for field, body in cases.items():
        response = await api.client.post(USERS, json=body, headers=admin)
        assert response.status_code == 400, (field, response.text)
        assert [e["field"] for e in response.json()["errors"]] == [field]
    zone = await api.client.post(USERS, json=new_user(time_zone="Mars/Olympus_Mons"), headers=admin)
    assert zone.status_code == 422
    assert zone.json()["errors"][0]["field"] == "time_zone"
    role_patch = await api.client.patch(f"{USERS}/1", json={"role": "root"}, headers=admin)
    assert role_patch.status_code == 400
    assert role_patch.json()["errors"][0]["field"] == "role"
    null_name = await api.client.patch(f"{USERS}/1", json={"full_name": None}, headers=admin)
    assert null_name.status_code == 400


async def test_duplicates_are_a_409_naming_the_field(api) -> None:
    admin = await api.bearer("ADM001")
    assert (await api.client.post(USERS, json=new_user(), headers=admin)).status_code == 201
    same_name = await api.client.post(USERS, json=new_user(username="Ins012", email=None), headers=admin)
    assert same_name.status_code == 409
    assert same_name.json()["errors"][0]["field"] == "username"
    same_email = await api.client.post(
        USERS, json=new_user(username="INS013", email="ROSA.NAVARRO@dmt.example"), headers=admin
    )
    assert same_email.status_code == 409
    assert same_email.json()["errors"][0]["field"] == "email"
    other = await api.user_id(admin, "INS001")
    taken = await api.client.patch(f"{USERS}/{other}", json={"email": "rosa.navarro@dmt.example"}, headers=admin)
    assert taken.status_code == 409
    assert taken.json()["errors"][0]["field"] == "email"


async def test_only_an_admin_writes_users_and_nobody_deletes_them(api) -> None:
    client = api.client
    admin = await api.bearer("ADM001")
    target = await api.user_id(admin, "OPR003")
    for username in ("INS001", "ENG001", "QUA001", "OPR001"):
        headers = await api.bearer(username)
        assert (await client.post(USERS, json=new_user(), headers=headers)).status_code == 403
        assert (await client.patch(f"{USERS}/{target}", json={"role": "Admin"}, headers=headers)).status_code == 403
    assert (await client.post(USERS, json=new_user())).status_code == 401
    assert (await client.delete(f"{USERS}/{target}", headers=admin)).status_code == 405

    changed = await client.patch(
        f"{USERS}/{target}",
        json={"full_name": "Miguel Ángel Gómez Soto", "role": "Tech Engineer", "email": None, "language": "zh"},
        headers=admin,
    )
    assert changed.status_code == 200, changed.text
    assert (changed.json()["full_name"], changed.json()["role"], changed.json()["email"]) == (
        "Miguel Ángel Gómez Soto",
        "Tech Engineer",
        None,
    )
    assert changed.json()["language"] == "zh"
    assert changed.json()["time_zone"] == "America/Mexico_City"
    assert (await client.patch(f"{USERS}/999999", json={"language": "en"}, headers=admin)).status_code == 404
    assert (await client.get(f"{USERS}/999999", headers=admin)).status_code == 404


async def test_emails_are_shown_only_to_admins_and_to_the_user_themselves(api) -> None:
    client = api.client
    inspector = await api.bearer("INS002")
    listed = await client.get(USERS, params={"page_size": 200}, headers=inspector)
    assert listed.status_code == 200
    assert listed.json()["total"] == 26
    assert all("email" not in u for u in listed.json()["items"])
    by_name = {u["username"]: u["id"] for u in listed.json()["items"]}
    other = await client.get(f"{USERS}/{by_name['INS003']}", headers=inspector)
    assert other.status_code == 200
    assert "email" not in other.json()
    own = await client.get(f"{USERS}/{by_name['INS002']}", headers=inspector)
    assert own.json()["email"] == "ins002@dmt.example"

    admin = await api.bearer("ADM001")
    admin_list = await client.get(USERS, params={"page_size": 200}, headers=admin)
    assert all(u["email"].endswith("@dmt.example") for u in admin_list.json()["items"])
    assert (await client.get(f"{USERS}/{by_name['INS003']}", headers=admin)).json()["email"] == "ins003@dmt.example"


async def test_lists_are_ordered_filtered_and_paged(api) -> None:
    client = api.client
    admin = await api.bearer("ADM001")
    everyone = (await client.get(USERS, headers=admin)).json()
    assert (everyone["total"], everyone["page"], everyone["page_size"]) == (26, 1, 50)
    names = [u["username"] for u in everyone["items"]]
    assert names == sorted(names)

    operators = (await client.get(USERS, params={"role": "Operator"}, headers=admin)).json()
    assert operators["total"] == 12
    assert {u["role"] for u in operators["items"]} == {"Operator"}
    assert (await client.get(USERS, params={"q": "wang"}, headers=admin)).json()["items"][0]["full_name"] == "Wang Fang"
    assert (await client.get(USERS, params={"q": "ins0"}, headers=admin)).json()["total"] == 11
    assert (await client.get(USERS, params={"q": "%"}, headers=admin)).json()["total"] == 0

    await client.patch(f"{USERS}/{await api.user_id(admin, 'OPR005')}", json={"is_active": False}, headers=admin)
    inactive = (await client.get(USERS, params={"is_active": "false"}, headers=admin)).json()
    assert [u["username"] for u in inactive["items"]] == ["OPR005"]
    assert (await client.get(USERS, params={"is_active": "true"}, headers=admin)).json()["total"] == 25

    by_name_desc = (await client.get(USERS, params={"sort": "full_name", "order": "desc"}, headers=admin)).json()
    full_names = [u["full_name"] for u in by_name_desc["items"]]
    assert full_names[0] == "Zhou Qiang"
    assert full_names[-1] == "Alejandro Ramírez Torres"
    by_role = (await client.get(USERS, params={"sort": "role", "page_size": 1}, headers=admin)).json()
    assert by_role["items"][0]["role"] == "Admin"

    page_two = (await client.get(USERS, params={"page": 2, "page_size": 10}, headers=admin)).json()
    assert (page_two["total"], page_two["page"], len(page_two["items"])) == (26, 2, 10)
    assert page_two["items"][0]["username"] == names[10]
    for bad in ({"page": 0}, {"page_size": 201}, {"page_size": 0}, {"sort": "password_hash"}, {"role": "Boss"}):
        response = await client.get(USERS, params=bad, headers=admin)
        assert response.status_code == 400, bad
        assert response.json()["errors"][0]["field"] == next(iter(bad))


async def test_the_last_active_admin_can_be_neither_demoted_nor_deactivated(api) -> None:
    client = api.client
    admin = await api.bearer("ADM001")
    me = await api.user_id(admin, "ADM001")
    demote = await client.patch(f"{USERS}/{me}", json={"role": "Inspector"}, headers=admin)
    assert demote.status_code == 409
    assert demote.json()["errors"][0]["field"] == "role"
    deactivate = await client.patch(f"{USERS}/{me}", json={"is_active": False}, headers=admin)
    assert deactivate.status_code == 409
    assert deactivate.json()["errors"][0]["field"] == "is_active"

    second = await client.post(USERS, json=new_user(username="ADM002", role="Admin", email=None), headers=admin)
    assert second.status_code == 201
    assert (await client.patch(f"{USERS}/{me}", json={"role": "Quality Engineer"}, headers=admin)).status_code == 200
    # ADM001's access token still says Admin, but the account no longer is one.
    assert (await client.post(USERS, json=new_user(), headers=admin)).status_code == 403
    new_admin = await api.bearer("ADM002", "steel-casting-7")
    last = await client.patch(f"{USERS}/{second.json()['id']}", json={"is_active": False}, headers=new_admin)
    assert last.status_code == 409


async def test_many_users_are_looked_up_in_one_call(api, tokens: TokenFactory) -> None:
    client = api.client
    inspector = await api.bearer("INS001")
    ids = [u["id"] for u in (await client.get(USERS, params={"q": "opr00"}, headers=inspector)).json()["items"]]
    asked = [*ids[:3], 999_999, ids[0]]
    response = await client.post(f"{USERS}/lookup", json={"ids": asked}, headers=inspector)
    assert response.status_code == 200, response.text
    body = response.json()
    assert [u["id"] for u in body["items"]] == sorted(ids[:3])
    assert set(body["items"][0]) == {"id", "username", "full_name", "role", "is_active"}
    assert body["items"][0]["username"] == "OPR001"
    assert body["missing"] == [999_999]
    assert (await client.post(f"{USERS}/lookup", json={"ids": []}, headers=inspector)).json() == {
        "items": [],
        "missing": [],
    }
    too_many = await client.post(f"{USERS}/lookup", json={"ids": list(range(1, 1002))}, headers=inspector)
    assert too_many.status_code == 400
    assert (await client.post(f"{USERS}/lookup", json={"ids": [1]})).status_code == 401
    # A token from another key (another deployment's) is not accepted.
    foreign = await client.post(f"{USERS}/lookup", json={"ids": [1]}, headers=tokens.headers(Role.ADMIN))
    assert foreign.status_code == 401


async def test_a_user_changes_their_own_profile_and_password(api) -> None:
    client = api.client
    session = await api.login("ENG001")
    headers = {"Authorization": f"Bearer {session['access_token']}"}
    changed = await client.patch(
        "/api/v1/auth/me",
        json={
            "full_name": "Zhang Wei (张伟)",
            "language": "en",
            "time_zone": "Asia/Shanghai",
            "email": "ZW@dmt.example",
        },
        headers=headers,
    )
    assert changed.status_code == 200, changed.text
    assert (changed.json()["full_name"], changed.json()["email"], changed.json()["language"]) == (
        "Zhang Wei (张伟)",
        "zw@dmt.example",
        "en",
    )
    assert (await client.patch("/api/v1/auth/me", json={"role": "Admin"}, headers=headers)).status_code == 400
    bad_zone = await client.patch("/api/v1/auth/me", json={"time_zone": "Nowhere/Town"}, headers=headers)
    assert bad_zone.status_code == 422

    missing = await client.patch("/api/v1/auth/me", json={"password": "casting-2024"}, headers=headers)
    assert missing.status_code == 422
    assert missing.json()["errors"][0]["field"] == "current_password"
    wrong = await client.patch(
        "/api/v1/auth/me", json={"password": "casting-2024", "current_password": "engineer124"}, headers=headers
    )
    assert wrong.status_code == 422
    assert wrong.json()["errors"][0]["field"] == "current_password"
    right = await client.patch(
        "/api/v1/auth/me", json={"password": "casting-2024", "current_password": "engineer123"}, headers=headers
    )
    assert right.status_code == 200
    # The new password works, the old one does not, and earlier refresh tokens are revoked.
    await api.login("ENG001", "casting-2024")
    old = await client.post("/api/v1/auth/login", json={"username": "ENG001", "password": "engineer123"})
    assert old.status_code == 401
    refresh = await client.post("/api/v1/auth/refresh", json={"refresh_token": session["refresh_token"]})
    assert refresh.status_code == 401


async def test_two_admins_taken_away_at_the_same_moment_leave_one_admin(api, database_url, make_settings) -> None:
    admin = await api.bearer("ADM001")
    created = await api.client.post(USERS, json=new_user(username="ADM002", role="Admin", email=None), headers=admin)
    first, second = await api.user_id(admin, "ADM001"), created.json()["id"]
    engine = create_engine(database_url, pool_size=2)
    try:
        sessions = [AsyncSession(engine, expire_on_commit=False) for _ in range(2)]
        services = [UserService(session, passwords=Passwords(make_settings())) for session in sessions]
        outcomes = await asyncio.gather(
            services[0].update_user(first, UserUpdate(role=Role.INSPECTOR)),
            services[1].update_user(second, UserUpdate(is_active=False)),
            return_exceptions=True,
        )
        for session in sessions:
            await session.close()
    finally:
        await engine.dispose()
    refused = [o for o in outcomes if isinstance(o, ProblemError) and o.status_code == 409]
    assert len(refused) == 1, outcomes
    admins = await api.client.get(USERS, params={"role": "Admin", "is_active": "true"}, headers=admin)
    assert admins.json()["total"] == 1
