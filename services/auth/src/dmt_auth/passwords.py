"""Password hashing with argon2id, off the event loop and with a bound on concurrent hashes.

Each hash takes ``argon2_memory_kib`` of memory and tens of milliseconds of CPU, so hashes run
in worker threads, at most ``hash_concurrency`` at once: a burst of logins queues instead of
exhausting memory or stalling every other request.
"""

from __future__ import annotations

import asyncio
import secrets

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from dmt_auth.config import Settings


class Passwords:
    def __init__(self, settings: Settings) -> None:
        self._hasher = PasswordHasher(
            time_cost=settings.argon2_time_cost,
            memory_cost=settings.argon2_memory_kib,
            parallelism=settings.argon2_parallelism,
        )
        self._slots = asyncio.Semaphore(settings.hash_concurrency)
        self._dummy_hash: str | None = None

    async def hash(self, password: str) -> str:
        async with self._slots:
            return await asyncio.to_thread(self._hasher.hash, password)

    def _verify(self, stored_hash: str, password: str) -> bool:
        try:
            return self._hasher.verify(stored_hash, password)
        except (VerifyMismatchError, VerificationError, InvalidHashError):
            return False

    async def verify(self, stored_hash: str, password: str) -> bool:
        async with self._slots:
            return await asyncio.to_thread(self._verify, stored_hash, password)

    async def prepare(self) -> str:
        """The stand-in hash that unknown usernames are checked against (made at start-up)."""
        if self._dummy_hash is None:
            self._dummy_hash = await self.hash(secrets.token_urlsafe(16))
        return self._dummy_hash

    async def verify_nobody(self, password: str) -> None:
        """Spend the time of one verification when there is no user, so timing tells nothing."""
        await self.verify(await self.prepare(), password)

    def needs_rehash(self, stored_hash: str) -> bool:
        try:
            return self._hasher.check_needs_rehash(stored_hash)
        except InvalidHashError:
            return True
