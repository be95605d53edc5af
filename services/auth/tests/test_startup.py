"""Start-up: the signing key, production's refusals, migrations and the demo users."""

from __future__ import annotations

import io
import stat
from pathlib import Path

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.migration import MigrationContext
from litestar.testing import AsyncTestClient
from sqlalchemy import func, inspect, select

from dmt_auth.asgi import create_app
from dmt_auth.cli import CommandError, create_admin
from dmt_auth.cli import main as cli_main
from dmt_auth.config import Settings
from dmt_auth.db import MIGRATIONS, VERSION_TABLE
from dmt_auth.db.models import Base, UserAccount
from dmt_auth.keys import GENERATED_KEY_NAME, load_signing_key
from dmt_shared.db import create_engine
from dmt_shared.settings import SettingsError
from dmt_shared.testing import TokenFactory
from dmt_shared.tokens import generate_private_key_pem


def _sqlite(tmp_path: Path) -> str:
    return f"sqlite+aiosqlite:///{tmp_path / 'auth.db'}"


def test_production_refuses_to_start_without_a_signing_key(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("DMT_ENV", "production")
    with pytest.raises(SettingsError, match="AUTH_SIGNING_KEY"):
        create_app(Settings(database_url=_sqlite(tmp_path)))
    assert not (tmp_path / "data" / GENERATED_KEY_NAME).exists()
    weak = Settings(
        database_url=_sqlite(tmp_path), signing_key=generate_private_key_pem().decode(), argon2_memory_kib=64
    )
    with pytest.raises(SettingsError, match="AUTH_ARGON2_MEMORY_KIB"):
        create_app(weak)
    with pytest.raises(SettingsError, match="not an Ed25519 private key"):
        create_app(Settings(database_url=_sqlite(tmp_path), signing_key="-----BEGIN PRIVATE KEY-----\nnope"))


async def test_production_with_a_key_starts_without_demo_users(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("DMT_ENV", "production")
    key = TokenFactory()
    key_file = tmp_path / "signing.pem"
    key_file.write_bytes(key.pem)
    settings = Settings(
        database_url=_sqlite(tmp_path), signing_key_file=str(key_file), argon2_memory_kib=19456, argon2_time_cost=2
    )
    assert not settings.demo_data
    assert not settings.load_demo_data
    async with AsyncTestClient(create_app(settings)) as client:
        assert (await client.get("/health/ready")).status_code == 200
        assert (await client.get("/api/v1/auth/jwks")).json() == key.jwks()
        signed_in = await client.post("/api/v1/auth/login", json={"username": "ADM001", "password": "admin123"})
        assert signed_in.status_code == 401


def test_a_development_key_is_generated_once_private_and_reused(tmp_path: Path) -> None:
    settings = Settings(database_url=_sqlite(tmp_path))
    first = load_signing_key(settings)
    path = tmp_path / "data" / GENERATED_KEY_NAME
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    again = load_signing_key(settings)
    assert TokenFactory(path.read_bytes()).jwks()["keys"][0]["x"] == _public_x(first)
    assert _public_x(again) == _public_x(first)
    assert list(path.parent.iterdir()) == [path]


def test_a_key_given_in_the_environment_is_used(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    key = TokenFactory()
    # As some deployment tools pass multi-line values: with literal "\n".
    monkeypatch.setenv("AUTH_SIGNING_KEY", key.pem.decode().replace("\n", "\\n"))
    from dmt_auth.config import PREFIX
    from dmt_shared.settings import from_env

    settings = from_env(Settings, PREFIX, database_url=_sqlite(tmp_path))
    assert _public_x(load_signing_key(settings)) == key.jwks()["keys"][0]["x"]
    assert not (tmp_path / "data" / GENERATED_KEY_NAME).exists()
    with pytest.raises(SettingsError, match="cannot be read"):
        load_signing_key(Settings(database_url=_sqlite(tmp_path), signing_key_file=str(tmp_path / "missing.pem")))
    with pytest.raises(SettingsError, match="not both"):
        Settings(signing_key=key.pem.decode(), signing_key_file="/x.pem")


def _public_x(private_key) -> str:
    from dmt_shared.tokens import public_jwk

    return public_jwk(private_key.public_key())["x"]


async def test_demo_users_are_loaded_once_into_an_empty_database(start, db) -> None:
    async with start() as api:
        admin = await api.bearer("ADM001")
        target = await api.user_id(admin, "OPR004")
        await api.client.patch(f"/api/v1/users/{target}", json={"full_name": "Zhou Qiang Li"}, headers=admin)
        for username in ("ENG001", "QUA001", "INS011", "OPR012"):
            await api.login(username)
    async with start() as api:
        await api.login("ADM001")
    async with db() as session:
        count = (await session.execute(select(func.count()).select_from(UserAccount))).scalar_one()
        by_role = await session.execute(select(UserAccount.role, func.count()).group_by(UserAccount.role))
        roles = {role: n for role, n in by_role.all()}
        kept = (await session.execute(select(UserAccount.full_name).where(UserAccount.id == target))).scalar_one()
    assert count == 26
    assert roles == {"Admin": 1, "Tech Engineer": 1, "Quality Engineer": 1, "Inspector": 11, "Operator": 12}
    assert kept == "Zhou Qiang Li"


async def test_without_demo_data_the_database_starts_empty(start, db) -> None:
    async with start(demo_data=False) as api:
        assert (await api.client.get("/health/ready")).json()["checks"] == {"database": "ok"}
    async with db() as session:
        assert (await session.execute(select(func.count()).select_from(UserAccount))).scalar_one() == 0


async def test_migrations_go_up_down_and_up_again(database_url: str) -> None:
    engine = create_engine(database_url, pool_size=1)
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["version_table"] = VERSION_TABLE

    def run(sync_conn, action: str, revision: str) -> list[str]:
        config.attributes["connection"] = sync_conn
        getattr(command, action)(config, revision)
        return sorted(inspect(sync_conn).get_table_names())

    try:
        async with engine.begin() as conn:
            assert await conn.run_sync(run, "upgrade", "head") == [
                "auth_alembic_version",
                "refresh_token",
                "user_account",
            ]
        async with engine.begin() as conn:
            assert await conn.run_sync(run, "downgrade", "base") == ["auth_alembic_version"]
        async with engine.begin() as conn:
            tables = await conn.run_sync(run, "upgrade", "head")
            assert "user_account" in tables
            uniques = await conn.run_sync(
                lambda c: {u["name"] for u in inspect(c).get_unique_constraints("user_account")}
            )
            assert {"uq_user_account_username", "uq_user_account_email"} <= uniques
            # The migrated schema is exactly what the models describe.
            drift = await conn.run_sync(
                lambda c: compare_metadata(
                    MigrationContext.configure(c, opts={"version_table": VERSION_TABLE, "compare_type": True}),
                    Base.metadata,
                )
            )
            assert drift == []
    finally:
        await engine.dispose()


async def test_the_first_admin_in_production_comes_from_the_command_line(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, auth_key: TokenFactory
) -> None:
    monkeypatch.setenv("DMT_ENV", "production")
    settings = Settings(
        database_url=_sqlite(tmp_path),
        signing_key=auth_key.pem.decode(),
        argon2_memory_kib=19456,
        argon2_time_cost=2,
    )
    assert (await create_admin(settings, " adm009 ", "Chen Hui", None, "first-admin-pw")).startswith("created")
    async with AsyncTestClient(create_app(settings)) as client:
        signed_in = await client.post("/api/v1/auth/login", json={"username": "ADM009", "password": "first-admin-pw"})
        assert signed_in.status_code == 200
        assert signed_in.json()["user"]["role"] == "Admin"
    # Run again for the same user: re-activated as Admin with the new password.
    assert (await create_admin(settings, "ADM009", "Chen Hui", None, "second-admin-pw")).startswith("made")
    with pytest.raises(CommandError, match="username"):
        await create_admin(settings, "a", "Chen Hui", None, "second-admin-pw")

    monkeypatch.setattr("sys.stdin", io.StringIO("short\n"))
    assert cli_main(["create-admin", "ADM010", "--full-name", "Li Qiang", "--password-stdin"]) == 2
