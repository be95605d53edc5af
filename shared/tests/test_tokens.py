"""Access tokens are accepted only when signed by the published key, unaltered and unexpired."""

import asyncio
import base64
import contextlib
import json
import time

import pytest

from dmt_shared.testing import Clock, TokenFactory
from dmt_shared.tokens import InvalidToken, KeysUnavailable, Role, TokenVerifier


async def test_a_token_from_the_published_key_names_the_user_and_role(tokens: TokenFactory) -> None:
    principal = await tokens.verifier().verify(tokens.token(Role.INSPECTOR, user_id=7, username="INS007"))
    assert (principal.id, principal.username, principal.role) == (7, "INS007", Role.INSPECTOR)


async def test_a_token_carries_the_users_language_and_time_zone(tokens: TokenFactory) -> None:
    token = tokens.token(Role.OPERATOR, language="zh", time_zone="Asia/Shanghai")
    principal = await tokens.verifier().verify(token)
    assert (principal.language, principal.time_zone) == ("zh", "Asia/Shanghai")


async def test_a_token_signed_with_another_key_is_refused(tokens: TokenFactory) -> None:
    with pytest.raises(InvalidToken, match="unknown key"):
        await tokens.verifier().verify(TokenFactory().token())


async def test_a_token_with_the_same_kid_but_another_key_is_refused(tokens: TokenFactory) -> None:
    forger = TokenFactory()
    forger.signer.jwk["kid"] = tokens.signer.kid  # pretend to be the real key
    with pytest.raises(InvalidToken):
        await tokens.verifier().verify(forger.token(Role.ADMIN))


async def test_an_expired_token_is_refused(tokens: TokenFactory) -> None:
    old = tokens.token(ttl_seconds=60, now=time.time() - 3600)
    with pytest.raises(InvalidToken, match="expired"):
        await tokens.verifier().verify(old)


def _with_claim(token: str, **changes: object) -> str:
    header, payload, signature = token.split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    claims.update(changes)
    forged = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=").decode()
    return f"{header}.{forged}.{signature}"


async def test_a_token_whose_role_was_edited_is_refused(tokens: TokenFactory) -> None:
    forged = _with_claim(tokens.token(Role.OPERATOR), role="Admin")
    with pytest.raises(InvalidToken, match="signature"):
        await tokens.verifier().verify(forged)


async def test_a_role_outside_the_closed_set_is_refused(tokens: TokenFactory) -> None:
    with pytest.raises(InvalidToken):
        await tokens.verifier().verify(tokens.token("Superuser"))


async def test_garbage_is_refused(tokens: TokenFactory) -> None:
    with pytest.raises(InvalidToken, match="malformed"):
        await tokens.verifier().verify("not-a-token")


async def test_keys_are_fetched_once_and_refetched_for_a_new_key() -> None:
    old, new = TokenFactory(), TokenFactory()
    published = {"keys": [old.signer.jwk]}
    calls = 0

    async def fetch() -> dict:
        nonlocal calls
        calls += 1
        return published

    verifier = TokenVerifier(fetch, refetch_interval=0)
    await verifier.verify(old.token())
    await verifier.verify(old.token())
    assert calls == 1
    published = {"keys": [old.signer.jwk, new.signer.jwk]}  # the key was rotated
    assert (await verifier.verify(new.token())).username == "ADM001"
    assert calls == 2


async def test_unreachable_keys_are_reported_as_unavailable_not_invalid() -> None:
    async def fetch() -> dict:
        raise ConnectionError("auth down")

    with pytest.raises(KeysUnavailable):
        await TokenVerifier(fetch).verify(TokenFactory().token())


class KeySource:
    """The published keys as a verifier fetches them, counting fetches; ``down`` makes them fail."""

    def __init__(self, *keys: TokenFactory) -> None:
        self.published = [k.signer.jwk for k in keys]
        self.fetches = 0
        self.down = False

    async def __call__(self) -> dict:
        self.fetches += 1
        if self.down:
            raise ConnectionError("auth down")
        return {"keys": list(self.published)}


async def settle(verifier: TokenVerifier) -> None:
    """Wait for the refresh started in the background, if any."""
    if verifier._background is not None:
        await asyncio.wait_for(verifier._background, 2)


async def test_a_key_no_longer_published_stops_verifying_once_the_keys_are_old() -> None:
    old, new = TokenFactory(), TokenFactory()
    source, clock = KeySource(old, new), Clock()
    verifier = TokenVerifier(source, max_age=300, clock=clock)
    token = old.token()
    await verifier.verify(token)
    source.published = [new.signer.jwk]  # the old key was withdrawn
    clock.now += 299
    await verifier.verify(token)
    assert source.fetches == 1

    clock.now += 1
    assert (await verifier.verify(token)).username == "ADM001"  # not held up by the refresh
    for _ in range(5):
        with contextlib.suppress(InvalidToken):
            await verifier.verify(token)
    await settle(verifier)
    with pytest.raises(InvalidToken, match="unknown key"):
        await verifier.verify(token)
    assert (await verifier.verify(new.token())).username == "ADM001"
    assert source.fetches == 2  # one refresh, however many tokens were verified meanwhile


async def test_when_the_keys_cannot_be_fetched_again_the_known_ones_are_kept() -> None:
    key = TokenFactory()
    source, clock = KeySource(key), Clock()
    verifier = TokenVerifier(source, max_age=300, refetch_interval=30, clock=clock)
    token = key.token()
    await verifier.verify(token)
    source.down = True
    clock.now += 300
    for _ in range(3):
        await verifier.verify(token)
        await settle(verifier)
    assert source.fetches == 2  # tried once, not at every token
    clock.now += 30
    await verifier.verify(token)
    await settle(verifier)
    assert source.fetches == 3
    source.down = False
    clock.now += 30
    await verifier.verify(token)
    await settle(verifier)
    assert source.fetches == 4
    clock.now += 299
    assert (await verifier.verify(token)).username == "ADM001"
    assert source.fetches == 4  # fresh again


async def test_keys_are_not_fetched_again_while_they_verify_when_max_age_is_zero() -> None:
    key = TokenFactory()
    source, clock = KeySource(key), Clock()
    verifier = TokenVerifier(source, max_age=0, clock=clock)
    await verifier.verify(key.token())
    clock.now += 100_000
    await verifier.verify(key.token())
    assert verifier._background is None
    assert source.fetches == 1


async def test_a_token_that_verified_is_not_accepted_past_its_expiry(tokens: TokenFactory) -> None:
    verifier = tokens.verifier()
    # expired 8.5 s ago: still inside the 10 s leeway for clocks that differ, for 1.5 s more
    token = tokens.token(ttl_seconds=60, now=time.time() - 68.5)
    assert (await verifier.verify(token)).username == "ADM001"
    await asyncio.sleep(2)
    with pytest.raises(InvalidToken, match="expired"):
        await verifier.verify(token)


async def test_an_altered_copy_of_a_token_that_verified_is_still_refused(tokens: TokenFactory) -> None:
    verifier = tokens.verifier()
    token = tokens.token(Role.OPERATOR)
    assert (await verifier.verify(token)).role == Role.OPERATOR
    with pytest.raises(InvalidToken, match="signature"):
        await verifier.verify(_with_claim(token, role="Admin"))


async def test_many_callers_each_get_their_own_user_whatever_the_verifier_remembers(tokens: TokenFactory) -> None:
    verifier = TokenVerifier.from_static(tokens.jwks())
    verifier._cache_size = 3  # remembers 3 tokens at most
    issued = [tokens.token(user_id=n, username=f"U{n}") for n in range(1, 9)]
    for _ in range(2):
        for n, token in enumerate(issued, start=1):
            assert (await verifier.verify(token)).id == n
    assert len(verifier._verified) == 3
