"""`python -m dmt_<service> copy-db`: a service's data moved to another database, verified.

Each service's data is made through its own models, copied between SQLite, PostgreSQL and
MariaDB, and read back. The large case (``DMT_TEST_COPY_RECORDS`` records, 100,000 unless set)
copies a SQLite records database to PostgreSQL through the command line.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import io
import os
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from dmt_auth.cli import SERVICE as AUTH
from dmt_auth.db.models import RefreshToken, UserAccount
from dmt_masterdata.cli import SERVICE as MASTERDATA
from dmt_masterdata.db.models import CatalogEntry
from dmt_records.cli import SERVICE as RECORDS
from dmt_records.db.counts import record_status_count
from dmt_records.db.models import Record, RecordHistory, RecordSignature, RecordText, ReportCounter
from dmt_shared import cli, dbcopy
from dmt_shared.cli import ServiceDefinition
from dmt_shared.db import create_engine, migrate
from dmt_shared.dbcopy import CopyRefused, CopyReport, Progress, TableCheck, copy_database, table_checksum
from dmt_shared.pytest_plugin import SERVER_URLS, create_server_database, drop_server_database

SERVICES = {"auth": AUTH, "masterdata": MASTERDATA, "records": RECORDS}
PAIRS = [("sqlite", "postgres"), ("sqlite", "mariadb"), ("postgres", "sqlite"), ("mariadb", "postgres")]
UTC = dt.UTC
#: A moment with microseconds, which MariaDB's DATETIME columns do not keep.
MOMENT = dt.datetime(2026, 3, 14, 9, 26, 53, 589793, tzinfo=UTC)

MakeDatabase = Callable[[str], Awaitable[str]]


@pytest.fixture
async def make_database(tmp_path: Path) -> AsyncIterator[MakeDatabase]:
    """A fresh empty database on the named backend (sqlite, postgres, mariadb), dropped afterwards."""
    made: list[tuple[str, str]] = []

    async def make(backend: str) -> str:
        if backend == "sqlite":
            return f"sqlite+aiosqlite:///{tmp_path / f'copy_{len(made)}_{time.monotonic_ns()}.db'}"
        admin = os.environ.get(SERVER_URLS[backend])
        if not admin:
            if os.environ.get("DMT_TEST_REQUIRE_SERVERS") == "1":
                pytest.fail(f"{SERVER_URLS[backend]} is not set but DMT_TEST_REQUIRE_SERVERS=1")
            pytest.skip(f"{SERVER_URLS[backend]} not set: no {backend} server given")
        url, name = await create_server_database(admin)
        made.append((admin, name))
        return url

    yield make
    for admin, name in made:
        await drop_server_database(admin, name)


@asynccontextmanager
async def session_on(url: str, service: ServiceDefinition) -> AsyncIterator[AsyncSession]:
    engine = create_engine(url, pool_size=1)
    try:
        await migrate(engine, service.migrations, service.version_table)
        async with AsyncSession(engine, expire_on_commit=False) as session:
            yield session
    finally:
        await engine.dispose()


# -- data of each service, made through its models ------------------------------------------------


async def fill_auth(session: AsyncSession) -> None:
    people = [
        UserAccount(
            username="ADM001", full_name="María Fernanda López", role="Admin", password_hash="$argon2id$a",
            email="maria@example.com", language="es", time_zone="America/Mexico_City", last_login_at=MOMENT,
        ),
        UserAccount(
            username="ENG001", full_name="王伟", role="Tech Engineer", password_hash="$argon2id$b",
            language="zh", time_zone="Asia/Shanghai",
        ),
        UserAccount(
            username="OPR099", full_name="Owen O'Brien", role="Operator", password_hash="$argon2id$c",
            is_active=False,
        ),
    ]  # fmt: skip
    session.add_all(people)
    await session.flush()
    session.add_all(
        [
            RefreshToken(user_id=people[0].id, token_hash="a" * 64, family_id="f1", expires_at=MOMENT),
            RefreshToken(
                user_id=people[1].id, token_hash="b" * 64, family_id="f2", expires_at=MOMENT, revoked_at=MOMENT
            ),
        ]
    )


async def fill_masterdata(session: AsyncSession) -> None:
    session.add_all(
        [
            CatalogEntry(kind="part-numbers", item_number="A108", item_name="Bracket", item_name_es="Soporte",
                         item_name_zh="支架"),
            CatalogEntry(kind="work-centers", item_number="WC-003", item_name="Paint line",
                         item_name_es="Línea de pintura", item_name_zh="喷漆线"),
            CatalogEntry(kind="customers", item_number="C-01", item_name="Acme", is_active=False),
            CatalogEntry(kind="failure-codes", item_number="F-9", item_name="Porosity ", item_name_zh="气孔"),
        ]
    )  # fmt: skip


async def fill_records(session: AsyncSession) -> None:
    for n in range(1, 4):
        record = Record(
            report_number=f"DMT-2026-{n:05d}",
            status="closed" if n == 3 else "open",
            is_closed=n == 3,
            part_number_id=101, work_center_id=201, customer_id=301, level_id=None if n == 1 else 401,
            prepared_by_id=801, operation="Soldadura / 焊接", quantity=n * 7, serial_number=None,
            date=dt.date(2026, 2, n), inspection_item_id=701, process_code_id=901,
            rework_hours=Decimal("1.50") if n > 1 else None,
            material_scrap_cost=Decimal("1234567890.99") if n == 3 else Decimal("0.05"),
            other_cost=Decimal("-3.10"), created_by_id=2,
            closed_at=MOMENT if n == 3 else None, closed_by_id=5 if n == 3 else None,
        )  # fmt: skip
        session.add(record)
        await session.flush()
        session.add_all(
            [
                RecordText(record_id=record.id, field="defect_description", language="en",
                           text=f"Crack near the weld {n}\nsecond line", origin="author"),
                RecordText(record_id=record.id, field="defect_description", language="es",
                           text="Grieta cerca de la soldadura, señal ñ", origin="machine"),
                RecordText(record_id=record.id, field="defect_description", language="zh",
                           text="焊缝附近有裂纹", origin="human", updated_at=MOMENT),
                RecordText(record_id=record.id, field="analysis", language="es", text=None, origin="machine",
                           state="pending", source_hash="ab" * 32, attempts=2, next_attempt_at=MOMENT),
                RecordHistory(record_id=record.id, at=MOMENT, actor_id=2, actor_username="INS001",
                              actor_name="Iván Núñez", actor_role="Inspector", action="created", version=1),
                RecordHistory(record_id=record.id, at=MOMENT, actor_id=4, actor_username="ENG001",
                              actor_name="李伟", action="changed", field="quantity", old_value="7",
                              new_value=str(n * 7), version=2),
            ]
        )  # fmt: skip
        if n == 3:
            session.add(
                RecordSignature(record_id=record.id, meaning="approved_disposition", signer_id=5,
                                signer_username="QUA001", signer_name="María Calidad", signer_role="Quality Engineer",
                                signed_at=MOMENT, record_version=3)
            )  # fmt: skip
    session.add_all([ReportCounter(year=2025, last_value=120), ReportCounter(year=2026, last_value=3)])


FILL = {"auth": fill_auth, "masterdata": fill_masterdata, "records": fill_records}


async def populate(url: str, name: str) -> None:
    async with session_on(url, SERVICES[name]) as session:
        await FILL[name](session)
        await session.commit()


async def add_one(url: str, name: str) -> dict[str, int]:
    """Add one new row per table with an identity through the service's models on ``url``; their ids."""
    async with session_on(url, SERVICES[name]) as session:
        if name == "auth":
            user = UserAccount(username="NEW001", full_name="Nuevo", role="Inspector", password_hash="$x")
            session.add(user)
            await session.flush()
            token = RefreshToken(user_id=user.id, token_hash="c" * 64, family_id="f3", expires_at=MOMENT)
            session.add(token)
            await session.commit()
            return {"user_account": user.id, "refresh_token": token.id}
        if name == "masterdata":
            entry = CatalogEntry(kind="areas", item_number="AR-1", item_name="Area 1")
            session.add(entry)
            await session.commit()
            return {"catalog_entry": entry.id}
        record = Record(
            report_number="DMT-2026-09999", status="open", is_closed=False, part_number_id=1,
            work_center_id=1, customer_id=1, prepared_by_id=1, operation="x", quantity=1,
            date=dt.date(2026, 5, 1), inspection_item_id=1, process_code_id=1, created_by_id=1,
        )  # fmt: skip
        session.add(record)
        await session.flush()
        text = RecordText(record_id=record.id, field="analysis", language="en", text="new", origin="author")
        line = RecordHistory(
            record_id=record.id, actor_id=1, actor_username="ADM001", actor_name="Admin", action="created", version=1
        )
        signature = RecordSignature(
            record_id=record.id,
            meaning="reopened",
            signer_id=1,
            signer_username="ADM001",
            signer_name="Admin",
            signer_role="Admin",
            signed_at=MOMENT,
            reason="why",
            record_version=2,
        )
        session.add_all([text, line, signature])
        await session.commit()
        return {"dmt_record": record.id, "record_text": text.id, "record_history": line.id,
                "record_signature": signature.id}  # fmt: skip


async def largest_ids(url: str, service: ServiceDefinition) -> dict[str, int]:
    engine = create_engine(url, pool_size=1)
    try:
        async with engine.connect() as conn:
            return {
                table.name: (await conn.execute(sa.select(sa.func.max(table.c.id)))).scalar_one()
                for table in service.metadata.sorted_tables
                if table.autoincrement_column is not None
            }
    finally:
        await engine.dispose()


async def counts(url: str, service: ServiceDefinition) -> dict[str, int]:
    engine = create_engine(url, pool_size=1)
    try:
        async with engine.connect() as conn:
            return {
                table.name: (await conn.execute(sa.select(sa.func.count()).select_from(table))).scalar_one()
                for table in service.metadata.sorted_tables
            }
    finally:
        await engine.dispose()


async def live_per_status(url: str) -> dict[str, int]:
    """The records not deleted per status that the target's triggers counted, after checking
    them against a real count (copy-db copies no counts: the migration and triggers make them)."""
    engine = create_engine(url, pool_size=1)
    try:
        async with engine.connect() as conn:
            kept = dict((await conn.execute(sa.select(record_status_count.c.status, record_status_count.c.live))).all())
            live = sa.select(Record.status, sa.func.count()).where(Record.deleted_at.is_(None)).group_by(Record.status)
            real = dict((await conn.execute(live)).all())
    finally:
        await engine.dispose()
    assert kept == {status: real.get(status, 0) for status in kept}
    assert real.keys() <= kept.keys()
    return {status: live for status, live in kept.items() if live}


def quiet() -> Progress:
    return Progress(io.StringIO(), live=False)


# -- copies between every pair ----------------------------------------------------------------------


@pytest.mark.parametrize("pair", PAIRS, ids=["->".join(p) for p in PAIRS])
@pytest.mark.parametrize("name", list(SERVICES))
async def test_a_copy_has_the_same_rows_and_new_rows_get_fresh_ids(
    name: str, pair: tuple[str, str], make_database: MakeDatabase
) -> None:
    service = SERVICES[name]
    source, target = await make_database(pair[0]), await make_database(pair[1])
    await populate(source, name)
    before = await counts(source, service)

    report = await copy_database(service, source, target, progress=quiet())

    assert report.ok, report.render()
    assert {check.table: check.target_rows for check in report.tables} == before
    assert all(before.values())
    assert report.rows_copied == sum(before.values())
    assert all(check.source_sha256 == check.target_sha256 for check in report.tables)
    assert len({check.target_sha256 for check in report.tables}) == len(report.tables)
    assert await counts(target, service) == before

    largest = await largest_ids(source, service)
    new_ids = await add_one(target, name)
    assert new_ids.keys() == largest.keys()
    assert all(new_ids[table] > largest[table] for table in largest), (new_ids, largest)  # no collision
    if name == "records":
        assert await live_per_status(target) == {"open": 3, "closed": 1}


async def test_texts_decimals_dates_and_moments_arrive_as_they_were(make_database: MakeDatabase) -> None:
    source, target = await make_database("sqlite"), await make_database("postgres")
    await populate(source, "records")
    await copy_database(RECORDS, source, target, progress=quiet())

    async with session_on(target, RECORDS) as session:
        record = (await session.execute(sa.select(Record).where(Record.report_number == "DMT-2026-00003"))).scalar_one()
        texts = (await session.execute(sa.select(RecordText).where(RecordText.record_id == record.id))).scalars()
        counter = await session.get(ReportCounter, 2025)
    assert record.material_scrap_cost == Decimal("1234567890.99")
    assert record.other_cost == Decimal("-3.10")
    assert record.date == dt.date(2026, 2, 3)
    assert record.closed_at == MOMENT
    assert record.is_closed is True
    assert record.operation == "Soldadura / 焊接"
    assert record.version == 1
    assert {t.language: t.text for t in texts} == {
        "en": "Crack near the weld 3\nsecond line",
        "es": "Grieta cerca de la soldadura, señal ñ",
        "zh": "焊缝附近有裂纹",
    }
    assert counter is not None
    assert counter.last_value == 120


async def test_a_copy_to_mariadb_keeps_whole_seconds_and_says_so(make_database: MakeDatabase) -> None:
    source, target = await make_database("sqlite"), await make_database("mariadb")
    await populate(source, "auth")
    report = await copy_database(AUTH, source, target, progress=quiet())
    assert report.ok
    assert any("user_account.last_login_at" in note for note in report.notes)
    async with session_on(target, AUTH) as session:
        user = (await session.execute(sa.select(UserAccount).where(UserAccount.username == "ADM001"))).scalar_one()
    assert user.last_login_at == MOMENT.replace(microsecond=0)


async def test_a_changed_value_changes_the_checksum(make_database: MakeDatabase) -> None:
    source, target = await make_database("sqlite"), await make_database("postgres")
    await populate(source, "masterdata")
    await copy_database(MASTERDATA, source, target, progress=quiet())
    table = MASTERDATA.metadata.tables["catalog_entry"]

    async def digest(url: str) -> tuple[int, str]:
        engine = create_engine(url, pool_size=1)
        try:
            async with engine.connect() as conn:
                return await table_checksum(conn, table, {})
        finally:
            await engine.dispose()

    assert await digest(source) == await digest(target)
    engine = create_engine(target, pool_size=1)
    try:
        async with engine.begin() as conn:
            await conn.execute(table.update().where(table.c.item_number == "F-9").values(item_name="Porosity"))
    finally:
        await engine.dispose()
    assert (await digest(source))[1] != (await digest(target))[1]  # one trailing space less


# -- refusals ---------------------------------------------------------------------------------------


async def test_a_target_with_rows_is_refused_unless_replace(make_database: MakeDatabase) -> None:
    source, target = await make_database("sqlite"), await make_database("mariadb")
    await populate(source, "records")
    await copy_database(RECORDS, source, target, progress=quiet())
    await add_one(target, "records")

    with pytest.raises(CopyRefused, match=r"already holds data: dmt_record \(4 rows\)"):
        await copy_database(RECORDS, source, target, progress=quiet())

    report = await copy_database(RECORDS, source, target, replace=True, progress=quiet())
    assert report.ok
    assert await counts(target, RECORDS) == await counts(source, RECORDS)
    assert await live_per_status(target) == await live_per_status(source) == {"open": 2, "closed": 1}
    assert any("emptied the target first" in note for note in report.notes)


async def test_an_unmigrated_source_is_refused_and_the_target_is_left_alone(make_database: MakeDatabase) -> None:
    source, target = await make_database("sqlite"), await make_database("postgres")
    engine = create_engine(source, pool_size=1)
    try:
        async with engine.begin() as conn:
            await conn.execute(sa.text("CREATE TABLE user_account (id INTEGER PRIMARY KEY)"))
    finally:
        await engine.dispose()
    with pytest.raises(CopyRefused, match=r"source is at schema revision none \(not migrated\).*migrate it first"):
        await copy_database(AUTH, source, target, progress=quiet())
    engine = create_engine(target, pool_size=1)
    try:
        async with engine.connect() as conn:
            tables = await conn.run_sync(lambda sync: sa.inspect(sync).get_table_names())
    finally:
        await engine.dispose()
    assert tables == []


async def test_the_same_database_on_both_sides_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "auth.db"
    with pytest.raises(CopyRefused, match="same database"):
        await copy_database(
            AUTH, f"sqlite+aiosqlite:///{path}", f"sqlite+aiosqlite:///{tmp_path}/./auth.db", progress=quiet()
        )
    with pytest.raises(CopyRefused, match="same database"):
        await copy_database(
            AUTH,
            "postgresql+asyncpg://u:p@localhost/dmt_auth",
            "postgresql+asyncpg://u@127.0.0.1:5432/dmt_auth",
            progress=quiet(),
        )


def test_replace_without_yes_asks_and_without_a_terminal_refuses(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "dmt_masterdata", "copy-db", "--replace",
         "--source", f"sqlite+aiosqlite:///{tmp_path}/a.db", "--target", f"sqlite+aiosqlite:///{tmp_path}/b.db"],
        capture_output=True, text=True, stdin=subprocess.DEVNULL, check=False,
    )  # fmt: skip
    assert result.returncode == 2
    assert "confirm with --yes" in result.stderr
    assert not (tmp_path / "b.db").exists()


# -- what the user sees -------------------------------------------------------------------------------


def test_a_mismatch_is_shown_in_the_table() -> None:
    report = CopyReport(
        service="records", source="a", target="b", rows_copied=3, seconds=1.0,
        tables=[TableCheck("dmt_record", 3, 3, "ab" * 32, "ab" * 32),
                TableCheck("record_text", 9, 8, "cd" * 32, "ef" * 32)],
    )  # fmt: skip
    assert not report.ok
    lines = report.render().splitlines()
    assert lines[2].split()[-1] == "ok"
    assert lines[3].split()[:3] == ["record_text", "9", "8"]
    assert lines[3].endswith("DIFFERENT")
    assert lines[-1].startswith("MISMATCH")


def test_progress_redraws_in_place_on_a_terminal_and_writes_lines_otherwise() -> None:
    terminal = io.StringIO()
    live = Progress(terminal, live=True)
    live.start("copy dmt_record", 10)
    live._shown = 0.0  # as if the last redraw were long ago
    live.advance(4)
    live.finish()
    assert terminal.getvalue().count("\r") == 3
    assert terminal.getvalue().count("\n") == 1
    assert "4/10 rows" in terminal.getvalue()

    log = io.StringIO()
    plain = Progress(log, live=False, interval=3600)
    plain.start("copy dmt_record", 10)
    plain.advance(4)
    plain.advance(6)
    plain.finish()
    assert "\r" not in log.getvalue()
    assert log.getvalue().splitlines()[-1].startswith("copy dmt_record")
    assert "10/10 rows 100.0%" in log.getvalue()
    assert len(log.getvalue().splitlines()) == 1  # nothing between the start and the end within the interval


# -- the acceptance case: many records, SQLite to PostgreSQL, through the command line ---------------

MANY = int(os.environ.get("DMT_TEST_COPY_RECORDS", "100000"))
TEXTS_PER_RECORD = 2


def many_record(n: int, start: dt.datetime) -> dict[str, object]:
    closed = n % 3 == 0
    return {
        "id": n, "report_number": f"DMT-{2000 + n // 90_000}-{n % 90_000:05d}",
        "status": "closed" if closed else "open", "is_closed": closed,
        "part_number_id": 100 + n % 50, "work_center_id": 200 + n % 7, "customer_id": 300 + n % 11,
        "level_id": None if n % 2 else 401, "area_id": None, "prepared_by_id": 801,
        "operation": "Soldadura / 焊接", "quantity": n % 97 + 1, "serial_number": f"SN{n}",
        "record_date": dt.date(2025, 1, 1) + dt.timedelta(days=n % 365),
        "inspection_item_id": 701, "process_code_id": 901, "analysis_by_id": None,
        "final_disposition_id": None, "disposition_date": None, "engineer_id": None,
        "failure_code_id": None, "rework_hours": Decimal(n % 1000) / 100,
        "responsible_department": None, "material_scrap_cost": Decimal(n) / 100,
        "other_cost": None, "disposition_approval_date": None,
        "disposition_approved_by_id": None, "sdr_number": None, "created_by_id": 2,
        "updated_by_id": None, "version": 1,
        "closed_at": start + dt.timedelta(seconds=n, microseconds=n % 999_983) if closed else None,
        "closed_by_id": 5 if closed else None,
        "created_at": start + dt.timedelta(seconds=n, microseconds=7),
        "updated_at": start + dt.timedelta(seconds=n, microseconds=n % 1_000_000),
    }  # fmt: skip


def many_texts(n: int, start: dt.datetime) -> list[dict[str, object]]:
    return [
        {"id": 2 * n - 1, "record_id": n, "field": "defect_description", "language": "en",
         "text": f"Crack near weld {n}", "origin": "author", "updated_at": start + dt.timedelta(seconds=n)},
        {"id": 2 * n, "record_id": n, "field": "defect_description", "language": "zh",
         "text": f"焊缝附近有裂纹 {n}", "origin": "machine", "updated_at": start + dt.timedelta(seconds=n)},
    ]  # fmt: skip


async def build_many_records(url: str, count: int) -> None:
    """``count`` records with two texts each, written with bulk inserts (not the ORM)."""
    engine = create_engine(url, pool_size=1)
    records, texts = RECORDS.metadata.tables["dmt_record"], RECORDS.metadata.tables["record_text"]
    start = dt.datetime(2025, 1, 1, tzinfo=UTC)
    try:
        await migrate(engine, RECORDS.migrations, RECORDS.version_table)
        async with engine.begin() as conn:
            for first in range(1, count + 1, 10_000):
                ids = range(first, min(first + 10_000, count + 1))
                await conn.execute(records.insert(), [many_record(n, start) for n in ids])
                await conn.execute(texts.insert(), [text for n in ids for text in many_texts(n, start)])
    finally:
        await engine.dispose()


async def test_many_records_go_from_sqlite_to_postgresql_with_a_progress_bar(make_database: MakeDatabase) -> None:
    source, target = await make_database("sqlite"), await make_database("postgres")
    began = time.monotonic()
    await build_many_records(source, MANY)
    built = time.monotonic()
    command = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "dmt_records", "copy-db", "--source", source, "--target", target,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    out, err = await command.communicate()
    stdout, stderr = out.decode(), err.decode()
    copied = time.monotonic()
    print(f"built {MANY:,} records in {built - began:.1f} s; copy-db took {copied - built:.1f} s")
    print(stdout)
    assert command.returncode == 0, stderr
    table = {line.split()[0]: line.split() for line in stdout.splitlines()[2:7]}
    assert table["dmt_record"][1:3] == [f"{MANY:,}", f"{MANY:,}"]
    assert table["record_text"][1:3] == [f"{MANY * TEXTS_PER_RECORD:,}", f"{MANY * TEXTS_PER_RECORD:,}"]
    assert all(row[3] == row[4] and row[5] == "ok" for row in table.values())
    assert "verified: every table has the same rows" in stdout
    assert f"copy dmt_record {' ' * 10}" in stderr
    assert f"{MANY:,}/{MANY:,} rows 100.0%" in stderr
    assert "rows/s" in stderr
    assert await counts(target, RECORDS) == {
        "dmt_record": MANY,
        "record_text": MANY * TEXTS_PER_RECORD,
        "report_counter": 0,
        "record_history": 0,
        "record_signature": 0,
    }
    assert await live_per_status(target) == {"open": MANY - MANY // 3, "closed": MANY // 3}


def test_a_mismatch_exits_non_zero_after_printing_the_table(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    source, target = f"sqlite+aiosqlite:///{tmp_path}/a.db", f"sqlite+aiosqlite:///{tmp_path}/b.db"
    assert cli.run(MASTERDATA, ["migrate", "--url", source]) == 0
    honest = dbcopy.table_checksum

    async def lying_about_the_target(conn: Any, table: Any, *args: Any, **kwargs: Any) -> tuple[int, str]:
        rows, digest = await honest(conn, table, *args, **kwargs)
        return (rows, "0" * 64) if str(conn.engine.url) == target else (rows, digest)

    monkeypatch.setattr(dbcopy, "table_checksum", lying_about_the_target)
    assert cli.run(MASTERDATA, ["copy-db", "--source", source, "--target", target]) == 2
    out, err = capsys.readouterr()
    assert "catalog_entry" in out
    assert out.splitlines()[-1].startswith("MISMATCH")
    assert "differ from the source" in err


async def test_a_missing_source_file_is_refused_and_not_created(tmp_path: Path) -> None:
    missing = tmp_path / "nowhere" / "records.db"
    with pytest.raises(CopyRefused, match="no source database file"):
        await copy_database(
            RECORDS, f"sqlite+aiosqlite:///{missing}", f"sqlite+aiosqlite:///{tmp_path}/b.db", progress=quiet()
        )
    assert not missing.parent.exists()
    assert not (tmp_path / "b.db").exists()
