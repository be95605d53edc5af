"""Access tokens: Ed25519-signed JWTs issued by the auth service, verified locally everywhere.

The auth service holds the private key and publishes the public one as a JWKS document.
The gateway and every service verify each token with that public key, without calling auth
per request: a token signed with another key, expired, or altered (a role edited) is refused.
"""

from __future__ import annotations

import asyncio
import base64
import enum
import hashlib
import json
import logging
import time
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

import jwt
import msgspec
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

log = logging.getLogger("dmt.tokens")

ISSUER = "dmt-auth"
AUDIENCE = "dmt"
ALGORITHM = "EdDSA"
LEEWAY_SECONDS = 10
#: Seconds a verified token is used again without checking its signature (never past its exp).
TOKEN_CACHE_SECONDS = 60.0
#: Verified tokens remembered at most, per verifier.
TOKEN_CACHE_SIZE = 10_000


class Role(enum.StrEnum):
    """The closed set of roles. Anything else is refused."""

    ADMIN = "Admin"
    INSPECTOR = "Inspector"
    OPERATOR = "Operator"
    TECH_ENGINEER = "Tech Engineer"
    QUALITY_ENGINEER = "Quality Engineer"


class Principal(msgspec.Struct, frozen=True):
    """Who is calling, as the verified access token says."""

    id: int
    username: str
    full_name: str
    role: Role
    token_id: str
    expires_at: int
    #: The user's preferred language (en, es, zh) and IANA time zone, as auth knew them at sign-in.
    language: str = "en"
    time_zone: str = "UTC"


class InvalidToken(Exception):
    """The token is malformed, expired, altered, or signed with an unknown key."""


class KeysUnavailable(Exception):
    """The public keys could not be fetched, so no token can be verified right now."""


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def public_jwk(public_key: Ed25519PublicKey) -> dict[str, str]:
    raw = public_key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    x = _b64url(raw)
    # RFC 7638 thumbprint: the required members in lexicographic order, no spaces.
    thumb = hashlib.sha256(
        json.dumps({"crv": "Ed25519", "kty": "OKP", "x": x}, separators=(",", ":")).encode()
    ).digest()
    return {"kty": "OKP", "crv": "Ed25519", "x": x, "kid": _b64url(thumb), "alg": ALGORITHM, "use": "sig"}


def load_private_key(pem: bytes) -> Ed25519PrivateKey:
    key = serialization.load_pem_private_key(pem, password=None)
    if not isinstance(key, Ed25519PrivateKey):
        raise ValueError("the signing key must be an Ed25519 private key (PEM, PKCS#8)")
    return key


def generate_private_key_pem() -> bytes:
    return Ed25519PrivateKey.generate().private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


class TokenSigner:
    """Issues access tokens (used by the auth service, and by tests to mint tokens)."""

    def __init__(self, private_key: Ed25519PrivateKey) -> None:
        self._key = private_key
        self.jwk = public_jwk(private_key.public_key())

    @property
    def kid(self) -> str:
        return self.jwk["kid"]

    def jwks(self) -> dict[str, Any]:
        return {"keys": [self.jwk]}

    def issue(
        self,
        *,
        user_id: int,
        username: str,
        full_name: str,
        role: Role | str,
        ttl_seconds: int,
        now: float | None = None,
        language: str = "en",
        time_zone: str = "UTC",
        extra: dict[str, Any] | None = None,
    ) -> tuple[str, int]:
        """Return the token and its expiry (epoch seconds)."""
        issued = int(now if now is not None else time.time())
        expires = issued + ttl_seconds
        claims: dict[str, Any] = {
            "iss": ISSUER,
            "aud": AUDIENCE,
            "sub": str(user_id),
            "username": username,
            "name": full_name,
            "role": role.value if isinstance(role, Role) else role,
            "lang": language,
            "tz": time_zone,
            "iat": issued,
            "nbf": issued,
            "exp": expires,
            "jti": uuid.uuid4().hex,
            "typ": "access",
        }
        if extra:
            claims.update(extra)
        token = jwt.encode(claims, self._key, algorithm=ALGORITHM, headers={"kid": self.kid})
        return token, expires


def decode(token: str, keys: dict[str, jwt.PyJWK]) -> Principal:
    """Verify ``token`` against the known public keys and return who it names."""
    try:
        header = jwt.get_unverified_header(token)
    except jwt.PyJWTError as exc:
        raise InvalidToken("malformed token") from exc
    if header.get("alg") != ALGORITHM:
        raise InvalidToken("unexpected token algorithm")
    key = keys.get(str(header.get("kid")))
    if key is None:
        raise InvalidToken("token signed with an unknown key")
    try:
        claims = jwt.decode(
            token,
            key.key,
            algorithms=[ALGORITHM],
            audience=AUDIENCE,
            issuer=ISSUER,
            leeway=LEEWAY_SECONDS,
            options={"require": ["exp", "iat", "sub", "jti"]},
        )
    except jwt.ExpiredSignatureError as exc:
        raise InvalidToken("token expired") from exc
    except jwt.PyJWTError as exc:
        raise InvalidToken("token signature or claims are invalid") from exc
    if claims.get("typ") != "access":
        raise InvalidToken("not an access token")
    try:
        return Principal(
            id=int(claims["sub"]),
            username=str(claims["username"]),
            full_name=str(claims.get("name", "")),
            role=Role(claims["role"]),
            token_id=str(claims["jti"]),
            expires_at=int(claims["exp"]),
            language=str(claims.get("lang") or "en"),
            time_zone=str(claims.get("tz") or "UTC"),
        )
    except (KeyError, ValueError) as exc:
        raise InvalidToken("token claims are incomplete") from exc


def parse_jwks(document: dict[str, Any]) -> dict[str, jwt.PyJWK]:
    keys: dict[str, jwt.PyJWK] = {}
    for item in document.get("keys", []):
        if item.get("kty") != "OKP" or item.get("crv") != "Ed25519" or not item.get("kid"):
            continue
        keys[item["kid"]] = jwt.PyJWK.from_dict(item, algorithm=ALGORITHM)
    return keys


class TokenVerifier:
    """Verifies access tokens locally with the auth service's published keys.

    ``fetch_jwks`` returns the JWKS document (an HTTP call to auth in the services, a direct
    call inside the auth service). Keys are cached; an unknown ``kid`` triggers at most one
    refetch every ``refetch_interval`` seconds, so key rotation is picked up without a restart.
    Keys older than ``max_age`` seconds are fetched again in the background while tokens go on
    being verified with them, so a key auth no longer publishes stops being accepted; when that
    fetch fails the known keys are kept (and it is tried again ``refetch_interval`` later).
    ``max_age=0`` never refreshes keys that verify.

    A token that verified is remembered by its exact text for up to ``cache_seconds`` (never
    past its ``exp``), so a caller sending the same token again costs a dictionary look-up
    rather than a signature check. At most ``cache_size`` tokens are remembered (the oldest are
    forgotten first), and all are forgotten whenever the keys are fetched anew, so a key auth
    withdrew stops being accepted as before. ``cache_seconds=0`` remembers nothing.
    """

    def __init__(
        self,
        fetch_jwks: Callable[[], Awaitable[dict[str, Any]]],
        *,
        refetch_interval: float = 30.0,
        max_age: float = 300.0,
        clock: Callable[[], float] = time.monotonic,
        cache_seconds: float = TOKEN_CACHE_SECONDS,
        cache_size: int = TOKEN_CACHE_SIZE,
    ) -> None:
        self._fetch = fetch_jwks
        self._keys: dict[str, jwt.PyJWK] = {}
        self._fetched_at = 0.0
        self._tried_at: float | None = None
        self._refetch_interval = refetch_interval
        self._max_age = max_age
        self._clock = clock
        self._lock = asyncio.Lock()
        self._background: asyncio.Task[None] | None = None
        self._cache_seconds = cache_seconds
        self._cache_size = max(1, cache_size)
        # token text -> (who it names, wall-clock second until which it is used without a check)
        self._verified: dict[str, tuple[Principal, float]] = {}

    @classmethod
    def from_static(cls, jwks: dict[str, Any]) -> TokenVerifier:
        async def fetch() -> dict[str, Any]:
            return jwks

        return cls(fetch)

    def _tried_recently(self) -> bool:
        return self._tried_at is not None and self._clock() - self._tried_at < self._refetch_interval

    async def _refresh(self) -> None:
        async with self._lock:
            if self._keys and self._tried_recently():
                return
            self._tried_at = self._clock()
            try:
                document = await self._fetch()
                keys = parse_jwks(document)
            except Exception as exc:
                if not self._keys:
                    raise KeysUnavailable(str(exc) or type(exc).__name__) from exc
                log.warning(
                    "the token keys could not be fetched again (%s); the %d known are kept", exc, len(self._keys)
                )
                return
            self._keys = keys
            self._verified.clear()  # verified with the former keys: checked again with these
            self._fetched_at = self._clock()

    def _refresh_when_old(self) -> None:
        if self._max_age <= 0 or self._clock() - self._fetched_at < self._max_age or self._tried_recently():
            return
        if self._background is None or self._background.done():
            self._background = asyncio.create_task(self._refresh())

    async def verify(self, token: str) -> Principal:
        if not self._keys:
            await self._refresh()
        else:
            self._refresh_when_old()
        cached = self._verified.get(token)
        if cached is not None:
            if time.time() < cached[1]:
                return cached[0]
            del self._verified[token]
        try:
            principal = decode(token, self._keys)
        except InvalidToken as exc:
            if "unknown key" not in str(exc):
                raise
            await self._refresh()
            principal = decode(token, self._keys)
        self._remember(token, principal)
        return principal

    def _remember(self, token: str, principal: Principal) -> None:
        if self._cache_seconds <= 0:
            return
        verified = self._verified
        if len(verified) >= self._cache_size:
            del verified[next(iter(verified))]  # the oldest entry
        verified[token] = (principal, min(float(principal.expires_at), time.time() + self._cache_seconds))
