"""The users' content version: what lets the gateway keep user names between reads.

It changes with every change a look-up would show (a user added or removed, a username, full
name, role or active flag changed), on every replica, and with nothing else (a sign-in)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import delete, update

from dmt_auth.db.models import UserAccount
from dmt_shared.contracts import USER_LOOKUP_PATH, USER_VERSION_PATH, WANT_VERSION_HEADER

USERS = "/api/v1/users"


async def version_of(api: Any, headers: dict[str, str]) -> str:
    response = await api.client.get(USER_VERSION_PATH, headers=headers)
    assert response.status_code == 200, response.text
    version = response.json()["version"]
    assert response.headers["etag"] == f'"{version}"'
    return version


async def create_user(api: Any, admin: dict[str, str], username: str) -> int:
    body = {"username": username, "full_name": "Rosa Navarro", "role": "Inspector", "password": "steel-casting-7"}
    response = await api.client.post(USERS, json=body, headers=admin)
    assert response.status_code == 201, response.text
    return int(response.json()["id"])


async def test_any_signed_in_user_reads_the_version_and_a_matching_etag_gets_304(api) -> None:
    assert (await api.client.get(USER_VERSION_PATH)).status_code == 401
    operator = await api.bearer("OPR001")
    version = await version_of(api, operator)

    unchanged = await api.client.get(USER_VERSION_PATH, headers={**operator, "If-None-Match": f'"{version}"'})
    assert unchanged.status_code == 304
    assert unchanged.content == b""
    assert unchanged.headers["etag"] == f'"{version}"'
    other = await api.client.get(USER_VERSION_PATH, headers={**operator, "If-None-Match": '"something-else"'})
    assert other.status_code == 200
    assert other.json() == {"version": version}


async def test_the_look_up_answer_carries_the_version_as_its_etag_when_asked(api) -> None:
    operator = await api.bearer("OPR001")
    version = await version_of(api, operator)
    wanted = {**operator, WANT_VERSION_HEADER: "1"}
    looked_up = await api.client.post(USER_LOOKUP_PATH, json={"ids": [1, 999_999]}, headers=wanted)
    assert looked_up.status_code == 200
    assert looked_up.headers["etag"] == f'"{version}"'
    plain = await api.client.post(USER_LOOKUP_PATH, json={"ids": [1]}, headers=operator)
    assert plain.status_code == 200
    assert "etag" not in plain.headers
    assert looked_up.json()["missing"] == [999_999]


async def test_the_version_path_is_not_taken_for_a_user_id(api) -> None:
    admin = await api.bearer("ADM001")
    assert (await api.client.get(f"{USERS}/version", headers=admin)).json().keys() == {"version"}
    assert (await api.client.get(f"{USERS}/1", headers=admin)).json()["id"] == 1


async def test_every_change_a_look_up_shows_gives_a_new_version(api, db) -> None:
    admin = await api.bearer("ADM001")
    seen = [await version_of(api, admin)]

    async def changed() -> None:
        version = await version_of(api, admin)
        assert version != seen[-1]
        seen.append(version)

    user_id = await create_user(api, admin, "INS020")
    await changed()
    for change in ({"full_name": "Rosa Elena Navarro"}, {"role": "Operator"}, {"is_active": False}):
        response = await api.client.patch(f"{USERS}/{user_id}", json=change, headers=admin)
        assert response.status_code == 200, response.text
        await changed()  # each change comes right after the last one: within the same second too

    async with db() as session:  # a change made in the database itself, by a tool or by hand
        await session.execute(update(UserAccount).where(UserAccount.id == user_id).values(username="INS021"))
        await session.commit()
    await changed()
    async with db() as session:
        await session.execute(delete(UserAccount).where(UserAccount.id == user_id))
        await session.commit()
    await changed()
    assert seen[-1] == seen[0]  # the same users as at first: the same version


async def test_changes_a_look_up_does_not_show_keep_the_version(api) -> None:
    admin = await api.bearer("ADM001")
    before = await version_of(api, admin)
    await api.login("ENG001")  # a sign-in records its time on the user
    response = await api.client.patch(
        f"{USERS}/1", json={"language": "es", "time_zone": "Asia/Shanghai"}, headers=admin
    )
    assert response.status_code == 200, response.text
    assert await version_of(api, admin) == before


async def test_every_replica_gives_the_same_version_and_sees_the_others_changes(api, start) -> None:
    admin = await api.bearer("ADM001")
    async with start() as other:
        before = await version_of(api, admin)
        assert await version_of(other, admin) == before
        await create_user(other, admin, "INS030")
        after = await version_of(api, admin)
        assert after != before
        assert await version_of(other, admin) == after
