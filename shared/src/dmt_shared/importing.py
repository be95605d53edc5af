"""What every service's import of the predecessor's data reports, row by row.

Each service imports its own part (users, catalog entries, records) and says, for the rows it
could not take, why, and for the rows it took with a change, what; the import tool gathers
these into one report.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


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
