"""A streaming XLSX writer: the workbook leaves batch by batch, whatever the number of rows.

Why one of our own: the xlsx libraries keep the whole sheet (in memory or in a temporary file)
until the workbook is saved. Here each batch of rows is turned into sheet XML, compressed and
handed on at once, so memory stays flat.

The container is :mod:`zipfile` writing to a sink that cannot seek: it then puts each entry's
sizes in a data descriptor after the entry's data (flag bit 3), as ZIP allows and as Excel,
LibreOffice and openpyxl read. Text cells are inline strings (no shared-string table that would
grow with the rows); ids and quantities are numbers, hours and money numbers shown with two
decimals, so a cost column can be summed in Excel.

A sheet holds at most Excel's 1,048,576 rows, and at most ~1.9 GB of XML (an entry without
ZIP64 stays below 2 GiB; ZIP64 entries are what some Excel versions complain about): past
either, the rows go on in a next sheet ("Records (2)", ...) under the same header.
"""

from __future__ import annotations

import io
import re
import zipfile
from collections.abc import AsyncIterator, Iterable, Sequence
from decimal import Decimal
from xml.sax.saxutils import escape

from dmt_records.domain.export.columns import Cell

MEDIA_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
#: Rows per sheet in Excel (the header row included).
MAX_ROWS = 1_048_576
MAX_SHEET_BYTES = 1_900_000_000
#: zlib level 1: several times faster than the default 6 and, on sheet XML, a file only ~20% larger.
COMPRESS_LEVEL = 1

MAIN_NS = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
REL_NS = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
PKG_REL_NS = "http://schemas.openxmlformats.org/package/2006/relationships"
XML_DECL = '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'

#: Styles by index in ``cellXfs`` below.
STYLE_HEADER = 1
STYLE_AMOUNT = 2

STYLES = (
    f'{XML_DECL}<styleSheet xmlns="{MAIN_NS}">'
    '<fonts count="2"><font><sz val="11"/><name val="Calibri"/><family val="2"/></font>'
    '<font><b/><sz val="11"/><name val="Calibri"/><family val="2"/></font></fonts>'
    '<fills count="2"><fill><patternFill patternType="none"/></fill>'
    '<fill><patternFill patternType="gray125"/></fill></fills>'
    '<borders count="1"><border><left/><right/><top/><bottom/><diagonal/></border></borders>'
    '<cellStyleXfs count="1"><xf numFmtId="0" fontId="0" fillId="0" borderId="0"/></cellStyleXfs>'
    '<cellXfs count="3"><xf numFmtId="0" fontId="0" fillId="0" borderId="0" xfId="0"/>'
    '<xf numFmtId="0" fontId="1" fillId="0" borderId="0" xfId="0" applyFont="1"/>'
    # number format 2 is Excel's built-in "0.00"
    '<xf numFmtId="2" fontId="0" fillId="0" borderId="0" xfId="0" applyNumberFormat="1"/></cellXfs>'
    '<cellStyles count="1"><cellStyle name="Normal" xfId="0" builtinId="0"/></cellStyles>'
    "</styleSheet>"
)

ROOT_RELS = (
    f'{XML_DECL}<Relationships xmlns="{PKG_REL_NS}">'
    '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/'
    'officeDocument" Target="xl/workbook.xml"/></Relationships>'
)

#: Characters XML 1.0 cannot carry, and a literal ``_xHHHH_`` (which Excel would read as an escape):
#: both are written as OOXML escapes (``_x0007_``; ``_x005F_`` for the underscore).
_NEEDS_OOXML_ESCAPE = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]|_(?=x[0-9A-Fa-f]{4}_)")
#: One search that lets most cells (no markup, no underscore, no control character) skip both escapes.
_MAY_NEED_ESCAPE = re.compile(r"[&<>_\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


def column_letter(index: int) -> str:
    """0 -> ``A``, 25 -> ``Z``, 26 -> ``AA``."""
    letters = ""
    index += 1
    while index:
        index, rest = divmod(index - 1, 26)
        letters = chr(65 + rest) + letters
    return letters


def _ooxml_escape(match: re.Match[str]) -> str:
    found = match.group()
    return "_x005F_" if found == "_" else f"_x{ord(found):04X}_"


def inline_text(text: str) -> str:
    """``<t>`` with the text escaped for XML (and for Excel's own ``_xHHHH_`` escapes)."""
    if _MAY_NEED_ESCAPE.search(text):
        text = escape(text)
        if _NEEDS_OOXML_ESCAPE.search(text):
            text = _NEEDS_OOXML_ESCAPE.sub(_ooxml_escape, text)
    if text[:1].isspace() or text[-1:].isspace():
        return f'<t xml:space="preserve">{text}</t>'
    return f"<t>{text}</t>"


class _Sink(io.RawIOBase):
    """Where the zip is written: collects bytes until drained; cannot seek (so zipfile streams)."""

    def __init__(self) -> None:
        super().__init__()
        self._parts: list[bytes] = []

    def writable(self) -> bool:
        return True

    def write(self, data: bytes | bytearray | memoryview) -> int:  # type: ignore[override]
        self._parts.append(bytes(data))
        return len(data)

    def drain(self) -> bytes:
        data = b"".join(self._parts)
        self._parts.clear()
        return data


class XlsxStreamWriter:
    """One workbook: :meth:`begin`, :meth:`add` per batch of rows, :meth:`end`; each returns the
    bytes of the file made so far and not yet returned."""

    def __init__(
        self,
        *,
        sheet_name: str,
        header: Sequence[str],
        widths: Sequence[int],
        max_rows: int = MAX_ROWS,
        max_sheet_bytes: int = MAX_SHEET_BYTES,
    ) -> None:
        if max_rows < 2:
            raise ValueError("a sheet needs room for the header and one row")
        self.sheet_name = sheet_name
        self.header = list(header)
        self.widths = list(widths)
        self.max_rows = max_rows
        self.max_sheet_bytes = max_sheet_bytes
        self._letters = [column_letter(i) for i in range(len(self.header))]
        self._sink = _Sink()
        self._zip = zipfile.ZipFile(self._sink, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=COMPRESS_LEVEL)
        self._sheet: io.BufferedIOBase | None = None
        #: (name, last row) of every sheet begun
        self._sheets: list[tuple[str, int]] = []
        self._row = 0
        self._sheet_bytes = 0

    # ------------------------------------------------------------ the three steps

    def begin(self) -> bytes:
        self._part("_rels/.rels", ROOT_RELS)
        self._part("xl/styles.xml", STYLES)
        self._open_sheet()
        return self._sink.drain()

    def add(self, rows: Iterable[Sequence[Cell]]) -> bytes:
        pending: list[bytes] = []
        for cells in rows:
            line = self._row_xml(self._row + 1, cells).encode("utf-8", "replace")
            if self._row >= self.max_rows or self._sheet_bytes + len(line) > self.max_sheet_bytes:
                self._flush(pending)
                self._close_sheet()
                self._open_sheet()
                line = self._row_xml(self._row + 1, cells).encode("utf-8", "replace")
            pending.append(line)
            self._row += 1
            self._sheet_bytes += len(line)
        self._flush(pending)
        return self._sink.drain()

    def end(self) -> bytes:
        self._close_sheet()
        self._part("xl/workbook.xml", self._workbook())
        self._part("xl/_rels/workbook.xml.rels", self._workbook_rels())
        self._part("[Content_Types].xml", self._content_types())
        self._zip.close()
        return self._sink.drain()

    # ------------------------------------------------------------ sheets

    def _open_sheet(self) -> None:
        number = len(self._sheets) + 1
        name = self.sheet_name if number == 1 else f"{self.sheet_name} ({number})"
        self._sheets.append((name[:31], 1))
        self._sheet = self._zip.open(f"xl/worksheets/sheet{number}.xml", "w")  # type: ignore[assignment]
        cols = "".join(
            f'<col min="{i}" max="{i}" width="{width}" customWidth="1"/>' for i, width in enumerate(self.widths, 1)
        )
        start = (
            f'{XML_DECL}<worksheet xmlns="{MAIN_NS}" xmlns:r="{REL_NS}">'
            '<sheetViews><sheetView workbookViewId="0">'
            '<pane ySplit="1" topLeftCell="A2" activePane="bottomLeft" state="frozen"/>'
            '<selection pane="bottomLeft"/></sheetView></sheetViews>'
            f'<sheetFormatPr defaultRowHeight="15"/><cols>{cols}</cols><sheetData>'
        )
        head = self._row_xml(1, self.header, style=STYLE_HEADER)
        data = (start + head).encode("utf-8")
        self._write(data)
        self._row = 1
        self._sheet_bytes = len(data)

    def _close_sheet(self) -> None:
        assert self._sheet is not None
        name, _ = self._sheets[-1]
        self._sheets[-1] = (name, self._row)
        last = f"{self._letters[-1]}{self._row}"
        self._write(f'</sheetData><autoFilter ref="A1:{last}"/></worksheet>'.encode())
        self._sheet.close()
        self._sheet = None

    def _flush(self, pending: list[bytes]) -> None:
        if pending:
            self._write(b"".join(pending))
            pending.clear()

    def _write(self, data: bytes) -> None:
        assert self._sheet is not None
        self._sheet.write(data)

    def _row_xml(self, number: int, cells: Sequence[Cell], style: int | None = None) -> str:
        parts = [f'<row r="{number}">']
        text_style = f' s="{style}"' if style else ""
        for letter, cell in zip(self._letters, cells, strict=False):
            if cell is None or cell == "":
                continue
            if isinstance(cell, str):
                parts.append(f'<c r="{letter}{number}" t="inlineStr"{text_style}><is>{inline_text(cell)}</is></c>')
            elif isinstance(cell, Decimal):
                parts.append(f'<c r="{letter}{number}" s="{STYLE_AMOUNT}"><v>{cell:f}</v></c>')
            else:
                parts.append(f'<c r="{letter}{number}"><v>{cell}</v></c>')
        parts.append("</row>")
        return "".join(parts)

    # ------------------------------------------------------------ the workbook's own parts

    def _part(self, name: str, text: str) -> None:
        self._zip.writestr(name, text.encode("utf-8"))

    def _workbook(self) -> str:
        sheets = "".join(
            f'<sheet name="{escape(name, {chr(34): "&quot;"})}" sheetId="{n}" r:id="rId{n}"/>'
            for n, (name, _) in enumerate(self._sheets, 1)
        )
        last_letter = self._letters[-1]
        filters = "".join(
            f'<definedName name="_xlnm._FilterDatabase" localSheetId="{n}" hidden="1">'
            f"{escape(_quoted(name))}!$A$1:${last_letter}${last}</definedName>"
            for n, (name, last) in enumerate(self._sheets)
        )
        return (
            f'{XML_DECL}<workbook xmlns="{MAIN_NS}" xmlns:r="{REL_NS}">'
            f"<bookViews><workbookView/></bookViews><sheets>{sheets}</sheets>"
            f"<definedNames>{filters}</definedNames></workbook>"
        )

    def _workbook_rels(self) -> str:
        kind = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
        rels = "".join(
            f'<Relationship Id="rId{n}" Type="{kind}/worksheet" Target="worksheets/sheet{n}.xml"/>'
            for n in range(1, len(self._sheets) + 1)
        )
        styles = f'<Relationship Id="rId{len(self._sheets) + 1}" Type="{kind}/styles" Target="styles.xml"/>'
        return f'{XML_DECL}<Relationships xmlns="{PKG_REL_NS}">{rels}{styles}</Relationships>'

    def _content_types(self) -> str:
        office = "application/vnd.openxmlformats-officedocument.spreadsheetml"
        sheets = "".join(
            f'<Override PartName="/xl/worksheets/sheet{n}.xml" ContentType="{office}.worksheet+xml"/>'
            for n in range(1, len(self._sheets) + 1)
        )
        return (
            f'{XML_DECL}<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
            '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
            '<Default Extension="xml" ContentType="application/xml"/>'
            f'<Override PartName="/xl/workbook.xml" ContentType="{office}.sheet.main+xml"/>'
            f'<Override PartName="/xl/styles.xml" ContentType="{office}.styles+xml"/>'
            f"{sheets}</Types>"
        )


def _quoted(sheet_name: str) -> str:
    """A sheet name as a formula refers to it: ``'Records (2)'`` (quotes inside doubled)."""
    return "'" + sheet_name.replace("'", "''") + "'"


async def xlsx_stream(
    *, sheet_name: str, header: Sequence[str], widths: Sequence[int], batches: AsyncIterator[list[list[Cell]]]
) -> AsyncIterator[bytes]:
    """The workbook's bytes, one chunk per batch of rows (none while zlib is still filling a block)."""
    book = XlsxStreamWriter(sheet_name=sheet_name, header=header, widths=widths)
    yield book.begin()
    async for rows in batches:
        chunk = book.add(rows)
        if chunk:
            yield chunk
    yield book.end()
