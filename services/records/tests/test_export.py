"""Exports: the predecessor's 34 columns as CSV and Excel, in the reader's language, streamed.

The records are made through the API (the write path the users take); what the API cannot do
in one call here (a closed record, a deleted one, a translation that the worker would bring) is
written straight into the database, as those parts of the system leave it.
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import io
from decimal import Decimal
from typing import Any

import openpyxl
import pytest
from litestar.testing import AsyncTestClient
from sqlalchemy import delete, insert, update
from sqlalchemy.ext.asyncio import AsyncEngine

from dmt_records.db import MIGRATIONS, VERSION_TABLE
from dmt_records.db.models import Record, RecordText
from dmt_records.domain.export.columns import COLUMNS, Kind
from dmt_records.domain.export.services import ExportQuery, RecordExport
from dmt_records.domain.export.xlsx import XlsxStreamWriter
from dmt_records.domain.records.filters import RecordFilters
from dmt_records.domain.records.labels import Labels
from dmt_records.domain.records.services import SORT_COLUMNS
from dmt_shared.contracts import CatalogEntrySummary
from dmt_shared.db import migrate
from dmt_shared.tokens import Role

RECORDS = "/api/v1/records"
CSV = f"{RECORDS}/export.csv"
XLSX = f"{RECORDS}/export.xlsx"
BOM = b"\xef\xbb\xbf"

ENGLISH_HEADERS = [
    "ID", "Report Number", "Created At", "Created By", "Is Closed", "Part Number", "Work Center", "Customer",
    "Level", "Area", "Prepared By", "Operation", "Quantity", "Serial Number", "Date", "Inspection Item",
    "Process Code", "Defect Description", "Process Description", "Analysis", "Analysis By", "Final Disposition",
    "Disposition Date", "Engineer", "Failure Code", "Rework Hours", "Responsible Department",
    "Material Scrap Cost", "Other Cost", "Engineering Remarks", "Repair Process", "Disposition Approval Date",
    "Disposition Approved By", "SDR Number",
]  # fmt: skip


def parse_csv(body: bytes) -> list[list[str]]:
    assert body.startswith(BOM)
    text = body[len(BOM) :].decode("utf-8")
    return list(csv.reader(io.StringIO(text, newline="")))


def as_dicts(rows: list[list[str]]) -> list[dict[str, str]]:
    header, *data = rows
    return [dict(zip(header, row, strict=True)) for row in data]


def utc_text(iso: str) -> str:
    return dt.datetime.fromisoformat(iso.replace("Z", "+00:00")).astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


async def translate(engine: AsyncEngine, record_id: int, field: str, language: str, text: str, original: str) -> None:
    """A machine translation that has arrived, as the translation worker leaves it."""
    async with engine.begin() as conn:
        await conn.execute(
            delete(RecordText).where(
                RecordText.record_id == record_id, RecordText.field == field, RecordText.language == language
            )
        )
        await conn.execute(
            insert(RecordText).values(
                record_id=record_id, field=field, language=language, text=text, origin="machine", state="done",
                source_hash=hashlib.sha256(original.encode()).hexdigest(), updated_at=dt.datetime.now(dt.UTC),
            )
        )  # fmt: skip


async def two_records(
    client: AsyncTestClient[Any], headers: dict[Role, dict[str, str]], new_record: Any, catalog_id: Any, engine: Any
) -> tuple[dict[str, Any], dict[str, Any]]:
    """A bare open record, then a complete closed one (the newer) with a Spanish and a Chinese translation."""
    inspector = headers[Role.INSPECTOR]
    first = await client.post(
        RECORDS, json=new_record(level_id=None, area_id=None, serial_number=None, operation="Grinding, OP-10",
                                 defect_description='Crack "A", 3 mm\nsecond line'),
        headers=inspector,
    )  # fmt: skip
    assert first.status_code == 201, first.text
    second = await client.post(
        RECORDS,
        json=new_record(part_number_id=catalog_id("part-numbers", 2), customer_id=catalog_id("customers", 2),
                        quantity=12, date="2026-03-20", defect_description="Porosity on the flange"),
        headers=inspector,
    )  # fmt: skip
    assert second.status_code == 201, second.text
    made = second.json()
    patched = await client.patch(
        f"{RECORDS}/{made['id']}",
        json={
            "process_description": "Pouring at 1,540 °C", "analysis": "Ramp too fast", "analysis_by_id": 3,
            "final_disposition_id": catalog_id("dispositions"), "disposition_date": "2026-03-21",
            "engineer_id": 4, "failure_code_id": catalog_id("failure-codes", 2), "rework_hours": 1.5,
            "responsible_department": "Foundry", "material_scrap_cost": 12.5, "other_cost": 3,
            "engineering_remarks": "Check the shell", "repair_process": "Weld and grind",
            "disposition_approval_date": "2026-03-22", "disposition_approved_by_id": 5, "sdr_number": "SDR-77",
        },
        headers={**headers[Role.ADMIN], "If-Match": f'"{made["version"]}"'},
    )  # fmt: skip
    assert patched.status_code == 200, patched.text
    async with engine.begin() as conn:
        await conn.execute(
            update(Record)
            .where(Record.id == made["id"])
            .values(is_closed=True, status="closed", closed_at=dt.datetime.now(dt.UTC), closed_by_id=5)
        )
    await translate(engine, made["id"], "defect_description", "es", "Porosidad en la brida", "Porosity on the flange")
    await translate(engine, made["id"], "analysis", "zh", "升温太快", "Ramp too fast")
    return first.json(), patched.json()


async def test_the_csv_has_the_34_legacy_columns_with_names_for_every_id(
    client: AsyncTestClient[Any], headers: dict, new_record: Any, catalog_id: Any, engine: AsyncEngine, upstreams: Any
) -> None:
    bare, full = await two_records(client, headers, new_record, catalog_id, engine)
    calls_before = dict(upstreams.calls)
    days = {dt.datetime.now(dt.UTC).date().isoformat()}

    response = await client.get(CSV, headers=headers[Role.OPERATOR])

    days.add(dt.datetime.now(dt.UTC).date().isoformat())
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/csv")
    assert response.headers["content-disposition"] in {f'attachment; filename="dmt-records-{d}.csv"' for d in days}
    assert "x-dmt-unresolved" not in response.headers
    # one look-up per service for the whole export
    assert upstreams.calls["masterdata"] - calls_before.get("masterdata", 0) == 1
    assert upstreams.calls["auth"] - calls_before.get("auth", 0) == 1
    body = response.content
    assert body.startswith(BOM + b"ID,Report Number,Created At,")
    assert body.count(b"\r\n") == 3  # header and two rows; the text's own line break stays inside its quotes
    assert b'"Crack ""A"", 3 mm\nsecond line"' in body
    rows = parse_csv(body)
    assert rows[0] == ENGLISH_HEADERS
    newest, oldest = as_dicts(rows)
    assert [newest["ID"], oldest["ID"]] == [str(full["id"]), str(bare["id"])]  # newest first
    assert newest == {
        "ID": str(full["id"]),
        "Report Number": full["report_number"],
        "Created At": utc_text(full["created_at"]),
        "Created By": "INS001 - Ivan Inspector",
        "Is Closed": "true",
        "Part Number": "PAR-2 - part-numbers 2",
        "Work Center": "WOR-1 - work-centers 1",
        "Customer": "CUS-2 - customers 2",
        "Level": "LEV-1 - levels 1",
        "Area": "ARE-1 - areas 1",
        "Prepared By": "PRE-1 - prepared-by 1",
        "Operation": "OP-30 final machining",
        "Quantity": "12",
        "Serial Number": "SN-0001",
        "Date": "2026-03-20",
        "Inspection Item": "INS-1 - inspection-items 1",
        "Process Code": "PRO-1 - process-codes 1",
        "Defect Description": "Porosity on the flange",  # English export: the original, not the Spanish
        "Process Description": "Pouring at 1,540 °C",
        "Analysis": "Ramp too fast",
        "Analysis By": "OPR001 - Olga Operator",
        "Final Disposition": "DIS-1 - dispositions 1",
        "Disposition Date": "2026-03-21",
        "Engineer": "ENG001 - Li Wei",
        "Failure Code": "FAI-2 - failure-codes 2",
        "Rework Hours": "1.50",
        "Responsible Department": "Foundry",
        "Material Scrap Cost": "12.50",
        "Other Cost": "3.00",
        "Engineering Remarks": "Check the shell",
        "Repair Process": "Weld and grind",
        "Disposition Approval Date": "2026-03-22",
        "Disposition Approved By": "QUA001 - Maria Quality",
        "SDR Number": "SDR-77",
    }
    assert oldest["Is Closed"] == "false"
    assert oldest["Defect Description"] == 'Crack "A", 3 mm\nsecond line'
    assert oldest["Operation"] == "Grinding, OP-10"
    assert [oldest[k] for k in ("Level", "Area", "Serial Number", "Analysis By", "Rework Hours", "Other Cost")] == [
        "", "", "", "", "", "",
    ]  # fmt: skip


async def test_a_spanish_export_has_spanish_headers_names_and_texts_where_translated(
    client: AsyncTestClient[Any], headers: dict, new_record: Any, catalog_id: Any, engine: AsyncEngine, upstreams: Any
) -> None:
    await two_records(client, headers, new_record, catalog_id, engine)
    part = upstreams.catalog[("part-numbers", catalog_id("part-numbers", 2))]
    upstreams.catalog[("part-numbers", part.id)] = CatalogEntrySummary(
        id=part.id, kind=part.kind, item_number=part.item_number, item_name="Flange", is_active=True,
        item_name_es="Brida", item_name_zh="法兰",
    )  # fmt: skip

    by_header = await client.get(CSV, headers={**headers[Role.OPERATOR], "Accept-Language": "es-MX,es;q=0.9"})
    by_parameter = await client.get(
        CSV, params={"language": "es"}, headers={**headers[Role.OPERATOR], "Accept-Language": "zh"}
    )

    assert by_header.content == by_parameter.content
    rows = parse_csv(by_header.content)
    assert rows[0][:5] == ["ID", "Número de reporte", "Creado el", "Creado por", "Cerrado"]
    assert rows[0][17] == "Descripción del defecto"
    newest, oldest = as_dicts(rows)
    assert newest["Número de parte"] == "PAR-2 - Brida"
    assert newest["Descripción del defecto"] == "Porosidad en la brida"  # the translation
    assert newest["Análisis"] == "Ramp too fast"  # no Spanish yet: the original
    assert oldest["Descripción del defecto"] == 'Crack "A", 3 mm\nsecond line'

    chinese = as_dicts(
        parse_csv((await client.get(CSV, params={"language": "zh"}, headers=headers[Role.ADMIN])).content)
    )
    assert list(chinese[0])[:3] == ["ID", "报告编号", "创建时间"]
    assert chinese[0]["零件号"] == "PAR-2 - 法兰"
    assert chinese[0]["分析"] == "升温太快"
    assert chinese[0]["缺陷描述"] == "Porosity on the flange"


async def test_cells_a_spreadsheet_would_run_as_formulas_start_with_an_apostrophe(
    client: AsyncTestClient[Any], headers: dict, new_record: Any
) -> None:
    payloads = {
        "operation": '=HYPERLINK("http://evil","x")',
        "serial_number": "@SUM(A1)",
        "defect_description": "+cmd|' /C calc'!A0",
    }
    made = await client.post(RECORDS, json=new_record(**payloads), headers=headers[Role.INSPECTOR])
    assert made.status_code == 201, made.text
    await client.patch(
        f"{RECORDS}/{made.json()['id']}",
        json={"analysis": "-2+3", "engineering_remarks": "\tindented"},
        headers={**headers[Role.ADMIN], "If-Match": f'"{made.json()["version"]}"'},
    )

    (row,) = as_dicts(parse_csv((await client.get(CSV, headers=headers[Role.INSPECTOR])).content))

    assert row["Operation"] == '\'=HYPERLINK("http://evil","x")'
    assert row["Serial Number"] == "'@SUM(A1)"
    assert row["Defect Description"] == "'+cmd|' /C calc'!A0"
    assert row["Analysis"] == "'-2+3"
    # the write path strips the tab; what is left is harmless
    assert not row["Engineering Remarks"].startswith(("=", "+", "-", "@", "\t"))
    workbook = openpyxl.load_workbook(io.BytesIO((await client.get(XLSX, headers=headers[Role.INSPECTOR])).content))
    sheet = workbook.active
    assert sheet is not None
    assert sheet["L2"].value == '\'=HYPERLINK("http://evil","x")'
    assert sheet["L2"].data_type == "s"  # text, not a formula
    assert sheet["R2"].value == "'+cmd|' /C calc'!A0"


async def test_filters_sort_and_order_are_the_lists_and_deleted_records_never_leave(
    client: AsyncTestClient[Any], headers: dict, new_record: Any, catalog_id: Any, engine: AsyncEngine
) -> None:
    made = []
    for n, customer in enumerate((1, 2, 2, 1, 2)):
        answer = await client.post(
            RECORDS,
            json=new_record(customer_id=catalog_id("customers", customer), quantity=10 - n, serial_number=f"SN-{n}"),
            headers=headers[Role.INSPECTOR],
        )
        assert answer.status_code == 201, answer.text
        made.append(answer.json()["id"])
    async with engine.begin() as conn:
        await conn.execute(update(Record).where(Record.id == made[4]).values(deleted_at=dt.datetime.now(dt.UTC)))

    async def exported(**params: Any) -> list[int]:
        response = await client.get(CSV, params=params, headers=headers[Role.OPERATOR])
        assert response.status_code == 200, response.text
        return [int(row["ID"]) for row in as_dicts(parse_csv(response.content))]

    assert await exported() == made[3::-1]
    assert await exported(customer_id=catalog_id("customers", 2)) == [made[2], made[1]]
    assert await exported(sort="quantity", order="asc") == [made[3], made[2], made[1], made[0]]
    assert await exported(sort="id", order="asc", q="sn-1") == [made[1]]
    assert await exported(status="closed") == []
    refused = await client.get(CSV, params={"customer_id": "x"}, headers=headers[Role.OPERATOR])
    assert refused.status_code == 400
    assert (await client.get(CSV, params={"language": "fr"}, headers=headers[Role.OPERATOR])).status_code == 400
    assert (await client.get(CSV)).status_code == 401


async def test_the_workbook_opens_and_holds_the_same_cells_as_the_csv(
    client: AsyncTestClient[Any], headers: dict, new_record: Any, catalog_id: Any, engine: AsyncEngine
) -> None:
    await two_records(client, headers, new_record, catalog_id, engine)
    reader = {**headers[Role.TECH_ENGINEER], "Accept-Language": "es"}

    response = await client.get(XLSX, headers=reader)

    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    assert response.headers["content-disposition"].endswith('.xlsx"')
    workbook = openpyxl.load_workbook(io.BytesIO(response.content))
    assert workbook.sheetnames == ["Registros"]
    sheet = workbook["Registros"]
    assert sheet.freeze_panes == "A2"
    amounts = {i for i, column in enumerate(COLUMNS) if column.kind is Kind.AMOUNT}
    numbers = {i for i, column in enumerate(COLUMNS) if column.kind is Kind.NUMBER}

    def shown(index: int, value: Any) -> str:
        if value is None:
            return ""
        if index in amounts:
            assert isinstance(value, int | float), value
            return f"{value:.2f}"
        if index in numbers:
            assert isinstance(value, int), value
        return str(value)

    header, *rows = sheet.iter_rows(values_only=True)
    cells = [list(header), *([shown(i, v) for i, v in enumerate(row)] for row in rows)]
    assert cells == parse_csv((await client.get(CSV, headers=reader)).content)
    assert sheet["AB2"].number_format == "0.00"
    assert sheet["AB2"].value == 12.5


async def test_without_masterdata_the_export_still_comes_with_bare_ids_and_says_so(
    client: AsyncTestClient[Any], headers: dict, new_record: Any, catalog_id: Any, upstreams: Any
) -> None:
    made = await client.post(RECORDS, json=new_record(), headers=headers[Role.INSPECTOR])
    assert made.status_code == 201
    upstreams.down.add("masterdata")

    response = await client.get(CSV, headers=headers[Role.OPERATOR])

    assert response.status_code == 200
    assert response.headers["x-dmt-unresolved"] == "masterdata"
    (row,) = as_dicts(parse_csv(response.content))
    assert row["Part Number"] == str(catalog_id("part-numbers"))
    assert row["Created By"] == "INS001 - Ivan Inspector"  # auth answered

    upstreams.down.add("auth")
    neither = await client.get(CSV, headers=headers[Role.OPERATOR])
    assert neither.status_code == 200
    assert neither.headers["x-dmt-unresolved"] == "masterdata, auth"
    (row,) = as_dicts(parse_csv(neither.content))
    assert row["Created By"] == "2"  # the inspector, by id


#: The life of a record, as the list sorts by status.
STATUS_RANK = {"open": 0, "in_analysis": 1, "dispositioned": 2, "closed": 3, "reopened": 4}


@pytest.mark.parametrize("order", ["asc", "desc"])
async def test_every_record_comes_once_in_the_lists_order_batch_after_batch(engine: AsyncEngine, order: str) -> None:
    """Batches of 3 over 17 records whose sort keys repeat: each record once, ties by id, its own text."""
    start = dt.datetime(2026, 1, 5, 8, 0, tzinfo=dt.UTC)
    rows = [
        {
            "id": n, "report_number": f"DMT-2026-{(n * 7) % 23:05d}",
            "status": ("open", "closed", "in_analysis", "dispositioned")[n % 4],
            "is_closed": n % 4 == 1, "part_number_id": 101, "work_center_id": 201, "customer_id": 301,
            "prepared_by_id": 601, "operation": "OP", "quantity": n % 4, "record_date": dt.date(2026, 1, 1 + n % 2),
            "inspection_item_id": 701, "process_code_id": 801, "created_by_id": 2, "version": 1,
            "created_at": start + dt.timedelta(minutes=n % 3), "updated_at": start + dt.timedelta(hours=n % 5),
        }
        for n in range(1, 18)
    ]  # fmt: skip
    await migrate(engine, MIGRATIONS, VERSION_TABLE)
    async with engine.begin() as conn:
        await conn.execute(insert(Record.__table__), rows)
        await conn.execute(
            insert(RecordText.__table__),
            [{"record_id": n, "field": "defect_description", "language": "en", "origin": "author", "state": "done",
              "text": f"text of {n}", "updated_at": start} for n in range(1, 18)],
        )  # fmt: skip
    sort_keys = {
        "created_at": lambda r: r["created_at"],
        "date": lambda r: r["record_date"],
        "report_number": lambda r: r["report_number"],
        "quantity": lambda r: r["quantity"],
        "status": lambda r: STATUS_RANK[r["status"]],
        "updated_at": lambda r: r["updated_at"],
        "id": lambda r: r["id"],
    }
    assert set(sort_keys) <= set(SORT_COLUMNS)
    export = RecordExport(engine, masterdata=None, auth=None, batch_size=3)  # type: ignore[arg-type]
    description = [c.key for c in COLUMNS].index("defect_description")

    for sort, sort_key in sort_keys.items():
        query = ExportQuery(filters=RecordFilters(), sort=sort, order=order)
        batches = [batch async for batch in export.batches(query, Labels(language="en"))]
        expected = [r["id"] for r in sorted(rows, key=lambda r: (sort_key(r), r["id"]), reverse=order == "desc")]
        assert [len(batch) for batch in batches] == [3, 3, 3, 3, 3, 2]
        assert [row[0] for batch in batches for row in batch] == expected, sort
        assert all(row[description] == f"text of {row[0]}" for batch in batches for row in batch)


def test_a_sheet_that_is_full_goes_on_in_the_next_under_the_same_header() -> None:
    book = XlsxStreamWriter(sheet_name="Records", header=["ID", "Text", "Cost"], widths=[8, 20, 10], max_rows=3)
    data = book.begin()
    data += book.add([[1, "one", Decimal("1.50")], [2, "  two", None]])
    data += book.add([[3, "a < b & c", Decimal("0.00")]])
    data += book.end()

    workbook = openpyxl.load_workbook(io.BytesIO(data))

    assert workbook.sheetnames == ["Records", "Records (2)"]
    first, second = (list(sheet.iter_rows(values_only=True)) for sheet in workbook)
    assert first == [("ID", "Text", "Cost"), (1, "one", 1.5), (2, "  two", None)]
    assert second == [("ID", "Text", "Cost"), (3, "a < b & c", 0)]
    assert workbook["Records (2)"].auto_filter.ref == "A1:C2"
