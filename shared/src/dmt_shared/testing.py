"""Helpers for tests: a throw-away signing key and tokens for any user and role."""

from __future__ import annotations

from typing import Any

from dmt_shared.tokens import Role, TokenSigner, TokenVerifier, generate_private_key_pem, load_private_key


class Clock:
    """A clock for code that takes one (``clock=``): it stands still at ``now`` until a test moves it."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class TokenFactory:
    def __init__(self, pem: bytes | None = None) -> None:
        self.pem = pem or generate_private_key_pem()
        self.signer = TokenSigner(load_private_key(self.pem))

    def jwks(self) -> dict[str, Any]:
        return self.signer.jwks()

    def verifier(self) -> TokenVerifier:
        return TokenVerifier.from_static(self.jwks())

    def token(
        self,
        role: Role | str = Role.ADMIN,
        *,
        user_id: int = 1,
        username: str = "ADM001",
        full_name: str = "Test User",
        ttl_seconds: int = 900,
        now: float | None = None,
        language: str = "en",
        time_zone: str = "UTC",
    ) -> str:
        token, _ = self.signer.issue(
            user_id=user_id,
            username=username,
            full_name=full_name,
            role=role,
            ttl_seconds=ttl_seconds,
            now=now,
            language=language,
            time_zone=time_zone,
        )
        return token

    def headers(self, role: Role | str = Role.ADMIN, **kwargs: Any) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token(role, **kwargs)}"}
