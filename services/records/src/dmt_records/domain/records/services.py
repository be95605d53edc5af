"""DMT records: creation with a race-free report number, section edits, closing and reopening
(signed), correcting a translation, deleting (a tombstone), listing, and the history of each.

Every write follows the same path: refuse what the role may not do (403), ask for the version
the caller read (428 without one), refuse a missing or deleted record (404), a closed record
(409) or a stale version (412), check values (422), check the catalog entries and users being
set with the services that own them and the signer's password with auth (one call each, only
when needed, never inside a transaction), then save the record, its texts, its derived status,
its history lines and any signature in one transaction. Every saved change adds one to the
record's version; machine translations (the translation worker) never do.
"""

from __future__ import annotations

import asyncio
import collections
import dataclasses
import datetime as dt
import functools
import logging
import random
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Mapping, Sequence
from contextlib import asynccontextmanager
from decimal import Decimal
from typing import Any, TypeVar

import msgspec
from sqlalchemy import Select, bindparam, func, insert, or_, select, update
from sqlalchemy import case as sql_case
from sqlalchemy import inspect as sa_inspect
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm.exc import StaleDataError
from sqlalchemy.sql.elements import ColumnElement

from dmt_records.db.models import Record, RecordSignature, RecordText, ReportCounter, utcnow
from dmt_records.domain.records import history, rules
from dmt_records.domain.records.counts import live_count
from dmt_records.domain.records.filters import RecordFilters, record_conditions
from dmt_records.domain.records.history import Actor, record_lines
from dmt_records.domain.records.languages import LANGUAGES, Language
from dmt_records.domain.records.references import References
from dmt_records.domain.records.schemas import (
    HistoryLine,
    RecordClose,
    RecordCreate,
    RecordDelete,
    RecordRead,
    RecordReopen,
    RecordUpdate,
    SignatureRead,
    TextCorrection,
)
from dmt_records.domain.translation.schemas import TextSet
from dmt_records.domain.translation.store import TextChange, text_view, write_correction, write_original
from dmt_shared.contracts import CATALOG_KINDS, RECORD_CATALOG_FIELDS, SignerIdentity
from dmt_shared.pagination import Page, offset
from dmt_shared.problems import FieldError, ProblemError, conflict, forbidden, not_found, unprocessable
from dmt_shared.tokens import Principal, Role

log = logging.getLogger("dmt.records")

T = TypeVar("T")

#: Record fields that hold a user id and can be set by a write (created_by_id comes from the token).
USER_FIELDS: tuple[str, ...] = ("analysis_by_id", "engineer_id", "disposition_approved_by_id")
DECIMAL_FIELDS: tuple[str, ...] = ("rework_hours", "material_scrap_cost", "other_cost")
COLUMN_FIELDS: tuple[str, ...] = tuple(f for f in rules.ALL_FIELDS if f not in rules.TEXT_FIELDS)
#: What closing may set besides the status.
APPROVAL_FIELDS: tuple[str, ...] = ("disposition_approval_date", "disposition_approved_by_id", "sdr_number")
CENT = Decimal("0.01")
#: How often a write is tried, when a concurrent change or a deadlock makes it start over.
ATTEMPTS = 10
#: History lines in the form's order; the status after the fields it follows from.
LINE_ORDER: dict[str, int] = {f: n for n, f in enumerate(("report_number", *rules.ALL_FIELDS, "status"))}

SORT_COLUMNS: dict[str, Any] = {
    "created_at": Record.created_at,
    "date": Record.date,
    "report_number": Record.report_number,
    "quantity": Record.quantity,
    # the life of a record, not the alphabet
    "status": sql_case(
        {
            rules.Status.OPEN.value: 0,
            rules.Status.IN_ANALYSIS.value: 1,
            rules.Status.DISPOSITIONED.value: 2,
            rules.Status.REOPENED.value: 3,
            rules.Status.CLOSED.value: 4,
        },
        value=Record.status,
        else_=5,
    ),
    "updated_at": Record.updated_at,
    "id": Record.id,
}

ORIGIN_AUTHOR = "author"

# What a record, its texts and its signatures are read as for an answer: plain rows named as the
# model's attributes, not ORM objects (their identity map and change tracking cost more than the
# rest of a list page together). Records and texts are copied into named tuples at once: a list
# page reads some 5,000 values, and a named tuple gives each for a fraction of SQLAlchemy's row.
RECORD_COLUMNS: tuple[Any, ...] = tuple(getattr(Record, a.key) for a in sa_inspect(Record).column_attrs)
record_row: Callable[[Iterable[Any]], Any] = collections.namedtuple(  # type: ignore[misc,attr-defined]
    "RecordRow", [c.key for c in RECORD_COLUMNS]
)._make
TEXT_COLUMNS: tuple[Any, ...] = (
    RecordText.record_id,
    RecordText.field,
    RecordText.language,
    RecordText.text,
    RecordText.origin,
    RecordText.state,
    RecordText.source_hash,
)
text_row: Callable[[Iterable[Any]], Any] = collections.namedtuple(  # type: ignore[misc,attr-defined]
    "TextRow", [c.key for c in TEXT_COLUMNS]
)._make
SIGNATURE_COLUMNS: tuple[Any, ...] = tuple(
    getattr(RecordSignature, a.key) for a in sa_inspect(RecordSignature).column_attrs
)

# The reads a list page and a record make, built once. A statement built anew for each request
# costs more to build, to find in SQLAlchemy's cache and to match its result columns to the
# cached ones (some 45 columns) than the database takes to answer it.
LIVE_RECORD = select(*RECORD_COLUMNS).where(Record.id == bindparam("id"), Record.deleted_at.is_(None))
TEXTS_OF_RECORDS = (
    select(*TEXT_COLUMNS)
    .where(RecordText.record_id.in_(bindparam("ids", expanding=True)))
    .order_by(RecordText.record_id, RecordText.field, RecordText.language)
)
SIGNATURES_OF_RECORDS = (
    select(*SIGNATURE_COLUMNS)
    .where(RecordSignature.record_id.in_(bindparam("ids", expanding=True)))
    .order_by(RecordSignature.record_id, RecordSignature.signed_at, RecordSignature.id)
)


def status_only(filters: RecordFilters) -> bool:
    """Whether a list is narrowed by status at most (the reader's time zone narrows nothing)."""
    return dataclasses.replace(filters, statuses=()) == RecordFilters(tz=filters.tz)


@functools.lru_cache(maxsize=32)
def _window_statement(sort: str, order: str, by_status: bool) -> Select[Any]:
    column = SORT_COLUMNS[sort]
    ordering = (column.desc(), Record.id.desc()) if order == "desc" else (column.asc(), Record.id.asc())
    statement = select(*RECORD_COLUMNS).where(Record.deleted_at.is_(None))
    if by_status:
        statement = statement.where(Record.status.in_(bindparam("statuses", expanding=True)))
    return statement.order_by(*ordering).limit(bindparam("limit")).offset(bindparam("offset"))


def page_statement(
    sort: str, order: str, *, by_status: bool, conditions: Sequence[ColumnElement[bool]] = ()
) -> Select[Any]:
    """A page of live records in ``sort``/``order``, taking ``limit`` and ``offset`` (and
    ``statuses`` when ``by_status``) as parameters: the same statement object for every page of
    the common lists. Other ``conditions`` (already holding their values) make a new one."""
    statement = _window_statement(sort, order, by_status)
    return statement.where(*conditions) if conditions else statement


# ---------------------------------------------------------------- pure shaping


def group_texts(rows: Sequence[Any]) -> dict[int, dict[str, list[Any]]]:
    """Text rows (:data:`TEXT_COLUMNS` or :class:`RecordText`) by record and field."""
    grouped: dict[int, dict[str, list[Any]]] = {}
    for row in rows:
        grouped.setdefault(row.record_id, {}).setdefault(row.field, []).append(row)
    return grouped


def _author_text(rows: Sequence[RecordText]) -> str | None:
    return next((r.text for r in rows if r.origin == ORIGIN_AUTHOR), None)


def _as_float(value: Decimal | None) -> float | None:
    return None if value is None else float(value)


def signature_read(row: Any) -> SignatureRead:
    """A signature as answered, from a :class:`RecordSignature` or a row of :data:`SIGNATURE_COLUMNS`."""
    return SignatureRead(
        id=row.id,
        meaning=row.meaning,
        meaning_text=rules.SIGNATURE_MEANINGS.get(row.meaning, row.meaning),
        signer_id=row.signer_id,
        signer_username=row.signer_username,
        signer_name=row.signer_name,
        signer_role=row.signer_role,
        signed_at=row.signed_at,
        reason=row.reason,
        record_version=row.record_version,
    )


def record_read(
    record: Any,
    texts: Mapping[str, Sequence[Any]],
    reader: Language | None,
    signatures: Sequence[Any] = (),
) -> RecordRead:
    """The record as answered: texts in the reader's language when translated, else as written.

    ``record``, ``texts`` and ``signatures``: model objects or rows of :data:`RECORD_COLUMNS`,
    :data:`TEXT_COLUMNS` and :data:`SIGNATURE_COLUMNS`."""
    text_sets: dict[str, TextSet] = {}
    shown: dict[str, str | None] = {}
    shown_in: dict[str, str] = {}
    for field in rules.TEXT_FIELDS:
        text_set, text, language = text_view(texts.get(field) or [], reader)
        shown[field] = text
        if text_set is not None:
            text_sets[field] = text_set
        if text is not None and language is not None:
            shown_in[field] = language
    return RecordRead(
        id=record.id,
        report_number=record.report_number,
        status=record.status,
        is_closed=record.is_closed,
        version=record.version,
        part_number_id=record.part_number_id,
        work_center_id=record.work_center_id,
        customer_id=record.customer_id,
        level_id=record.level_id,
        area_id=record.area_id,
        prepared_by_id=record.prepared_by_id,
        operation=record.operation,
        quantity=record.quantity,
        serial_number=record.serial_number,
        date=record.date,
        inspection_item_id=record.inspection_item_id,
        process_code_id=record.process_code_id,
        defect_description=shown["defect_description"],
        process_description=shown["process_description"],
        analysis=shown["analysis"],
        analysis_by_id=record.analysis_by_id,
        final_disposition_id=record.final_disposition_id,
        disposition_date=record.disposition_date,
        engineer_id=record.engineer_id,
        failure_code_id=record.failure_code_id,
        rework_hours=_as_float(record.rework_hours),
        responsible_department=record.responsible_department,
        material_scrap_cost=_as_float(record.material_scrap_cost),
        other_cost=_as_float(record.other_cost),
        engineering_remarks=shown["engineering_remarks"],
        repair_process=shown["repair_process"],
        disposition_approval_date=record.disposition_approval_date,
        disposition_approved_by_id=record.disposition_approved_by_id,
        sdr_number=record.sdr_number,
        texts=text_sets,
        text_languages=shown_in,
        signatures=[signature_read(s) for s in signatures],
        created_by_id=record.created_by_id,
        created_at=record.created_at,
        updated_by_id=record.updated_by_id,
        updated_at=record.updated_at,
        closed_at=record.closed_at,
        closed_by_id=record.closed_by_id,
        reopened_at=record.reopened_at,
        reopened_by_id=record.reopened_by_id,
    )


def normalize(changes: Mapping[str, Any]) -> tuple[dict[str, Any], list[dict[str, str]]]:
    """Strip strings (blank becomes ``None``) and turn money and hours into cents.

    Returns the normalised values and the errors of values that cannot be kept exactly.
    """
    values: dict[str, Any] = {}
    errors: list[dict[str, str]] = []
    for field, value in changes.items():
        if isinstance(value, str):
            value = value.strip() or None
        elif field in DECIMAL_FIELDS and value is not None:
            exact = Decimal(repr(float(value)))
            value = exact.quantize(CENT)
            if value != exact:
                errors.append(FieldError(field, "use at most 2 decimal places"))
        values[field] = value
    return values, errors


def given_fields(
    data: msgspec.Struct, *, skip: tuple[str, ...] = ("language", "version", "password")
) -> dict[str, Any]:
    """The fields a request body gives (``null`` included), without the request's own options."""
    return {
        name: getattr(data, name)
        for name in data.__struct_fields__
        if name not in skip and getattr(data, name) is not msgspec.UNSET
    }


def column_values(record: Record) -> dict[str, Any]:
    return {field: getattr(record, field) for field in COLUMN_FIELDS}


def text_values(texts: Mapping[str, Sequence[RecordText]]) -> dict[str, str | None]:
    """Each text field's original (what the author wrote), for the rules."""
    return {field: _author_text(rows) for field, rows in texts.items()}


def text_unchanged(rows: Sequence[RecordText], new: str | None, language: str) -> bool:
    """Whether writing ``new`` in ``language`` leaves the field as it is: the same words are
    already the original in that language (translations do not matter), or nothing to clear."""
    if new is None:
        return not rows
    return any(r.origin == ORIGIN_AUTHOR and r.language == language and r.text == new for r in rows)


def given_version(if_match: int | None, body: int | msgspec.UnsetType) -> int | None:
    """The version the caller read: If-Match, else the body's ``version``, else none."""
    return if_match if if_match is not None else body_version(body)


def required_version(version: int | None) -> int:
    """The version the caller read; 428 when they did not say (checked once the record is
    known to exist, so a missing record is a 404 whatever was sent)."""
    if version is not None:
        return version
    raise ProblemError(
        428, rules.VERSION_REQUIRED, errors=[FieldError("version", "required: the version you read (or If-Match)")]
    )


def body_version(value: int | msgspec.UnsetType) -> int | None:
    return value if isinstance(value, int) else None


def stale_version_error(current: int) -> ProblemError:
    return ProblemError(
        412,
        f"the record has changed since you read it: it is now at version {current}; reload it and try again",
        extra_members={"current_version": current},
        headers={"ETag": f'"{current}"'},
    )


def check_version(current: int, *expected: int | None) -> None:
    for version in expected:
        if version is not None and version != current:
            raise stale_version_error(current)


def ordered_lines(changes: Sequence[history.Change]) -> list[history.Change]:
    return sorted(changes, key=lambda c: LINE_ORDER.get(c[0] or "", len(LINE_ORDER)))


def text_lines(changes: Sequence[TextChange]) -> list[history.Change]:
    return [(c.field, c.language, c.old_text, c.new_text) for c in changes]


def signer_actor(signer: SignerIdentity) -> Actor:
    return Actor(id=signer.id, username=signer.username, name=signer.full_name, role=signer.role)


def _transient(exc: BaseException) -> bool:
    """A deadlock, lock timeout or busy database: the whole transaction may simply be tried again."""
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, StaleDataError):
            return True
        orig = getattr(seen, "orig", None) or seen
        code = getattr(orig, "sqlstate", None) or getattr(orig, "pgcode", None)
        if code in ("40001", "40P01", "55P03"):
            return True
        args = getattr(orig, "args", ())
        if args and args[0] in (1205, 1213):  # MySQL/MariaDB: lock wait timeout, deadlock
            return True
        if "database is locked" in str(orig):
            return True
        seen = seen.__cause__ or seen.__context__
    return False


# ---------------------------------------------------------------- the service


class RecordService:
    """Records in one database session.

    Plain SQLAlchemy rather than a generic repository: every write here is particular (row
    locks, the yearly counter, versioned updates, texts per language, history and signatures in
    the same transaction), and reads load a page's texts and signatures in one query each.
    """

    def __init__(
        self, session: AsyncSession, *, references: References, write_turn: asyncio.Lock | None = None
    ) -> None:
        self.session = session
        self.references = references
        #: One writer at a time in this process (SQLite), see :meth:`_writing`.
        self.write_turn = write_turn

    # ------------------------------------------------------------ reads

    async def _load(self, record_id: int, *, for_update: bool = False, deleted_too: bool = False) -> Record:
        """The record, fresh from the database; ``for_update`` locks its row until the
        transaction ends (PostgreSQL, MariaDB; SQLite lets one writer in at a time anyway).
        A deleted record does not exist for anyone but the history's reader (``deleted_too``)."""
        record = await self.session.get(Record, record_id, populate_existing=True, with_for_update=for_update)
        if record is None or (record.deleted_at is not None and not deleted_too):
            raise not_found("record", record_id)
        return record

    async def _rows(self, statement: Any, parameters: Mapping[str, Any] | None = None) -> Any:
        """Plain rows of a read, through the session's connection: the columns are named, so the
        ORM's result machinery (made for loading objects) has nothing to add but its cost."""
        connection = await self.session.connection()
        return await connection.execute(statement, parameters)

    async def _texts(self, record_ids: Sequence[int]) -> dict[int, dict[str, list[Any]]]:
        """The text rows of the records, by record and field (plain rows: nothing here changes them)."""
        if not record_ids:
            return {}
        rows = await self._rows(TEXTS_OF_RECORDS, {"ids": list(record_ids)})
        return group_texts([text_row(row) for row in rows])

    async def _signatures(self, record_ids: Sequence[int]) -> dict[int, list[Any]]:
        if not record_ids:
            return {}
        grouped: dict[int, list[Any]] = {}
        for row in await self._rows(SIGNATURES_OF_RECORDS, {"ids": list(record_ids)}):
            grouped.setdefault(row.record_id, []).append(row)
        return grouped

    async def read(self, record_id: int, reader: Language | None) -> RecordRead:
        record = (await self._rows(LIVE_RECORD, {"id": record_id})).first()
        if record is None:
            raise not_found("record", record_id)
        record = record_row(record)
        texts = await self._texts([record_id])
        signatures = await self._signatures([record_id])
        return record_read(record, texts.get(record_id, {}), reader, signatures.get(record_id, []))

    async def list_records(
        self,
        filters: RecordFilters,
        *,
        sort: str,
        order: str,
        page: int,
        page_size: int,
        reader: Language | None,
    ) -> Page[RecordRead]:
        conditions = record_conditions(filters)  # deleted records never match
        # Narrowed by status at most: the counts the database keeps (migration 0004), whatever
        # the number of records; else a count of the matching ones.
        total = await live_count(self.session, filters)
        if total is None:
            total = await self.session.scalar(select(func.count()).select_from(Record).where(*conditions)) or 0
        window = {"limit": page_size, "offset": offset(page, page_size)}
        if status_only(filters):
            statement = page_statement(sort, order, by_status=bool(filters.statuses))
            rows = await self._rows(
                statement, {**window, "statuses": list(filters.statuses)} if filters.statuses else window
            )
        else:
            statement = page_statement(sort, order, by_status=False, conditions=tuple(conditions[1:]))
            rows = await self._rows(statement, window)
        records = [record_row(row) for row in rows]
        ids = [r.id for r in records]
        texts = await self._texts(ids)
        signatures = await self._signatures(ids)
        items = [record_read(r, texts.get(r.id, {}), reader, signatures.get(r.id, [])) for r in records]
        return Page(items=items, total=total, page=page, page_size=page_size)

    async def usage(self, kind: str, entry_id: int) -> int:
        """How many records point to catalog entry ``entry_id`` of ``kind`` in any of their fields.

        Deleted records count too: their history (kept for Admins) still names the entry, so it
        must not disappear from under them.
        """
        if kind not in CATALOG_KINDS:
            raise ProblemError(400, f"unknown catalog kind {kind!r}", errors=[FieldError("kind", "unknown kind")])
        fields = [f for f, k in RECORD_CATALOG_FIELDS.items() if k == kind]
        if not fields:
            return 0
        condition = or_(*(getattr(Record, f) == entry_id for f in fields))
        return await self.session.scalar(select(func.count()).select_from(Record).where(condition)) or 0

    async def history(
        self, record_id: int, principal: Principal, *, page: int, page_size: int, tz: str | None
    ) -> Page[HistoryLine]:
        """The record's history, oldest first. A deleted record's history is for Admins only:
        for everyone else the record does not exist."""
        zone = history.zone(tz)
        record = await self._load(record_id, deleted_too=principal.role == Role.ADMIN)
        return await history.read_history(self.session, record.id, page=page, page_size=page_size, tz=zone)

    # ------------------------------------------------------------ writes

    @asynccontextmanager
    async def _writing(self) -> AsyncIterator[None]:
        """This process's turn to write (SQLite), held for one transaction and nothing else.

        SQLite lets one writer in at a time, and one that finds the database taken sleeps in
        steps of up to 100 ms before it looks again, so writers meeting in the database wait far
        longer than the writes take. Taking turns here instead hands the database from one to the
        next at once. A transaction that fails is rolled back before the turn passes on. Server
        databases lock rows, not the database: no turns there.
        """
        if self.write_turn is None:
            yield
            return
        async with self.write_turn:
            try:
                yield
            except BaseException:
                await self.session.rollback()
                raise

    async def _attempts(self, write: Callable[[], Awaitable[T]], *, take_turn: bool = True) -> T:
        """Run one transaction, again after a deadlock or a concurrent change (a few times);
        ``take_turn``: in this process's turn to write (else ``write`` takes it itself)."""
        for attempt in range(1, ATTEMPTS + 1):
            try:
                if not take_turn:
                    return await write()
                async with self._writing():
                    return await write()
            except (DBAPIError, StaleDataError) as exc:
                await self.session.rollback()
                if attempt == ATTEMPTS or not _transient(exc):
                    if isinstance(exc, StaleDataError):
                        raise conflict("the record was changed by someone else at the same time; try again") from exc
                    raise
                log.info("write attempt %d met a concurrent write (%s); trying again", attempt, type(exc).__name__)
                await asyncio.sleep(random.uniform(0.005, 0.02) * attempt)  # noqa: S311 - jitter, not secrets
            except BaseException:
                await self.session.rollback()
                raise
        raise AssertionError("unreachable")

    async def _read_after(
        self, write: Callable[[], Awaitable[int]], reader: Language | None, *, take_turn: bool = True
    ) -> RecordRead:
        return await self.read(await self._attempts(write, take_turn=take_turn), reader)

    async def create(
        self, data: RecordCreate, principal: Principal, *, language: Language, headers: Mapping[str, str]
    ) -> RecordRead:
        if not rules.may_create(principal.role):
            raise forbidden("only Inspectors and Admins may create records")
        own_number = data.report_number if isinstance(data.report_number, str) else None
        if own_number is not None and not rules.may_give_report_number(principal.role):
            raise forbidden("only an Admin may give a report number", fields=["report_number"])
        values, errors = normalize(given_fields(data, skip=("language", "report_number")))
        errors += [FieldError(f, "this field is required") for f in rules.missing_at_creation(values)]
        catalog_ids = {f: values[f] for f in RECORD_CATALOG_FIELDS if values.get(f) is not None}
        errors += await self.references.check(catalog_ids, {}, headers)
        if errors:
            raise unprocessable(errors)

        # The server's next number is taken without looking whether it is free: only an Admin's own
        # number can be in the way, and the unique report number refuses it. Then the creation
        # starts again, looking at each number it counts (one query fewer while it holds the
        # database, the common case).
        look = False

        async def write() -> int:
            now = utcnow()
            number = own_number or await self._next_report_number(now.year, look=look)
            if own_number is not None:
                await self._ensure_number_free(own_number)
            record = Record(
                report_number=number,
                is_closed=False,
                created_by_id=principal.id,
                updated_by_id=principal.id,
                created_at=now,
                updated_at=now,
                **{f: values.get(f) for f in COLUMN_FIELDS if f in values},
            )
            record.status = rules.derive_status(values, is_closed=False).value
            self.session.add(record)
            try:
                await self.session.flush()
            except IntegrityError as exc:
                if own_number is not None:
                    raise conflict(f"report number {own_number} is already taken", field="report_number") from exc
                raise
            texts = {f: values[f] for f in rules.TEXT_FIELDS if values.get(f) is not None}
            written = await write_original(self.session, record.id, texts, language, now, fresh=True)
            lines: list[history.Change] = [("report_number", None, None, number), ("status", None, None, record.status)]
            lines += [(f, None, None, values[f]) for f in COLUMN_FIELDS if values.get(f) is not None]
            lines += text_lines(written)
            await record_lines(self.session, record.id, principal, history.CREATED, ordered_lines(lines), 1, at=now)
            await self.session.commit()
            return record.id

        try:
            return await self._read_after(write, language)
        except IntegrityError:
            if own_number is not None or look:
                raise
            look = True
            return await self._read_after(write, language)

    async def _ensure_number_free(self, number: str) -> None:
        if await self.session.scalar(select(Record.id).where(Record.report_number == number)) is not None:
            raise conflict(f"report number {number} is already taken", field="report_number")

    async def _next_report_number(self, year: int, *, look: bool) -> str:
        """The next ``DMT-{year}-nnnnn``, counted in the creating transaction.

        The UPDATE locks the year's counter row until the transaction ends, so concurrent
        creators wait for each other (SQLite lets one writer in at a time anyway), and a
        creation that fails gives its number back. ``look``: skip the numbers an Admin already
        gave (deleted records keep theirs: a report number is never given twice).
        """
        while True:
            value = await self._count_up(year)
            number = rules.report_number(year, value)
            if not look or await self.session.scalar(select(Record.id).where(Record.report_number == number)) is None:
                return number

    async def _count_up(self, year: int) -> int:
        """Advance the year's counter and return its new value; the first thing a creation does.

        The first creation of a year finds no counter row. It ends its (still empty)
        transaction, makes the row at 0 in a short transaction of its own and counts again; a
        creator that loses that race gets an IntegrityError and counts on the winner's row.
        Inserting the row inside the counting transaction instead would deadlock concurrent
        first creators on MariaDB, whose UPDATE of a missing row takes a gap lock.
        """
        count_up = (
            update(ReportCounter)
            .where(ReportCounter.year == year)
            .values(last_value=ReportCounter.last_value + 1)
            .execution_options(synchronize_session=False)
        )
        # One round trip where the database can say the new value itself (SQLite, PostgreSQL);
        # MariaDB has no UPDATE ... RETURNING: it reads the row its UPDATE has just locked.
        returning = self.session.get_bind().dialect.update_returning
        for _ in range(3):
            if returning:
                value = await self.session.scalar(count_up.returning(ReportCounter.last_value))
                if value is not None:
                    return value
            elif (await self.session.execute(count_up)).rowcount == 1:  # type: ignore[attr-defined]
                value = await self.session.scalar(select(ReportCounter.last_value).where(ReportCounter.year == year))
                assert value is not None
                return value
            await self.session.rollback()
            try:
                await self.session.execute(insert(ReportCounter).values(year=year, last_value=0))
                await self.session.commit()
            except IntegrityError:
                await self.session.rollback()  # another creator made the row first: count on it
        raise RuntimeError(f"the report counter of {year} could not be advanced")

    async def _check_references(
        self, catalog_ids: Mapping[str, int], user_ids: Mapping[str, int], headers: Mapping[str, str]
    ) -> list[dict[str, str]]:
        """Ask the other services, holding no transaction open while they answer."""
        await self.session.rollback()
        return await self.references.check(catalog_ids, user_ids, headers)

    async def _locked(
        self, record_id: int, version: int | None, *, open_only: bool = True, required: bool = True
    ) -> Record:
        """The record, its row locked, as the caller read it: 404, 428 (no version said),
        409 (closed), 412 (stale)."""
        record = await self._load(record_id, for_update=True)
        if required:
            required_version(version)
        if open_only and record.is_closed:
            raise conflict(rules.CLOSED_READ_ONLY)
        check_version(record.version, version)
        return record

    async def update(
        self,
        record_id: int,
        data: RecordUpdate,
        principal: Principal,
        *,
        language: Language,
        if_match: int | None,
        headers: Mapping[str, str],
    ) -> RecordRead:
        given = given_fields(data)
        refused = rules.forbidden_fields(principal.role, given)
        if refused:
            raise forbidden(f"your role ({principal.role.value}) may not change {', '.join(refused)}", fields=refused)
        version = given_version(if_match, data.version)
        changes, errors = normalize(given)

        async def write() -> int:
            # The catalog entries and users set are checked with their services holding no
            # transaction, no row and no turn to write; then the record is read again, at the version
            # read (so it has not changed meanwhile), and saved.
            found: list[dict[str, str]] | None = None
            while True:
                async with self._writing():
                    record = await self._locked(record_id, version)
                    texts = (await self._texts([record.id])).get(record.id, {})
                    current = {**column_values(record), **{f: None for f in rules.TEXT_FIELDS}, **text_values(texts)}
                    effective = {
                        field: value
                        for field, value in changes.items()
                        if (
                            not text_unchanged(texts.get(field, []), value, language)
                            if field in rules.TEXT_FIELDS
                            else value != current[field]
                        )
                    }
                    catalog_ids = {f: v for f, v in effective.items() if f in RECORD_CATALOG_FIELDS and v is not None}
                    user_ids = {f: v for f, v in effective.items() if f in USER_FIELDS and v is not None}
                    if found is not None or not (catalog_ids or user_ids):
                        return await save(record, current, effective, found or [])
                    await self.session.rollback()
                found = await self.references.check(catalog_ids, user_ids, headers)

        async def save(
            record: Record,
            current: dict[str, Any],
            effective: dict[str, Any],
            found: list[dict[str, str]],
        ) -> int:
            problems = list(errors)
            problems += [
                FieldError(f, "this field is required and cannot be emptied") for f in rules.emptied_required(effective)
            ]
            problems += found
            if problems:
                raise unprocessable(problems)
            if not effective:
                await self.session.rollback()  # nothing to change: let go of the row
                return record_id
            effective.update(rules.filled_in_for(principal.role, principal.id, current, effective))
            after = {**current, **effective}
            now = utcnow()
            old_status = record.status
            lines: list[history.Change] = []
            for field, value in effective.items():
                if field not in rules.TEXT_FIELDS:
                    lines.append((field, None, current[field], value))
                    setattr(record, field, value)
            record.status = rules.derive_status(after, is_closed=False, reopened=record.reopened_at is not None).value
            record.updated_by_id = principal.id
            record.updated_at = now
            await self.session.flush()  # the one UPDATE of the record: its version goes up by one
            written = await write_original(
                self.session, record.id, {f: v for f, v in effective.items() if f in rules.TEXT_FIELDS}, language, now
            )
            lines += text_lines(written)
            if record.status != old_status:
                lines.append(("status", None, old_status, record.status))
            await record_lines(
                self.session, record.id, principal, history.CHANGED, ordered_lines(lines), record.version, at=now
            )
            await self.session.commit()
            return record_id

        return await self._read_after(write, language, take_turn=False)

    # ------------------------------------------------------------ signed changes

    def _closing(self, record: Record, closing: Mapping[str, Any], principal: Principal) -> dict[str, Any]:
        """The approval a close leaves on the record: what the request gives, else what the record
        has, the approver defaulting to whoever closes."""
        return {
            "disposition_approval_date": closing.get("disposition_approval_date") or record.disposition_approval_date,
            "disposition_approved_by_id": (
                closing.get("disposition_approved_by_id") or record.disposition_approved_by_id or principal.id
            ),
            "sdr_number": closing.get("sdr_number", record.sdr_number),
        }

    async def _sign(
        self, record: Record, signer: SignerIdentity, meaning: str, now: dt.datetime, reason: str | None
    ) -> None:
        """The signature and its history line, in the transaction of the signed change."""
        self.session.add(
            RecordSignature(
                record_id=record.id,
                meaning=meaning,
                signer_id=signer.id,
                signer_username=signer.username,
                signer_name=signer.full_name,
                signer_role=signer.role,
                signed_at=now,
                reason=reason,
                record_version=record.version,
            )
        )
        await record_lines(
            self.session,
            record.id,
            signer_actor(signer),
            history.SIGNED,
            [(None, None, None, meaning)],
            record.version,
            reason=reason,
            at=now,
        )

    async def close(
        self,
        record_id: int,
        data: RecordClose,
        principal: Principal,
        *,
        reader: Language | None,
        if_match: int | None,
        headers: Mapping[str, str],
    ) -> RecordRead:
        """Approve the disposition and close, signed.

        Everything that needs no password is checked first (404, 409, 412, 422), so a refused
        close costs no password attempt; then auth checks the password, holding no transaction
        open; then the row is locked and the close, its history and the signature are saved.
        """
        if not rules.may_close(principal.role):
            raise forbidden("only Quality Engineers and Admins may close records")
        version = given_version(if_match, data.version)
        closing, errors = normalize(given_fields(data))

        record = await self._load(record_id)
        required_version(version)
        if record.is_closed:
            raise conflict(rules.CLOSED_READ_ONLY)
        check_version(record.version, version)
        approval = self._closing(record, closing, principal)
        problems = list(errors)
        values = {**column_values(record), **approval}
        problems += [FieldError(f, "required to close the record") for f in rules.missing_to_close(values)]
        approver = approval["disposition_approved_by_id"]
        if approver not in (record.disposition_approved_by_id, principal.id):
            problems += await self._check_references({}, {"disposition_approved_by_id": approver}, headers)
        if problems:
            raise unprocessable(problems, detail=_close_detail(problems))
        await self.session.rollback()  # hold nothing while auth checks the password
        signer = await self.references.verify_password(data.password, headers)

        async def write() -> int:
            record = await self._locked(record_id, version)
            now = utcnow()
            old_status = record.status
            approval = self._closing(record, closing, principal)
            lines: list[history.Change] = [
                (f, None, getattr(record, f), approval[f]) for f in APPROVAL_FIELDS if getattr(record, f) != approval[f]
            ]
            for field, value in approval.items():
                setattr(record, field, value)
            record.is_closed = True
            record.status = rules.Status.CLOSED.value
            record.closed_at = now
            record.closed_by_id = principal.id
            record.updated_by_id = principal.id
            record.updated_at = now
            await self.session.flush()
            if lines:
                await record_lines(self.session, record.id, principal, history.CHANGED, lines, record.version, at=now)
            await record_lines(
                self.session,
                record.id,
                principal,
                history.CLOSED,
                [("status", None, old_status, record.status)],
                record.version,
                at=now,
            )
            await self._sign(record, signer, rules.MEANING_APPROVED_DISPOSITION, now, reason=None)
            await self.session.commit()
            return record_id

        return await self._read_after(write, reader)

    async def reopen(
        self,
        record_id: int,
        data: RecordReopen,
        principal: Principal,
        *,
        reader: Language | None,
        if_match: int | None,
        headers: Mapping[str, str],
    ) -> RecordRead:
        """Reopen a closed record, signed, with the reason: it is editable again, its approval
        (date and approver) is withdrawn, and it says "reopened" until it is closed again (which
        is signed, and approved, again)."""
        if not rules.may_reopen(principal.role):
            raise forbidden("only Quality Engineers and Admins may reopen records")
        version = given_version(if_match, data.version)
        reason = data.reason.strip()

        record = await self._load(record_id)
        required_version(version)
        if not record.is_closed:
            raise conflict(rules.NOT_CLOSED)
        check_version(record.version, version)
        await self.session.rollback()  # hold nothing while auth checks the password
        signer = await self.references.verify_password(data.password, headers)

        async def write() -> int:
            record = await self._locked(record_id, version, open_only=False)
            if not record.is_closed:
                raise conflict(rules.NOT_CLOSED)
            now = utcnow()
            old_status = record.status
            # The approval was of what is now reopened: closing again approves anew (the approver
            # defaulting to the new signer). The signatures and the history keep every approval.
            withdrawn: list[history.Change] = [
                (f, None, getattr(record, f), None) for f in rules.WITHDRAWN_ON_REOPEN if getattr(record, f) is not None
            ]
            for field in rules.WITHDRAWN_ON_REOPEN:
                setattr(record, field, None)
            record.is_closed = False
            record.status = rules.Status.REOPENED.value
            record.reopened_at = now
            record.reopened_by_id = principal.id
            record.closed_at = None
            record.closed_by_id = None
            record.updated_by_id = principal.id
            record.updated_at = now
            await self.session.flush()
            if withdrawn:
                await record_lines(
                    self.session, record.id, principal, history.CHANGED, withdrawn, record.version, at=now
                )
            await record_lines(
                self.session,
                record.id,
                principal,
                history.REOPENED,
                [("status", None, old_status, record.status)],
                record.version,
                reason=reason,
                at=now,
            )
            await self._sign(record, signer, rules.MEANING_REOPENED, now, reason=reason)
            await self.session.commit()
            return record_id

        return await self._read_after(write, reader)

    # ------------------------------------------------------------ translations and deletion

    async def correct_text(
        self,
        record_id: int,
        field: str,
        language: str,
        data: TextCorrection,
        principal: Principal,
        *,
        reader: Language | None,
        if_match: int | None,
    ) -> RecordRead:
        """A person's translation of one text field into ``language`` (not the original's)."""
        if field not in rules.TEXT_FIELDS:
            raise unprocessable([FieldError("field", f"not a text field; one of {', '.join(rules.TEXT_FIELDS)}")])
        if language not in LANGUAGES:
            raise unprocessable([FieldError("language", f"one of {', '.join(LANGUAGES)}")])
        if not rules.may_correct_text(principal.role, field):
            raise forbidden(f"your role ({principal.role.value}) may not change {field}", fields=[field])
        version = given_version(if_match, data.version)

        async def write() -> int:
            record = await self._locked(record_id, version)
            now = utcnow()
            change = await write_correction(self.session, record.id, field, language, data.text, now)
            record.updated_by_id = principal.id
            record.updated_at = now
            await self.session.flush()
            await record_lines(
                self.session, record.id, principal, history.CHANGED, text_lines([change]), record.version, at=now
            )
            await self.session.commit()
            return record_id

        return await self._read_after(write, reader)

    async def remove(self, record_id: int, data: RecordDelete, principal: Principal, *, if_match: int | None) -> None:
        """Delete (a tombstone): the record leaves every list, export and chart, and answers 404;
        its row, texts, signatures and history stay, the history readable by Admins.
        A version, when given, must be the current one."""
        if not rules.may_delete(principal.role):
            raise forbidden("only Admins may delete records")
        version = given_version(if_match, data.version)
        reason = data.reason.strip()

        async def write() -> int:
            record = await self._locked(record_id, version, open_only=False, required=False)
            now = utcnow()
            record.deleted_at = now
            record.deleted_by_id = principal.id
            record.delete_reason = reason
            record.updated_by_id = principal.id
            record.updated_at = now
            await self.session.flush()
            await record_lines(self.session, record.id, principal, history.DELETED, [], record.version, reason, at=now)
            await self.session.commit()
            return record_id

        await self._attempts(write)


def _close_detail(problems: list[dict[str, str]]) -> str:
    missing = [p["field"] for p in problems if p["message"] == "required to close the record"]
    if missing and len(missing) == len(problems):
        return "the record cannot be closed yet: " + ", ".join(missing) + " must be set"
    return "; ".join(f"{p['field']}: {p['message']}" for p in problems)


__all__ = ["RecordFilters", "RecordService", "record_read"]
