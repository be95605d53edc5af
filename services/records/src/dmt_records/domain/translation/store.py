"""A record's texts in three languages: the author's original, and a translation into each other one.

Every field has at most one row per language (en, es, zh). The author's row holds the original;
the other two are ``machine`` rows the translator fills in (pending until it has) or ``human``
rows, a person's correction, which no machine translation ever replaces. Each row carries the
sha256 of the original it translates (``source_hash``), so a translation of an original that
has changed since is recognised without comparing texts.

Saving an original never waits for the translator: it leaves machine rows pending, and the
worker (``worker.py``) fills them in later. Machine rows are made whether or not a translator
is configured, so configuring one later catches up on everything written meanwhile.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, cast

from sqlalchemy import delete, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from dmt_records.db.models import RecordText
from dmt_records.domain.records.languages import LANGUAGES
from dmt_records.domain.records.rules import TEXT_FIELDS
from dmt_records.domain.translation.schemas import Origin, State, TextSet, TextValue
from dmt_shared.problems import FieldError, unprocessable

AUTHOR = "author"
MACHINE = "machine"
HUMAN = "human"
DONE = "done"
PENDING = "pending"
FAILED = "failed"


@dataclass(frozen=True)
class TextChange:
    """One field's text as it was and as it is now, in ``language`` (for the record's history)."""

    field: str
    language: str
    old_text: str | None
    new_text: str | None


def sha(text: str) -> str:
    """The sha256 (hex) of a text as stored: what a translation records it was made from."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def author_row(rows: Iterable[RecordText]) -> RecordText | None:
    return next((r for r in rows if r.origin == AUTHOR), None)


def original_hash(author: RecordText) -> str | None:
    """The hash translations of this original carry; an imported original may have none stored."""
    if author.source_hash:
        return author.source_hash
    return sha(author.text) if author.text is not None else None


def is_outdated(row: RecordText, reference: str | None) -> bool:
    """A translation made from another original than the current one. Rows whose origin is unknown
    (imported without a hash) are taken as current: there is nothing to say otherwise."""
    return (
        row.origin != AUTHOR and reference is not None and row.source_hash is not None and row.source_hash != reference
    )


#: Where each language comes in a text set (en, es, zh); anything else after them.
LANGUAGE_RANK = {language: n for n, language in enumerate(LANGUAGES)}


def _language_rank(row: RecordText) -> int:
    return LANGUAGE_RANK.get(row.language, len(LANGUAGES))


def text_view(rows: Sequence[RecordText], reader: str | None) -> tuple[TextSet | None, str | None, str | None]:
    """One field as answered: every language's row, the text to show and the language it is in.

    The reader's language is shown when a text is there in it; otherwise the original.
    ``rows``: the field's :class:`RecordText` objects, or rows with the same names. (Every text
    of a list page passes here: it reads each row's values once.)
    """
    if not rows:
        return None, None, None
    author = author_row(rows)
    if author is None:
        author = next((r for r in rows if r.text is not None), rows[0])
        reference = None
    else:
        reference = original_hash(author)
    values: dict[str, TextValue] = {}
    for row in rows if len(rows) == 1 else sorted(rows, key=_language_rank):
        values[row.language] = TextValue(
            text=row.text,
            origin=cast(Origin, row.origin),
            state=cast(State, row.state or DONE),
            outdated=is_outdated(row, reference),
        )
    text_set = TextSet(source_language=author.language, values=values)
    if reader is not None:
        shown = values.get(reader)
        if shown is not None and shown.text is not None:
            return text_set, shown.text, reader
    return text_set, author.text, author.language


async def _rows(session: AsyncSession, record_id: int, fields: Iterable[str]) -> dict[str, list[RecordText]]:
    found = (
        await session.execute(
            select(RecordText)
            .where(RecordText.record_id == record_id, RecordText.field.in_(list(fields)))
            .execution_options(populate_existing=True)
        )
    ).scalars()
    grouped: dict[str, list[RecordText]] = {}
    for row in found:
        grouped.setdefault(row.field, []).append(row)
    return grouped


def _pending(digest: str, now: dt.datetime) -> dict[str, Any]:
    """A machine row waiting for the translator: due now, no attempt made for this original yet."""
    return {
        "origin": MACHINE,
        "text": None,
        "state": PENDING,
        "source_hash": digest,
        "attempts": 0,
        "next_attempt_at": now,
        "last_error": None,
        "claimed_until": None,
        "updated_at": now,
    }


def _original(text: str, digest: str, now: dt.datetime) -> dict[str, Any]:
    return {
        "origin": AUTHOR,
        "text": text,
        "state": DONE,
        "source_hash": digest,
        "attempts": 0,
        "next_attempt_at": None,
        "last_error": None,
        "claimed_until": None,
        "updated_at": now,
    }


async def write_original(
    session: AsyncSession,
    record_id: int,
    texts: Mapping[str, str | None],
    language: str,
    now: dt.datetime,
    *,
    fresh: bool = False,
) -> list[TextChange]:
    """Store the author's texts of a record, in the caller's transaction (it commits).

    For each field: ``None`` clears it in every language; a text becomes the original in
    ``language`` (whatever language the previous original was in), the machine rows of the other
    languages wait for a new translation, and human rows stay (now ``outdated``: the original
    they translate has changed). The same text in the same language changes nothing.
    ``fresh``: the record is new, so there is nothing to compare with.
    Returns the fields that changed.
    """
    if not texts:
        return []
    existing = {} if fresh else await _rows(session, record_id, texts)
    changes: list[TextChange] = []
    inserts: list[dict[str, Any]] = []
    updates: list[tuple[int, dict[str, Any]]] = []
    cleared: list[str] = []
    for field, text in texts.items():
        rows = existing.get(field, [])
        author = author_row(rows)
        old_text = author.text if author else None
        if text is None:
            if rows:
                cleared.append(field)
                changes.append(TextChange(field, author.language if author else language, old_text, None))
            continue
        if author is not None and author.language == language and author.text == text:
            continue
        digest = sha(text)
        by_language = {r.language: r for r in rows}
        for lang in LANGUAGES:
            values = _original(text, digest, now) if lang == language else _pending(digest, now)
            row = by_language.get(lang)
            if row is None:
                inserts.append({"record_id": record_id, "field": field, "language": lang, **values})
            elif lang == language or row.origin != HUMAN:
                updates.append((row.id, values))
        changes.append(TextChange(field, language, old_text, text))
    # In id order, as the translator claims rows: two writers never wait for each other crosswise.
    for row_id, values in sorted(updates, key=lambda u: u[0]):
        await session.execute(update(RecordText).where(RecordText.id == row_id).values(**values))
    if cleared:
        await session.execute(
            delete(RecordText).where(RecordText.record_id == record_id, RecordText.field.in_(cleared))
        )
    if inserts:
        await session.execute(insert(RecordText), inserts)
    return changes


async def write_correction(
    session: AsyncSession, record_id: int, field: str, language: str, text: str, now: dt.datetime
) -> TextChange:
    """Store a person's translation of one field, in the caller's transaction (it commits).

    It is marked as made from the current original, and no machine translation replaces it; it
    becomes ``outdated`` when the original is edited. The original itself is edited as the
    record is (PATCH), not here: 422 for the original's language, and for a field with no text.
    """
    if field not in TEXT_FIELDS:
        raise unprocessable([FieldError("field", f"not a text field; one of {', '.join(TEXT_FIELDS)}")])
    if language not in LANGUAGES:
        raise unprocessable([FieldError("language", f"one of {', '.join(LANGUAGES)}")])
    text = text.strip()
    if not text:
        raise unprocessable([FieldError("text", "a translation cannot be empty")])
    rows = (await _rows(session, record_id, [field])).get(field, [])
    author = author_row(rows)
    if author is None or author.text is None:
        raise unprocessable([FieldError(field, "this field has no text to translate")])
    if language == author.language:
        raise unprocessable(
            [FieldError("language", f"{language} is the language of the original: change the original instead")]
        )
    values = {
        "origin": HUMAN,
        "text": text,
        "state": DONE,
        "source_hash": original_hash(author),
        "attempts": 0,
        "next_attempt_at": None,
        "last_error": None,
        "claimed_until": None,
        "updated_at": now,
    }
    current = next((r for r in rows if r.language == language), None)
    if current is None:
        await session.execute(insert(RecordText).values(record_id=record_id, field=field, language=language, **values))
        return TextChange(field, language, None, text)
    old_text = current.text  # before the UPDATE brings the loaded row up to date
    await session.execute(update(RecordText).where(RecordText.id == current.id).values(**values))
    return TextChange(field, language, old_text, text)
