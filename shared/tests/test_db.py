"""The engine factory gives each dialect its settings, on real databases."""

from sqlalchemy import text

from dmt_shared.db import create_engine, dialect_of, ping


def test_dialect_names() -> None:
    assert dialect_of("sqlite+aiosqlite:///x.db") == "sqlite"
    assert dialect_of("postgresql+asyncpg://u@h/db") == "postgresql"
    assert dialect_of("mariadb+asyncmy://u@h/db") == "mysql"
    assert dialect_of("mysql+asyncmy://u@h/db") == "mysql"
    assert dialect_of("oracle+oracledb://u@h/db") == "oracle"


async def test_engine_connects_and_answers(database_url: str) -> None:
    engine = create_engine(database_url)
    try:
        await ping(engine)
    finally:
        await engine.dispose()


async def test_sqlite_engine_uses_wal_foreign_keys_and_a_busy_timeout(tmp_path) -> None:
    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path / 'sub' / 'x.db'}")
    try:
        async with engine.connect() as conn:
            assert (await conn.execute(text("PRAGMA journal_mode"))).scalar() == "wal"
            assert (await conn.execute(text("PRAGMA foreign_keys"))).scalar() == 1
            assert (await conn.execute(text("PRAGMA busy_timeout"))).scalar() == 15000
    finally:
        await engine.dispose()
    assert (tmp_path / "sub" / "x.db").exists()


def test_each_declarative_base_keeps_its_own_tables() -> None:
    from sqlalchemy import String
    from sqlalchemy.orm import Mapped, mapped_column

    from dmt_shared.db import declarative_base

    first, second = declarative_base(), declarative_base()

    class Alpha(first):
        __tablename__ = "alpha_example"
        id: Mapped[int] = mapped_column(primary_key=True)
        name: Mapped[str] = mapped_column(String(10))

    class Beta(second):
        __tablename__ = "beta_example"
        id: Mapped[int] = mapped_column(primary_key=True)

    assert set(first.metadata.tables) == {"alpha_example"}
    assert set(second.metadata.tables) == {"beta_example"}
    assert Alpha.__mapper__.registry is not Beta.__mapper__.registry
