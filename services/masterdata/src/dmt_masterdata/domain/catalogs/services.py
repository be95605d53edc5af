"""Catalog entries: overview, listing, creation and changes, deletion of unused entries, batch look-up."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any

from advanced_alchemy.exceptions import IntegrityError as RepositoryIntegrityError
from advanced_alchemy.repository import SQLAlchemyAsyncRepository
from advanced_alchemy.service import SQLAlchemyAsyncRepositoryService
from sqlalchemy import ColumnElement, case, func, or_, select, true
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from dmt_masterdata.db.models import CatalogEntry
from dmt_masterdata.domain.catalogs import rules
from dmt_shared.contracts import CATALOG_KINDS, CatalogEntrySummary, CatalogRef, ContentVersion
from dmt_shared.pagination import offset
from dmt_shared.problems import FieldError, ProblemError, conflict, unprocessable

#: Asks how many records use an entry: ``(kind, id) -> count``.
UsageCounter = Callable[[str, int], Awaitable[int]]

_SORT_COLUMNS = {
    "item_number": CatalogEntry.item_number,
    "item_name": CatalogEntry.item_name,
    "id": CatalogEntry.id,
    "created_at": CatalogEntry.created_at,
    "updated_at": CatalogEntry.updated_at,
}
#: What a look-up answers of an entry, in :class:`CatalogEntrySummary`; the content version covers exactly these.
_SUMMARY_COLUMNS = (
    CatalogEntry.id,
    CatalogEntry.kind,
    CatalogEntry.item_number,
    CatalogEntry.item_name,
    CatalogEntry.item_name_es,
    CatalogEntry.item_name_zh,
    CatalogEntry.is_active,
)
_SEARCHED_COLUMNS = (
    CatalogEntry.item_number,
    CatalogEntry.item_name,
    CatalogEntry.item_name_es,
    CatalogEntry.item_name_zh,
)


@dataclass(frozen=True)
class EntryQuery:
    """What a catalog list asks for: filters, order and page."""

    q: str | None = None
    is_active: bool | None = None
    ids: list[int] | None = None
    sort: str = rules.DEFAULT_SORT
    order: str = "asc"
    page: int = 1
    page_size: int = 50


def unknown_kind(kind: str) -> ProblemError:
    return ProblemError(404, rules.unknown_kind_message(kind), extra_members={"kinds": list(CATALOG_KINDS)})


def entry_not_found(kind: str, entry_id: int) -> ProblemError:
    return ProblemError(404, f"there is no entry {entry_id} in the catalog {kind!r}")


def _bad_input(exc: rules.RuleError) -> ProblemError:
    return ProblemError(400, str(exc), errors=[FieldError(exc.field, exc.message)])


class CatalogEntryRepository(SQLAlchemyAsyncRepository[CatalogEntry]):
    model_type = CatalogEntry


class CatalogEntryService(SQLAlchemyAsyncRepositoryService[CatalogEntry, CatalogEntryRepository]):
    repository_type = CatalogEntryRepository

    def __init__(self, session: AsyncSession, **kwargs: Any) -> None:
        super().__init__(session=session, **kwargs)
        self.session = session

    # ------------------------------------------------------------------ normalisation hooks

    async def to_model_on_create(self, data: Any) -> Any:
        return self._cleaned(data)

    async def to_model_on_update(self, data: Any) -> Any:
        return self._cleaned(data)

    @staticmethod
    def _cleaned(data: Any) -> Any:
        if not isinstance(data, dict):
            return data
        try:
            return rules.clean_fields(data)
        except rules.RuleError as exc:
            raise _bad_input(exc) from exc

    # ------------------------------------------------------------------ reads

    async def overview(self) -> list[tuple[str, str, int, int]]:
        """Every catalog in the stated order: ``(kind, title, total, active)``, from one grouped count."""
        active = func.sum(case((CatalogEntry.is_active == true(), 1), else_=0))
        statement = select(CatalogEntry.kind, func.count(), active).group_by(CatalogEntry.kind)
        counts = {kind: (int(total), int(on or 0)) for kind, total, on in await self.session.execute(statement)}
        return [(kind, title, *counts.get(kind, (0, 0))) for kind, title in CATALOG_KINDS.items()]

    async def get_entry(self, kind: str, entry_id: int) -> CatalogEntry:
        """The entry ``entry_id`` of the catalog ``kind``; 404 when it is missing or belongs to another."""
        if not rules.is_known_kind(kind):
            raise unknown_kind(kind)
        if not rules.possible_id(entry_id):
            raise entry_not_found(kind, entry_id)
        entry = await self.get_one_or_none(CatalogEntry.id == entry_id)
        if entry is None or entry.kind != kind:
            raise entry_not_found(kind, entry_id)
        return entry

    async def list_entries(self, kind: str, query: EntryQuery) -> tuple[Sequence[CatalogEntry], int]:
        """One page of the catalog ``kind`` and how many entries match in all."""
        if not rules.is_known_kind(kind):
            raise unknown_kind(kind)
        conditions: list[ColumnElement[bool]] = [CatalogEntry.kind == kind]
        text = (query.q or "").strip().lower()
        if text:
            conditions.append(or_(*(func.lower(c).contains(text, autoescape=True) for c in _SEARCHED_COLUMNS)))
        if query.is_active is not None:
            conditions.append(CatalogEntry.is_active == query.is_active)
        if query.ids is not None:
            conditions.append(CatalogEntry.id.in_(query.ids))

        total = (
            await self.session.execute(select(func.count()).select_from(CatalogEntry).where(*conditions))
        ).scalar_one()
        column: Any = _SORT_COLUMNS[query.sort]
        if query.sort in rules.CASELESS_SORT_FIELDS:
            column = func.lower(column)
        descending = query.order == "desc"
        ordering = [column.desc() if descending else column.asc()]
        if query.sort != "id":
            # Equal keys keep one order, so paging neither repeats nor skips an entry.
            ordering.append(CatalogEntry.id.desc() if descending else CatalogEntry.id.asc())
        statement = (
            select(CatalogEntry)
            .where(*conditions)
            .order_by(*ordering)
            .offset(offset(query.page, query.page_size))
            .limit(query.page_size)
        )
        items = (await self.session.execute(statement)).scalars().all()
        return items, int(total)

    async def lookup(self, refs: Sequence[CatalogRef]) -> tuple[list[CatalogEntrySummary], list[CatalogRef]]:
        """Resolve references of any catalogs with one query; a reference to another catalog's id is missing."""
        errors = [
            FieldError(f"items[{i}].kind", rules.unknown_kind_message(ref.kind))
            for i, ref in enumerate(refs)
            if not rules.is_known_kind(ref.kind)
        ]
        if errors:
            raise unprocessable(errors)
        wanted = list(dict.fromkeys(refs))
        ids = sorted({ref.id for ref in wanted if rules.possible_id(ref.id)})
        found: dict[int, CatalogEntrySummary] = {}
        if ids:
            for row in await self.session.execute(select(*_SUMMARY_COLUMNS).where(CatalogEntry.id.in_(ids))):
                found[row.id] = CatalogEntrySummary(
                    id=row.id,
                    kind=row.kind,
                    item_number=row.item_number,
                    item_name=row.item_name,
                    is_active=bool(row.is_active),
                    item_name_es=row.item_name_es,
                    item_name_zh=row.item_name_zh,
                )
        items: list[CatalogEntrySummary] = []
        missing: list[CatalogRef] = []
        for ref in wanted:
            summary = found.get(ref.id)
            if summary is not None and summary.kind == ref.kind:
                items.append(summary)
            else:
                missing.append(ref)
        return items, missing

    async def version(self) -> ContentVersion:
        """The catalogs' content version: a digest of what look-ups answer of every entry.

        Read from the table on each call, so every replica gives the same version and any
        change shows, whoever made it (this service, an import, a change made in the database).
        It is not derived from ``updated_at``: MariaDB keeps that to the second, replicas'
        clocks differ and imports keep the old timestamps, so two changes could share one.
        """
        rows = await self.session.execute(select(*_SUMMARY_COLUMNS).order_by(CatalogEntry.id))
        return ContentVersion.of_rows(rows)

    # ------------------------------------------------------------------ writes

    async def create_entry(self, kind: str, data: dict[str, Any]) -> CatalogEntry:
        if not rules.is_known_kind(kind):
            raise unknown_kind(kind)
        entry = await self.to_model({**data, "kind": kind}, "create")
        await self._refuse_duplicate(kind, entry.item_number)
        try:
            return await self.repository.add(entry, auto_commit=True)
        except (RepositoryIntegrityError, IntegrityError) as exc:
            await self.session.rollback()
            raise self._duplicate(kind, entry.item_number) from exc

    async def update_entry(self, kind: str, entry_id: int, changes: dict[str, Any]) -> CatalogEntry:
        entry = await self.get_entry(kind, entry_id)
        cleaned = await self.to_model_on_update(dict(changes))
        if "item_number" in cleaned:
            await self._refuse_duplicate(kind, cleaned["item_number"], except_id=entry.id)
        for name, value in cleaned.items():
            setattr(entry, name, value)
        try:
            await self.session.commit()
        except (RepositoryIntegrityError, IntegrityError) as exc:
            await self.session.rollback()
            raise self._duplicate(kind, cleaned.get("item_number", "")) from exc
        # Read back what was stored (a database may keep timestamps to the second only).
        await self.session.refresh(entry)
        return entry

    async def delete_unused(self, kind: str, entry_id: int, records_using: UsageCounter) -> None:
        """Delete the entry only when no record uses it (asked of the records service first)."""
        entry = await self.get_entry(kind, entry_id)
        count = await records_using(kind, entry.id)
        if count > 0:
            raise ProblemError(409, rules.in_use_message(count), extra_members={"records": count})
        await self.session.delete(entry)
        await self.session.commit()

    # ------------------------------------------------------------------ duplicates

    async def _refuse_duplicate(self, kind: str, item_number: str, *, except_id: int | None = None) -> None:
        conditions: list[ColumnElement[bool]] = [
            CatalogEntry.kind == kind,
            func.lower(CatalogEntry.item_number) == rules.code_key(item_number),
        ]
        if except_id is not None:
            conditions.append(CatalogEntry.id != except_id)
        statement = select(CatalogEntry.id).where(*conditions).limit(1)
        if (await self.session.execute(statement)).first() is not None:
            raise self._duplicate(kind, item_number)

    @staticmethod
    def _duplicate(kind: str, item_number: str) -> ProblemError:
        return conflict(
            f"the catalog {kind!r} already has an entry {item_number!r} (letter case aside)", field="item_number"
        )
