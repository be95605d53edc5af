"""Load many realistic DMT records straight into the records database, for the benchmark.

Loading a million records through the API would take hours, so this writes the records
service's own tables (``dmt_records.db.models``) with SQLAlchemy Core inserts, in batches, while
the services run: they read what is there, nothing is restarted. The catalog entries and users
the records point to are read from the masterdata and auth APIs, so every id is a real one.

What a loaded record looks like:

- created at a distinct moment spread evenly over the two years before the load (the older a
  record, the likelier it is closed), with its record date up to three days earlier;
- every status: open, in_analysis, dispositioned, closed and reopened, each with what that status
  needs filled in (analysis, disposition with costs, approval) and a version and history to match;
  closed and reopened records carry their electronic signatures;
- its texts written in English, Spanish or Chinese, with the other two languages as finished
  machine translations, as the translator would have left them;
- report numbers ``DMT-<year>-<n>`` counted per year of creation after what the yearly counter
  already gave out, and the counter moved past them, so records created later through the API
  go on from there, as the service numbers them.

    python bench/seed.py --gateway http://127.0.0.1:8000 \\
        --database-url sqlite+aiosqlite:///data/records.db --records 20000
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import hashlib
import random
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import httpx
from sqlalchemy import func, insert, select, text, update
from sqlalchemy.ext.asyncio import AsyncConnection, create_async_engine

from dmt_records.db.models import Record, RecordHistory, RecordSignature, RecordText, ReportCounter
from dmt_records.domain.records import rules

#: Catalog kinds a record points to (masterdata's names).
KINDS = (
    "part-numbers",
    "work-centers",
    "customers",
    "levels",
    "areas",
    "prepared-by",
    "inspection-items",
    "process-codes",
    "dispositions",
    "failure-codes",
)
LANGUAGES = ("en", "es", "zh")
#: How often each language is the one a text was written in.
AUTHOR_WEIGHTS = (5, 3, 2)
SPAN_DAYS = 730
CENT = Decimal("0.01")

# Texts in the three languages: (en, es, zh), so a "translation" really is one.
DEFECTS = (
    ("Gas porosity on the sealing face", "Porosidad de gas en la cara de sellado", "密封面有气孔"),
    ("Outer diameter 0.08 mm above tolerance", "Diámetro exterior 0,08 mm sobre la tolerancia", "外径超差0.08毫米"),
    ("Hairline crack next to the riser", "Grieta fina junto a la mazarota", "冒口旁有细裂纹"),
    ("Burr left on the slot edge", "Rebaba en el borde de la ranura", "槽边残留毛刺"),
    ("Dent on the blade tip after handling", "Abolladura en la punta del álabe tras manipulación", "搬运后叶尖凹陷"),
    ("Scale not removed from the bore", "Cascarilla no eliminada del agujero", "孔内氧化皮未清除"),
    ("Wrong thread pitch on the boss", "Paso de rosca incorrecto en el saliente", "凸台螺距错误"),
    ("Misrun at the thin wall section", "Llenado incompleto en la pared delgada", "薄壁处浇不足"),
)
ANALYSES = (
    (
        (
            "Mould preheat below the sheet value",
            "Precalentamiento del molde por debajo de la hoja",
            "模具预热低于工艺卡",
        ),
        ("Furnace controller drifted by 20 °C", "El controlador del horno se desvió 20 °C", "炉温控制器漂移20 °C"),
    ),
    (
        ("Fixture clamp worn on one side", "Sujeción del útil desgastada en un lado", "夹具一侧磨损"),
        ("Clamp replaced too late in the plan", "La sujeción se cambió tarde según el plan", "夹具更换超期"),
    ),
    (
        ("Parts stacked without separators", "Piezas apiladas sin separadores", "零件堆放无隔板"),
        ("Packing instruction not followed", "No se siguió la instrucción de embalaje", "未按包装指导书执行"),
    ),
)
DECISIONS = (
    (
        ("Blend and re-inspect with dye penetrant", "Esmerilar y reinspeccionar con líquidos", "打磨后渗透复检"),
        (
            "Blend 0.3 mm, penetrant test, measure",
            "Esmerilar 0,3 mm, penetrantes, medir",
            "打磨0.3毫米，渗透检测，测量",
        ),
    ),
    (
        ("Use as is, customer concession requested", "Usar tal cual, concesión solicitada", "让步接收，已申请客户特采"),
        ("No repair; file the concession", "Sin reparación; archivar la concesión", "无需返修；归档特采单"),
    ),
    (
        ("Scrap: the crack runs through the wall", "Chatarra: la grieta atraviesa la pared", "报废：裂纹贯穿壁厚"),
        ("Scrap and replace from stock", "Desechar y reponer del almacén", "报废并从库存补充"),
    ),
)
REOPEN_REASON = "The customer found the same defect on a returned part; the disposition is reviewed"
OPERATIONS = ("OP-10 wax", "OP-20 shell", "OP-30 pour", "OP-40 cut-off", "OP-50 heat treat", "OP-70 machine")
DEPARTMENTS = ("Foundry", "Machining", "Finishing", "Logistics", "Quality")
#: How the statuses are spread by a record's age in days: the older, the likelier closed.
STATUS_BY_AGE: tuple[tuple[float, tuple[tuple[str, int], ...]], ...] = (
    (7, (("open", 60), ("in_analysis", 30), ("dispositioned", 10))),
    (30, (("open", 25), ("in_analysis", 35), ("dispositioned", 30), ("closed", 10))),
    (90, (("open", 8), ("in_analysis", 15), ("dispositioned", 25), ("closed", 47), ("reopened", 5))),
    (float("inf"), (("open", 2), ("in_analysis", 4), ("dispositioned", 8), ("closed", 80), ("reopened", 6))),
)
#: Every column a record row may leave empty: each row of one INSERT names the same columns.
EMPTY_RECORD: dict[str, Any] = {
    name: None
    for name in (
        "analysis_by_id", "final_disposition_id", "disposition_date", "engineer_id", "failure_code_id",
        "rework_hours", "responsible_department", "material_scrap_cost", "other_cost",
        "disposition_approval_date", "disposition_approved_by_id", "sdr_number", "closed_at", "closed_by_id",
        "reopened_at", "reopened_by_id", "deleted_at", "deleted_by_id", "delete_reason",
    )
}  # fmt: skip
#: Steps of a record's life, in order; a status has gone through the steps up to its own.
STEPS = ("open", "in_analysis", "dispositioned", "closed", "reopened")


@dataclass(frozen=True)
class User:
    id: int
    username: str
    full_name: str
    role: str


@dataclass
class Reference:
    """What the records point to: active catalog entries per kind, users per role."""

    catalogs: dict[str, list[int]]
    users: dict[str, list[User]]

    def check(self) -> None:
        empty = [kind for kind in KINDS if not self.catalogs.get(kind)]
        if empty:
            raise SystemExit(f"these catalogs have no active entry to point records to: {', '.join(empty)}")
        for role in ("Inspector", "Tech Engineer", "Quality Engineer"):
            if not self.users.get(role):
                raise SystemExit(f"no active user with the role {role}")


@dataclass
class SeedResult:
    records: int = 0
    texts: int = 0
    history: int = 0
    signatures: int = 0
    seconds: float = 0.0
    first_id: int = 0
    last_id: int = 0
    #: created_at of the first (oldest) of the newest ``export_rows`` records, and of the newest.
    export_from: dt.datetime | None = None
    created_to: dt.datetime | None = None
    statuses: dict[str, int] = field(default_factory=dict)


def login(client: httpx.Client, username: str, password: str) -> str:
    response = client.post("/api/v1/auth/login", json={"username": username, "password": password})
    response.raise_for_status()
    token: str = response.json()["access_token"]
    return token


def _pages(client: httpx.Client, path: str, params: dict[str, Any], headers: dict[str, str]) -> Iterator[Any]:
    page = 1
    while True:
        response = client.get(path, params={**params, "page": page, "page_size": 200}, headers=headers)
        response.raise_for_status()
        body = response.json()
        yield from body["items"]
        if page * 200 >= body["total"]:
            return
        page += 1


def fetch_reference(gateway: str, admin: tuple[str, str] = ("ADM001", "admin123")) -> Reference:
    """The active catalog entries and users, from the masterdata and auth APIs (as the Admin)."""
    with httpx.Client(base_url=gateway, timeout=30) as client:
        headers = {"Authorization": f"Bearer {login(client, *admin)}"}
        catalogs = {
            kind: [item["id"] for item in _pages(client, f"/api/v1/catalogs/{kind}", {"is_active": "true"}, headers)]
            for kind in KINDS
        }
        users: dict[str, list[User]] = {}
        for item in _pages(client, "/api/v1/users", {"is_active": "true"}, headers):
            users.setdefault(item["role"], []).append(
                User(item["id"], item["username"], item["full_name"], item["role"])
            )
    reference = Reference(catalogs, users)
    reference.check()
    return reference


def sha(value: str) -> str:
    return hashlib.sha256(value.encode("utf-8")).hexdigest()


def money(value: float) -> Decimal:
    return Decimal(str(value)).quantize(CENT)


class Generator:
    """Makes the rows of one record at a time; deterministic for a given seed."""

    def __init__(self, reference: Reference, rng: random.Random, now: dt.datetime) -> None:
        self.ref = reference
        self.rng = rng
        self.now = now
        self.inspectors = reference.users["Inspector"]
        self.engineers = reference.users["Tech Engineer"]
        self.analysts = reference.users.get("Operator", []) + self.engineers
        self.quality = reference.users["Quality Engineer"]

    def pick(self, kind: str) -> int:
        return self.rng.choice(self.ref.catalogs[kind])

    def status_for(self, age_days: float) -> str:
        for limit, weights in STATUS_BY_AGE:
            if age_days < limit:
                names, counts = zip(*weights, strict=True)
                return self.rng.choices(names, counts)[0]
        raise AssertionError("unreachable")

    def later(self, moment: dt.datetime, low_days: float, high_days: float, end: dt.datetime) -> dt.datetime:
        step = dt.timedelta(days=self.rng.uniform(low_days, high_days))
        return min(moment + step, end)

    def texts(
        self, record_id: int, values: dict[str, tuple[str, str, str]], at: dt.datetime, suffix: int
    ) -> list[dict[str, Any]]:
        """One author row and two finished machine translations per text field."""
        author = self.rng.choices(LANGUAGES, AUTHOR_WEIGHTS)[0]
        rows = []
        for name, triple in values.items():
            en, es, zh = triple
            localized = {"en": f"{en} (lot {suffix})", "es": f"{es} (lote {suffix})", "zh": f"{zh}（批次 {suffix}）"}
            digest = sha(localized[author])
            for language in LANGUAGES:
                rows.append(
                    {
                        "record_id": record_id,
                        "field": name,
                        "language": language,
                        "text": localized[language],
                        "origin": "author" if language == author else "machine",
                        "updated_at": at,
                        "state": "done",
                        "source_hash": digest,
                        "attempts": 0 if language == author else 1,
                    }
                )
        return rows

    def record(
        self, record_id: int, report_number: str, created: dt.datetime, end: dt.datetime
    ) -> tuple[dict[str, Any], list[dict[str, Any]], list[dict[str, Any]], list[dict[str, Any]]]:
        """A record's row, its text rows, its history lines and its signatures."""
        rng = self.rng
        status = self.status_for((self.now - created) / dt.timedelta(days=1))
        reached = STEPS.index(status)
        inspector = rng.choice(self.inspectors)
        row: dict[str, Any] = {
            **EMPTY_RECORD,
            "id": record_id,
            "report_number": report_number,
            "status": status,
            "is_closed": status == "closed",
            "part_number_id": self.pick("part-numbers"),
            "work_center_id": self.pick("work-centers"),
            "customer_id": self.pick("customers"),
            "level_id": self.pick("levels") if rng.random() < 0.9 else None,
            "area_id": self.pick("areas") if rng.random() < 0.9 else None,
            "prepared_by_id": self.pick("prepared-by"),
            "operation": rng.choice(OPERATIONS),
            "quantity": min(int(rng.expovariate(1 / 6)) + 1, 500),
            "serial_number": f"SN-{rng.randint(100000, 999999)}" if rng.random() < 0.8 else None,
            "record_date": (created - dt.timedelta(days=rng.randint(0, 3))).date(),
            "inspection_item_id": self.pick("inspection-items"),
            "process_code_id": self.pick("process-codes"),
            "created_by_id": inspector.id,
            "updated_by_id": inspector.id,
            "created_at": created,
            "updated_at": created,
            "version": reached + 1,
        }
        suffix = rng.randint(1000, 9999)
        texts: dict[str, tuple[str, str, str]] = {"defect_description": rng.choice(DEFECTS)}
        lines = [
            self._line(record_id, inspector, "created", created, 1, "report_number", None, report_number),
            self._line(record_id, inspector, "created", created, 1, "status", None, "open"),
        ]
        signatures: list[dict[str, Any]] = []
        at = created
        if reached >= 1:
            at = self.later(at, 0.1, 3, end)
            analyst = rng.choice(self.analysts)
            process, analysis = rng.choice(ANALYSES)
            texts.update(process_description=process, analysis=analysis)
            row.update(analysis_by_id=analyst.id, updated_by_id=analyst.id, updated_at=at)
            lines.append(self._line(record_id, analyst, "changed", at, 2, "status", "open", "in_analysis"))
        if reached >= 2:
            at = self.later(at, 0.5, 5, end)
            engineer = rng.choice(self.engineers)
            remarks, repair = rng.choice(DECISIONS)
            texts.update(engineering_remarks=remarks, repair_process=repair)
            row.update(
                final_disposition_id=self.pick("dispositions"),
                failure_code_id=self.pick("failure-codes"),
                engineer_id=engineer.id,
                disposition_date=at.date(),
                rework_hours=money(rng.uniform(0, 12)),
                responsible_department=rng.choice(DEPARTMENTS),
                material_scrap_cost=money(rng.uniform(5, 2500)) if rng.random() < 0.7 else None,
                other_cost=money(rng.uniform(0, 800)) if rng.random() < 0.4 else None,
                updated_by_id=engineer.id,
                updated_at=at,
            )
            lines.append(self._line(record_id, engineer, "changed", at, 3, "status", "in_analysis", "dispositioned"))
        if reached >= 3:
            at = self.later(at, 0.5, 10, end)
            approver = rng.choice(self.quality)
            row.update(
                disposition_approval_date=at.date(),
                disposition_approved_by_id=approver.id,
                sdr_number=f"SDR-{at.year}-{rng.randint(1, 9999):04d}" if rng.random() < 0.3 else None,
                closed_at=at,
                closed_by_id=approver.id,
                updated_by_id=approver.id,
                updated_at=at,
            )
            lines.append(self._line(record_id, approver, "closed", at, 4, "status", "dispositioned", "closed"))
            signatures.append(self._signature(record_id, approver, rules.MEANING_APPROVED_DISPOSITION, at, 4))
        if reached >= 4:
            at = self.later(at, 1, 20, end)
            reopener = rng.choice(self.quality)
            row.update(
                disposition_approval_date=None,
                disposition_approved_by_id=None,
                closed_at=None,
                closed_by_id=None,
                reopened_at=at,
                reopened_by_id=reopener.id,
                updated_by_id=reopener.id,
                updated_at=at,
            )
            lines.append(
                self._line(record_id, reopener, "reopened", at, 5, "status", "closed", "reopened", REOPEN_REASON)
            )
            signatures.append(self._signature(record_id, reopener, rules.MEANING_REOPENED, at, 5, REOPEN_REASON))
        return row, self.texts(record_id, texts, created, suffix), lines, signatures

    @staticmethod
    def _line(
        record_id: int,
        actor: User,
        action: str,
        at: dt.datetime,
        version: int,
        name: str,
        old: str | None,
        new: str | None,
        reason: str | None = None,
    ) -> dict[str, Any]:
        return {
            "record_id": record_id,
            "at": at,
            "actor_id": actor.id,
            "actor_username": actor.username,
            "actor_name": actor.full_name,
            "actor_role": actor.role,
            "action": action,
            "field": name,
            "language": None,
            "old_value": old,
            "new_value": new,
            "reason": reason,
            "version": version,
            "request_id": None,
        }

    @staticmethod
    def _signature(
        record_id: int, signer: User, meaning: str, at: dt.datetime, version: int, reason: str | None = None
    ) -> dict[str, Any]:
        return {
            "record_id": record_id,
            "meaning": meaning,
            "signer_id": signer.id,
            "signer_username": signer.username,
            "signer_name": signer.full_name,
            "signer_role": signer.role,
            "signed_at": at,
            "reason": reason,
            "record_version": version,
        }


def moments(count: int, start: dt.datetime, end: dt.datetime, rng: random.Random) -> Iterator[dt.datetime]:
    """``count`` distinct moments from ``start`` to ``end``, ascending, whole microseconds."""
    span = int((end - start) / dt.timedelta(microseconds=1))
    step = span // max(count, 1)
    if step < 2:
        raise SystemExit(f"{count} records do not fit into {SPAN_DAYS} days with distinct creation times")
    for index in range(count):
        offset = index * step + rng.randrange(step)
        yield start + dt.timedelta(microseconds=offset)


async def _counters(conn: AsyncConnection) -> dict[int, int]:
    rows = await conn.execute(select(ReportCounter.year, ReportCounter.last_value))
    return {year: value for year, value in rows.all()}


async def _set_counters(conn: AsyncConnection, before: dict[int, int], last: dict[int, int]) -> None:
    for year, value in sorted(last.items()):
        if year in before:
            await conn.execute(
                update(ReportCounter)
                .where(ReportCounter.year == year, ReportCounter.last_value < value)
                .values(last_value=value)
            )
        else:
            await conn.execute(insert(ReportCounter).values(year=year, last_value=value))


async def load(
    database_url: str,
    reference: Reference,
    count: int,
    *,
    batch_size: int = 5000,
    seed: int = 20261124,
    export_rows: int = 100_000,
    progress: Callable[[str], None] | None = None,
) -> SeedResult:
    """Write ``count`` records into the records database at ``database_url`` (already migrated)."""
    rng = random.Random(seed)  # noqa: S311 - test data, not secrets
    now = dt.datetime.now(dt.UTC).replace(microsecond=0)
    # Everything loaded lies before this moment, so records made later through the API are newer.
    end = now - dt.timedelta(minutes=10)
    start = end - dt.timedelta(days=SPAN_DAYS)
    generator = Generator(reference, rng, now)
    result = SeedResult()
    began = time.perf_counter()
    engine = create_async_engine(database_url)
    dialect = engine.dialect.name
    tables = (Record.__table__, RecordText.__table__, RecordHistory.__table__, RecordSignature.__table__)
    try:
        async with engine.connect() as conn:
            if dialect == "sqlite":
                await conn.execute(text("PRAGMA busy_timeout = 30000"))
            counters = await _counters(conn)
            next_id = (await conn.scalar(select(func.max(Record.id))) or 0) + 1
            await conn.commit()
            numbers = dict(counters)
            result.first_id = next_id
            export_from_index = max(0, count - export_rows)
            batch: tuple[list[Any], list[Any], list[Any], list[Any]] = ([], [], [], [])
            reported = 0
            for index, created in enumerate(moments(count, start, end, rng)):
                numbers[created.year] = numbers.get(created.year, 0) + 1
                number = rules.report_number(created.year, numbers[created.year])
                rows = generator.record(next_id, number, created, end)
                result.statuses[rows[0]["status"]] = result.statuses.get(rows[0]["status"], 0) + 1
                for target, made in zip(batch, (rows[0:1], rows[1], rows[2], rows[3]), strict=True):
                    target.extend(made)
                if index == export_from_index:
                    result.export_from = created
                result.created_to = created
                result.last_id = next_id
                next_id += 1
                if len(batch[0]) >= batch_size or index == count - 1:
                    for table, rows_of_table in zip(tables, batch, strict=True):
                        if rows_of_table:
                            await conn.execute(insert(table), rows_of_table)
                    await conn.commit()
                    result.records += len(batch[0])
                    result.texts += len(batch[1])
                    result.history += len(batch[2])
                    result.signatures += len(batch[3])
                    batch = ([], [], [], [])
                    if progress and (result.records - reported >= max(count // 20, batch_size) or index == count - 1):
                        reported = result.records
                        rate = result.records / (time.perf_counter() - began)
                        progress(f"loaded {result.records:,} of {count:,} records ({rate:,.0f} records/s)")
            await _set_counters(conn, counters, {y: v for y, v in numbers.items() if v != counters.get(y)})
            if dialect == "postgresql":
                # Ids were given here: the identity must go on after them, as it would have.
                await conn.execute(
                    text("SELECT setval(pg_get_serial_sequence('dmt_record', 'id'), (SELECT max(id) FROM dmt_record))")
                )
            await conn.commit()
            if dialect == "postgresql":
                # What autovacuum would do within a minute of such a load anyway; done now so that it
                # does not happen in the middle of a measurement.
                await conn.execute(text("ANALYZE"))
                await conn.commit()
    finally:
        await engine.dispose()
    result.seconds = time.perf_counter() - began
    return result


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--gateway", required=True, help="the gateway's base URL (catalog entries and users)")
    parser.add_argument("--database-url", required=True, help="the records database (async SQLAlchemy URL)")
    parser.add_argument("--records", type=int, default=20_000)
    parser.add_argument("--batch-size", type=int, default=5000)
    parser.add_argument("--seed", type=int, default=20261124)
    args = parser.parse_args(argv)
    reference = fetch_reference(args.gateway)
    result = asyncio.run(
        load(
            args.database_url,
            reference,
            args.records,
            batch_size=args.batch_size,
            seed=args.seed,
            progress=lambda line: print(line, file=sys.stderr, flush=True),
        )
    )
    print(
        f"{result.records:,} records ({result.texts:,} texts, {result.history:,} history lines, "
        f"{result.signatures:,} signatures) in {result.seconds:.1f} s; statuses {result.statuses}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
