"""A database shaped like the predecessor DMT's, for the import tests.

The tables are written here with plain SQLAlchemy Core, as the predecessor's SQLModel classes
made them: ``user``, the eleven catalog tables (``partnumber``, ``workcenter``, ...) and
``dmtrecord`` with its texts in ``<field>_en``, ``_es`` and ``_zh`` columns and naive UTC
``created_at``. No foreign keys: the predecessor's SQLite never enforced them, which is how
records pointing nowhere came to be.

:func:`make_predecessor` makes the rows (the same ones for the same arguments) and
:func:`write_predecessor` writes them to any database URL; a test may change the rows in between.
Legacy ids have gaps, so an import that kept ids instead of mapping them would be caught.
"""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Collection
from dataclasses import dataclass, field
from typing import Any

from passlib.hash import pbkdf2_sha256
from sqlalchemy import Boolean, Column, Date, DateTime, Float, Integer, MetaData, String, Table, Text
from sqlalchemy.ext.asyncio import create_async_engine

CATALOG_TABLES = (
    "partnumber",
    "workcenter",
    "customer",
    "level",
    "area",
    "calibration",
    "inspectionitem",
    "preparedby",
    "processcode",
    "disposition",
    "failurecode",
)
TEXT_FIELDS = ("defect_description", "process_description", "analysis", "engineering_remarks", "repair_process")
LANGUAGES = ("en", "es", "zh")


def predecessor_metadata(omit: Collection[str] = ()) -> MetaData:
    """The predecessor's tables; ``omit`` names columns (``table.column``) an older version lacked."""
    metadata = MetaData()

    def table(name: str, *columns: Column[Any]) -> Table:
        return Table(name, metadata, *(c for c in columns if f"{name}.{c.name}" not in omit))

    table(
        "user",
        Column("id", Integer, primary_key=True),
        Column("username", String(50)),
        Column("email", String(120)),
        Column("full_name", String(120)),
        Column("role", String(40)),
        Column("hashed_password", String(255)),
        Column("is_active", Boolean),
        Column("created_at", DateTime),
    )
    for name in CATALOG_TABLES:
        table(
            name,
            Column("id", Integer, primary_key=True),
            Column("item_number", String(100)),
            Column("item_name", String(255)),
        )
    texts = [Column(f"{f}_{lang}", Text) for f in TEXT_FIELDS for lang in LANGUAGES]
    table(
        "dmtrecord",
        Column("id", Integer, primary_key=True),
        Column("report_number", String(50)),
        Column("part_number_id", Integer),
        Column("work_center_id", Integer),
        Column("customer_id", Integer),
        Column("level_id", Integer),
        Column("area_id", Integer),
        Column("prepared_by_id", Integer),
        Column("operation", String(200)),
        Column("quantity", Integer),
        Column("serial_number", String(100)),
        Column("date", Date),
        Column("inspection_item_id", Integer),
        Column("process_code_id", Integer),
        Column("analysis_by_id", Integer),
        Column("final_disposition_id", Integer),
        Column("disposition_date", Date),
        Column("engineer_id", Integer),
        Column("failure_code_id", Integer),
        Column("rework_hours", Float),
        Column("responsible_department", String(200)),
        Column("material_scrap_cost", Float),
        Column("other_cost", Float),
        Column("disposition_approval_date", Date),
        Column("disposition_approved_by_id", Integer),
        Column("sdr_number", String(100)),
        Column("is_closed", Boolean),
        Column("created_at", DateTime),
        Column("created_by_id", Integer),
        *texts,
    )
    return metadata


# ---------------------------------------------------------------- the plant's data

USERS: tuple[tuple[str, str, str, str], ...] = (
    # username, full name, role as the predecessor wrote it, password
    ("ADM001", "María Fernanda López", "Admin", "admin123"),
    ("ENG001", "Zhang Wei", "tech_engineer", "engineer123"),
    ("QUA001", "Alejandro Ramírez Torres", "quality_engineer", "quality123"),
    *(
        (f"INS{i:03d}", name, "Inspector" if i % 2 else "inspector", "employee123")
        for i, name in enumerate(
            (
                "Guadalupe Hernández Ruiz",
                "Wang Fang",
                "José Luis Martínez",
                "Li Na",
                "Ana Sofía García Reyes",
                "Chen Jing",
                "Luis Ángel Sánchez",
                "Liu Yang",
                "Verónica Castillo Morales",
                "Zhao Lei",
                "Ricardo Flores Jiménez",
            ),
            start=1,
        )
    ),
    *(
        (f"OPR{i:03d}", name, "Operator" if i % 3 else "operator", "employee123")
        for i, name in enumerate(
            (
                "Juan Carlos Pérez",
                "Huang Min",
                "Miguel Ángel Gómez",
                "Zhou Qiang",
                "Daniela Vázquez Ortiz",
                "Wu Xiaoling",
                "Francisco Javier Cruz",
                "Sun Hao",
                "Carmen Alicia Mendoza",
                "Xu Jie",
                "Jorge Eduardo Aguilar",
                "Ma Lin",
            ),
            start=1,
        )
    ),
)

CATALOGS: dict[str, tuple[tuple[str, str], ...]] = {
    "workcenter": tuple(
        (f"WC-{i:03d}", name)
        for i, name in enumerate(
            (
                "Wax Pattern",
                "Shell Making",
                "Cast",
                "Cutting",
                "Grinding",
                "Sandblasting",
                "Manual Operation_Casting",
                "Welding",
                "Milling",
                "Turning",
                "Manual Operation_Machining",
                "Assembly",
                "Surface treatment",
                "Incoming Inspection",
                "Other",
            ),
            start=1,
        )
    ),
    "customer": tuple((c, f"Customer {c}") for c in ("A108", "A109", "A135", "A146", "A261", "IMMX")),
    "level": (("L1", "Critical"), ("L2", "Major"), ("L3", "Minor"), ("L4", "Cosmetic")),
    "area": (
        ("AR-01", "Production Floor"),
        ("AR-02", "Quality Control"),
        ("AR-03", "Warehouse"),
        ("AR-04", "Finishing"),
    ),
    "calibration": tuple((f"CAL-{i:04d}", f"Gauge {i}") for i in range(1, 13)),
    "inspectionitem": (
        ("II-01", "Visual Inspection"),
        ("II-02", "Dimensional Check"),
        ("II-03", "Functional Test"),
        ("II-04", "Surface Finish"),
        ("II-05", "Material Verification"),
    ),
    "preparedby": tuple((f"INS{i:03d}", f"Inspector {i}") for i in range(1, 12)),
    "processcode": (
        ("REC", "Receiving"),
        ("INP", "In-Process"),
        ("FIN", "Final"),
        ("FAI", "First Article Inspection"),
        ("SQA", "Supplier Quality"),
    ),
    "disposition": (("UAI", "Use As Is"), ("RWK", "Rework"), ("SCR", "Scrap"), ("RTS", "Return to Supplier")),
    "failurecode": (
        ("FC-01", "Material Defect"),
        ("FC-02", "Process Error"),
        ("FC-03", "Equipment Malfunction"),
        ("FC-04", "Human Error"),
        ("FC-05", "Design Issue"),
    ),
}

DEFECTS = (
    ("Porosity on the flange face", "Porosidad en la cara de la brida", "法兰面有气孔"),
    ("Crack at the root of the blade", "Grieta en la raíz del álabe", "叶片根部有裂纹"),
    ("Bore oversize by 0.05 mm", "Barreno sobredimensionado 0.05 mm", "内孔超差0.05毫米"),
    ("Shell inclusion on the surface", "Inclusión de cascarón en la superficie", "表面有型壳夹杂"),
    ("Missing thread on hole 3", "Falta rosca en el barreno 3", "3号孔缺螺纹"),
)
ANALYSES = (
    ("Wax injection temperature too low", "Temperatura de inyección de cera baja", "蜡注射温度过低"),
    ("Worn tool insert", "Inserto de herramienta desgastado", "刀片磨损"),
    ("Operator skipped the check", "El operador omitió la verificación", "操作员跳过了检查"),
)
REMARKS = (
    ("Rework per instruction RW-12", "Retrabajo según instrucción RW-12", "按RW-12指导书返工"),
    ("Scrap, replace from stock", "Desecho, reponer de inventario", "报废，从库存补充"),
)


def _hash(password: str) -> str:
    return pbkdf2_sha256.hash(password)


@dataclass
class Predecessor:
    """The rows of every table, by table name, and each user's password."""

    tables: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    passwords: dict[str, str] = field(default_factory=dict)

    def ids(self, table: str) -> list[int]:
        return [row["id"] for row in self.tables[table]]


def make_predecessor(records: int = 10_000, *, seed: int = 1355, part_numbers: int = 150) -> Predecessor:
    rng = random.Random(seed)
    data = Predecessor()
    hashes = {p: _hash(p) for p in sorted({u[3] for u in USERS})}
    base = dt.datetime(2023, 1, 2, 7, 0, 0)
    users = []
    for i, (username, full_name, role, password) in enumerate(USERS):
        users.append(
            {
                "id": 3 * i + 2,
                "username": username,
                "email": f"{username.lower()}@plant.example",
                "full_name": full_name,
                "role": role,
                "hashed_password": hashes[password],
                "is_active": username != "OPR012",
                "created_at": base - dt.timedelta(days=30 - i),
            }
        )
        data.passwords[username] = password
    data.tables["user"] = users

    parts = [("9151355", "Turbine blade"), ("5073135-101", "Impeller"), ("10101B-518", "Valve body")]
    while len(parts) < part_numbers:
        parts.append((f"{rng.randint(1, 9)}{rng.randint(0, 999999):06d}-{len(parts)}", f"Part {len(parts)}"))
    catalogs = {"partnumber": tuple(parts), **CATALOGS}
    for offset, (name, entries) in enumerate(catalogs.items()):
        data.tables[name] = [
            {"id": 10 * offset + 2 * i + 1, "item_number": number, "item_name": item_name}
            for i, (number, item_name) in enumerate(entries)
        ]

    by_role: dict[str, list[int]] = {}
    for user in users:
        by_role.setdefault(user["username"][:3], []).append(user["id"])
    cat_ids = {name: data.ids(name) for name in catalogs}
    counters: dict[int, int] = {}
    rows = []
    for i in range(records):
        created = base + dt.timedelta(minutes=157 * i, seconds=i % 60, microseconds=(i * 7919) % 1_000_000)
        counters[created.year] = counters.get(created.year, 0) + 1
        row: dict[str, Any] = {
            "id": 2 * i + 5,
            "report_number": f"DMT-{created.year}-{counters[created.year]:05d}",
            "part_number_id": rng.choice(cat_ids["partnumber"]),
            "work_center_id": rng.choice(cat_ids["workcenter"]),
            "customer_id": rng.choice(cat_ids["customer"]),
            "level_id": rng.choice(cat_ids["level"]) if i % 4 else None,
            "area_id": rng.choice(cat_ids["area"]) if i % 5 else None,
            "prepared_by_id": rng.choice(cat_ids["preparedby"]),
            "operation": f"OP-{rng.randint(1, 9) * 10} {rng.choice(('wax injection', 'cutting', 'final machining'))}",
            "quantity": rng.randint(1, 60),
            "serial_number": f"SN-{i:06d}" if i % 3 else None,
            "date": created.date(),
            "inspection_item_id": rng.choice(cat_ids["inspectionitem"]),
            "process_code_id": rng.choice(cat_ids["processcode"]),
            "is_closed": False,
            "created_at": created,
            "created_by_id": rng.choice(by_role["INS"] + by_role["ADM"]),
        }
        defect = rng.choice(DEFECTS)
        for lang, text in zip(LANGUAGES, defect, strict=True):
            row[f"defect_description_{lang}"] = f"{text} #{i}"
        if i % 50 == 7:  # written in Spanish: the English column stayed empty
            row["defect_description_en"] = None
        stage = i % 10
        if stage >= 3:
            analysis = rng.choice(ANALYSES)
            for lang, text in zip(LANGUAGES, analysis, strict=True):
                row[f"analysis_{lang}"] = text
                row[f"process_description_{lang}"] = f"{text} ({lang})"
            row["analysis_by_id"] = rng.choice(by_role["OPR"] + by_role["ENG"])
        if stage >= 5:
            remark = rng.choice(REMARKS)
            for lang, text in zip(LANGUAGES, remark, strict=True):
                row[f"engineering_remarks_{lang}"] = text
                row[f"repair_process_{lang}"] = f"{text} / {lang}"
            row.update(
                final_disposition_id=rng.choice(cat_ids["disposition"]),
                failure_code_id=rng.choice(cat_ids["failurecode"]),
                engineer_id=by_role["ENG"][0],
                disposition_date=created.date() + dt.timedelta(days=2),
                rework_hours=round(rng.uniform(0, 12), 2) if stage % 2 else None,
                responsible_department=rng.choice(("Casting", "Machining", "Quality")),
                material_scrap_cost=round(rng.uniform(10, 5000), 2) if stage % 2 else None,
                other_cost=12.5 if stage == 9 else None,
            )
        if stage >= 7:
            row.update(
                disposition_approval_date=created.date() + dt.timedelta(days=4),
                disposition_approved_by_id=by_role["QUA"][0],
                sdr_number=f"SDR-{i:05d}" if i % 2 else None,
                is_closed=True,
            )
        rows.append(row)
    data.tables["dmtrecord"] = rows
    return data


async def write_predecessor(url: str, data: Predecessor, *, omit: Collection[str] = (), chunk: int = 1000) -> None:
    """Create the predecessor's tables at ``url`` (an async URL) and write ``data`` into them."""
    metadata = predecessor_metadata(omit)
    engine = create_async_engine(url)
    try:
        async with engine.begin() as conn:
            await conn.run_sync(metadata.create_all)
        for name, rows in data.tables.items():
            table = metadata.tables[name]
            columns = set(table.c.keys())
            shaped = [{c: row.get(c) for c in columns} for row in rows]
            for start in range(0, len(shaped), chunk):
                async with engine.begin() as conn:
                    await conn.execute(table.insert(), shaped[start : start + chunk])
    finally:
        await engine.dispose()
