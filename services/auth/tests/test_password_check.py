"""Re-entering the password to sign a record: who it proves, what a wrong one gets, when guessing stops."""

from __future__ import annotations

import logging

import pytest

from dmt_shared.contracts import PASSWORD_CHECK_PATH

WRONG = "the password is not right"


async def check(api, headers: dict[str, str], password: str):
    return await api.client.post(PASSWORD_CHECK_PATH, json={"password": password}, headers=headers)


async def test_the_right_password_names_the_signer_the_token_belongs_to(api) -> None:
    quality = await api.bearer("QUA001")
    response = await check(api, quality, "quality123")
    assert response.status_code == 200, response.text
    me = (await api.client.get("/api/v1/auth/me", headers=quality)).json()
    assert response.json() == {
        "id": me["id"],
        "username": "QUA001",
        "full_name": me["full_name"],
        "role": "Quality Engineer",
    }


async def test_a_wrong_password_is_refused_naming_the_field(api) -> None:
    quality = await api.bearer("QUA001")
    for password in ("quality124", "admin123"):  # someone else's password proves nothing either
        response = await check(api, quality, password)
        assert response.status_code == 403, password
        assert response.headers["content-type"].startswith("application/problem+json")
        assert response.json()["errors"] == [{"field": "password", "message": WRONG}]


async def test_the_check_needs_a_token_and_a_password(api) -> None:
    assert (await api.client.post(PASSWORD_CHECK_PATH, json={"password": "quality123"})).status_code == 401
    quality = await api.bearer("QUA001")
    for body in ({}, {"password": ""}, {"password": "x" * 257}):
        response = await api.client.post(PASSWORD_CHECK_PATH, json=body, headers=quality)
        assert response.status_code == 400, body
        assert [e["field"] for e in response.json()["errors"]] == ["password"]


async def test_a_user_deactivated_after_signing_in_cannot_sign(api) -> None:
    admin = await api.bearer("ADM001")
    engineer = await api.bearer("ENG001")
    eng_id = await api.user_id(admin, "ENG001")
    assert (await api.client.patch(f"/api/v1/users/{eng_id}", json={"is_active": False}, headers=admin)).is_success
    response = await check(api, engineer, "engineer123")
    assert response.status_code == 401
    assert response.json()["detail"] == "this account no longer exists or is deactivated"


async def test_wrong_passwords_are_limited_together_with_wrong_sign_ins(start) -> None:
    async with start(login_user_limit=3, login_client_limit=100) as api:
        quality = await api.bearer("QUA001")
        engineer = await api.bearer("ENG001")

        # A success clears the count.
        for _ in range(2):
            assert (await check(api, quality, "guess-guess")).status_code == 403
        assert (await check(api, quality, "quality123")).status_code == 200

        # A wrong sign-in and two wrong signatures reach the limit of 3 for the user...
        wrong_login = {"username": "QUA001", "password": "guess-guess"}
        assert (await api.client.post("/api/v1/auth/login", json=wrong_login)).status_code == 401
        for _ in range(2):
            assert (await check(api, quality, "guess-guess")).status_code == 403
        # ...after which even the right password is not checked, for signing or signing in.
        locked = await check(api, quality, "quality123")
        assert locked.status_code == 429
        assert locked.headers["content-type"].startswith("application/problem+json")
        assert 1 <= int(locked.headers["retry-after"]) <= 900
        sign_in = await api.client.post("/api/v1/auth/login", json={"username": "QUA001", "password": "quality123"})
        assert sign_in.status_code == 429

        # Another user is not held up.
        assert (await check(api, engineer, "engineer123")).status_code == 200


async def test_the_password_never_reaches_the_logs(api, caplog: pytest.LogCaptureFixture) -> None:
    quality = await api.bearer("QUA001")
    secret_guess = "not-my-Password-7781"
    with caplog.at_level(logging.DEBUG):
        assert (await check(api, quality, secret_guess)).status_code == 403
        assert (await check(api, quality, "quality123")).status_code == 200
    text = "\n".join(f"{r.getMessage()} {r.args!r}" for r in caplog.records)
    assert "signature password check failed" in text  # who failed is kept
    assert "QUA001" in text
    assert secret_guess not in text
    assert "quality123" not in text
