"""Reading records for an export: labels looked up once, rows streamed from one query.

The predecessor capped its export at 10,000 rows and asked for every label row by row. Here:

1. one SQL query gives the distinct catalog and user ids of the matching records, and
   :func:`labels.resolve` names them with one look-up per service for the whole export;
2. one query reads the records in the list's order through a server-side cursor (SQLAlchemy's
   ``stream`` with ``yield_per``: asyncpg's cursor, asyncmy's unbuffered cursor, aiosqlite's
   ``fetchmany``), 1,000 rows at a time, and each batch's texts come in one more query on a
   second connection (the first is busy with the cursor);
3. each batch is turned into rows of cells and handed on before the next is fetched.

Why a cursor rather than keyset pages: the database sorts once, whatever the sort (``status``
has no index: a keyset page would sort the remaining rows again for every page), and the whole
file is one consistent read, so a record changed during the download is neither skipped nor
written twice. The price is two pooled connections held for the download's length.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from functools import partial
from typing import Any

from sqlalchemy import String, literal, or_, select, union_all
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from dmt_records.db.models import Record, RecordText
from dmt_records.domain.export.columns import COLUMNS, Cell, Kind, neutralise
from dmt_records.domain.records.filters import RecordFilters, record_conditions
from dmt_records.domain.records.labels import Labels, resolve
from dmt_records.domain.records.languages import Language
from dmt_records.domain.records.services import SORT_COLUMNS
from dmt_shared.contracts import RECORD_CATALOG_FIELDS
from dmt_shared.http import ServiceClient

BATCH_SIZE = 1_000
#: Seconds MariaDB waits for the export to read on while the download is paused.
MYSQL_WRITE_TIMEOUT = 600
CENT = Decimal("0.01")
ORIGIN_AUTHOR = "author"

#: The columns the export reads from ``dmt_record`` (texts come from ``record_text``).
RECORD_KEYS: tuple[str, ...] = tuple(column.key for column in COLUMNS if column.kind is not Kind.TEXT)
USER_KEYS: tuple[str, ...] = tuple(column.key for column in COLUMNS if column.kind is Kind.USER)
CATALOG_KEYS: tuple[str, ...] = tuple(column.key for column in COLUMNS if column.kind is Kind.CATALOG)

Texts = Mapping[str, str]
NO_TEXTS: Texts = {}


@dataclass(frozen=True)
class ExportQuery:
    """Which records, in which order, in which language."""

    filters: RecordFilters
    sort: str = "created_at"
    order: str = "desc"
    language: Language = "en"


# ---------------------------------------------------------------- cells


def moment_text(value: dt.datetime | None) -> str | None:
    if value is None:
        return None
    if value.tzinfo is not None:
        value = value.astimezone(dt.UTC)
    return value.replace(tzinfo=None).isoformat(timespec="seconds") + "Z"


def amount(value: Decimal | float | None) -> Decimal | None:
    return None if value is None else Decimal(value).quantize(CENT)


def plain(value: str | None) -> str | None:
    return None if value is None else neutralise(value)


def date_text(value: dt.date | None) -> str | None:
    return None if value is None else value.isoformat()


def flag(value: bool | None) -> str:
    return "true" if value else "false"


#: How a column's stored value becomes its cell (a whole number is written as it is).
SHAPES: dict[Kind, Callable[[Any], Cell]] = {
    Kind.PLAIN: plain,
    Kind.DATE: date_text,
    Kind.MOMENT: moment_text,
    Kind.FLAG: flag,
    Kind.AMOUNT: amount,
}


class Names(dict[int | None, Cell]):
    """id -> its label, made safe, worked out once per id (an export repeats the same few hundred)."""

    def __init__(self, label: Callable[[int], str]) -> None:
        super().__init__({None: None})
        self.label = label

    def __missing__(self, ident: int) -> Cell:
        self[ident] = name = plain(self.label(ident))
        return name


class RowMaker:
    """Turns a record row (``RECORD_KEYS`` in order) and its texts into the 34 cells of the file."""

    def __init__(self, labels: Labels) -> None:
        #: per column: where its value is in the record row (texts: -1), how it is shaped, which text
        self.plan: list[tuple[int, Callable[[Any], Cell] | None, str | None]] = []
        for column in COLUMNS:
            if column.kind is Kind.TEXT:
                self.plan.append((-1, None, column.key))
                continue
            shape: Callable[[Any], Cell] | None
            if column.kind is Kind.CATALOG:
                shape = Names(partial(labels.catalog_label, RECORD_CATALOG_FIELDS[column.key])).__getitem__
            elif column.kind is Kind.USER:
                shape = Names(labels.user_label).__getitem__
            else:
                shape = SHAPES.get(column.kind)
            self.plan.append((RECORD_KEYS.index(column.key), shape, None))

    def __call__(self, values: Sequence[Any], texts: Texts) -> list[Cell]:
        return [
            plain(texts.get(field)) if field is not None else (values[at] if shape is None else shape(values[at]))
            for at, shape, field in self.plan
        ]


def pick_texts(rows: Iterable[Sequence[Any]], language: Language) -> dict[int, dict[str, str]]:
    """record id -> field -> the text shown: the ``language`` row when it has text, else the original.

    ``rows``: (record id, field, language, text).
    """
    picked: dict[int, dict[str, str]] = {}
    for record_id, field, row_language, text in rows:
        if text is None:
            continue
        fields = picked.setdefault(record_id, {})
        if row_language == language or field not in fields:
            fields[field] = text
    return picked


# ---------------------------------------------------------------- reading


class RecordExport:
    """An export of the records that match a query, on the service's engine and look-up clients."""

    def __init__(
        self,
        engine: AsyncEngine,
        *,
        masterdata: ServiceClient,
        auth: ServiceClient,
        batch_size: int = BATCH_SIZE,
    ) -> None:
        self.engine = engine
        self.masterdata = masterdata
        self.auth = auth
        self.batch_size = batch_size

    async def labels(self, query: ExportQuery, headers: Mapping[str, str]) -> Labels:
        """Names of every catalog entry and user the matching records point to, in one look-up
        per service. A service that cannot be reached leaves bare ids and is named in ``unresolved``."""
        ids = await self.distinct_ids(query.filters)
        catalog_ids: dict[str, set[int]] = {}
        for key in CATALOG_KEYS:
            catalog_ids.setdefault(RECORD_CATALOG_FIELDS[key], set()).update(ids.get(key, ()))
        user_ids = {ident for key in USER_KEYS for ident in ids.get(key, ())}
        return await resolve(
            self.masterdata,
            self.auth,
            catalog_ids=catalog_ids,
            user_ids=user_ids,
            language=query.language,
            headers=headers,
        )

    async def distinct_ids(self, filters: RecordFilters) -> dict[str, set[int]]:
        """record field -> the distinct ids it holds among the matching records, in one query."""
        conditions = record_conditions(filters)
        parts = [
            select(literal(key, String(40)).label("field"), getattr(Record, key).label("ident"))
            .where(*conditions, getattr(Record, key).is_not(None))
            .distinct()
            for key in (*CATALOG_KEYS, *USER_KEYS)
        ]
        found: dict[str, set[int]] = {}
        async with self.engine.connect() as conn:
            for field, ident in await conn.execute(union_all(*parts)):
                found.setdefault(field, set()).add(int(ident))
        return found

    async def batches(self, query: ExportQuery, labels: Labels) -> AsyncIterator[list[list[Cell]]]:
        """The matching records as rows of cells, ``batch_size`` rows at a time, in the list's order
        (``sort`` then id, both in ``order``)."""
        key = SORT_COLUMNS[query.sort]
        ordering = (key.desc(), Record.id.desc()) if query.order == "desc" else (key.asc(), Record.id.asc())
        statement = (
            select(*(getattr(Record, name).label(name) for name in RECORD_KEYS))
            .where(*record_conditions(query.filters))
            .order_by(*ordering)
            .execution_options(yield_per=self.batch_size)
        )
        make_row = RowMaker(labels)
        at_id = RECORD_KEYS.index("id")
        async with self.engine.connect() as conn, self.engine.connect() as text_conn:
            mysql = conn.dialect.name in ("mysql", "mariadb")
            if mysql:
                # MariaDB drops a query whose client has not read for net_write_timeout (60 s by
                # default); a download the user pauses makes this process such a client.
                await conn.exec_driver_sql(f"SET SESSION net_write_timeout = {MYSQL_WRITE_TIMEOUT}")
            result = await conn.stream(statement)
            async for records in result.partitions(self.batch_size):
                texts = await self._texts(text_conn, [row[at_id] for row in records], query.language)
                yield [make_row(row, texts.get(row[at_id], NO_TEXTS)) for row in records]
            if mysql:
                # the connection goes back to the pool as it came (after a broken-off download it
                # keeps the longer timeout, which only matters to a client that stops reading)
                await conn.exec_driver_sql("SET SESSION net_write_timeout = DEFAULT")

    async def _texts(
        self, conn: AsyncConnection, record_ids: list[int], language: Language
    ) -> dict[int, dict[str, str]]:
        """The texts of one batch, in one query: only the rows that can be shown (the ``language``
        row and the original), never the other translations."""
        rows = (
            await conn.execute(
                select(RecordText.record_id, RecordText.field, RecordText.language, RecordText.text).where(
                    RecordText.record_id.in_(record_ids),
                    or_(RecordText.language == language, RecordText.origin == ORIGIN_AUTHOR),
                )
            )
        ).all()
        return pick_texts(rows, language)
