"""Catalog entries of the predecessor DMT, brought into this service's table.

The predecessor kept each of the eleven catalogs in a table of its own (:data:`LEGACY_TABLES`),
each row an ``id``, an ``item_number`` and an ``item_name`` (and, in later versions,
``is_active``). :func:`import_catalog_entries` takes one catalog's rows as plain mappings and
writes them with this service's rules:

- codes and names are cleaned as any entry's are (trimmed, one line); a row whose code is blank,
  too long or not one line is refused; a blank name is replaced by the code (noted);
- entries are matched by catalog and code, letter case aside, as the catalogs always match them:
  an entry that already exists is left exactly as it is, so a second import changes nothing;
  two rows with one code are one entry (noted when their names differ);
- the report maps every ``(kind, legacy id)`` to the entry's id here, which is what records need
  to point to the same part, work center or failure code as before.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from dmt_masterdata.db.models import ITEM_NAME_LENGTH, ITEM_NUMBER_LENGTH, CatalogEntry
from dmt_masterdata.domain.catalogs import rules
from dmt_shared.importing import ImportTally, Note, Refusal, legacy_int, legacy_utc, retry_on_conflict

#: The predecessor's table of each catalog -> the catalog's kind here.
LEGACY_TABLES: dict[str, str] = {
    "partnumber": "part-numbers",
    "workcenter": "work-centers",
    "customer": "customers",
    "level": "levels",
    "area": "areas",
    "calibration": "calibrations",
    "inspectionitem": "inspection-items",
    "preparedby": "prepared-by",
    "processcode": "process-codes",
    "disposition": "dispositions",
    "failurecode": "failure-codes",
}

#: How many codes one query looks for.
_CHUNK = 500


@dataclass
class CatalogImport(ImportTally):
    """What an import did. Pass it to the next call to add a further catalog or batch to it: it
    also remembers which legacy row each code came from, to name rows merged into one entry."""

    #: (kind, legacy id) -> entry id here (imported or already present)
    ids: dict[tuple[str, int], int] = field(default_factory=dict)
    #: (kind, code key) -> the first legacy row with that code in this run, and its name
    codes: dict[tuple[str, str], tuple[int, str]] = field(default_factory=dict)


@dataclass
class _Candidate:
    legacy_id: int
    code: str
    values: dict[str, Any]
    note: str | None = None


def _candidate(kind: str, row: Mapping[str, Any]) -> _Candidate | Refusal:
    raw_number = row.get("item_number")
    key = f"{kind}:{raw_number}"
    legacy_id = legacy_int(row.get("id"))
    if legacy_id is None:
        return Refusal(row.get("id"), key, "the row has no usable id")
    try:
        number = rules.clean_text("item_number", raw_number if isinstance(raw_number, str) else None, required=True)
    except rules.RuleError as exc:
        return Refusal(legacy_id, key, f"item_number {raw_number!r}: {exc.message}")
    assert number is not None
    key = f"{kind}:{number}"
    if len(number) > ITEM_NUMBER_LENGTH:
        return Refusal(legacy_id, key, f"item_number is longer than {ITEM_NUMBER_LENGTH} characters")
    raw_name = row.get("item_name")
    note = None
    try:
        name = rules.clean_text("item_name", raw_name if isinstance(raw_name, str) else None, required=False)
    except rules.RuleError as exc:
        return Refusal(legacy_id, key, f"item_name: {exc.message}")
    if name is None:
        name = number
        note = "had no item_name: the item_number stands in for it"
    if len(name) > ITEM_NAME_LENGTH:
        return Refusal(legacy_id, key, f"item_name is longer than {ITEM_NAME_LENGTH} characters")
    is_active = row.get("is_active")
    values: dict[str, Any] = {
        "kind": kind,
        "item_number": number,
        "item_name": name,
        "is_active": True if is_active is None else bool(is_active),
    }
    created_at = legacy_utc(row.get("created_at"))
    if created_at is not None:
        values["created_at"] = created_at
        values["updated_at"] = created_at
    return _Candidate(legacy_id, number, values, note)


async def _existing(session: AsyncSession, kind: str, codes: Sequence[str]) -> dict[str, int]:
    """Entries of ``kind`` with these codes: code key -> id."""
    found: dict[str, int] = {}
    for start in range(0, len(codes), _CHUNK):
        chunk = list(codes[start : start + _CHUNK])
        rows = await session.execute(
            select(func.lower(CatalogEntry.item_number), CatalogEntry.id).where(
                CatalogEntry.kind == kind, func.lower(CatalogEntry.item_number).in_(chunk)
            )
        )
        for code_key, entry_id in rows:
            found.setdefault(code_key, entry_id)
    return found


def _merge_note(candidate: _Candidate, earlier_id: int, earlier_name: str) -> str:
    if candidate.values["item_name"] == earlier_name:
        return f"the same entry as legacy id {earlier_id}: merged into it"
    return (
        f"the same code as legacy id {earlier_id}: merged into it, keeping the name "
        f"{earlier_name!r}, not {candidate.values['item_name']!r}"
    )


async def _import_once(
    session: AsyncSession, kind: str, rows: Sequence[Mapping[str, Any]], seen: Mapping[tuple[str, str], tuple[int, str]]
) -> CatalogImport:
    """One attempt: plan against what is stored now, write, commit. Returns what this batch did."""
    done = CatalogImport()
    candidates: list[_Candidate] = []
    for row in rows:
        outcome = _candidate(kind, row)
        if isinstance(outcome, Refusal):
            done.refused.append(outcome)
        else:
            candidates.append(outcome)
    existing = await _existing(session, kind, sorted({rules.code_key(c.code) for c in candidates}))
    new: dict[str, tuple[_Candidate, CatalogEntry]] = {}
    #: (legacy id of a merged row, code key of the new entry it was merged into)
    merged: list[tuple[int, str]] = []
    for candidate in candidates:
        code = (kind, rules.code_key(candidate.code))
        key = f"{kind}:{candidate.code}"
        earlier = seen.get(code) or done.codes.get(code)
        if earlier is not None:
            done.present += 1
            done.notes.append(Note(candidate.legacy_id, key, _merge_note(candidate, *earlier)))
            if code[1] in existing:
                done.ids[(kind, candidate.legacy_id)] = existing[code[1]]
            else:
                merged.append((candidate.legacy_id, code[1]))
            continue
        done.codes[code] = (candidate.legacy_id, candidate.values["item_name"])
        if code[1] in existing:
            done.present += 1
            done.ids[(kind, candidate.legacy_id)] = existing[code[1]]
            continue
        if candidate.note:
            done.notes.append(Note(candidate.legacy_id, key, candidate.note))
        new[code[1]] = (candidate, CatalogEntry(**candidate.values))
    session.add_all([entry for _, entry in new.values()])
    await session.flush()
    for candidate, entry in new.values():
        done.imported += 1
        done.ids[(kind, candidate.legacy_id)] = entry.id
    for legacy_id, code_key in merged:
        done.ids[(kind, legacy_id)] = done.ids[(kind, new[code_key][0].legacy_id)]
    await session.commit()
    session.expunge_all()
    return done


async def import_catalog_entries(
    session: AsyncSession,
    kind: str,
    rows: Iterable[Mapping[str, Any]],
    *,
    report: CatalogImport | None = None,
) -> CatalogImport:
    """Import one catalog's legacy rows into the catalog ``kind``; ``report`` (from an earlier
    call) is added to and returned, its ``ids`` mapping ``(kind, legacy id)`` to the entry here.

    The batch is written in one transaction; should another process add one of its codes
    meanwhile, it is planned again against what is stored then.
    ``session`` serves the import alone: it is committed and cleared after the batch.
    """
    if not rules.is_known_kind(kind):
        raise ValueError(rules.unknown_kind_message(kind))
    report = report if report is not None else CatalogImport()
    batch = list(rows)
    done = await retry_on_conflict(session, lambda: _import_once(session, kind, batch, report.codes))
    report.add(done)
    report.ids.update(done.ids)
    report.codes.update(done.codes)
    return report
