"""Labels kept between reads, checked against the owning service's content version.

One :class:`LabelCache` per service: catalog entries (masterdata) keyed by ``(kind, id)``,
holding every name of the entry so readers of any language are served from it, and users
(auth) keyed by id. Ids the service does not know are kept too, as absent.

Each cache remembers the content version its entries were read at (the ETag of the look-up
answers) and when that version was last confirmed:

- within ``ttl`` seconds of that, entries are used without asking the service anything;
- later, one conditional call asks for the version (concurrent reads wait for that one call):
  304 means the entries still hold, for another ``ttl``; another version drops them all;
- ids not kept are looked up, in batches, and kept with the answer's version;
- when the version call fails, entries are still used for up to ``grace`` seconds past their
  ``ttl``; ids not kept cannot be answered then and the read names the service as unresolved.

``ttl=0`` keeps nothing: every read looks up all its ids, as without a cache.
"""

from __future__ import annotations

import asyncio
import logging
import math
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Hashable, Iterable
from dataclasses import dataclass
from typing import Generic, TypeVar

from prometheus_client import Counter, Gauge

log = logging.getLogger("dmt.gateway.records")

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")

ENTRIES = Gauge("dmt_label_cache_entries", "Labels the gateway keeps, by kind (catalog, user)", ("kind",))
LOOKUPS = Counter(
    "dmt_label_cache_lookups",
    "Labels a record read needed, by kind and whether the gateway kept them (hit) or asked for them (miss)",
    ("kind", "result"),
)

#: Seconds before a version call that failed is made again (never more than the cache's ttl).
RETRY_SECONDS = 5.0

#: Asks the service for its current content version, given the one known: returns the current one.
VersionCheck = Callable[[str], Awaitable[str]]
#: Looks keys up: the values of those that exist, and the answer's content version (None when not given).
Fetch = Callable[[list[K]], Awaitable[tuple[dict[K, V], str | None]]]


class LookupFailed(Exception):
    """A service could not answer a look-up or a version call."""

    def __init__(self, service: str, reason: str) -> None:
        super().__init__(f"{service}: {reason}")
        self.service = service


@dataclass
class Resolved(Generic[K, V]):
    """What is known of the keys asked for: the values of those that exist, and whether every
    key was answered (False: the service could not be asked about some)."""

    values: dict[K, V]
    complete: bool


class LabelCache(Generic[K, V]):
    """The labels of one service (see the module's description)."""

    def __init__(
        self,
        kind: str,
        service: str,
        *,
        ttl: float,
        max_entries: int,
        grace: float,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.kind = kind
        self.service = service
        self._ttl = ttl
        self._max_entries = max_entries
        self._grace = grace
        self._clock = clock
        #: key -> value, or None for a key the service does not know; least recently used first.
        self._entries: OrderedDict[K, V | None] = OrderedDict()
        self._version: str | None = None
        self._confirmed_at = -math.inf
        self._next_check = -math.inf
        self._reachable = True
        #: Counts the times the entries were dropped, so an answer read before is not kept after.
        self._generation = 0
        self._lock = asyncio.Lock()
        self._size = ENTRIES.labels(kind)
        self._hits = LOOKUPS.labels(kind, "hit")
        self._misses = LOOKUPS.labels(kind, "miss")
        self._size.set(0)

    @property
    def enabled(self) -> bool:
        return self._ttl > 0

    def __len__(self) -> int:
        return len(self._entries)

    async def resolve(self, keys: Iterable[K], check: VersionCheck, fetch: Fetch[K, V]) -> Resolved[K, V]:
        """The values of ``keys``: kept ones if still current, the others from ``fetch``."""
        wanted = list(dict.fromkeys(keys))
        if not wanted:
            return Resolved({}, True)
        if not self.enabled:
            try:
                fetched, _ = await fetch(wanted)
            except LookupFailed as exc:
                log.warning("record labels from %s are missing: %s", self.service, exc)
                return Resolved({}, False)
            return Resolved(fetched, True)

        reachable = await self._ensure_current(check)
        known: dict[K, V | None] = {}
        misses: list[K] = []
        for key in wanted:
            if key in self._entries:
                known[key] = self._entries[key]
                self._entries.move_to_end(key)
            else:
                misses.append(key)
        self._hits.inc(len(known))
        self._misses.inc(len(misses))

        complete = True
        if misses and not reachable:
            complete = False
        elif misses:
            generation, started = self._generation, self._clock()
            try:
                fetched, version = await fetch(misses)
            except LookupFailed as exc:
                log.warning("record labels from %s are missing: %s", self.service, exc)
                complete = False
            else:
                looked_up = {key: fetched.get(key) for key in misses}
                known.update(looked_up)
                self._keep(looked_up, version, generation, started)
        return Resolved({key: value for key, value in known.items() if value is not None}, complete)

    # ------------------------------------------------------------------ inside

    async def _ensure_current(self, check: VersionCheck) -> bool:
        """Make sure the entries are of the current version; False when the service could not say."""
        if self._version is None:
            return True  # nothing kept that could be out of date
        if self._clock() < self._next_check:
            return self._reachable
        async with self._lock:
            now = self._clock()
            if self._version is None:
                return True
            if now < self._next_check:  # another read checked while this one waited
                return self._reachable
            known, generation = self._version, self._generation
            try:
                current = await check(known)
            except LookupFailed as exc:
                self._reachable = False
                self._next_check = now + min(self._ttl, RETRY_SECONDS)
                if now >= self._confirmed_at + self._ttl + self._grace:
                    self._drop(None)
                    log.warning("%s labels dropped: their version cannot be checked (%s)", self.kind, exc)
                else:
                    log.warning("%s labels kept a while: their version cannot be checked (%s)", self.kind, exc)
                return False
            self._reachable = True
            if generation == self._generation:  # else a look-up answer already told a newer version
                if current != known:
                    self._drop(current)
                self._confirm(now)
            return True

    def _keep(self, values: dict[K, V | None], version: str | None, generation: int, started: float) -> None:
        """Keep looked-up values, read at ``version`` after ``started``, when they can be checked later."""
        if version is None:
            return  # an answer without a version could never be checked: used for this read only
        if version != self._version:
            if generation != self._generation:
                return  # the entries were dropped meanwhile; this answer may be older than that
            self._drop(version)
        self._reachable = True
        if started > self._confirmed_at:
            self._confirm(started)
        for key, value in values.items():
            self._entries[key] = value
            self._entries.move_to_end(key)
        while len(self._entries) > self._max_entries:
            self._entries.popitem(last=False)
        self._size.set(len(self._entries))

    def _confirm(self, at: float) -> None:
        self._confirmed_at = at
        self._next_check = at + self._ttl

    def _drop(self, version: str | None) -> None:
        self._entries.clear()
        self._version = version
        self._generation += 1
        self._size.set(0)
