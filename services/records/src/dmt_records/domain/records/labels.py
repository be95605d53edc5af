"""Names for the ids a record holds, from the services that own them, for exports and charts.

One catalog look-up (masterdata) and one user look-up (auth) for a whole export or chart, never
one per row: callers collect the distinct ids first. Catalog names come in the reader's language
(``item_number - item_name``), users as ``username - full_name``. An id the owner does not know,
or a service that cannot be reached, leaves the bare id and says so in ``unresolved``.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import TypeVar

import msgspec

from dmt_shared.contracts import (
    CATALOG_LOOKUP_PATH,
    MAX_LOOKUP,
    USER_LOOKUP_PATH,
    CatalogEntrySummary,
    CatalogLookupRequest,
    CatalogLookupResponse,
    CatalogRef,
    UserLookupRequest,
    UserLookupResponse,
    UserSummary,
)
from dmt_shared.http import ServiceClient, UpstreamError, UpstreamUnavailable

log = logging.getLogger("dmt.records.labels")

T = TypeVar("T")


@dataclass
class Labels:
    """What the look-ups found; ``catalog_label`` and ``user_label`` fall back to the bare id."""

    language: str | None
    catalog: dict[tuple[str, int], CatalogEntrySummary] = field(default_factory=dict)
    users: dict[int, UserSummary] = field(default_factory=dict)
    #: "masterdata" / "auth" when that service could not be asked; ids it did not know otherwise.
    unresolved: list[str] = field(default_factory=list)

    def catalog_label(self, kind: str, ident: int | None) -> str:
        if ident is None:
            return ""
        entry = self.catalog.get((kind, ident))
        return entry.label_in(self.language) if entry else str(ident)

    def catalog_name(self, kind: str, ident: int | None) -> str:
        if ident is None:
            return ""
        entry = self.catalog.get((kind, ident))
        return entry.name_in(self.language) if entry else str(ident)

    def user_label(self, ident: int | None) -> str:
        if ident is None:
            return ""
        user = self.users.get(ident)
        return user.label if user else str(ident)


def _chunks(items: list[T], size: int = MAX_LOOKUP) -> Iterable[list[T]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


async def resolve(
    masterdata: ServiceClient,
    auth: ServiceClient,
    *,
    catalog_ids: Mapping[str, Iterable[int]],
    user_ids: Iterable[int],
    language: str | None,
    headers: Mapping[str, str],
) -> Labels:
    """Look up ``catalog_ids`` (kind -> ids) and ``user_ids`` concurrently, at most 1,000 per call.

    Never raises for an unreachable service: its ids stay bare and ``unresolved`` names it.
    """
    labels = Labels(language=language)
    refs: list[CatalogRef] = list(
        dict.fromkeys(CatalogRef(kind=kind, id=i) for kind, ids in catalog_ids.items() for i in ids if i is not None)
    )
    users: list[int] = sorted({i for i in user_ids if i is not None})

    async def catalogs() -> None:
        for chunk in _chunks(refs):
            request = CatalogLookupRequest(items=chunk)
            answer = await masterdata.json(
                "POST", CATALOG_LOOKUP_PATH, json=msgspec.to_builtins(request), headers=dict(headers)
            )
            for item in msgspec.convert(answer, CatalogLookupResponse).items:
                labels.catalog[(item.kind, item.id)] = item

    async def people() -> None:
        for chunk in _chunks(users):
            request = UserLookupRequest(ids=chunk)
            answer = await auth.json("POST", USER_LOOKUP_PATH, json=msgspec.to_builtins(request), headers=dict(headers))
            for user in msgspec.convert(answer, UserLookupResponse).items:
                labels.users[user.id] = user

    calls = {"masterdata": catalogs(), "auth": people()}
    results = await asyncio.gather(*calls.values(), return_exceptions=True)
    for service, result in zip(calls, results, strict=True):
        if isinstance(result, UpstreamUnavailable | UpstreamError | msgspec.ValidationError):
            log.warning("labels from %s unavailable: %s", service, result)
            labels.unresolved.append(service)
        elif isinstance(result, BaseException):
            raise result
    return labels
