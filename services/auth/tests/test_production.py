"""What the auth service refuses to start with in production, and what it starts with."""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from litestar.testing import AsyncTestClient
from sqlalchemy import update

from dmt_auth.asgi import create_app
from dmt_auth.cli import create_admin
from dmt_auth.config import PREFIX, Settings
from dmt_auth.db.models import UserAccount
from dmt_auth.keys import GENERATED_KEY_NAME, load_signing_key
from dmt_shared.settings import SettingsError, from_env
from dmt_shared.testing import TokenFactory

#: The weakest hashing production accepts: cheap enough for tests.
PRODUCTION_HASHING = {"argon2_memory_kib": 19456, "argon2_time_cost": 2, "argon2_parallelism": 1}


@pytest.fixture
def production(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DMT_ENV", "production")


@pytest.fixture
def key_file(tmp_path: Path, auth_key: TokenFactory) -> Path:
    path = tmp_path / "keys" / "signing.pem"
    path.parent.mkdir()
    path.write_bytes(auth_key.pem)
    return path


def _production_settings(database_url: str, key_file: Path, **overrides: Any) -> Settings:
    values: dict[str, Any] = {"database_url": database_url, "signing_key_file": str(key_file), **PRODUCTION_HASHING}
    values.update(overrides)
    return Settings(**values)


def _refusal(excinfo: pytest.ExceptionInfo[BaseException]) -> str:
    """The message of the SettingsError, also when start-up wrapped it in an exception group."""
    error: BaseException = excinfo.value
    while isinstance(error, BaseExceptionGroup):
        error = error.exceptions[0]
    assert isinstance(error, SettingsError), repr(error)
    return str(error)


# ---------------------------------------------------------------- settings


@pytest.mark.usefixtures("production")
def test_demo_data_asked_for_in_production_is_refused(monkeypatch: pytest.MonkeyPatch, key_file: Path) -> None:
    monkeypatch.setenv("AUTH_SIGNING_KEY_FILE", str(key_file))
    monkeypatch.setenv("AUTH_DEMO_DATA", "true")
    with pytest.raises(SettingsError, match="AUTH_DEMO_DATA would load demo users") as excinfo:
        create_app(from_env(Settings, PREFIX, **PRODUCTION_HASHING))
    assert "set it to false" in str(excinfo.value)
    assert "python -m dmt_auth create-admin" in str(excinfo.value)
    # Left unset, production loads no demo users and starts.
    monkeypatch.delenv("AUTH_DEMO_DATA")
    settings = from_env(Settings, PREFIX, **PRODUCTION_HASHING)
    assert settings.demo_data is False
    settings.check_production()


@pytest.mark.usefixtures("production")
@pytest.mark.parametrize(
    ("overrides", "variable", "fix"),
    [
        ({"debug": True}, "AUTH_DEBUG", "set it to false"),
        ({"signing_key_file": None}, "AUTH_SIGNING_KEY", "openssl genpkey -algorithm ed25519"),
        ({"argon2_memory_kib": 4096}, "AUTH_ARGON2_MEMORY_KIB", ">= 19456"),
        ({"argon2_time_cost": 1}, "AUTH_ARGON2_TIME_COST", ">= 2"),
    ],
)
def test_unsafe_settings_are_refused_saying_what_to_set(
    key_file: Path, tmp_path: Path, overrides: dict[str, Any], variable: str, fix: str
) -> None:
    settings = _production_settings(f"sqlite+aiosqlite:///{tmp_path / 'auth.db'}", key_file, **overrides)
    with pytest.raises(SettingsError, match=variable) as excinfo:
        create_app(settings)
    assert str(excinfo.value).startswith("DMT_ENV=production: ")
    assert fix in str(excinfo.value)


@pytest.mark.usefixtures("production")
@pytest.mark.parametrize(
    ("url", "user"),
    [
        ("postgresql+asyncpg://postgres:postgres@db:5432/dmt_auth", "postgres"),
        ("postgresql+asyncpg://dmt_auth:Password@db:5432/dmt_auth", "dmt_auth"),
        ("mysql+asyncmy://root:ROOT@db:3306/dmt_auth", "root"),
        ("mysql+asyncmy://dmt:changeme@db:3306/dmt_auth", "dmt"),
        ("oracle+oracledb://dmt_auth:dmt_auth@db:1521/?service_name=FREEPDB1", "dmt_auth"),
        ("postgresql+asyncpg://dmt_auth:123456@db:5432/dmt_auth", "dmt_auth"),
    ],
)
def test_a_database_password_everybody_knows_is_refused(key_file: Path, url: str, user: str) -> None:
    with pytest.raises(SettingsError) as excinfo:
        create_app(_production_settings(url, key_file))
    message = str(excinfo.value)
    assert message.startswith(f"DMT_ENV=production: AUTH_DATABASE_URL gives the database user {user} a well-known")
    assert "generated one" in message
    assert "put that in AUTH_DATABASE_URL" in message


@pytest.mark.usefixtures("production")
@pytest.mark.parametrize(
    "url",
    [
        "postgresql+asyncpg://dmt_auth@db:5432/dmt_auth",  # trust, peer or a socket: the server decides
        "postgresql+asyncpg://dmt_auth:x8Jq2vNw-4tLr9Zc@db:5432/dmt_auth",
        "sqlite+aiosqlite:///data/auth.db",
    ],
)
def test_no_password_or_a_generated_one_is_accepted(key_file: Path, url: str) -> None:
    _production_settings(url, key_file).check_production()


def test_outside_production_nothing_is_refused() -> None:
    Settings(
        database_url="postgresql+asyncpg://postgres:postgres@db/dmt", debug=True, argon2_time_cost=1
    ).check_production()


# ---------------------------------------------------------------- the development key


def test_the_generated_development_key_is_refused_in_production(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, key_file: Path
) -> None:
    database_url = f"sqlite+aiosqlite:///{tmp_path / 'auth.db'}"
    load_signing_key(Settings(database_url=database_url))  # development: generated into the data folder
    generated = tmp_path / "data" / GENERATED_KEY_NAME
    assert generated.exists()

    monkeypatch.setenv("DMT_ENV", "production")
    with pytest.raises(SettingsError, match="AUTH_SIGNING_KEY_FILE holds the development key") as excinfo:
        create_app(_production_settings(database_url, generated))
    assert "openssl genpkey -algorithm ed25519" in str(excinfo.value)
    # Copied elsewhere, or pasted into AUTH_SIGNING_KEY, it is still the development key.
    copy = tmp_path / "copied.pem"
    copy.write_bytes(generated.read_bytes())
    with pytest.raises(SettingsError, match="AUTH_SIGNING_KEY_FILE holds the development key"):
        create_app(_production_settings(database_url, copy))
    pasted = _production_settings(database_url, key_file, signing_key_file=None, signing_key=generated.read_text())
    with pytest.raises(SettingsError, match="AUTH_SIGNING_KEY holds the development key"):
        create_app(pasted)
    # A key made for production is taken.
    create_app(_production_settings(database_url, key_file))


# ---------------------------------------------------------------- demo users left in the database


async def _load_demo_users(make_settings: Callable[..., Settings]) -> None:
    """A database that was used for development (demo users, cheap hashes) and kept."""
    async with AsyncTestClient(create_app(make_settings())) as client:
        assert (await client.get("/health/ready")).status_code == 200


async def test_demo_users_with_their_published_passwords_stop_the_start(
    monkeypatch: pytest.MonkeyPatch, make_settings: Callable[..., Settings], database_url: str, key_file: Path, db
) -> None:
    await _load_demo_users(make_settings)
    async with db() as session:
        # Already dealt with: a deactivated Quality Engineer, all operators but one with new passwords.
        await session.execute(update(UserAccount).where(UserAccount.username == "QUA001").values(is_active=False))
        await session.execute(
            update(UserAccount)
            .where(UserAccount.username.like("OPR%"), UserAccount.username != "OPR007")
            .values(password_hash=UserAccount.password_hash + "x")
        )
        await session.commit()

    monkeypatch.setenv("DMT_ENV", "production")
    settings = _production_settings(database_url, key_file)
    # The test client passes the start-up error on in an exception group.
    with pytest.raises((SettingsError, BaseExceptionGroup)) as excinfo:
        async with AsyncTestClient(create_app(settings)):
            pass
    message = _refusal(excinfo)
    assert message.startswith("DMT_ENV=production: the demo users ADM001, ENG001, INS001, INS002")
    assert "OPR007, QUA001" not in message
    assert "OPR001" not in message
    assert ", OPR007 are active and still have their published demo passwords" in message
    assert "python -m dmt_auth create-admin ADM001 --full-name NAME" in message
    assert "UPDATE user_account SET is_active = false WHERE username IN ('ENG001', 'INS001'," in message

    # The operator follows the message: a new password for the Admin, the others deactivated.
    assert (await create_admin(settings, "ADM001", "María Fernanda López", None, "a-long-new-secret")).startswith(
        "made"
    )
    async with db() as session:
        await session.execute(update(UserAccount).where(UserAccount.username != "ADM001").values(is_active=False))
        await session.commit()
    async with AsyncTestClient(create_app(settings)) as client:
        assert (await client.get("/health/ready")).status_code == 200
        old = await client.post("/api/v1/auth/login", json={"username": "ADM001", "password": "admin123"})
        assert old.status_code == 401
        new = await client.post("/api/v1/auth/login", json={"username": "ADM001", "password": "a-long-new-secret"})
        assert new.status_code == 200


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def test_the_server_process_exits_with_the_reason(tmp_path: Path, key_file: Path) -> None:
    database_url = f"sqlite+aiosqlite:///{tmp_path / 'kept.db'}"
    cheap = {"argon2_time_cost": 1, "argon2_memory_kib": 8, "argon2_parallelism": 1}
    await _load_demo_users(lambda: Settings(database_url=database_url, signing_key_file=str(key_file), **cheap))
    env = {
        **os.environ,
        "DMT_ENV": "production",
        "DMT_DATA_DIR": str(tmp_path / "data"),
        "AUTH_DATABASE_URL": database_url,
        "AUTH_SIGNING_KEY_FILE": str(key_file),
    }
    env.pop("AUTH_DEMO_DATA", None)
    command = [sys.executable, "-m", "uvicorn", "dmt_auth.asgi:create_app", "--factory", "--port", str(_free_port())]
    finished = await asyncio.to_thread(
        subprocess.run, command, env=env, cwd=tmp_path, capture_output=True, text=True, timeout=60
    )
    assert finished.returncode != 0
    assert "refusing to start: DMT_ENV=production: the demo users ADM001" in finished.stderr
