"""The exact total of a list filtered by status at most, from the counts the database keeps.

``record_status_count`` (see ``dmt_records.db.counts`` and migration 0004) holds the records
not deleted per status, kept by triggers: summing a few of its rows answers what counting the
records would, in constant time.

``is_closed`` is a column of its own, but every writer sets it with the status (closing sets
both, reopening clears both, the import and the bulk load derive one from the other): a record
is closed exactly when its status is ``closed``, so the flag narrows the statuses.
"""

from __future__ import annotations

import dataclasses

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from dmt_records.db.counts import record_status_count
from dmt_records.domain.records.filters import RecordFilters
from dmt_records.domain.records.rules import Status

ALL_STATUSES = frozenset(status.value for status in Status)


def counted_statuses(filters: RecordFilters) -> frozenset[str] | None:
    """The statuses whose live records make the list's total, or None when ``filters`` narrows
    by anything other than status and ``is_closed`` (the reader's time zone narrows nothing)."""
    if dataclasses.replace(filters, statuses=(), is_closed=None) != RecordFilters(tz=filters.tz):
        return None
    statuses = frozenset(filters.statuses) if filters.statuses else ALL_STATUSES
    if filters.is_closed is True:
        statuses &= {Status.CLOSED.value}
    elif filters.is_closed is False:
        statuses -= {Status.CLOSED.value}
    return statuses


async def live_count(session: AsyncSession, filters: RecordFilters) -> int | None:
    """The exact number of records the list of ``filters`` holds, read from the kept counts; None
    when the filters narrow by more than status and ``is_closed`` (count the records then)."""
    statuses = counted_statuses(filters)
    if statuses is None:
        return None
    if not statuses:
        return 0
    query = select(func.coalesce(func.sum(record_status_count.c.live), 0))
    if statuses != ALL_STATUSES:
        query = query.where(record_status_count.c.status.in_(sorted(statuses)))
    return int(await session.scalar(query) or 0)
