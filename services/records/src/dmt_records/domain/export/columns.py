"""The 34 columns of the predecessor's export, in its order, with their headers in three languages.

The English headers are the predecessor's, letter for letter, so spreadsheets and macros built on
its files keep working; Spanish and Chinese are for the plant's readers of those languages.

A cell is ``str`` (text, already made safe for spreadsheets), ``int`` (ids, quantities),
``Decimal`` with two places (hours, money) or ``None`` (empty). CSV writes numbers as text; the
Excel file keeps them numbers, so a cost column can be summed there.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from decimal import Decimal

from dmt_records.domain.records.languages import Language

Cell = str | int | Decimal | None


class Kind(enum.Enum):
    """How a column's value is found and written."""

    #: a whole number as stored (ID, Quantity)
    NUMBER = "number"
    #: a short text as stored (Report Number, Operation, Serial Number, ...)
    PLAIN = "plain"
    #: a date, ISO ``YYYY-MM-DD``
    DATE = "date"
    #: a moment, ISO in UTC: ``2026-11-24T09:30:00Z``
    MOMENT = "moment"
    #: ``true`` / ``false``: the same in every language, so a filter on the column works for everyone
    FLAG = "flag"
    #: a catalog entry: ``item_number - item_name``, the name in the export's language
    CATALOG = "catalog"
    #: a user: ``username - full_name``
    USER = "user"
    #: hours or money with two decimals
    AMOUNT = "amount"
    #: a record text: in the export's language when a translation has arrived, else the original
    TEXT = "text"


@dataclass(frozen=True)
class Column:
    #: the record attribute (or text field) the value comes from
    key: str
    kind: Kind
    en: str
    es: str
    zh: str
    #: width in Excel's character units
    width: int = 16

    def header(self, language: Language) -> str:
        return getattr(self, language)  # type: ignore[no-any-return]


COLUMNS: tuple[Column, ...] = (
    Column("id", Kind.NUMBER, "ID", "ID", "ID", 8),
    Column("report_number", Kind.PLAIN, "Report Number", "Número de reporte", "报告编号", 18),
    Column("created_at", Kind.MOMENT, "Created At", "Creado el", "创建时间", 21),
    Column("created_by_id", Kind.USER, "Created By", "Creado por", "创建人", 24),
    Column("is_closed", Kind.FLAG, "Is Closed", "Cerrado", "已关闭", 9),
    Column("part_number_id", Kind.CATALOG, "Part Number", "Número de parte", "零件号", 24),
    Column("work_center_id", Kind.CATALOG, "Work Center", "Centro de trabajo", "工作中心", 24),
    Column("customer_id", Kind.CATALOG, "Customer", "Cliente", "客户", 18),
    Column("level_id", Kind.CATALOG, "Level", "Nivel", "等级", 16),
    Column("area_id", Kind.CATALOG, "Area", "Área", "区域", 20),
    Column("prepared_by_id", Kind.CATALOG, "Prepared By", "Preparado por", "编制人", 22),
    Column("operation", Kind.PLAIN, "Operation", "Operación", "工序", 22),
    Column("quantity", Kind.NUMBER, "Quantity", "Cantidad", "数量", 9),
    Column("serial_number", Kind.PLAIN, "Serial Number", "Número de serie", "序列号", 16),
    Column("date", Kind.DATE, "Date", "Fecha", "日期", 11),
    Column("inspection_item_id", Kind.CATALOG, "Inspection Item", "Elemento de inspección", "检验项目", 24),
    Column("process_code_id", Kind.CATALOG, "Process Code", "Código de proceso", "过程代码", 24),
    Column("defect_description", Kind.TEXT, "Defect Description", "Descripción del defecto", "缺陷描述", 48),
    Column("process_description", Kind.TEXT, "Process Description", "Descripción del proceso", "过程描述", 40),
    Column("analysis", Kind.TEXT, "Analysis", "Análisis", "分析", 40),
    Column("analysis_by_id", Kind.USER, "Analysis By", "Análisis por", "分析人", 24),
    Column("final_disposition_id", Kind.CATALOG, "Final Disposition", "Disposición final", "最终处置", 22),
    Column("disposition_date", Kind.DATE, "Disposition Date", "Fecha de disposición", "处置日期", 11),
    Column("engineer_id", Kind.USER, "Engineer", "Ingeniero", "工程师", 24),
    Column("failure_code_id", Kind.CATALOG, "Failure Code", "Código de falla", "失效代码", 24),
    Column("rework_hours", Kind.AMOUNT, "Rework Hours", "Horas de retrabajo", "返工工时", 10),
    Column("responsible_department", Kind.PLAIN, "Responsible Department", "Departamento responsable", "责任部门", 20),
    Column(
        "material_scrap_cost", Kind.AMOUNT, "Material Scrap Cost", "Costo de material desechado", "材料报废成本", 12
    ),
    Column("other_cost", Kind.AMOUNT, "Other Cost", "Otros costos", "其他成本", 12),
    Column("engineering_remarks", Kind.TEXT, "Engineering Remarks", "Observaciones de ingeniería", "工程备注", 40),
    Column("repair_process", Kind.TEXT, "Repair Process", "Proceso de reparación", "返修工艺", 40),
    Column(
        "disposition_approval_date",
        Kind.DATE,
        "Disposition Approval Date",
        "Fecha de aprobación de la disposición",
        "处置批准日期",
        11,
    ),
    Column(
        "disposition_approved_by_id", Kind.USER, "Disposition Approved By", "Disposición aprobada por", "处置批准人", 24
    ),
    Column("sdr_number", Kind.PLAIN, "SDR Number", "Número de SDR", "SDR 编号", 14),
)

#: What a spreadsheet may take for the start of a formula (OWASP's list: = + - @, tab, carriage return).
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def headers(language: Language) -> list[str]:
    return [column.header(language) for column in COLUMNS]


def neutralise(text: str) -> str:
    """A leading apostrophe for text a spreadsheet would run as a formula (``=HYPERLINK(...)``).

    Applied to every text cell, in CSV and Excel alike, so both files say the same. Numbers,
    dates and flags are written by the export itself and never start with one of these.
    """
    return "'" + text if text.startswith(FORMULA_STARTS) else text
