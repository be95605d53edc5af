"""Importing the predecessor's database: `python -m dmt_tools import-predecessor` (`make import-predecessor`).

A predecessor database is built (tests/predecessor_db.py) and imported into the three
services' databases; the tests then read those databases and sign in through the auth app,
as a user of the new system would meet the imported data.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import importlib.util
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from litestar.testing import AsyncTestClient
from passlib.hash import pbkdf2_sha256
from sqlalchemy import func, select
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncSession

from dmt_auth.asgi import create_app as create_auth_app
from dmt_auth.config import Settings as AuthSettings
from dmt_auth.db.models import UserAccount
from dmt_auth.domain.users.legacy import legacy_role
from dmt_auth.passwords import Passwords, verify_legacy_pbkdf2
from dmt_masterdata.db.models import CatalogEntry
from dmt_masterdata.domain.catalogs.legacy import LEGACY_TABLES
from dmt_records.db.models import Record, RecordText, ReportCounter
from dmt_shared.db import create_engine
from dmt_shared.pytest_plugin import SERVER_URLS, create_server_database, drop_server_database
from dmt_shared.testing import TokenFactory
from dmt_shared.tokens import Role
from dmt_tools.importer import ImportReport, Targets, import_predecessor
from dmt_tools.predecessor import SourceError, async_url

ROOT = Path(__file__).resolve().parents[1]


def _load_builder() -> ModuleType:
    """tests/predecessor_db.py (the test folder is not a package)."""
    spec = importlib.util.spec_from_file_location("predecessor_db", Path(__file__).with_name("predecessor_db.py"))
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


predecessor_db = _load_builder()
TEXT_FIELDS = predecessor_db.TEXT_FIELDS
LANGUAGES = predecessor_db.LANGUAGES
CATALOG_FIELDS = {
    "part_number_id": "partnumber",
    "work_center_id": "workcenter",
    "customer_id": "customer",
    "level_id": "level",
    "area_id": "area",
    "prepared_by_id": "preparedby",
    "inspection_item_id": "inspectionitem",
    "process_code_id": "processcode",
    "final_disposition_id": "disposition",
    "failure_code_id": "failurecode",
}
USER_FIELDS = ("created_by_id", "analysis_by_id", "engineer_id", "disposition_approved_by_id")
PLAIN_FIELDS = (
    "report_number",
    "operation",
    "quantity",
    "serial_number",
    "date",
    "disposition_date",
    "responsible_department",
    "disposition_approval_date",
    "sdr_number",
    "is_closed",
)
MONEY_FIELDS = ("rework_hours", "material_scrap_cost", "other_cost")


def sqlite_url(path: Path) -> str:
    return f"sqlite+aiosqlite:///{path}"


def same_targets(url: str) -> Targets:
    return Targets(auth=url, masterdata=url, records=url)


async def run_import(source: str, targets: Targets, **kwargs: Any) -> ImportReport:
    return await import_predecessor(source, targets, **kwargs)


class Imported:
    """What the three target databases hold, read back the way a service would."""

    def __init__(self, targets: Targets) -> None:
        self.targets = targets

    async def _query(self, url: str, statement: Any) -> list[Any]:
        engine = create_engine(url, pool_size=1)
        try:
            async with AsyncSession(engine) as session:
                return list((await session.execute(statement)).all())
        finally:
            await engine.dispose()

    async def counts(self) -> dict[str, int]:
        return {
            "users": (await self._query(self.targets.auth, select(func.count(UserAccount.id))))[0][0],
            "catalogs": (await self._query(self.targets.masterdata, select(func.count(CatalogEntry.id))))[0][0],
            "records": (await self._query(self.targets.records, select(func.count(Record.id))))[0][0],
            "texts": (await self._query(self.targets.records, select(func.count(RecordText.id))))[0][0],
        }

    async def user_ids(self) -> dict[str, int]:
        rows = await self._query(self.targets.auth, select(UserAccount.username, UserAccount.id))
        return dict(rows)

    async def catalog_ids(self) -> dict[tuple[str, str], int]:
        rows = await self._query(
            self.targets.masterdata, select(CatalogEntry.kind, CatalogEntry.item_number, CatalogEntry.id)
        )
        return {(kind, number): entry_id for kind, number, entry_id in rows}

    async def records(self, numbers: list[str]) -> dict[str, tuple[Record, dict[tuple[str, str], tuple[str, str]]]]:
        records = [
            r
            for (r,) in await self._query(self.targets.records, select(Record).where(Record.report_number.in_(numbers)))
        ]
        texts: dict[int, dict[tuple[str, str], tuple[str, str]]] = {r.id: {} for r in records}
        rows = await self._query(
            self.targets.records,
            select(
                RecordText.record_id, RecordText.field, RecordText.language, RecordText.text, RecordText.origin
            ).where(RecordText.record_id.in_([r.id for r in records])),
        )
        for record_id, field, language, text, origin in rows:
            texts[record_id][(field, language)] = (text, origin)
        return {r.report_number: (r, texts[r.id]) for r in records}


def expected_status(row: dict[str, Any]) -> str:
    if row["is_closed"]:
        return "closed"
    if all(row.get(f) for f in ("final_disposition_id", "failure_code_id", "engineer_id")):
        return "dispositioned"
    if row.get("analysis_by_id") or row.get("analysis_en"):
        return "in_analysis"
    return "open"


async def assert_records_equal(data: Any, imported: Imported, sample: list[dict[str, Any]]) -> None:
    """Each sampled legacy record is stored field by field as it was, pointing to the same things."""
    usernames = {u["id"]: u["username"] for u in data.tables["user"]}
    codes = {(table, row["id"]): row["item_number"] for table in LEGACY_TABLES for row in data.tables[table]}
    user_ids = await imported.user_ids()
    catalog_ids = await imported.catalog_ids()
    stored = await imported.records([row["report_number"] for row in sample])
    assert len(stored) == len(sample)
    for row in sample:
        record, texts = stored[row["report_number"]]
        for field in PLAIN_FIELDS:
            expected = row.get(field)
            assert getattr(record, field) == expected, (row["report_number"], field)
        for field in MONEY_FIELDS:
            expected = None if row.get(field) is None else Decimal(str(row[field])).quantize(Decimal("0.01"))
            assert getattr(record, field) == expected, (row["report_number"], field)
        for field, table in CATALOG_FIELDS.items():
            legacy = row.get(field)
            expected = None if legacy is None else catalog_ids[(LEGACY_TABLES[table], codes[(table, legacy)])]
            assert getattr(record, field) == expected, (row["report_number"], field)
        for field in USER_FIELDS:
            legacy = row.get(field)
            expected = None if legacy is None else user_ids[usernames[legacy]]
            assert getattr(record, field) == expected, (row["report_number"], field)
        assert record.created_at.utcoffset() == dt.timedelta(0)
        assert abs(record.created_at.replace(tzinfo=None) - row["created_at"]) < dt.timedelta(seconds=1)
        assert record.status == expected_status(row), row["report_number"]
        expected_texts: dict[tuple[str, str], tuple[str, str]] = {}
        for field in TEXT_FIELDS:
            present = [lang for lang in LANGUAGES if row.get(f"{field}_{lang}")]
            for lang in present:
                origin = "author" if lang == present[0] else "machine"
                expected_texts[(field, lang)] = (row[f"{field}_{lang}"], origin)
        assert texts == expected_texts, row["report_number"]


# ---------------------------------------------------------------- the predecessor's password hashes


@pytest.mark.parametrize(
    ("password", "rounds", "salt_size"),
    [("employee123", 29000, 16), ("contraseña 密码", 1000, 16), ("x", 1, 0)],
)
def test_passlib_pbkdf2_hashes_verify_with_their_password_only(password: str, rounds: int, salt_size: int) -> None:
    stored = pbkdf2_sha256.using(rounds=rounds, salt_size=salt_size).hash(password)
    assert verify_legacy_pbkdf2(stored, password)
    assert not verify_legacy_pbkdf2(stored, password + " ")
    assert not verify_legacy_pbkdf2(stored, "")


def test_a_damaged_pbkdf2_hash_matches_nothing_and_is_always_replaced() -> None:
    stored = pbkdf2_sha256.hash("employee123")
    prefix, _, rest = stored.rpartition("$")
    for damaged in (f"{prefix}$", f"{prefix}$!!{rest}", stored.replace("$29000$", "$0$"), "$pbkdf2-sha256$x"):
        assert not verify_legacy_pbkdf2(damaged, "employee123"), damaged
    passwords = Passwords(AuthSettings(argon2_time_cost=1, argon2_memory_kib=8, argon2_parallelism=1))
    assert passwords.needs_rehash(stored)


@pytest.mark.parametrize(
    ("written", "role"),
    [
        ("Admin", Role.ADMIN),
        ("admin", Role.ADMIN),
        ("tech_engineer", Role.TECH_ENGINEER),
        ("Tech Engineer", Role.TECH_ENGINEER),
        ("QUALITY-ENGINEER", Role.QUALITY_ENGINEER),
        (" inspector ", Role.INSPECTOR),
        ("operator", Role.OPERATOR),
        ("supervisor", None),
        ("", None),
        (None, None),
    ],
)
def test_the_predecessors_role_spellings(written: Any, role: Role | None) -> None:
    assert legacy_role(written) == role


def test_the_predecessors_database_urls_are_read_with_the_asynchronous_drivers(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "dmt.db").touch()
    monkeypatch.chdir(tmp_path)  # the predecessor's URL was relative to its folder
    sqlite = async_url("sqlite:///./dmt.db")
    assert sqlite.drivername == "sqlite+aiosqlite"
    assert sqlite.database == f"file:{tmp_path / 'dmt.db'}"
    assert dict(sqlite.query) == {"mode": "ro", "uri": "true"}
    assert async_url("mysql+pymysql://u:p@db/dmt_db").drivername == "mysql+asyncmy"
    assert async_url("mariadb+mariadbconnector://u:p@db/dmt_db").drivername == "mariadb+asyncmy"
    assert async_url("postgresql://u:p@db/dmt_db").drivername == "postgresql+asyncpg"
    assert async_url("postgres://u:p@db/dmt_db").drivername == "postgresql+asyncpg"
    assert async_url("postgresql+asyncpg://u:p@db/dmt_db").drivername == "postgresql+asyncpg"
    with pytest.raises(SourceError, match="does not exist"):
        async_url("sqlite:///./no-such.db")
    with pytest.raises(SourceError, match="not one of"):
        async_url("mssql+pyodbc://u:p@db/dmt")


# ---------------------------------------------------------------- a whole plant's history


@pytest.fixture(scope="module")
def plant(tmp_path_factory: pytest.TempPathFactory) -> tuple[Any, str]:
    """26 users, the eleven catalogs and 10,000 records in a predecessor SQLite file (read only)."""
    data = predecessor_db.make_predecessor(10_000)
    path = tmp_path_factory.mktemp("predecessor") / "dmt.db"
    asyncio.run(predecessor_db.write_predecessor(sqlite_url(path), data))
    return data, f"sqlite:///{path}"


async def test_ten_thousand_records_import_completely_and_a_second_import_changes_nothing(
    plant: tuple[Any, str], database_url: str, database_backend: str
) -> None:
    data, source = plant
    targets = same_targets(database_url)
    lines: list[str] = []
    report = await run_import(source, targets, progress=lines.append)
    print(f"\n10,000-record import into {database_backend}: {report.seconds:.1f} s")

    records = data.tables["dmtrecord"]
    catalog_rows = sum(len(data.tables[t]) for t in LEGACY_TABLES)
    assert report.complete, report.render()
    assert report.users.counts() == {"read": 26, "imported": 26, "present": 0, "refused": 0}
    assert report.catalog_totals() == {"read": catalog_rows, "imported": catalog_rows, "present": 0, "refused": 0}
    assert report.records.counts() == {"read": 10_000, "imported": 10_000, "present": 0, "refused": 0}
    assert report.catalogs["part-numbers"].imported == 150
    assert "records: 10000 of 10000 read, 10000 imported, 0 already present, 0 refused" in lines

    imported = Imported(targets)
    counts = await imported.counts()
    expected_texts = sum(1 for r in records for f in TEXT_FIELDS for lang in LANGUAGES if r.get(f"{f}_{lang}"))
    assert counts == {"users": 26, "catalogs": catalog_rows, "records": 10_000, "texts": expected_texts}

    spanish_first = [r for r in records if r["defect_description_en"] is None][:3]
    sample = records[::397] + spanish_first + [r for r in records if r["is_closed"] and r.get("other_cost")][:3]
    await assert_records_equal(data, imported, sample)
    assert {expected_status(r) for r in sample} == {"open", "in_analysis", "dispositioned", "closed"}
    assert any(r.get("material_scrap_cost") for r in sample)

    # New records of a year continue after the imported numbers instead of stepping over them.
    last = {}
    for row in records:
        year, number = row["report_number"].split("-")[1:]
        last[int(year)] = max(last.get(int(year), 0), int(number))
    counters = await imported._query(targets.records, select(ReportCounter.year, ReportCounter.last_value))
    assert dict(counters) == last

    again = await run_import(source, targets)
    print(f"the same import again (nothing new): {again.seconds:.1f} s")
    assert again.complete
    assert again.users.counts() == {"read": 26, "imported": 0, "present": 26, "refused": 0}
    assert again.catalog_totals() == {"read": catalog_rows, "imported": 0, "present": catalog_rows, "refused": 0}
    assert again.records.counts() == {"read": 10_000, "imported": 0, "present": 10_000, "refused": 0}
    assert again.notes == []
    assert await imported.counts() == counts
    versions = await imported._query(targets.records, select(func.max(Record.version)))
    assert versions[0][0] == 1


# ---------------------------------------------------------------- signing in with the old password


@pytest.fixture
def small_plant(tmp_path: Path) -> tuple[Any, str]:
    data = predecessor_db.make_predecessor(30, part_numbers=12)
    path = tmp_path / "small.db"
    asyncio.run(predecessor_db.write_predecessor(sqlite_url(path), data))
    return data, f"sqlite:///{path}"


async def test_an_imported_user_signs_in_with_the_old_password_which_becomes_argon2id(
    small_plant: tuple[Any, str], database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DMT_DATA_DIR", str(tmp_path / "data"))
    _, source = small_plant
    targets = Targets(
        auth=database_url, masterdata=sqlite_url(tmp_path / "md.db"), records=sqlite_url(tmp_path / "r.db")
    )
    report = await run_import(source, targets)
    assert report.complete, report.render()

    key = TokenFactory()
    settings = AuthSettings(
        database_url=database_url,
        signing_key=key.pem.decode(),
        argon2_time_cost=1,
        argon2_memory_kib=8,
        argon2_parallelism=1,
        db_pool_size=2,
        demo_data=False,
    )
    imported = Imported(targets)
    before = await imported._query(
        database_url, select(UserAccount.password_hash).where(UserAccount.username == "ENG001")
    )
    assert before[0][0].startswith("$pbkdf2-sha256$")

    async with AsyncTestClient(create_auth_app(settings)) as client:
        wrong = await client.post("/api/v1/auth/login", json={"username": "ENG001", "password": "employee123"})
        assert wrong.status_code == 401
        signed_in = await client.post("/api/v1/auth/login", json={"username": "eng001", "password": "engineer123"})
        assert signed_in.status_code == 200, signed_in.text
        user = signed_in.json()["user"]
        assert (user["username"], user["full_name"], user["role"]) == ("ENG001", "Zhang Wei", "Tech Engineer")

        after = await imported._query(
            database_url, select(UserAccount.password_hash).where(UserAccount.username == "ENG001")
        )
        assert after[0][0].startswith("$argon2id$")
        again = await client.post("/api/v1/auth/login", json={"username": "ENG001", "password": "engineer123"})
        assert again.status_code == 200

        # The predecessor's deactivated operator stays unable to sign in.
        inactive = await client.post("/api/v1/auth/login", json={"username": "OPR012", "password": "employee123"})
        assert inactive.status_code == 401


# ---------------------------------------------------------------- broken rows


def _break(data: Any) -> dict[str, int]:
    """Damage the predecessor's data the ways it really got damaged; returns the legacy ids."""
    users, records = data.tables["user"], data.tables["dmtrecord"]
    parts = data.tables["partnumber"]
    good = records[0]
    ids = {"supervisor": 900, "bad_username": 901, "blank_part": 950, "same_email": 902, "same_username": 903}
    users += [
        {
            **users[3],
            "id": ids["supervisor"],
            "username": "SUP001",
            "email": "sup001@plant.example",
            "role": "supervisor",
        },
        {**users[3], "id": ids["bad_username"], "username": "juan perez", "email": "jp@plant.example"},
        {**users[3], "id": ids["same_email"], "username": "INS099", "email": users[3]["email"].upper()},
        {**users[3], "id": ids["same_username"], "username": f" {users[3]['username'].lower()}", "role": "admin"},
    ]
    parts += [
        {"id": ids["blank_part"], "item_number": "  ", "item_name": "nothing"},
        {"id": 951, "item_number": parts[0]["item_number"].lower() + " ", "item_name": "Another name"},
    ]

    def record(n: int, **changes: Any) -> dict[str, Any]:
        ids[f"record_{n}"] = 5000 + n
        return {**good, "id": 5000 + n, "report_number": f"OLD-{n}", **changes}

    records += [
        record(1, part_number_id=99_999),
        record(2, part_number_id=ids["blank_part"]),
        record(3, created_by_id=ids["supervisor"]),
        record(4, quantity=0),
        record(5, **{f"defect_description_{lang}": " " for lang in LANGUAGES}),
        record(6, material_scrap_cost=-12.0),
        record(7, operation="x" * 200),
        {**record(8), "report_number": good["report_number"], "quantity": good["quantity"] + 1},
        {**record(9), "report_number": good["report_number"]},
        record(10, report_number=None),
        record(11, is_closed=True, final_disposition_id=None, failure_code_id=None, engineer_id=None),
        record(12, part_number_id=951),
    ]
    return ids


async def test_broken_rows_are_refused_with_their_reasons_and_everything_else_is_imported(
    database_url: str, tmp_path: Path
) -> None:
    data = predecessor_db.make_predecessor(40, part_numbers=12)
    ids = _break(data)
    path = tmp_path / "broken.db"
    await predecessor_db.write_predecessor(sqlite_url(path), data)
    targets = same_targets(database_url)

    report = await run_import(f"sqlite:///{path}", targets, batch_size=7)

    refused = {(r["table"], r["id"]): r["reason"] for r in report.refused}
    expected = {
        ("user", ids["supervisor"]): "unknown role 'supervisor'",
        ("user", ids["bad_username"]): "username 'juan perez' is not",
        ("partnumber", ids["blank_part"]): "item_number '  ': must not be blank",
        ("dmtrecord", ids["record_1"]): "part_number_id 99999 points to no part-numbers entry",
        ("dmtrecord", ids["record_2"]): f"part_number_id {ids['blank_part']} points to no part-numbers entry",
        ("dmtrecord", ids["record_3"]): f"created_by_id {ids['supervisor']} points to no user",
        ("dmtrecord", ids["record_4"]): "quantity must be a whole number of at least 1, not 0",
        ("dmtrecord", ids["record_5"]): "defect_description is required but empty",
        ("dmtrecord", ids["record_6"]): "material_scrap_cost must be between 0",
        ("dmtrecord", ids["record_7"]): "operation is longer than 120 characters",
        ("dmtrecord", ids["record_8"]): "is also legacy record 5's, with other content",
    }
    assert set(refused) == set(expected), report.render()
    for key, reason in expected.items():
        assert reason in refused[key], (key, refused[key])

    notes = {(n["table"], n["id"]): n["note"] for n in report.notes}
    assert "a second copy of legacy record 5" in notes[("dmtrecord", ids["record_9"])]
    assert notes[("dmtrecord", ids["record_10"])] == f"had no report number: given LEGACY-{ids['record_10']}"
    assert "closed in the predecessor without final_disposition_id" in notes[("dmtrecord", ids["record_11"])]
    assert "merged into it" in notes[("partnumber", 951)]
    assert "belongs to another user: left out" in notes[("user", ids["same_email"])]
    assert notes[("user", ids["same_username"])] == "the same username as legacy user 11: merged into that user"

    assert report.users.counts() == {"read": 30, "imported": 27, "present": 1, "refused": 2}
    assert report.records.counts() == {"read": 52, "imported": 43, "present": 1, "refused": 8}
    assert not report.complete
    imported = Imported(targets)
    assert (await imported.counts())["records"] == 43
    stored = await imported.records([f"LEGACY-{ids['record_10']}", "OLD-11", "OLD-12"])
    assert stored["OLD-11"][0].is_closed
    assert stored["OLD-11"][0].status == "closed"
    first_part = (await imported.catalog_ids())[("part-numbers", data.tables["partnumber"][0]["item_number"])]
    assert stored["OLD-12"][0].part_number_id == first_part

    again = await run_import(f"sqlite:///{path}", targets, batch_size=7)
    assert again.records.counts() == {"read": 52, "imported": 0, "present": 44, "refused": 8}
    assert {(r["table"], r["id"]) for r in again.refused} == set(expected)
    assert (await imported.counts())["records"] == 43


# ---------------------------------------------------------------- a predecessor on a database server


@pytest.fixture(params=["postgres", "mariadb"])
def server_source(request: pytest.FixtureRequest) -> Iterator[tuple[str, str]]:
    """A fresh database on the server (async URL to build it, the predecessor's own spelling)."""
    admin_url = os.environ.get(SERVER_URLS[request.param])
    if not admin_url:
        pytest.skip(f"{SERVER_URLS[request.param]} not set: no {request.param} server given")
    url, name = asyncio.run(create_server_database(admin_url))
    sync_driver = "postgresql" if request.param == "postgres" else "mysql+pymysql"
    try:
        yield url, make_url(url).set(drivername=sync_driver).render_as_string(hide_password=False)
    finally:
        asyncio.run(drop_server_database(admin_url, name))


async def test_a_predecessor_on_a_database_server_without_later_columns_imports(
    server_source: tuple[str, str], tmp_path: Path
) -> None:
    build_url, predecessor_url = server_source
    data = predecessor_db.make_predecessor(300, part_numbers=40)
    omit = ("user.is_active", "user.created_at", "dmtrecord.repair_process_zh", "dmtrecord.sdr_number")
    await predecessor_db.write_predecessor(build_url, data, omit=omit)
    targets = same_targets(sqlite_url(tmp_path / "all.db"))

    report = await run_import(predecessor_url, targets)

    assert report.complete, report.render()
    assert report.users.imported == 26
    assert report.records.counts() == {"read": 300, "imported": 300, "present": 0, "refused": 0}
    stored = await Imported(targets).records([data.tables["dmtrecord"][9]["report_number"]])
    record, texts = next(iter(stored.values()))
    assert record.sdr_number is None
    assert texts[("defect_description", "zh")][0] == data.tables["dmtrecord"][9]["defect_description_zh"]
    assert ("repair_process", "zh") not in texts
    assert texts[("repair_process", "en")] == (data.tables["dmtrecord"][9]["repair_process_en"], "author")
    # Without is_active every user is active (OPR012 was inactive only where the column existed).
    active = await Imported(targets)._query(
        targets.auth, select(UserAccount.is_active).where(UserAccount.username == "OPR012")
    )
    assert active == [(True,)]


# ---------------------------------------------------------------- the command line


def test_the_command_line_imports_reports_and_says_when_rows_were_refused(tmp_path: Path) -> None:
    data = predecessor_db.make_predecessor(25, part_numbers=10)
    data.tables["dmtrecord"].append({**data.tables["dmtrecord"][0], "id": 9999, "report_number": "X-1", "quantity": -3})
    path = tmp_path / "dmt.db"
    asyncio.run(predecessor_db.write_predecessor(sqlite_url(path), data))
    env = {k: v for k, v in os.environ.items() if not k.endswith("_DATABASE_URL")}
    env.update(DMT_DATA_DIR=str(tmp_path / "data"), RECORDS_DATABASE_URL=sqlite_url(tmp_path / "records.db"))
    command = [
        sys.executable, "-m", "dmt_tools", "import-predecessor", "--source", f"sqlite:///{path}",
        "--auth-url", sqlite_url(tmp_path / "auth.db"), "--masterdata-url", sqlite_url(tmp_path / "md.db"),
        "--report", str(tmp_path / "report.json"), "--batch-size", "10",
    ]  # fmt: skip

    first = subprocess.run(command, capture_output=True, text=True, env=env, cwd=tmp_path, check=False)

    assert first.returncode == 3, first.stderr
    assert "records: 10 of 26 read" in first.stderr
    assert "records: 26 of 26 read, 25 imported, 0 already present, 1 refused" in first.stderr
    assert "see " in first.stdout
    assert "report.json" in first.stdout
    written = json.loads((tmp_path / "report.json").read_text(encoding="utf-8"))
    assert written["records"] == {"read": 26, "imported": 25, "present": 0, "refused": 1}
    assert written["refused"] == [
        {
            "table": "dmtrecord",
            "id": 9999,
            "key": "X-1",
            "reason": "quantity must be a whole number of at least 1, not -3",
        }
    ]
    assert (tmp_path / "records.db").exists()  # the records service's own setting was used
    assert not (tmp_path / "data" / "records.db").exists()

    text_report = tmp_path / "report.txt"
    second = subprocess.run(
        [*command[:-4], "--report", str(text_report)],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
        check=False,
    )
    assert second.returncode == 3
    assert "records: 26 of 26 read, 0 imported, 25 already present, 1 refused" in second.stderr
    assert "- dmtrecord id 9999 (X-1): quantity must be a whole number of at least 1, not -3" in text_report.read_text(
        encoding="utf-8"
    )

    missing = subprocess.run(
        [sys.executable, "-m", "dmt_tools", "import-predecessor", "--source", "sqlite:///./nowhere.db"],
        capture_output=True, text=True, env=env, cwd=tmp_path, check=False,
    )  # fmt: skip
    assert missing.returncode == 2
    assert missing.stderr.startswith("error: the source file")
    assert "Traceback" not in missing.stderr
