"""DMT records: creation with a race-free report number, section edits, closing, listing.

Every write follows the same path: refuse fields the role may not touch (403), refuse a closed
record (409) or a stale version (412), check values (422), check the catalog entries and users
being set with the services that own them (one call each, only for what changes), then save
the record, its texts and its derived status in one transaction.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import random
from collections.abc import Awaitable, Callable, Mapping, Sequence
from decimal import Decimal
from typing import Any, TypeVar

import msgspec
from sqlalchemy import case as sql_case
from sqlalchemy import delete, func, insert, or_, select, update
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm.exc import StaleDataError

from dmt_records.db.models import Record, RecordText, ReportCounter, utcnow
from dmt_records.domain.records import rules
from dmt_records.domain.records.filters import RecordFilters, record_conditions
from dmt_records.domain.records.languages import LANGUAGES, Language
from dmt_records.domain.records.references import References
from dmt_records.domain.records.schemas import (
    RecordClose,
    RecordCreate,
    RecordRead,
    RecordUpdate,
    TextSet,
    TextValue,
)
from dmt_shared.contracts import CATALOG_KINDS, RECORD_CATALOG_FIELDS
from dmt_shared.pagination import Page, offset
from dmt_shared.problems import FieldError, ProblemError, conflict, forbidden, not_found, unprocessable
from dmt_shared.tokens import Principal

log = logging.getLogger("dmt.records")

T = TypeVar("T")

#: Record fields that hold a user id and can be set by a write (created_by_id comes from the token).
USER_FIELDS: tuple[str, ...] = ("analysis_by_id", "engineer_id", "disposition_approved_by_id")
DECIMAL_FIELDS: tuple[str, ...] = ("rework_hours", "material_scrap_cost", "other_cost")
COLUMN_FIELDS: tuple[str, ...] = tuple(f for f in rules.ALL_FIELDS if f not in rules.TEXT_FIELDS)
CENT = Decimal("0.01")
#: How often a write is tried, when a concurrent change or a deadlock makes it start over.
ATTEMPTS = 10

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
            rules.Status.CLOSED.value: 3,
        },
        value=Record.status,
        else_=4,
    ),
    "updated_at": Record.updated_at,
    "id": Record.id,
}

ORIGIN_AUTHOR = "author"


class StaleVersion(Exception):
    """The record changed between reading and writing it."""


# ---------------------------------------------------------------- pure shaping


def group_texts(rows: Sequence[RecordText]) -> dict[int, dict[str, list[RecordText]]]:
    grouped: dict[int, dict[str, list[RecordText]]] = {}
    for row in rows:
        grouped.setdefault(row.record_id, {}).setdefault(row.field, []).append(row)
    return grouped


def _author_row(rows: Sequence[RecordText]) -> RecordText:
    return next((r for r in rows if r.origin == ORIGIN_AUTHOR), rows[0])


def _as_float(value: Decimal | None) -> float | None:
    return None if value is None else float(value)


def record_read(record: Record, texts: Mapping[str, Sequence[RecordText]], reader: Language | None) -> RecordRead:
    """The record as answered: texts in the reader's language when translated, else as written."""
    text_sets: dict[str, TextSet] = {}
    shown: dict[str, str | None] = {}
    for field in rules.TEXT_FIELDS:
        rows = texts.get(field) or []
        if not rows:
            shown[field] = None
            continue
        author = _author_row(rows)
        ordered = sorted(rows, key=lambda r: LANGUAGES.index(r.language) if r.language in LANGUAGES else 99)
        values = {r.language: TextValue(text=r.text, origin=r.origin) for r in ordered}
        text_sets[field] = TextSet(source_language=author.language, values=values)
        shown[field] = values[reader].text if reader in values else author.text
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
        created_by_id=record.created_by_id,
        created_at=record.created_at,
        updated_by_id=record.updated_by_id,
        updated_at=record.updated_at,
        closed_at=record.closed_at,
        closed_by_id=record.closed_by_id,
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


def given_fields(data: msgspec.Struct, *, skip: tuple[str, ...] = ("language", "version")) -> dict[str, Any]:
    """The fields a request body gives (``null`` included), without the request's own options."""
    return {
        name: getattr(data, name)
        for name in data.__struct_fields__
        if name not in skip and getattr(data, name) is not msgspec.UNSET
    }


def column_values(record: Record) -> dict[str, Any]:
    return {field: getattr(record, field) for field in COLUMN_FIELDS}


def text_values(texts: Mapping[str, Sequence[RecordText]]) -> dict[str, str | None]:
    return {field: (_author_row(rows).text if rows else None) for field, rows in texts.items()}


def text_unchanged(rows: Sequence[RecordText], new: str | None, language: str) -> bool:
    if new is None:
        return not rows
    return len(rows) == 1 and rows[0].language == language and rows[0].origin == ORIGIN_AUTHOR and rows[0].text == new


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


def _transient(exc: BaseException) -> bool:
    """A deadlock, lock timeout or busy database: the whole transaction may simply be tried again."""
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, StaleVersion | StaleDataError):
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
    locks, the yearly counter, versioned updates, texts replaced per field), and reads load a
    page's texts in one query of their own.
    """

    def __init__(self, session: AsyncSession, *, references: References) -> None:
        self.session = session
        self.references = references

    # ------------------------------------------------------------ reads

    async def _load(self, record_id: int, *, for_update: bool = False) -> Record:
        """The record, fresh from the database; ``for_update`` locks its row until the
        transaction ends (PostgreSQL, MariaDB; SQLite lets one writer in at a time anyway)."""
        record = await self.session.get(Record, record_id, populate_existing=True, with_for_update=for_update)
        if record is None:
            raise not_found("record", record_id)
        return record

    async def _texts(self, record_ids: Sequence[int]) -> dict[int, dict[str, list[RecordText]]]:
        if not record_ids:
            return {}
        rows = (
            await self.session.execute(
                select(RecordText)
                .where(RecordText.record_id.in_(record_ids))
                .order_by(RecordText.record_id, RecordText.field, RecordText.language)
                .execution_options(populate_existing=True)
            )
        ).scalars()
        return group_texts(list(rows))

    async def read(self, record_id: int, reader: Language | None) -> RecordRead:
        record = await self._load(record_id)
        texts = await self._texts([record.id])
        return record_read(record, texts.get(record.id, {}), reader)

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
        conditions = record_conditions(filters)
        total = await self.session.scalar(select(func.count()).select_from(Record).where(*conditions)) or 0
        column = SORT_COLUMNS[sort]
        ordering = (column.desc(), Record.id.desc()) if order == "desc" else (column.asc(), Record.id.asc())
        records = list(
            (
                await self.session.execute(
                    select(Record)
                    .where(*conditions)
                    .order_by(*ordering)
                    .limit(page_size)
                    .offset(offset(page, page_size))
                )
            ).scalars()
        )
        texts = await self._texts([r.id for r in records])
        items = [record_read(r, texts.get(r.id, {}), reader) for r in records]
        return Page(items=items, total=total, page=page, page_size=page_size)

    async def usage(self, kind: str, entry_id: int) -> int:
        """How many records point to catalog entry ``entry_id`` of ``kind`` in any of their fields."""
        if kind not in CATALOG_KINDS:
            raise ProblemError(400, f"unknown catalog kind {kind!r}", errors=[FieldError("kind", "unknown kind")])
        fields = [f for f, k in RECORD_CATALOG_FIELDS.items() if k == kind]
        if not fields:
            return 0
        condition = or_(*(getattr(Record, f) == entry_id for f in fields))
        return await self.session.scalar(select(func.count()).select_from(Record).where(condition)) or 0

    # ------------------------------------------------------------ writes

    async def _attempts(self, write: Callable[[], Awaitable[T]]) -> T:
        """Run one transaction, again after a deadlock or a concurrent change (a few times)."""
        for attempt in range(1, ATTEMPTS + 1):
            try:
                return await write()
            except (DBAPIError, StaleDataError, StaleVersion) as exc:
                await self.session.rollback()
                if attempt == ATTEMPTS or not _transient(exc):
                    if isinstance(exc, StaleDataError | StaleVersion):
                        raise conflict("the record was changed by someone else at the same time; try again") from exc
                    raise
                log.info("write attempt %d met a concurrent write (%s); trying again", attempt, type(exc).__name__)
                await asyncio.sleep(random.uniform(0.005, 0.02) * attempt)  # noqa: S311 - jitter, not secrets
            except BaseException:
                await self.session.rollback()
                raise
        raise AssertionError("unreachable")

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

        async def write() -> int:
            now = utcnow()
            number = own_number or await self._next_report_number(now.year)
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
            await self._write_texts(record.id, texts, language, now, fresh=True)
            await self.session.commit()
            return record.id

        return await self.read(await self._attempts(write), language)

    async def _ensure_number_free(self, number: str) -> None:
        if await self.session.scalar(select(Record.id).where(Record.report_number == number)) is not None:
            raise conflict(f"report number {number} is already taken", field="report_number")

    async def _next_report_number(self, year: int) -> str:
        """The next free ``DMT-{year}-nnnnn``, counted in the creating transaction.

        The UPDATE locks the year's counter row until the transaction ends, so concurrent
        creators wait for each other (SQLite lets one writer in at a time anyway), and a
        creation that fails gives its number back. A number an Admin already gave is skipped.
        """
        while True:
            value = await self._count_up(year)
            number = rules.report_number(year, value)
            if await self.session.scalar(select(Record.id).where(Record.report_number == number)) is None:
                return number

    async def _count_up(self, year: int) -> int:
        """Advance the year's counter and return its new value; the first thing a creation does.

        The first creation of a year finds no counter row. It ends its (still empty)
        transaction, makes the row at 0 in a short transaction of its own and counts again; a
        creator that loses that race gets an IntegrityError and counts on the winner's row.
        Inserting the row inside the counting transaction instead would deadlock concurrent
        first creators on MariaDB, whose UPDATE of a missing row takes a gap lock.
        """
        for _ in range(3):
            result = await self.session.execute(
                update(ReportCounter)
                .where(ReportCounter.year == year)
                .values(last_value=ReportCounter.last_value + 1)
                .execution_options(synchronize_session=False)
            )
            if result.rowcount == 1:  # type: ignore[attr-defined]
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

    async def _write_texts(
        self,
        record_id: int,
        texts: Mapping[str, str | None],
        language: str,
        now: dt.datetime,
        *,
        fresh: bool = False,
    ) -> None:
        """Each given text replaces every language of its field; ``None`` clears the field.

        The other languages of a field were translations of the old text, so they go with it.
        """
        if not texts:
            return
        if not fresh:
            await self.session.execute(
                delete(RecordText).where(RecordText.record_id == record_id, RecordText.field.in_(list(texts)))
            )
        rows = [
            {
                "record_id": record_id,
                "field": field,
                "language": language,
                "text": text,
                "origin": ORIGIN_AUTHOR,
                "updated_at": now,
            }
            for field, text in texts.items()
            if text is not None
        ]
        if rows:
            await self.session.execute(insert(RecordText), rows)

    async def _check_references(
        self, catalog_ids: Mapping[str, int], user_ids: Mapping[str, int], headers: Mapping[str, str]
    ) -> list[dict[str, str]]:
        """Ask the other services, holding no transaction open while they answer."""
        await self.session.rollback()
        return await self.references.check(catalog_ids, user_ids, headers)

    async def _reload_unchanged(self, record_id: int, seen_version: int) -> Record:
        """The record again after the look-ups; if it changed meanwhile, the write starts over.

        From here on the version check of the UPDATE itself notices any change made meanwhile.
        """
        record = await self._load(record_id, for_update=True)
        if record.version != seen_version:
            raise StaleVersion(record_id)
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
        body_version = data.version if isinstance(data.version, int) else None
        changes, errors = normalize(given)

        async def write() -> int:
            record = await self._load(record_id, for_update=True)
            if record.is_closed:
                raise conflict(rules.CLOSED_READ_ONLY)
            check_version(record.version, if_match, body_version)
            seen_version = record.version
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
            problems = list(errors)
            problems += [
                FieldError(f, "this field is required and cannot be emptied") for f in rules.emptied_required(effective)
            ]
            defaults = rules.filled_in_for(principal.role, principal.id, current, effective)
            catalog_ids = {f: v for f, v in effective.items() if f in RECORD_CATALOG_FIELDS and v is not None}
            user_ids = {f: v for f, v in effective.items() if f in USER_FIELDS and v is not None}
            if catalog_ids or user_ids:
                problems += await self._check_references(catalog_ids, user_ids, headers)
            if problems:
                raise unprocessable(problems)
            if not effective:
                await self.session.rollback()  # nothing to change: let go of the row
                return record_id
            if catalog_ids or user_ids:
                record = await self._reload_unchanged(record_id, seen_version)
            effective.update(defaults)
            after = {**current, **effective}
            now = utcnow()
            for field, value in effective.items():
                if field not in rules.TEXT_FIELDS:
                    setattr(record, field, value)
            record.status = rules.derive_status(after, is_closed=False).value
            record.updated_by_id = principal.id
            record.updated_at = now
            await self.session.flush()
            await self._write_texts(
                record.id, {f: v for f, v in effective.items() if f in rules.TEXT_FIELDS}, language, now
            )
            await self.session.commit()
            return record_id

        return await self.read(await self._attempts(write), language)

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
        if not rules.may_close(principal.role):
            raise forbidden("only Quality Engineers and Admins may close records")
        body_version = data.version if isinstance(data.version, int) else None
        closing, errors = normalize(given_fields(data))

        async def write() -> int:
            record = await self._load(record_id, for_update=True)
            if record.is_closed:
                raise conflict(rules.CLOSED_READ_ONLY)
            check_version(record.version, if_match, body_version)
            seen_version = record.version
            values = column_values(record)
            approval_date = closing.get("disposition_approval_date") or record.disposition_approval_date
            approver = closing.get("disposition_approved_by_id") or record.disposition_approved_by_id or principal.id
            values.update(disposition_approval_date=approval_date, disposition_approved_by_id=approver)
            if "sdr_number" in closing:
                values["sdr_number"] = closing["sdr_number"]
            problems = list(errors)
            problems += [FieldError(f, "required to close the record") for f in rules.missing_to_close(values)]
            user_ids = {}
            if approver not in (record.disposition_approved_by_id, principal.id):
                user_ids["disposition_approved_by_id"] = approver
            if user_ids:
                problems += await self._check_references({}, user_ids, headers)
            if problems:
                raise unprocessable(problems, detail=_close_detail(problems))
            if user_ids:
                record = await self._reload_unchanged(record_id, seen_version)
            now = utcnow()
            record.disposition_approval_date = approval_date
            record.disposition_approved_by_id = approver
            record.sdr_number = values["sdr_number"]
            record.is_closed = True
            record.status = rules.Status.CLOSED.value
            record.closed_at = now
            record.closed_by_id = principal.id
            record.updated_by_id = principal.id
            record.updated_at = now
            await self.session.commit()
            return record_id

        return await self.read(await self._attempts(write), reader)

    async def remove(self, record_id: int, principal: Principal) -> None:
        if not rules.may_delete(principal.role):
            raise forbidden("only Admins may delete records")
        result = await self.session.execute(delete(Record).where(Record.id == record_id))
        if result.rowcount == 0:  # type: ignore[attr-defined]
            await self.session.rollback()
            raise not_found("record", record_id)
        await self.session.commit()


def _close_detail(problems: list[dict[str, str]]) -> str:
    missing = [p["field"] for p in problems if p["message"] == "required to close the record"]
    if missing and len(missing) == len(problems):
        return "the record cannot be closed yet: " + ", ".join(missing) + " must be set"
    return "; ".join(f"{p['field']}: {p['message']}" for p in problems)


__all__ = ["RecordFilters", "RecordService", "record_read"]
