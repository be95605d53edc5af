"""The demo catalogs of the plant, loaded into an empty table outside production.

Everything here is data: (item_number, item_name, item_name_es, item_name_zh) per catalog.
Part numbers are generated from a fixed seed in the plant's numbering formats, so every start
produces the same ~150 parts.
"""

from __future__ import annotations

import logging
import random

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from dmt_masterdata.db.models import CatalogEntry

log = logging.getLogger("dmt.masterdata.seed")

Entry = tuple[str, str, str | None, str | None]

WORK_CENTERS: tuple[Entry, ...] = (
    ("WC-001", "Wax Pattern", "Modelo de cera", "蜡模"),
    ("WC-002", "Shell Making", "Fabricación de cascarón", "制壳"),
    ("WC-003", "Cast", "Vaciado", "浇注"),
    ("WC-004", "Cutting", "Corte", "切割"),
    ("WC-005", "Grinding", "Esmerilado", "打磨"),
    ("WC-006", "Sandblasting", "Chorro de arena", "喷砂"),
    ("WC-007", "Manual Operation_Casting", "Operación manual_Fundición", "手工操作_铸造"),
    ("WC-008", "Welding", "Soldadura", "焊接"),
    ("WC-009", "Milling", "Fresado", "铣削"),
    ("WC-010", "Turning", "Torneado", "车削"),
    ("WC-011", "Manual Operation_Machining", "Operación manual_Maquinado", "手工操作_机加工"),
    ("WC-012", "Assembly", "Ensamble", "装配"),
    ("WC-013", "Surface treatment", "Tratamiento superficial", "表面处理"),
    ("WC-014", "Incoming Inspection", "Inspección de recibo", "来料检验"),
    ("WC-015", "Other", "Otro", "其他"),
)

CUSTOMERS: tuple[Entry, ...] = tuple(
    (code, f"Customer {code}", f"Cliente {code}", f"客户 {code}")
    for code in ("A108", "A109", "A135", "A146", "A261", "IMMX")
)

LEVELS: tuple[Entry, ...] = (
    ("L1", "Critical", "Crítico", "致命"),
    ("L2", "Major", "Mayor", "严重"),
    ("L3", "Minor", "Menor", "轻微"),
    ("L4", "Cosmetic", "Cosmético", "外观"),
)

AREAS: tuple[Entry, ...] = (
    ("AR-01", "Production Floor", "Piso de producción", "生产车间"),
    ("AR-02", "Quality Control", "Control de calidad", "质量控制"),
    ("AR-03", "Warehouse", "Almacén", "仓库"),
    ("AR-04", "Finishing", "Acabado", "精整"),
)

DISPOSITIONS: tuple[Entry, ...] = (
    ("UAI", "Use As Is", "Usar como está", "照原样使用"),
    ("RWK", "Rework", "Retrabajo", "返工"),
    ("SCR", "Scrap", "Desecho", "报废"),
    ("RTS", "Return to Supplier", "Devolver al proveedor", "退回供应商"),
)

FAILURE_CODES: tuple[Entry, ...] = (
    ("FC-01", "Material Defect", "Defecto de material", "材料缺陷"),
    ("FC-02", "Process Error", "Error de proceso", "工艺错误"),
    ("FC-03", "Equipment Malfunction", "Falla de equipo", "设备故障"),
    ("FC-04", "Human Error", "Error humano", "人为错误"),
    ("FC-05", "Design Issue", "Problema de diseño", "设计问题"),
)

INSPECTION_ITEMS: tuple[Entry, ...] = (
    ("II-01", "Visual Inspection", "Inspección visual", "目视检验"),
    ("II-02", "Dimensional Check", "Verificación dimensional", "尺寸检验"),
    ("II-03", "Functional Test", "Prueba funcional", "功能测试"),
    ("II-04", "Surface Finish", "Acabado superficial", "表面光洁度"),
    ("II-05", "Material Verification", "Verificación de material", "材料验证"),
)

PROCESS_CODES: tuple[Entry, ...] = (
    ("REC", "Receiving", "Recepción", "收货"),
    ("INP", "In-Process", "En proceso", "过程中"),
    ("FIN", "Final", "Final", "最终"),
    ("FAI", "First Article Inspection", "Inspección de primer artículo", "首件检验"),
    ("SQA", "Supplier Quality", "Calidad de proveedor", "供应商质量"),
)

CALIBRATIONS: tuple[Entry, ...] = (
    ("CAL-0001", "Digital caliper 0-150 mm", "Calibrador digital 0-150 mm", "数显卡尺 0-150 mm"),
    ("CAL-0002", "Digital caliper 0-300 mm", "Calibrador digital 0-300 mm", "数显卡尺 0-300 mm"),
    ("CAL-0003", "Outside micrometer 0-25 mm", "Micrómetro de exteriores 0-25 mm", "外径千分尺 0-25 mm"),
    ("CAL-0004", "Outside micrometer 25-50 mm", "Micrómetro de exteriores 25-50 mm", "外径千分尺 25-50 mm"),
    ("CAL-0005", "Depth micrometer 0-150 mm", "Micrómetro de profundidades 0-150 mm", "深度千分尺 0-150 mm"),
    ("CAL-0006", "Bore gauge 18-35 mm", "Medidor de interiores 18-35 mm", "内径表 18-35 mm"),
    ("CAL-0007", "Height gauge 0-300 mm", "Medidor de altura 0-300 mm", "高度尺 0-300 mm"),
    ("CAL-0008", "Dial indicator 0-10 mm", "Indicador de carátula 0-10 mm", "百分表 0-10 mm"),
    ("CAL-0009", "Thread plug gauge M8x1.25", "Calibre tapón roscado M8x1.25", "螺纹塞规 M8x1.25"),
    ("CAL-0010", "Thread ring gauge M10x1.5", "Calibre anillo roscado M10x1.5", "螺纹环规 M10x1.5"),
    ("CAL-0011", "Pin gauge set 1-10 mm", "Juego de calibres de pernos 1-10 mm", "针规组 1-10 mm"),
    ("CAL-0012", "Gauge block set, grade 0", "Juego de bloques patrón, grado 0", "量块组，0级"),
    ("CAL-0013", "Radius gauge set 1-25 mm", "Juego de galgas de radio 1-25 mm", "半径规组 1-25 mm"),
    ("CAL-0014", "Feeler gauge set 0.02-1 mm", "Juego de lainas 0.02-1 mm", "塞尺组 0.02-1 mm"),
    ("CAL-0015", "Surface roughness tester", "Rugosímetro", "表面粗糙度仪"),
    ("CAL-0016", "Rockwell hardness tester", "Durómetro Rockwell", "洛氏硬度计"),
    ("CAL-0017", "Coordinate measuring machine", "Máquina de medición por coordenadas", "三坐标测量机"),
    ("CAL-0018", "Profile projector", "Proyector de perfiles", "轮廓投影仪"),
    ("CAL-0019", "Ultrasonic thickness gauge", "Medidor ultrasónico de espesores", "超声波测厚仪"),
    ("CAL-0020", "Torque wrench 5-25 N·m", "Torquímetro 5-25 N·m", "扭力扳手 5-25 N·m"),
)

#: The people who prepare DMT tags on the floor (catalog entries, not user accounts).
PREPARED_BY: tuple[Entry, ...] = (
    ("INS001", "Guadalupe Hernández Ruiz", None, None),
    ("INS002", "Wang Fang", None, None),
    ("INS003", "José Luis Martínez", None, None),
    ("INS004", "Li Na", None, None),
    ("INS005", "Ana Sofía García Reyes", None, None),
    ("INS006", "Chen Jing", None, None),
    ("INS007", "Luis Ángel Sánchez", None, None),
    ("INS008", "Liu Yang", None, None),
    ("INS009", "Verónica Castillo Morales", None, None),
    ("INS010", "Zhao Lei", None, None),
    ("INS011", "Ricardo Flores Jiménez", None, None),
    ("QUA001", "Alejandro Ramírez Torres", None, None),
)

#: What the plant casts and machines: English, Spanish, Chinese.
PART_KINDS: tuple[tuple[str, str, str], ...] = (
    ("Turbine blade", "Álabe de turbina", "涡轮叶片"),
    ("Nozzle guide vane", "Álabe guía de tobera", "导向叶片"),
    ("Impeller", "Impulsor", "叶轮"),
    ("Impeller housing", "Carcasa del impulsor", "叶轮壳体"),
    ("Pump housing", "Carcasa de bomba", "泵壳"),
    ("Valve body", "Cuerpo de válvula", "阀体"),
    ("Valve bonnet", "Bonete de válvula", "阀盖"),
    ("Bearing housing", "Alojamiento de rodamiento", "轴承座"),
    ("Compressor wheel", "Rueda de compresor", "压气机叶轮"),
    ("Diffuser", "Difusor", "扩压器"),
    ("Mounting bracket", "Soporte de montaje", "安装支架"),
    ("Flange adapter", "Adaptador de brida", "法兰转接件"),
    ("Exhaust manifold", "Múltiple de escape", "排气歧管"),
    ("Rocker arm", "Balancín", "摇臂"),
    ("Gear housing", "Carcasa de engranes", "齿轮箱体"),
    ("Shaft sleeve", "Camisa de eje", "轴套"),
    ("Lever", "Palanca", "杠杆"),
    ("Clamp", "Abrazadera", "卡箍"),
    ("Cover plate", "Placa de cubierta", "盖板"),
    ("Connector body", "Cuerpo de conector", "连接器壳体"),
    ("Elbow fitting", "Codo", "弯头"),
    ("Seal ring", "Anillo de sello", "密封环"),
    ("Combustor segment", "Segmento de combustor", "燃烧室段"),
    ("Hinge", "Bisagra", "铰链"),
)

#: Alloys poured in the plant (the same word in every language).
ALLOYS: tuple[str, ...] = ("316L", "17-4PH", "CF8M", "IN718", "A356", "Ti-6Al-4V", "4140", "CA6NM")

#: Part numbers as they appear on the plant's drawings, kept first and as written.
KNOWN_PART_NUMBERS: tuple[str, ...] = (
    "9151355",
    "5073135-101",
    "10101B-518",
    "336-0035-01",
    "A1-379-1",
    "FONN-863668",
    "7A008900",
    "HXE102048",
)

PART_NUMBER_COUNT = 150
_PART_SEED = 1355


def _digits(rng: random.Random, n: int) -> str:
    return "".join(rng.choice("0123456789") for _ in range(n))


def _letters(rng: random.Random, n: int) -> str:
    return "".join(rng.choice("ABCDEFGHJKLMNPRSTUVWXYZ") for _ in range(n))


# One generator per numbering format seen at the plant (see KNOWN_PART_NUMBERS).
_PART_FORMATS = (
    lambda r: f"{r.randint(1, 9)}{_digits(r, 6)}",  # 9151355
    lambda r: f"{r.randint(1, 9)}{_digits(r, 6)}-{r.randint(1, 9)}{_digits(r, 2)}",  # 5073135-101
    lambda r: f"{r.randint(10, 99)}{_digits(r, 3)}{_letters(r, 1)}-{r.randint(100, 999)}",  # 10101B-518
    lambda r: f"{r.randint(100, 999)}-{_digits(r, 4)}-{_digits(r, 2)}",  # 336-0035-01
    lambda r: f"{_letters(r, 1)}{r.randint(1, 9)}-{r.randint(100, 999)}-{r.randint(1, 9)}",  # A1-379-1
    lambda r: f"{_letters(r, 4)}-{r.randint(1, 9)}{_digits(r, 5)}",  # FONN-863668
    lambda r: f"{r.randint(1, 9)}{_letters(r, 1)}{_digits(r, 6)}",  # 7A008900
    lambda r: f"{_letters(r, 3)}{_digits(r, 6)}",  # HXE102048
)


def part_numbers(count: int = PART_NUMBER_COUNT) -> tuple[Entry, ...]:
    """``count`` distinct part numbers with names; the same list on every call."""
    rng = random.Random(_PART_SEED)  # noqa: S311 - the same demo parts on every start, not a secret
    numbers = list(KNOWN_PART_NUMBERS)
    seen = {n.lower() for n in numbers}
    while len(numbers) < count:
        number = _PART_FORMATS[len(numbers) % len(_PART_FORMATS)](rng)
        if number.lower() not in seen:
            seen.add(number.lower())
            numbers.append(number)
    entries: list[Entry] = []
    for number in numbers[:count]:
        en, es, zh = rng.choice(PART_KINDS)
        alloy = rng.choice(ALLOYS)
        entries.append((number, f"{en}, {alloy}", f"{es}, {alloy}", f"{zh}，{alloy}"))
    return tuple(entries)


def demo_catalogs() -> dict[str, tuple[Entry, ...]]:
    """Every catalog's demo entries, by kind."""
    return {
        "part-numbers": part_numbers(),
        "work-centers": WORK_CENTERS,
        "customers": CUSTOMERS,
        "levels": LEVELS,
        "areas": AREAS,
        "calibrations": CALIBRATIONS,
        "inspection-items": INSPECTION_ITEMS,
        "prepared-by": PREPARED_BY,
        "process-codes": PROCESS_CODES,
        "dispositions": DISPOSITIONS,
        "failure-codes": FAILURE_CODES,
    }


async def load_demo_catalogs(session: AsyncSession) -> int:
    """Add the demo catalogs when the table is empty; return how many entries were added."""
    if (await session.execute(select(func.count()).select_from(CatalogEntry))).scalar_one():
        return 0
    entries = [
        CatalogEntry(kind=kind, item_number=number, item_name=name, item_name_es=es, item_name_zh=zh, is_active=True)
        for kind, rows in demo_catalogs().items()
        for number, name, es, zh in rows
    ]
    session.add_all(entries)
    try:
        await session.commit()
    except IntegrityError:
        # Another process of this service loaded them at the same moment.
        await session.rollback()
        log.info("demo catalogs were loaded by another process")
        return 0
    log.info("loaded %d demo catalog entries", len(entries))
    return len(entries)
