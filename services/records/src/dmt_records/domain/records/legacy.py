"""DMT records of the predecessor, brought into this service's tables.

The predecessor kept a record as one row of ``dmtrecord`` with the fields of the paper form
under the names used here, its five free texts as ``<field>_en``, ``<field>_es`` and
``<field>_zh`` columns (``defect_description_en``, ...), a naive UTC ``created_at`` and the
author's user id in ``created_by_id``. :func:`import_records` takes such rows as plain mappings
(a missing key is an empty value) together with where the predecessor's catalog entries and
users went, and writes them with this service's rules:

- records are matched by report number, letter case aside. One that already exists with the
  same content is left as it is (a second import changes nothing); one with the same number
  and other content is refused and named, never overwritten;
- report numbers, record dates, ``created_at``, authors, every section, closed or not, and the
  approval are kept; the status follows from what is filled, by :mod:`.rules`;
- each text keeps all three languages. The predecessor translated by machine on every save and
  did not keep which language was written, so the first non-empty of en, es, zh counts as the
  author's (origin ``author``) and the others as ``machine`` translations;
- a row breaking a rule that this service relies on is refused with every reason: a required
  field empty, a catalog entry or user it points to that is missing from the predecessor or was
  refused there, a quantity below 1, a negative cost, a value longer than its column;
- what is kept with a change is noted: a record without a report number gets ``LEGACY-<id>``
  (the same on every run), a record the predecessor closed without its decision is kept closed;
- the yearly report counter moves past imported numbers of the ``DMT-<year>-<n>`` form, so new
  records do not have to step over them;
- each imported record's history starts with one ``imported`` line (the predecessor kept no
  history to bring), written with the record: a second import, which imports nothing, adds none.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

from sqlalchemy import func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from dmt_records.db.models import Record, RecordHistory, RecordText, ReportCounter, utcnow
from dmt_records.domain.records import history, rules
from dmt_records.domain.records.languages import LANGUAGES
from dmt_shared.contracts import RECORD_CATALOG_FIELDS, RECORD_USER_FIELDS
from dmt_shared.importing import ImportTally, Note, Refusal, legacy_int, legacy_utc, retry_on_conflict

ORIGIN_AUTHOR = "author"
ORIGIN_MACHINE = "machine"
REPORT_NUMBER_MAX = 32
#: Text columns and their lengths.
STRING_FIELDS: dict[str, int] = {
    "operation": 120,
    "serial_number": 64,
    "responsible_department": 120,
    "sdr_number": 64,
}
#: Decimal columns and the largest value each holds (2 decimals).
DECIMAL_FIELDS: dict[str, Decimal] = {
    "rework_hours": Decimal("99999999.99"),
    "material_scrap_cost": Decimal("9999999999.99"),
    "other_cost": Decimal("9999999999.99"),
}
DATE_FIELDS: tuple[str, ...] = ("date", "disposition_date", "disposition_approval_date")
QUANTITY_MAX = 2_147_483_647
CENT = Decimal("0.01")
#: Compared when deciding whether a stored record is the legacy one (besides texts and created_at).
CONTENT_FIELDS: tuple[str, ...] = (
    *(f for f in rules.ALL_FIELDS if f not in rules.TEXT_FIELDS),
    "report_number",
    "is_closed",
    "created_by_id",
)
_NUMBER_FORM = re.compile(rf"^{rules.REPORT_NUMBER_PREFIX}-(\d{{4}})-(\d+)$")
#: Attributes whose column is named otherwise.
_COLUMN_OF = {"date": "record_date"}
#: How many report numbers one query looks for.
_CHUNK = 500


@dataclass
class RecordImport(ImportTally):
    """What an import did. Pass it to the next call to add a further batch to it: it also
    remembers which legacy record each report number came from, to name duplicates."""

    #: legacy record id -> record id here (imported or already present)
    ids: dict[int, int] = field(default_factory=dict)
    #: report number (lower case) -> the legacy record that holds it in this run
    numbers: dict[str, int] = field(default_factory=dict)


@dataclass
class _Candidate:
    legacy_id: int
    values: dict[str, Any]
    #: (field, language) -> text
    texts: dict[tuple[str, str], str]
    #: field -> the language the author is taken to have written it in
    sources: dict[str, str]
    notes: list[str]

    @property
    def key(self) -> str:
        return str(self.values["report_number"]).lower()


# ---------------------------------------------------------------- pure conversion of one row


def _blank(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def _as_date(value: Any) -> dt.date | None:
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    if isinstance(value, str):
        text = value.strip()
        try:
            return dt.date.fromisoformat(text[:10])
        except ValueError:
            return None
    return None


def _as_cents(value: Any) -> Decimal | None:
    try:
        number = Decimal(str(value).strip())
    except (InvalidOperation, ValueError):
        return None
    if not number.is_finite():
        return None
    return number.quantize(CENT, rounding=ROUND_HALF_UP)


def _texts(row: Mapping[str, Any], notes: list[str]) -> tuple[dict[tuple[str, str], str], dict[str, str]]:
    texts: dict[tuple[str, str], str] = {}
    sources: dict[str, str] = {}
    for name in rules.TEXT_FIELDS:
        by_language = {lang: row.get(f"{name}_{lang}") for lang in LANGUAGES}
        if all(_blank(v) for v in by_language.values()) and not _blank(row.get(name)):
            # A predecessor without per-language columns kept the text as written, in English.
            by_language = {"en": row.get(name)}
        for lang, value in by_language.items():
            if _blank(value):
                continue
            text = str(value).strip()
            texts[(name, lang)] = text
            sources.setdefault(name, lang)
            if len(text) > rules.TEXT_MAX_LENGTH:
                notes.append(
                    f"{name} ({lang}) has {len(text)} characters, more than the {rules.TEXT_MAX_LENGTH} "
                    "an edit accepts: kept whole"
                )
    return texts, sources


def _candidate(
    row: Mapping[str, Any], catalog_ids: Mapping[tuple[str, int], int], user_ids: Mapping[int, int]
) -> _Candidate | Refusal:
    """The row as this service would store it, or every reason it cannot be."""
    legacy_id = legacy_int(row.get("id"))
    raw_number = row.get("report_number")
    number = str(raw_number).strip() if not _blank(raw_number) else None
    if legacy_id is None:
        return Refusal(row.get("id"), number or "", "the row has no usable id")
    #: field -> why its value cannot be kept
    faults: dict[str, str] = {}
    notes: list[str] = []
    if number is None:
        number = f"LEGACY-{legacy_id}"
        notes.append(f"had no report number: given {number}")
    elif len(number) > REPORT_NUMBER_MAX:
        faults["report_number"] = f"report number is longer than {REPORT_NUMBER_MAX} characters"
    values: dict[str, Any] = {"report_number": number}

    for name, kind in RECORD_CATALOG_FIELDS.items():
        raw = row.get(name)
        legacy_ref = legacy_int(raw)
        values[name] = None if legacy_ref is None else catalog_ids.get((kind, legacy_ref))
        if not _blank(raw) and values[name] is None:
            faults[name] = f"{name} {raw} points to no {kind} entry (missing from the predecessor or refused)"
    for name in RECORD_USER_FIELDS:
        raw = row.get(name)
        legacy_ref = legacy_int(raw)
        values[name] = None if legacy_ref is None else user_ids.get(legacy_ref)
        if not _blank(raw) and values[name] is None:
            faults[name] = f"{name} {raw} points to no user (missing from the predecessor or refused)"

    for name, limit in STRING_FIELDS.items():
        raw = row.get(name)
        values[name] = None if _blank(raw) else str(raw).strip()
        if values[name] is not None and len(values[name]) > limit:
            faults[name] = f"{name} is longer than {limit} characters"

    raw_quantity = row.get("quantity")
    values["quantity"] = None if _blank(raw_quantity) else legacy_int(raw_quantity)
    if not _blank(raw_quantity) and (values["quantity"] is None or not 1 <= values["quantity"] <= QUANTITY_MAX):
        faults["quantity"] = f"quantity must be a whole number of at least 1, not {raw_quantity!r}"

    for name in DATE_FIELDS:
        raw = row.get(name)
        values[name] = None if _blank(raw) else _as_date(raw)
        if not _blank(raw) and values[name] is None:
            faults[name] = f"{name} {raw!r} is not a date"

    for name, largest in DECIMAL_FIELDS.items():
        raw = row.get(name)
        values[name] = None if _blank(raw) else _as_cents(raw)
        if _blank(raw):
            continue
        if values[name] is None:
            faults[name] = f"{name} {raw!r} is not a number"
        elif not Decimal(0) <= values[name] <= largest:
            faults[name] = f"{name} must be between 0 and {largest}, not {raw}"

    texts, sources = _texts(row, notes)
    authored = {name: texts[(name, lang)] for name, lang in sources.items()}
    for name in rules.missing_at_creation({**values, **authored}):
        faults.setdefault(name, f"{name} is required but empty")
    if _blank(row.get("created_by_id")):
        faults["created_by_id"] = "created_by_id is empty: the record has no author"
    if faults:
        return Refusal(legacy_id, number, "; ".join(faults.values()))

    is_closed = bool(row.get("is_closed"))
    values["is_closed"] = is_closed
    values["status"] = rules.derive_status({**values, **authored}, is_closed=is_closed).value
    if is_closed:
        lacking = rules.missing_to_close(values)
        if lacking:
            notes.append(f"closed in the predecessor without {', '.join(lacking)}: kept closed")
    created_at = legacy_utc(row.get("created_at"))
    if created_at is None:
        created_at = dt.datetime.combine(values["date"], dt.time(), tzinfo=dt.UTC)
        notes.append("had no created_at: the record date stands in for it")
    values["created_at"] = created_at
    values["updated_at"] = legacy_utc(row.get("updated_at")) or created_at
    values["version"] = 1
    return _Candidate(legacy_id, values, texts, sources, notes)


def _text_rows(record_id: int, candidate: _Candidate) -> list[dict[str, Any]]:
    return [
        {
            "record_id": record_id,
            "field": name,
            "language": lang,
            "text": text,
            "origin": ORIGIN_AUTHOR if candidate.sources[name] == lang else ORIGIN_MACHINE,
            "updated_at": candidate.values["updated_at"],
        }
        for (name, lang), text in candidate.texts.items()
    ]


def _imported_line(record_id: int, candidate: _Candidate, at: dt.datetime) -> dict[str, Any]:
    """The first line of an imported record's history: where it came from."""
    actor = history.IMPORT_ACTOR
    return {
        "record_id": record_id,
        "at": at,
        "actor_id": actor.id,
        "actor_username": actor.username,
        "actor_name": actor.name,
        "actor_role": actor.role,
        "action": history.IMPORTED,
        "new_value": f"legacy record {candidate.legacy_id}",
        "version": candidate.values["version"],
    }


def _columns(values: Mapping[str, Any]) -> dict[str, Any]:
    """A record's values keyed by column name rather than attribute."""
    return {_COLUMN_OF.get(name, name): value for name, value in values.items()}


def _same_moment(a: dt.datetime, b: dt.datetime) -> bool:
    """Equal to the second (some databases keep datetimes to the second only)."""
    return abs(a - b) < dt.timedelta(seconds=1)


def _same_content(candidate: _Candidate, other: _Candidate | tuple[Record, dict[tuple[str, str], str]]) -> bool:
    """Whether ``other`` (another legacy row, or a stored record and its texts) holds the same record."""
    if isinstance(other, _Candidate):
        values, texts = other.values, other.texts
    else:
        record, texts = other
        values = {name: getattr(record, name) for name in (*CONTENT_FIELDS, "created_at")}
    if any(candidate.values[name] != values[name] for name in CONTENT_FIELDS):
        return False
    return candidate.texts == texts and _same_moment(candidate.values["created_at"], values["created_at"])


# ---------------------------------------------------------------- the database


async def _stored(session: AsyncSession, keys: Sequence[str]) -> dict[str, tuple[Record, dict[tuple[str, str], str]]]:
    """Stored records with these report numbers (lower case keys), each with its texts."""
    found: dict[str, tuple[Record, dict[tuple[str, str], str]]] = {}
    for start in range(0, len(keys), _CHUNK):
        chunk = list(keys[start : start + _CHUNK])
        records = (
            (
                await session.execute(
                    select(Record)
                    .where(func.lower(Record.report_number).in_(chunk))
                    .execution_options(populate_existing=True)
                )
            )
            .scalars()
            .all()
        )
        if not records:
            continue
        by_id = {r.id: r for r in records}
        texts: dict[int, dict[tuple[str, str], str]] = {r.id: {} for r in records}
        rows = await session.execute(
            select(RecordText.record_id, RecordText.field, RecordText.language, RecordText.text).where(
                RecordText.record_id.in_(list(by_id))
            )
        )
        for record_id, name, lang, text in rows:
            texts[record_id][(name, lang)] = text
        for record in records:
            found.setdefault(record.report_number.lower(), (record, texts[record.id]))
    return found


async def _advance_counters(session: AsyncSession, numbers: Iterable[str]) -> None:
    """Move each year's counter past the imported numbers of the server's own form."""
    highest: dict[int, int] = {}
    for number in numbers:
        match = _NUMBER_FORM.match(number)
        if match:
            year, value = int(match.group(1)), int(match.group(2))
            highest[year] = max(highest.get(year, 0), value)
    if not highest:
        return
    current: dict[int, int] = dict(
        (
            await session.execute(
                select(ReportCounter.year, ReportCounter.last_value).where(ReportCounter.year.in_(list(highest)))
            )
        ).all()
    )
    for year, value in sorted(highest.items()):
        if year not in current:
            await session.execute(insert(ReportCounter).values(year=year, last_value=value))
        elif current[year] < value:
            await session.execute(
                update(ReportCounter)
                .where(ReportCounter.year == year, ReportCounter.last_value < value)
                .values(last_value=value)
            )


async def _import_once(
    session: AsyncSession,
    rows: Sequence[Mapping[str, Any]],
    catalog_ids: Mapping[tuple[str, int], int],
    user_ids: Mapping[int, int],
    seen: Mapping[str, int],
) -> RecordImport:
    """One attempt: plan against what is stored now, write, commit. Returns what this batch did."""
    done = RecordImport()
    candidates: list[_Candidate] = []
    for row in rows:
        outcome = _candidate(row, catalog_ids, user_ids)
        if isinstance(outcome, Refusal):
            done.refused.append(outcome)
        else:
            candidates.append(outcome)
    stored = await _stored(session, sorted({c.key for c in candidates}))
    new: dict[str, _Candidate] = {}
    #: (legacy id of a copy, legacy id of the record of this batch it copies)
    copies: list[tuple[int, int]] = []
    for candidate in candidates:
        number = candidate.values["report_number"]
        earlier_id = seen.get(candidate.key, done.numbers.get(candidate.key))
        first = new.get(candidate.key)
        existing = stored.get(candidate.key)
        other = first if first is not None else existing
        if other is None:
            new[candidate.key] = candidate
            done.numbers[candidate.key] = candidate.legacy_id
            continue
        same = _same_content(candidate, other)
        if earlier_id is None:
            assert existing is not None
            if same:
                done.present += 1
                done.ids[candidate.legacy_id] = existing[0].id
                done.numbers[candidate.key] = candidate.legacy_id
            else:
                reason = (
                    f"report number {number} already exists here (as {existing[0].report_number}) "
                    "with other content; left as it is"
                )
                done.refused.append(Refusal(candidate.legacy_id, number, reason))
        elif same:
            done.present += 1
            done.notes.append(
                Note(candidate.legacy_id, number, f"a second copy of legacy record {earlier_id}: imported once")
            )
            if first is not None:
                copies.append((candidate.legacy_id, first.legacy_id))
            elif existing is not None:
                done.ids[candidate.legacy_id] = existing[0].id
        else:
            reason = (
                f"report number {number} is also legacy record {earlier_id}'s, with other content; "
                "only that one was imported"
            )
            done.refused.append(Refusal(candidate.legacy_id, number, reason))

    if new:
        fresh = list(new.values())
        # Core inserts (many rows per statement); the record date's column is record_date.
        await session.execute(insert(Record.__table__), [_columns(c.values) for c in fresh])
        numbers = [c.values["report_number"] for c in fresh]
        ids: dict[str, int] = {}
        for start in range(0, len(numbers), _CHUNK):
            chunk = numbers[start : start + _CHUNK]
            result = await session.execute(
                select(Record.report_number, Record.id).where(Record.report_number.in_(chunk))
            )
            ids.update({number: record_id for number, record_id in result.all()})
        text_rows = [row for c in fresh for row in _text_rows(ids[c.values["report_number"]], c)]
        if text_rows:
            await session.execute(insert(RecordText.__table__), text_rows)
        now = utcnow()
        await session.execute(
            insert(RecordHistory.__table__),
            [_imported_line(ids[c.values["report_number"]], c, now) for c in fresh],
        )
        await _advance_counters(session, numbers)
        for candidate in fresh:
            done.imported += 1
            done.ids[candidate.legacy_id] = ids[candidate.values["report_number"]]
            done.notes.extend(Note(candidate.legacy_id, candidate.values["report_number"], n) for n in candidate.notes)
    await session.commit()
    session.expunge_all()
    for copy_id, original_id in copies:
        done.ids[copy_id] = done.ids[original_id]
    return done


async def import_records(
    session: AsyncSession,
    rows: Iterable[Mapping[str, Any]],
    *,
    catalog_ids: Mapping[tuple[str, int], int],
    user_ids: Mapping[int, int],
    report: RecordImport | None = None,
) -> RecordImport:
    """Import a batch of the predecessor's record rows; ``report`` (from earlier batches) is
    added to and returned.

    ``catalog_ids`` maps ``(kind, legacy id)`` to the catalog entry the masterdata service
    holds for it, ``user_ids`` maps legacy user ids to users of the auth service. The batch is
    written in one transaction; should another process take one of its report numbers
    meanwhile, it is planned again against what is stored then.
    ``session`` serves the import alone: it is committed and cleared after the batch.
    """
    report = report if report is not None else RecordImport()
    batch = list(rows)
    done = await retry_on_conflict(session, lambda: _import_once(session, batch, catalog_ids, user_ids, report.numbers))
    report.add(done)
    report.ids.update(done.ids)
    report.numbers.update(done.numbers)
    return report
