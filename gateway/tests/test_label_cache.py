"""Labels of records kept between reads: a warm page costs masterdata and auth no call at all,
and a name changed there shows once the labels are checked again.

The cache alone, against a stand-in service and a clock the tests move; the gateway with the
real masterdata and auth applications behind it is tested in ``tests/test_label_cache_with_services.py``.
"""

from __future__ import annotations

import asyncio

import pytest
from prometheus_client import REGISTRY

from dmt_gateway.config import Settings
from dmt_gateway.domain.records.cache import RETRY_SECONDS, LabelCache, LookupFailed
from dmt_shared.settings import SettingsError
from dmt_shared.testing import Clock

TTL = 30.0
GRACE = 300.0


class Source:
    """A service as the cache sees it: names by id, a version that moves with every change,
    and the calls it got. ``down`` makes every call fail."""

    def __init__(self, names: dict[int, str]) -> None:
        self.names = dict(names)
        self.revision = 1
        self.checks = 0
        self.fetched: list[list[int]] = []
        self.down = False
        self.versioned = True
        self.check_gate: asyncio.Event | None = None

    def rename(self, ident: int, name: str) -> None:
        self.names[ident] = name
        self.revision += 1

    @property
    def version(self) -> str:
        return f"r{self.revision}"

    async def check(self, known: str) -> str:
        self.checks += 1
        if self.check_gate is not None:
            await self.check_gate.wait()
        if self.down:
            raise LookupFailed("names", "connection refused")
        return self.version

    async def fetch(self, keys: list[int]) -> tuple[dict[int, str], str | None]:
        self.fetched.append(keys)
        if self.down:
            raise LookupFailed("names", "connection refused")
        return {k: self.names[k] for k in keys if k in self.names}, self.version if self.versioned else None


def make_cache(clock: Clock, *, ttl: float = TTL, max_entries: int = 1000, kind: str = "test") -> LabelCache[int, str]:
    return LabelCache(kind, "names", ttl=ttl, max_entries=max_entries, grace=GRACE, clock=clock)


async def names_of(cache: LabelCache[int, str], source: Source, keys: list[int]) -> tuple[dict[int, str], bool]:
    resolved = await cache.resolve(keys, source.check, source.fetch)
    return resolved.values, resolved.complete


# ------------------------------------------------------------------ the cache alone


async def test_kept_names_are_used_without_a_call_until_they_are_old_then_checked_once() -> None:
    clock, source = Clock(), Source({1: "Cast", 2: "Grinding"})
    cache = make_cache(clock)
    assert await names_of(cache, source, [1, 2, 99]) == ({1: "Cast", 2: "Grinding"}, True)
    clock.now += TTL - 1
    assert await names_of(cache, source, [2, 99, 1]) == ({1: "Cast", 2: "Grinding"}, True)
    assert (source.fetched, source.checks) == ([[1, 2, 99]], 0)  # 99 is known to be unknown too

    clock.now += 2
    assert await names_of(cache, source, [1, 2]) == ({1: "Cast", 2: "Grinding"}, True)
    assert (len(source.fetched), source.checks) == (1, 1)  # unchanged: kept for another TTL
    clock.now += TTL - 1
    await names_of(cache, source, [1, 2])
    assert source.checks == 1


async def test_a_new_version_drops_every_kept_name() -> None:
    clock, source = Clock(), Source({1: "Cast", 2: "Grinding"})
    cache = make_cache(clock)
    await names_of(cache, source, [1, 2])
    source.rename(1, "Casting")
    assert await names_of(cache, source, [1, 2]) == ({1: "Cast", 2: "Grinding"}, True)  # within the TTL
    clock.now += TTL
    assert await names_of(cache, source, [1, 2]) == ({1: "Casting", 2: "Grinding"}, True)
    assert source.checks == 1
    assert source.fetched == [[1, 2], [1, 2]]
    await names_of(cache, source, [1, 2])
    assert len(source.fetched) == 2


async def test_only_the_ids_not_kept_are_looked_up() -> None:
    clock, source = Clock(), Source({1: "Cast", 2: "Grinding", 3: "Welding"})
    cache = make_cache(clock)
    await names_of(cache, source, [1, 2])
    assert await names_of(cache, source, [3, 2, 1]) == ({1: "Cast", 2: "Grinding", 3: "Welding"}, True)
    assert source.fetched == [[1, 2], [3]]


async def test_reads_of_old_names_at_the_same_time_make_one_version_call() -> None:
    clock, source = Clock(), Source({1: "Cast"})
    cache = make_cache(clock)
    await names_of(cache, source, [1])
    clock.now += TTL
    source.check_gate = asyncio.Event()
    reads = [asyncio.create_task(names_of(cache, source, [1])) for _ in range(20)]
    await asyncio.sleep(0)
    source.check_gate.set()
    assert await asyncio.gather(*reads) == [({1: "Cast"}, True)] * 20
    assert source.checks == 1
    assert len(source.fetched) == 1


async def test_kept_names_serve_through_an_outage_for_the_grace_period_only() -> None:
    clock, source = Clock(), Source({1: "Cast", 2: "Grinding"})
    cache = make_cache(clock)
    await names_of(cache, source, [1])
    source.down = True

    clock.now += TTL
    assert await names_of(cache, source, [1]) == ({1: "Cast"}, True)  # nothing to name as unresolved
    assert await names_of(cache, source, [1, 2]) == ({1: "Cast"}, False)  # 2 cannot be answered
    assert source.checks == 1  # a failed check is not made again at once
    clock.now += RETRY_SECONDS
    assert await names_of(cache, source, [1]) == ({1: "Cast"}, True)
    assert source.checks == 2

    clock.now += GRACE
    assert await names_of(cache, source, [1]) == ({}, False)
    source.down = False
    assert await names_of(cache, source, [1, 2]) == ({1: "Cast", 2: "Grinding"}, True)


async def test_a_service_back_after_an_outage_confirms_the_kept_names() -> None:
    clock, source = Clock(), Source({1: "Cast"})
    cache = make_cache(clock)
    await names_of(cache, source, [1])
    source.down = True
    clock.now += TTL
    await names_of(cache, source, [1])
    source.down = False
    clock.now += RETRY_SECONDS
    assert await names_of(cache, source, [1]) == ({1: "Cast"}, True)
    assert (source.checks, len(source.fetched)) == (2, 1)


async def test_the_cache_keeps_at_most_max_entries_the_least_recently_used_go_first() -> None:
    clock, source = Clock(), Source({i: f"entry {i}" for i in range(1, 6)})
    cache = make_cache(clock, max_entries=3)
    await names_of(cache, source, [1, 2, 3])
    await names_of(cache, source, [1])  # 2 is now the least recently used
    await names_of(cache, source, [4])
    assert len(cache) == 3
    assert await names_of(cache, source, [1, 3, 4]) == ({1: "entry 1", 3: "entry 3", 4: "entry 4"}, True)
    assert source.fetched == [[1, 2, 3], [4]]
    await names_of(cache, source, [2])
    assert source.fetched[-1] == [2]
    # a read needing more than the cache holds still gets every name
    assert await names_of(cache, source, [1, 2, 3, 4, 5]) == ({i: f"entry {i}" for i in range(1, 6)}, True)


async def test_a_ttl_of_zero_keeps_nothing() -> None:
    clock, source = Clock(), Source({1: "Cast"})
    cache = make_cache(clock, ttl=0)
    for _ in range(3):
        assert await names_of(cache, source, [1]) == ({1: "Cast"}, True)
    assert (len(source.fetched), source.checks, len(cache)) == (3, 0, 0)
    source.down = True
    assert await names_of(cache, source, [1]) == ({}, False)


async def test_answers_without_a_version_are_used_once_not_kept() -> None:
    clock, source = Clock(), Source({1: "Cast"})
    source.versioned = False
    cache = make_cache(clock)
    assert await names_of(cache, source, [1]) == ({1: "Cast"}, True)
    assert await names_of(cache, source, [1]) == ({1: "Cast"}, True)
    assert (len(source.fetched), len(cache)) == (2, 0)


async def test_hits_misses_and_entries_are_counted() -> None:
    def sample(name: str, **labels: str) -> float:
        return REGISTRY.get_sample_value(name, labels) or 0.0

    clock, source = Clock(), Source({1: "Cast", 2: "Grinding"})
    cache = make_cache(clock, kind="counted")
    hits = sample("dmt_label_cache_lookups_total", kind="counted", result="hit")
    misses = sample("dmt_label_cache_lookups_total", kind="counted", result="miss")
    await names_of(cache, source, [1, 2, 3])
    await names_of(cache, source, [1, 2])
    assert sample("dmt_label_cache_lookups_total", kind="counted", result="miss") - misses == 3
    assert sample("dmt_label_cache_lookups_total", kind="counted", result="hit") - hits == 2
    assert sample("dmt_label_cache_entries", kind="counted") == 3


def test_settings_refuse_impossible_cache_values() -> None:
    assert Settings().label_cache_seconds == 30
    assert Settings().label_cache_max_entries == 100_000
    for bad in ({"label_cache_seconds": -1}, {"label_cache_grace_seconds": float("nan")}):
        with pytest.raises(SettingsError, match="LABEL_CACHE"):
            Settings(**bad)
    with pytest.raises(SettingsError, match="GATEWAY_LABEL_CACHE_MAX_ENTRIES"):
        Settings(label_cache_max_entries=0)


# ------------------------------------------------------------------ the gateway with the real services
