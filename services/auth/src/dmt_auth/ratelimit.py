"""Failed-login counting: a sliding window per key, kept in this process's memory.

Each auth process counts on its own: with N processes behind a balancer an attacker gets up to
N times the limit, and a restart forgets the counts. That is acceptable for one plant's single
auth process; a shared store would be needed before running several.

Memory is bounded: expired entries are dropped as keys are touched, and when more than
``max_keys`` keys are tracked the stalest are swept out.
"""

from __future__ import annotations

import math
import time
from collections import deque
from collections.abc import Callable


class SlidingWindow:
    """At most ``limit`` events per key in any ``window`` seconds."""

    def __init__(
        self,
        limit: int,
        window: float,
        *,
        clock: Callable[[], float] = time.monotonic,
        max_keys: int = 100_000,
    ) -> None:
        if limit < 1 or window <= 0:
            raise ValueError("limit must be >= 1 and window > 0")
        self.limit = limit
        self.window = window
        self._clock = clock
        self._max_keys = max_keys
        self._events: dict[str, deque[float]] = {}

    def _current(self, key: str, now: float) -> deque[float] | None:
        events = self._events.get(key)
        if events is None:
            return None
        horizon = now - self.window
        while events and events[0] <= horizon:
            events.popleft()
        if not events:
            del self._events[key]
            return None
        return events

    def retry_after(self, key: str) -> int:
        """Seconds until ``key`` may try again; 0 when it is under the limit."""
        now = self._clock()
        events = self._current(key, now)
        if events is None or len(events) < self.limit:
            return 0
        # The window frees a slot when the oldest event that keeps it full expires.
        oldest_blocking = events[len(events) - self.limit]
        return max(1, math.ceil(oldest_blocking + self.window - now))

    def hit(self, key: str) -> None:
        now = self._clock()
        events = self._current(key, now)
        if events is None:
            if len(self._events) >= self._max_keys:
                self._sweep(now)
            events = self._events.setdefault(key, deque())
        events.append(now)
        # Only the newest ``limit`` events matter for the decision.
        while len(events) > self.limit:
            events.popleft()

    def clear(self, key: str) -> None:
        self._events.pop(key, None)

    def __len__(self) -> int:
        return len(self._events)

    def _sweep(self, now: float) -> None:
        for key in list(self._events):
            self._current(key, now)
        if len(self._events) >= self._max_keys:
            # Still full of live keys: forget the half whose last failure is oldest.
            by_age = sorted(self._events, key=lambda k: self._events[k][-1])
            for key in by_age[: len(by_age) // 2 + 1]:
                del self._events[key]


class LoginThrottle:
    """Failed logins per username and per client address, each with its own limit."""

    def __init__(
        self,
        *,
        user_limit: int,
        client_limit: int,
        window: float,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.users = SlidingWindow(user_limit, window, clock=clock)
        self.clients = SlidingWindow(client_limit, window, clock=clock)

    def retry_after(self, username: str, client: str) -> int:
        """Seconds to wait before another attempt for this username or from this client; 0 to go on."""
        return max(self.users.retry_after(username), self.clients.retry_after(client))

    def failed(self, username: str, client: str) -> None:
        self.users.hit(username)
        self.clients.hit(client)

    def succeeded(self, username: str) -> None:
        self.users.clear(username)

    def user_retry_after(self, username: str) -> int:
        """Seconds before ``username``'s password may be tried again; 0 to go on.

        For a password re-entered to sign, only the account counts: the check reaches auth through
        the records service, so the client address is that service's, shared by every signer.
        """
        return self.users.retry_after(username)

    def user_failed(self, username: str) -> None:
        """A wrong password for ``username`` that came with its own valid token (a signature)."""
        self.users.hit(username)
