"""Asking the records service how many records use a catalog entry (before deleting it)."""

from __future__ import annotations

import msgspec

from dmt_shared.contracts import CATALOG_USAGE_PATH, CatalogUsage
from dmt_shared.http import ServiceClient, UpstreamUnavailable


async def records_using(client: ServiceClient, kind: str, entry_id: int, headers: dict[str, str]) -> int:
    """How many records point to the entry, as the records service answers on the caller's behalf.

    Unreachable, a 5xx, or an answer that does not fit the contract all raise
    :class:`UpstreamUnavailable` (503): an entry is never deleted while its use is unknown.
    """
    body = await client.json("GET", CATALOG_USAGE_PATH, params={"kind": kind, "id": entry_id}, headers=headers)
    try:
        usage = msgspec.convert(body, CatalogUsage)
    except msgspec.ValidationError as exc:
        raise UpstreamUnavailable(client.service, f"its usage answer does not fit the contract ({exc})") from exc
    if usage.kind != kind or usage.id != entry_id or usage.records < 0:
        raise UpstreamUnavailable(client.service, "its usage answer does not match the entry asked about")
    return usage.records
