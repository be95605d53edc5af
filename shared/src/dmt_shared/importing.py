"""What every service's import of the predecessor's data reports, row by row.

Each service imports its own part (users, catalog entries, records) and says, for the rows it
could not take, why, and for the rows it took with a change, what; the import tool gathers
these into one report.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

T = TypeVar("T")


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
