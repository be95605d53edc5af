"""What every service's import of the predecessor's data reports, row by row.

Each service imports its own part (users, catalog entries, records) and says, for the rows it
could not take, why, and for the rows it took with a change, what; the import tool gathers
these into one report.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, TypeVar

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

T = TypeVar("T")


def legacy_int(value: Any) -> int | None:
    """An id or count as the predecessor stored it (int, integral float or digits), else None."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float | Decimal) and value == int(value):
        return int(value)
    if isinstance(value, str) and value.strip().lstrip("-").isdigit():
        return int(value.strip())
    return None


def legacy_utc(value: Any) -> dt.datetime | None:
    """A predecessor timestamp (it stored naive UTC datetimes, or ISO text in SQLite) as an
    aware UTC datetime, else None."""
    if isinstance(value, str) and value.strip():
        try:
            value = dt.datetime.fromisoformat(value.strip())
        except ValueError:
            return None
    if isinstance(value, dt.datetime):
        return value.replace(tzinfo=dt.UTC) if value.tzinfo is None else value.astimezone(dt.UTC)
    return None


@dataclass(frozen=True)
class Refusal:
    """A legacy row that was not imported, and why. ``key`` names the row the way its owner
    does: a username, ``kind:item_number``, a report number."""

    legacy_id: Any
    key: str
    reason: str


@dataclass(frozen=True)
class Note:
    """A legacy row that was imported (or found again) with something worth knowing."""

    legacy_id: Any
    key: str
    note: str


@dataclass
class ImportTally:
    """The counts every import keeps; each service's report adds what it must remember
    between batches."""

    imported: int = 0
    present: int = 0
    refused: list[Refusal] = field(default_factory=list)
    notes: list[Note] = field(default_factory=list)

    @property
    def read(self) -> int:
        return self.imported + self.present + len(self.refused)

    def add(self, batch: ImportTally) -> None:
        """Count a finished batch into this report."""
        self.imported += batch.imported
        self.present += batch.present
        self.refused.extend(batch.refused)
        self.notes.extend(batch.notes)


async def retry_on_conflict(session: AsyncSession, attempt: Callable[[], Awaitable[T]], tries: int = 3) -> T:
    """Run one batch; when another writer took a key meanwhile (an IntegrityError), roll back and
    plan the batch again, since what is "already present" has changed."""
    for number in range(1, tries + 1):
        try:
            return await attempt()
        except IntegrityError:
            await session.rollback()
            if number == tries:
                raise
    raise AssertionError("unreachable")
