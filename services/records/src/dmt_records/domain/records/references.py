"""Checks of the catalog entries and users a record points to, by the services that own them,
and of a signer's password, by auth.

One catalog look-up (masterdata) and one user look-up (auth) per write at most, made at the
same time, with the caller's own ``Authorization`` and ``Accept-Language``. A service that
cannot be reached stops the write with a 503 (:class:`dmt_shared.http.UpstreamUnavailable`).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Mapping
from typing import Any, TypeVar

import httpx
import msgspec

from dmt_shared.contracts import (
    CATALOG_LOOKUP_PATH,
    PASSWORD_CHECK_PATH,
    RECORD_CATALOG_FIELDS,
    USER_LOOKUP_PATH,
    CatalogLookupRequest,
    CatalogLookupResponse,
    CatalogRef,
    PasswordCheck,
    SignerIdentity,
    UserLookupRequest,
    UserLookupResponse,
)
from dmt_shared.http import ServiceClient, UpstreamUnavailable
from dmt_shared.problems import FieldError, ProblemError

WRONG_PASSWORD = "the password is not right"

T = TypeVar("T")


class References:
    def __init__(self, masterdata: ServiceClient, auth: ServiceClient) -> None:
        self.masterdata = masterdata
        self.auth = auth

    async def check(
        self,
        catalog_ids: Mapping[str, int],
        user_ids: Mapping[str, int],
        headers: Mapping[str, str],
    ) -> list[dict[str, str]]:
        """Field errors for the unknown or inactive entries and users among those given.

        ``catalog_ids``: record field -> catalog entry id (the kind follows from the field);
        ``user_ids``: record field -> user id. Nothing given, nothing asked.
        """
        calls: list[Awaitable[list[dict[str, str]]]] = []
        if catalog_ids:
            calls.append(self._check_catalogs(catalog_ids, dict(headers)))
        if user_ids:
            calls.append(self._check_users(user_ids, dict(headers)))
        results = await asyncio.gather(*calls, return_exceptions=True)
        errors: list[dict[str, str]] = []
        for result in results:
            if isinstance(result, BaseException):
                raise result
            errors.extend(result)
        return errors

    async def _check_catalogs(self, ids: Mapping[str, int], headers: dict[str, str]) -> list[dict[str, str]]:
        wanted = {field: CatalogRef(kind=RECORD_CATALOG_FIELDS[field], id=value) for field, value in ids.items()}
        request = CatalogLookupRequest(items=list(dict.fromkeys(wanted.values())))
        answer = await self.masterdata.json(
            "POST", CATALOG_LOOKUP_PATH, json=msgspec.to_builtins(request), headers=headers
        )
        found = {(item.kind, item.id): item for item in _decode(self.masterdata, answer, CatalogLookupResponse).items}
        errors: list[dict[str, str]] = []
        for field, ref in wanted.items():
            entry = found.get((ref.kind, ref.id))
            if entry is None:
                errors.append(FieldError(field, f"no {ref.kind} entry {ref.id}"))
            elif not entry.is_active:
                errors.append(FieldError(field, f"inactive: {ref.kind} entry {entry.item_number} is no longer in use"))
        return errors

    async def _check_users(self, ids: Mapping[str, int], headers: dict[str, str]) -> list[dict[str, str]]:
        request = UserLookupRequest(ids=list(dict.fromkeys(ids.values())))
        answer = await self.auth.json("POST", USER_LOOKUP_PATH, json=msgspec.to_builtins(request), headers=headers)
        found = {user.id: user for user in _decode(self.auth, answer, UserLookupResponse).items}
        errors: list[dict[str, str]] = []
        for field, user_id in ids.items():
            user = found.get(user_id)
            if user is None:
                errors.append(FieldError(field, f"no user {user_id}"))
            elif not user.is_active:
                errors.append(FieldError(field, f"inactive: user {user.username} is deactivated"))
        return errors

    async def verify_password(self, password: str, headers: Mapping[str, str]) -> SignerIdentity:
        """Who signs, when auth confirms ``password`` is the caller's own (the caller's token is
        in ``headers``). Auth's refusals become ours: 403 naming ``password`` when it is wrong,
        429 (with auth's Retry-After) after too many wrong ones, 401 when the account is gone;
        auth unreachable or failing: 503. The password itself is never logged or kept.
        """
        body = msgspec.to_builtins(PasswordCheck(password=password))
        response = await self.auth.request("POST", PASSWORD_CHECK_PATH, json=body, headers=dict(headers))
        status = response.status_code
        if status == 200:
            return _decode(self.auth, _json(response), SignerIdentity)
        if status == 403:
            raise ProblemError(403, WRONG_PASSWORD, errors=[FieldError("password", WRONG_PASSWORD)])
        if status == 429:
            wait = response.headers.get("retry-after")
            raise ProblemError(
                429,
                _detail(response) or "too many wrong passwords; try again later",
                headers={"Retry-After": wait} if wait else None,
            )
        if status == 401:
            raise ProblemError(401, _detail(response) or "the auth service does not know you any more; sign in again")
        raise UpstreamUnavailable(self.auth.service, f"its password check answered {status}")


def _json(response: httpx.Response) -> Any:
    try:
        return response.json()
    except ValueError:
        return None


def _detail(response: httpx.Response) -> str | None:
    """The ``detail`` of an upstream problem answer, when there is one to pass on."""
    body = _json(response)
    detail = body.get("detail") if isinstance(body, dict) else None
    return detail if isinstance(detail, str) and detail else None


def _decode(client: ServiceClient, answer: Any, kind: type[T]) -> T:
    try:
        return msgspec.convert(answer, kind)
    except msgspec.ValidationError as exc:
        raise UpstreamUnavailable(client.service, "its answer could not be read") from exc
