"""Password hashing with argon2id, off the event loop and with a bound on concurrent hashes.

Each hash takes ``argon2_memory_kib`` of memory and tens of milliseconds of CPU, so hashes run
in worker threads, at most ``hash_concurrency`` at once: a burst of logins queues instead of
exhausting memory or stalling every other request.

Users imported from the predecessor keep its PBKDF2-SHA256 hashes (passlib's
``$pbkdf2-sha256$<rounds>$<salt>$<checksum>``). They are accepted at sign-in, and the first
successful sign-in replaces them with argon2id (they always "need a rehash").
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import hashlib
import hmac
import secrets

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from dmt_auth.config import Settings

#: How the predecessor's hashes begin.
LEGACY_PBKDF2_PREFIX = "$pbkdf2-sha256$"
#: Rounds beyond this are refused rather than computed (passlib's default is 29000).
LEGACY_PBKDF2_MAX_ROUNDS = 10_000_000


def _ab64_decode(value: str) -> bytes:
    """passlib's "adapted base64": standard base64 with ``.`` for ``+`` and no padding."""
    text = value.replace(".", "+")
    return base64.b64decode(text + "=" * (-len(text) % 4), validate=True)


def is_legacy_hash(stored_hash: str) -> bool:
    return stored_hash.startswith(LEGACY_PBKDF2_PREFIX)


def verify_legacy_pbkdf2(stored_hash: str, password: str) -> bool:
    """Check ``password`` against a passlib ``pbkdf2_sha256`` hash; a malformed hash matches nothing."""
    parts = stored_hash.split("$")
    # "", "pbkdf2-sha256", rounds, salt, checksum
    if len(parts) != 5 or parts[1] != "pbkdf2-sha256" or not parts[2].isdigit():
        return False
    rounds = int(parts[2])
    if not 1 <= rounds <= LEGACY_PBKDF2_MAX_ROUNDS:
        return False
    try:
        salt = _ab64_decode(parts[3])
        expected = _ab64_decode(parts[4])
    except (binascii.Error, ValueError):
        return False
    if not expected:
        return False
    actual = hashlib.pbkdf2_hmac("sha256", password.encode("utf-8"), salt, rounds, dklen=len(expected))
    return hmac.compare_digest(actual, expected)


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
        if is_legacy_hash(stored_hash):
            return verify_legacy_pbkdf2(stored_hash, password)
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
        if is_legacy_hash(stored_hash):
            return True
        try:
            return self._hasher.check_needs_rehash(stored_hash)
        except InvalidHashError:
            return True
