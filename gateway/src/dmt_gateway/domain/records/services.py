"""Labels for record answers, resolved in batches: never one call per row.

For an answer of the records service, every catalog id and user id of every record is
collected, then masterdata and auth are each asked once (at most one call per
:data:`~dmt_shared.contracts.MAX_LOOKUP` ids), both at the same time, with the caller's
own token. A label goes next to each id field; catalog names are in the reader's language
(Spanish or Chinese when the entry has that name, else English). When a service fails, the
answer still comes, with the ids, no labels from that service, and its name in ``unresolved``.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable, Mapping
from typing import Any, TypeVar

import msgspec

from dmt_gateway.domain.records.rules import CATALOG_FIELDS, LABEL_OF, USER_FIELDS, View
from dmt_gateway.domain.records.schemas import CatalogLabel, UserLabel
from dmt_gateway.upstreams import Upstreams
from dmt_shared.contracts import (
    CATALOG_LOOKUP_PATH,
    MAX_LOOKUP,
    USER_LOOKUP_PATH,
    CatalogLookupRequest,
    CatalogLookupResponse,
    CatalogRef,
    UserLookupRequest,
    UserLookupResponse,
)
from dmt_shared.http import UpstreamUnavailable

log = logging.getLogger("dmt.gateway.records")

T = TypeVar("T")
R = TypeVar("R")

CatalogKey = tuple[str, int]


class LookupFailed(Exception):
    def __init__(self, service: str, reason: str) -> None:
        super().__init__(f"{service}: {reason}")
        self.service = service


# ------------------------------------------------------------------ pure parts


def records_of(body: Any, view: View) -> list[dict[str, Any]]:
    """The records inside an answer (the items of a page, or the record itself)."""
    if not isinstance(body, dict):
        return []
    if view is View.PAGE:
        items = body.get("items")
        return [item for item in items if isinstance(item, dict)] if isinstance(items, list) else []
    return [body]


def _an_id(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def references(records: Iterable[Mapping[str, Any]]) -> tuple[set[CatalogKey], set[int]]:
    """Every catalog entry and every user the records point to, each once."""
    catalogs: set[CatalogKey] = set()
    users: set[int] = set()
    for record in records:
        for field, kind in CATALOG_FIELDS.items():
            if (ident := _an_id(record.get(field))) is not None:
                catalogs.add((kind, ident))
        for field in USER_FIELDS:
            if (ident := _an_id(record.get(field))) is not None:
                users.add(ident)
    return catalogs, users


def with_labels(
    record: Mapping[str, Any],
    catalogs: Mapping[CatalogKey, CatalogLabel] | None,
    users: Mapping[int, UserLabel] | None,
) -> dict[str, Any]:
    """``record`` with a label after each id field; null where the id is null, unknown or unresolved."""
    # A label computed here wins over a same-named field of the service's answer.
    replaced = {LABEL_OF[key] for key in record if key in LABEL_OF}
    out: dict[str, Any] = {}
    for key, value in record.items():
        if key in replaced:
            continue
        out[key] = value
        label_name = LABEL_OF.get(key)
        if label_name is None:
            continue
        ident = _an_id(value)
        label: CatalogLabel | UserLabel | None = None
        if ident is not None:
            if key in CATALOG_FIELDS:
                label = catalogs.get((CATALOG_FIELDS[key], ident)) if catalogs is not None else None
            else:
                label = users.get(ident) if users is not None else None
        out[label_name] = label
    return out


def labelled_body(
    body: Any,
    view: View,
    catalogs: Mapping[CatalogKey, CatalogLabel] | None,
    users: Mapping[int, UserLabel] | None,
    unresolved: Iterable[str],
) -> Any:
    """The answer with labels on every record and, when a look-up failed, ``unresolved``."""
    if not isinstance(body, dict):
        return body
    if view is View.PAGE:
        items = body.get("items")
        if not isinstance(items, list):
            return body
        out = dict(body)
        out["items"] = [with_labels(i, catalogs, users) if isinstance(i, dict) else i for i in items]
    else:
        out = with_labels(body, catalogs, users)
    failed = sorted(set(unresolved))
    if failed:
        out["unresolved"] = failed
    return out


def batches(items: Iterable[T], size: int = MAX_LOOKUP) -> list[list[T]]:
    ordered = sorted(items)  # type: ignore[type-var]
    return [ordered[i : i + size] for i in range(0, len(ordered), size)]


# ------------------------------------------------------------------ calls


class RecordLabeller:
    """Resolves the labels of record answers through masterdata and auth."""

    def __init__(self, upstreams: Upstreams, *, timeout: float) -> None:
        self._upstreams = upstreams
        self._timeout = timeout

    async def _lookup(self, service: str, path: str, message: Any, answer: type[R], headers: dict[str, str]) -> R:
        try:
            response = await self._upstreams.client(service).request(
                "POST",
                path,
                content=msgspec.json.encode(message),
                headers={**headers, "content-type": "application/json"},
                timeout=self._timeout,
            )
        except UpstreamUnavailable as exc:
            raise LookupFailed(service, exc.reason) from exc
        if response.status_code != 200:
            raise LookupFailed(service, f"it answered {response.status_code}")
        try:
            return msgspec.json.decode(response.content, type=answer)
        except msgspec.DecodeError as exc:
            raise LookupFailed(service, f"its answer does not match the contract: {exc}") from exc

    async def _catalogs(
        self, keys: set[CatalogKey], headers: dict[str, str], language: str
    ) -> dict[CatalogKey, CatalogLabel]:
        answers = await asyncio.gather(
            *(
                self._lookup(
                    "masterdata",
                    CATALOG_LOOKUP_PATH,
                    CatalogLookupRequest(items=[CatalogRef(kind=kind, id=ident) for kind, ident in batch]),
                    CatalogLookupResponse,
                    headers,
                )
                for batch in batches(keys)
            )
        )
        return {
            (entry.kind, entry.id): CatalogLabel(
                id=entry.id, item_number=entry.item_number, item_name=entry.name_in(language)
            )
            for answer in answers
            for entry in answer.items
        }

    async def _users(self, ids: set[int], headers: dict[str, str]) -> dict[int, UserLabel]:
        answers = await asyncio.gather(
            *(
                self._lookup("auth", USER_LOOKUP_PATH, UserLookupRequest(ids=batch), UserLookupResponse, headers)
                for batch in batches(ids)
            )
        )
        return {
            user.id: UserLabel(id=user.id, username=user.username, full_name=user.full_name)
            for answer in answers
            for user in answer.items
        }

    async def _resolve(self, service: str, call: Any, unresolved: list[str]) -> Any:
        try:
            async with asyncio.timeout(self._timeout):
                return await call
        except LookupFailed as exc:
            log.warning("record labels from %s are missing: %s", service, exc)
        except TimeoutError:
            log.warning("record labels from %s are missing: no answer within %s s", service, self._timeout)
        unresolved.append(service)
        return None

    async def label(self, body: Any, view: View, headers: dict[str, str], *, language: str = "en") -> Any:
        """``body`` (a records answer) with labels; ``headers`` are the caller's (its token);
        catalog names in ``language`` (en, es, zh)."""
        catalog_keys, user_ids = references(records_of(body, view))
        unresolved: list[str] = []
        catalogs: dict[CatalogKey, CatalogLabel] | None = {}
        users: dict[int, UserLabel] | None = {}
        calls: list[Any] = []
        if catalog_keys:
            calls.append(self._resolve("masterdata", self._catalogs(catalog_keys, headers, language), unresolved))
        if user_ids:
            calls.append(self._resolve("auth", self._users(user_ids, headers), unresolved))
        results = await asyncio.gather(*calls)
        if catalog_keys:
            catalogs = results.pop(0)
        if user_ids:
            users = results.pop(0)
        return labelled_body(body, view, catalogs, users, unresolved)
