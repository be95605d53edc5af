"""A record's audit trail (21 CFR 11.10(e)): written with every change, read page by page, never changed.

Every write path of the records service calls :func:`record_lines` inside the transaction of its
change, so a change and its lines are saved together or not at all. A line keeps the actor's
username, name and role as they were then (a renamed user does not rewrite the past) and the old
and new values as text, so the trail reads the same whatever the record's columns become:

- ids ``"12"``, dates and times ISO 8601, money and hours with two decimals ``"12.50"``,
  booleans ``"true"`` / ``"false"``, nothing ``null``.

No endpoint changes or removes a line; the reader here only reads.
"""

from __future__ import annotations

import datetime as dt
import enum
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import func, insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from dmt_records.db.models import RecordHistory, utcnow
from dmt_records.domain.records.schemas import HistoryLine
from dmt_shared.pagination import Page, offset
from dmt_shared.problems import FieldError, ProblemError
from dmt_shared.request_id import current_request_id
from dmt_shared.tokens import Principal

CENT = Decimal("0.01")

#: What a line says happened.
CREATED = "created"
IMPORTED = "imported"
CHANGED = "changed"
CLOSED = "closed"
REOPENED = "reopened"
SIGNED = "signed"
DELETED = "deleted"
TRANSLATED = "translated"

#: One changed value: (field, language of a text or None, old value, new value).
Change = tuple[str | None, str | None, Any, Any]


@dataclass(frozen=True)
class Actor:
    """Who made a change, as the trail keeps it; ``id`` None for the system."""

    id: int | None
    username: str
    name: str
    role: str | None = None

    @classmethod
    def of(cls, principal: Principal) -> Actor:
        return cls(id=principal.id, username=principal.username, name=principal.full_name, role=principal.role.value)


#: The predecessor import, as the actor of the "imported" lines.
IMPORT_ACTOR = Actor(id=None, username="import", name="Predecessor import")


def as_text(value: Any) -> str | None:
    """A value as the trail keeps it (see the module's rules)."""
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, enum.Enum):
        return as_text(value.value)
    if isinstance(value, Decimal):
        return str(value.quantize(CENT))
    if isinstance(value, float):
        return str(Decimal(repr(value)).quantize(CENT))
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    return str(value)


def _request_id() -> str | None:
    rid = current_request_id()
    return None if rid in ("", "-") else rid[:64]


async def record_lines(
    session: AsyncSession,
    record_id: int,
    actor: Principal | Actor,
    action: str,
    changes: Sequence[Change],
    version: int | None,
    reason: str | None = None,
    request_id: str | None = None,
    *,
    at: dt.datetime | None = None,
) -> None:
    """Add one line per change (at least one: an action without changes, e.g. a deletion, is a
    line of its own) to the session's transaction; the caller commits it with the change."""
    who = Actor.of(actor) if isinstance(actor, Principal) else actor
    when = at or utcnow()
    rid = request_id or _request_id()
    rows = [
        {
            "record_id": record_id,
            "at": when,
            "actor_id": who.id,
            "actor_username": who.username,
            "actor_name": who.name,
            "actor_role": who.role,
            "action": action,
            "field": field,
            "language": language,
            "old_value": as_text(old),
            "new_value": as_text(new),
            "reason": reason,
            "version": version,
            "request_id": rid,
        }
        for field, language, old, new in (changes or [(None, None, None, None)])
    ]
    # All lines in one round trip (an executemany of one cached statement), inserted in the order
    # given, so their ids keep that order on every database.
    await session.execute(insert(RecordHistory.__table__), rows)


# ---------------------------------------------------------------- reading


def zone(name: str | None) -> ZoneInfo | None:
    """The IANA time zone a reader asked for; 400 naming ``tz`` when there is no such zone."""
    if name is None or name == "":
        return None
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ProblemError(
            400,
            f"unknown time zone {name!r}: give an IANA name such as Europe/Madrid",
            errors=[FieldError("tz", "not a known IANA time zone")],
        ) from exc


def history_line(row: RecordHistory, tz: ZoneInfo | None) -> HistoryLine:
    at = row.at if row.at.tzinfo else row.at.replace(tzinfo=dt.UTC)
    return HistoryLine(
        id=row.id,
        at=at.astimezone(dt.UTC),
        at_local=at.astimezone(tz).isoformat() if tz else None,
        actor_id=row.actor_id,
        actor_username=row.actor_username,
        actor_name=row.actor_name,
        actor_role=row.actor_role,
        action=row.action,
        field=row.field,
        language=row.language,
        old_value=row.old_value,
        new_value=row.new_value,
        reason=row.reason,
        version=row.version,
    )


async def read_history(
    session: AsyncSession, record_id: int, *, page: int, page_size: int, tz: ZoneInfo | None
) -> Page[HistoryLine]:
    """A page of the record's trail, oldest first (by id: the order the lines were written)."""
    total = (
        await session.scalar(
            select(func.count()).select_from(RecordHistory).where(RecordHistory.record_id == record_id)
        )
        or 0
    )
    rows = (
        await session.execute(
            select(RecordHistory)
            .where(RecordHistory.record_id == record_id)
            .order_by(RecordHistory.id.asc())
            .limit(page_size)
            .offset(offset(page, page_size))
        )
    ).scalars()
    return Page(items=[history_line(r, tz) for r in rows], total=total, page=page, page_size=page_size)
