"""Labels for record answers, resolved in batches: never one call per row.

For an answer of the records service, every catalog id and user id of every record is
collected, then masterdata and auth are each asked once (at most one call per
:data:`~dmt_shared.contracts.MAX_LOOKUP` ids), both at the same time, with the caller's
own token. A label goes next to each id field; catalog names are in the reader's language
(Spanish or Chinese when the entry has that name, else English). When a service fails, the
answer still comes, with the ids, no labels from that service, and its name in ``unresolved``.

Labels are kept between reads and checked against each service's content version
(:mod:`dmt_gateway.domain.records.cache`): a warm page of records costs no call at all.
"""

from __future__ import annotations

import asyncio
import functools
import time
from collections.abc import Callable, Iterable, Mapping
from typing import Any, TypeVar

import msgspec

from dmt_gateway.domain.records.cache import LabelCache, LookupFailed, VersionCheck
from dmt_gateway.domain.records.rules import CATALOG_FIELDS, LABEL_OF, USER_FIELDS, View
from dmt_gateway.domain.records.schemas import CatalogLabel, UserLabel
from dmt_gateway.upstreams import Upstreams
from dmt_shared.contracts import (
    CATALOG_LOOKUP_PATH,
    CATALOG_VERSION_PATH,
    MAX_LOOKUP,
    USER_LOOKUP_PATH,
    USER_VERSION_PATH,
    WANT_VERSION_HEADER,
    CatalogEntrySummary,
    CatalogLookupRequest,
    CatalogLookupResponse,
    CatalogRef,
    ContentVersion,
    UserLookupRequest,
    UserLookupResponse,
)
from dmt_shared.http import UpstreamUnavailable

T = TypeVar("T")
R = TypeVar("R")

CatalogKey = tuple[str, int]


# ------------------------------------------------------------------ pure parts


def records_of(body: Any, view: View) -> list[dict[str, Any]]:
    """The records inside an answer (the items of a page, or the record itself)."""
    if not isinstance(body, dict):
        return []
    if view is View.PAGE:
        items = body.get("items")
        return [item for item in items if isinstance(item, dict)] if isinstance(items, list) else []
    return [body]


#: A record's fields as they came, each value still its JSON text (see :func:`decode_answer`).
_RECORD = msgspec.json.Decoder(dict[str, msgspec.Raw])
_RECORDS = msgspec.json.Decoder(list[dict[str, msgspec.Raw]])
_ANY = msgspec.json.Decoder()


def decode_answer(content: bytes, view: View) -> Any:
    """A records answer read for labelling: objects down to each record's fields, every value of a
    record kept as its JSON text (:class:`msgspec.Raw`), written out again as it came.

    Only the id fields are ever read, so nothing else of a record (texts, signatures, notes)
    becomes Python objects on its way through. An answer of another shape is decoded whole.
    Raises :class:`msgspec.DecodeError` when ``content`` is not JSON.
    """
    try:
        if view is View.ONE:
            record = _RECORD.decode(content)
            _read_ids(record)
            return record
        body: dict[str, Any] = _RECORD.decode(content)
        items = body.get("items")
        if items is not None:
            records = body["items"] = _RECORDS.decode(items)
            for record in records:
                _read_ids(record)
        return body
    except msgspec.ValidationError:
        return _ANY.decode(content)


#: The fields of a record that point to a catalog entry or a user.
_ID_FIELDS = tuple(LABEL_OF)


def _read_ids(record: dict[str, Any]) -> None:
    """The id fields of ``record`` as numbers (or None) rather than JSON text; they are written
    out again the same."""
    for key in _ID_FIELDS:
        value = record.get(key)
        if type(value) is msgspec.Raw:
            text = bytes(value)
            if text.isdigit():
                record[key] = int(text)
            elif text == b"null":
                record[key] = None
            else:
                record[key] = _ANY.decode(text)


def _an_id(value: Any) -> int | None:
    if type(value) is int:
        return value
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


#: The fields labels go into; a service's answer rarely has one of them.
_LABEL_NAMES = frozenset(LABEL_OF.values())


@functools.lru_cache(maxsize=64)
def _plan(keys: tuple[str, ...]) -> tuple[tuple[str, ...], tuple[tuple[int, str | None], ...]] | None:
    """How a record with the fields ``keys`` (in this order) gets its labels: the fields of the
    answer, and, last first, the place of each id field with its catalog (None: a user).
    None when the record already has a field named like a label (see :func:`with_labels`)."""
    if not _LABEL_NAMES.isdisjoint(keys):
        return None
    fields: list[str] = []
    slots: list[tuple[int, str | None]] = []
    for index, key in enumerate(keys):
        fields.append(key)
        label_name = LABEL_OF.get(key)
        if label_name is not None:
            fields.append(label_name)
            slots.append((index, CATALOG_FIELDS.get(key)))
    return tuple(fields), tuple(reversed(slots))


def _label(
    kind: str | None,
    value: Any,
    catalogs: Mapping[CatalogKey, CatalogLabel] | None,
    users: Mapping[int, UserLabel] | None,
) -> CatalogLabel | UserLabel | None:
    ident = value if type(value) is int else _an_id(value)
    if ident is None:
        return None
    if kind is not None:
        return catalogs.get((kind, ident)) if catalogs is not None else None
    return users.get(ident) if users is not None else None


def _nothing(_: Any) -> None:
    return None


def with_labels(
    record: Mapping[str, Any],
    catalogs: Mapping[CatalogKey, CatalogLabel] | None,
    users: Mapping[int, UserLabel] | None,
) -> dict[str, Any]:
    """``record`` with a label after each id field; null where the id is null, unknown or unresolved."""
    plan = _plan(tuple(record))
    if plan is not None:
        # Every record of a page has the same fields: their order is worked out once.
        fields, slots = plan
        values = list(record.values())
        catalog_get = catalogs.get if catalogs is not None else _nothing
        user_get = users.get if users is not None else _nothing
        for index, kind in slots:
            ident = values[index]
            if type(ident) is not int:
                ident = _an_id(ident)
            label = None if ident is None else catalog_get((kind, ident)) if kind else user_get(ident)
            values.insert(index + 1, label)
        return dict(zip(fields, values, strict=True))
    # A label computed here wins over a same-named field of the service's answer.
    replaced = {LABEL_OF[key] for key in record if key in LABEL_OF}
    out: dict[str, Any] = {}
    for key, value in record.items():
        if key in replaced:
            continue
        out[key] = value
        label_name = LABEL_OF.get(key)
        if label_name is not None:
            out[label_name] = _label(CATALOG_FIELDS.get(key), value, catalogs, users)
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


def _one_version(versions: Iterable[str | None]) -> str | None:
    """The version all batches of one look-up were answered at, or None when they differ (or lack it)."""
    found = set(versions)
    return found.pop() if len(found) == 1 else None


class RecordLabeller:
    """Resolves the labels of record answers through masterdata and auth, keeping them between
    reads for ``cache_seconds`` (see :mod:`dmt_gateway.domain.records.cache`; 0 keeps nothing)."""

    def __init__(
        self,
        upstreams: Upstreams,
        *,
        timeout: float,
        cache_seconds: float = 30.0,
        cache_max_entries: int = 100_000,
        cache_grace_seconds: float = 300.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._upstreams = upstreams
        self._timeout = timeout
        kept = {"ttl": cache_seconds, "max_entries": cache_max_entries, "grace": cache_grace_seconds, "clock": clock}
        #: Every name of each entry, so one copy serves readers of every language.
        self.catalogs: LabelCache[CatalogKey, CatalogEntrySummary] = LabelCache("catalog", "masterdata", **kept)
        self.users: LabelCache[int, UserLabel] = LabelCache("user", "auth", **kept)
        #: Catalog labels by entry and language, with the entry they were made of.
        self._labels: dict[tuple[CatalogKey, str], tuple[CatalogEntrySummary, CatalogLabel]] = {}
        self._max_labels = 3 * cache_max_entries

    async def _call(self, service: str, method: str, path: str, headers: dict[str, str], **kwargs: Any) -> Any:
        try:
            async with asyncio.timeout(self._timeout):
                return await self._upstreams.client(service).request(
                    method, path, headers=headers, timeout=self._timeout, **kwargs
                )
        except UpstreamUnavailable as exc:
            raise LookupFailed(service, exc.reason) from exc
        except TimeoutError as exc:
            raise LookupFailed(service, f"no answer within {self._timeout} s") from exc

    async def _lookup(
        self, service: str, path: str, message: Any, answer: type[R], headers: dict[str, str]
    ) -> tuple[R, str | None]:
        """One look-up: the decoded answer and the content version its ETag names."""
        response = await self._call(
            service,
            "POST",
            path,
            {**headers, "content-type": "application/json", WANT_VERSION_HEADER: "1"},
            content=msgspec.json.encode(message),
            idempotent=True,  # a look-up changes nothing: it may be sent again
        )
        if response.status_code != 200:
            raise LookupFailed(service, f"it answered {response.status_code}")
        try:
            decoded = msgspec.json.decode(response.content, type=answer)
        except msgspec.DecodeError as exc:
            raise LookupFailed(service, f"its answer does not match the contract: {exc}") from exc
        version = ContentVersion.from_etag(response.headers.get("etag"))
        return decoded, version.version if version else None

    def _version_check(self, service: str, path: str, headers: dict[str, str]) -> VersionCheck:
        async def current(known: str) -> str:
            asked = {**headers, "if-none-match": ContentVersion(version=known).etag}
            response = await self._call(service, "GET", path, asked)
            if response.status_code == 304:
                return known
            if response.status_code != 200:
                raise LookupFailed(service, f"its content version: it answered {response.status_code}")
            version = ContentVersion.from_etag(response.headers.get("etag"))
            if version is None:
                try:
                    version = msgspec.json.decode(response.content, type=ContentVersion)
                except msgspec.DecodeError as exc:
                    raise LookupFailed(service, f"its content version does not match the contract: {exc}") from exc
            return version.version

        return current

    async def _fetch_catalogs(
        self, keys: list[CatalogKey], headers: dict[str, str]
    ) -> tuple[dict[CatalogKey, CatalogEntrySummary], str | None]:
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
        found = {(entry.kind, entry.id): entry for answer, _ in answers for entry in answer.items}
        return found, _one_version(version for _, version in answers)

    async def _fetch_users(self, ids: list[int], headers: dict[str, str]) -> tuple[dict[int, UserLabel], str | None]:
        answers = await asyncio.gather(
            *(
                self._lookup("auth", USER_LOOKUP_PATH, UserLookupRequest(ids=batch), UserLookupResponse, headers)
                for batch in batches(ids)
            )
        )
        found = {
            user.id: UserLabel(id=user.id, username=user.username, full_name=user.full_name)
            for answer, _ in answers
            for user in answer.items
        }
        return found, _one_version(version for _, version in answers)

    async def _catalog_labels(
        self, keys: set[CatalogKey], headers: dict[str, str], language: str
    ) -> tuple[dict[CatalogKey, CatalogLabel], bool]:
        resolved = await self.catalogs.resolve(
            sorted(keys),
            self._version_check("masterdata", CATALOG_VERSION_PATH, headers),
            lambda missing: self._fetch_catalogs(missing, headers),
        )
        return {key: self._named(key, entry, language) for key, entry in resolved.values.items()}, resolved.complete

    def _named(self, key: CatalogKey, entry: CatalogEntrySummary, language: str) -> CatalogLabel:
        """The label of ``entry`` in ``language``, made once for each entry as kept."""
        named = self._labels.get((key, language))
        if named is not None and named[0] is entry:
            return named[1]
        label = CatalogLabel(id=entry.id, item_number=entry.item_number, item_name=entry.name_in(language))
        if len(self._labels) >= self._max_labels:
            self._labels.clear()  # entries dropped from the cache are not held here for long
        self._labels[(key, language)] = (entry, label)
        return label

    async def _user_labels(self, ids: set[int], headers: dict[str, str]) -> tuple[dict[int, UserLabel], bool]:
        resolved = await self.users.resolve(
            sorted(ids),
            self._version_check("auth", USER_VERSION_PATH, headers),
            lambda missing: self._fetch_users(missing, headers),
        )
        return resolved.values, resolved.complete

    async def label(self, body: Any, view: View, headers: dict[str, str], *, language: str = "en") -> Any:
        """``body`` (a records answer) with labels; ``headers`` are the caller's (its token);
        catalog names in ``language`` (en, es, zh)."""
        catalog_keys, user_ids = references(records_of(body, view))
        (catalogs, catalogs_complete), (users, users_complete) = await asyncio.gather(
            self._catalog_labels(catalog_keys, headers, language),
            self._user_labels(user_ids, headers),
        )
        unresolved = [
            service
            for service, complete in (("masterdata", catalogs_complete), ("auth", users_complete))
            if not complete
        ]
        return labelled_body(body, view, catalogs, users, unresolved)
