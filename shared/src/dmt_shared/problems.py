"""RFC 9457 problem details for every error of every component.

A client always gets ``application/problem+json`` with ``status``, ``title`` and ``detail``;
validation problems add ``errors``: a list of ``{"field": ..., "message": ...}`` so a form
can show each message next to its field. Bad input and duplicates are never a 500.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable
from http import HTTPStatus
from typing import Any

from litestar import Request, Response
from litestar.exceptions import HTTPException, ValidationException
from litestar.status_codes import HTTP_500_INTERNAL_SERVER_ERROR

log = logging.getLogger("dmt.errors")

PROBLEM_JSON = "application/problem+json"

__all__ = [
    "PROBLEM_JSON",
    "FieldError",
    "ProblemError",
    "conflict",
    "exception_handlers",
    "forbidden",
    "not_found",
    "problem_response",
    "unavailable",
    "unprocessable",
]


def FieldError(field: str, message: str) -> dict[str, str]:
    return {"field": field, "message": message}


class ProblemError(HTTPException):
    """An error that becomes a problem response with the given status and field errors."""

    def __init__(
        self,
        status_code: int,
        detail: str,
        *,
        errors: Iterable[dict[str, str]] | None = None,
        title: str | None = None,
        extra_members: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(detail=detail, status_code=status_code, headers=headers)
        self.errors = list(errors or [])
        self.title = title or HTTPStatus(status_code).phrase
        self.extra_members = extra_members or {}


def not_found(what: str, ident: object) -> ProblemError:
    return ProblemError(404, f"{what} {ident} does not exist")


def conflict(detail: str, *, field: str | None = None) -> ProblemError:
    errors = [FieldError(field, detail)] if field else None
    return ProblemError(409, detail, errors=errors)


def forbidden(detail: str, *, fields: Iterable[str] = ()) -> ProblemError:
    errors = [FieldError(f, "your role may not change this field") for f in fields]
    return ProblemError(403, detail, errors=errors)


def unprocessable(errors: Iterable[dict[str, str]], detail: str | None = None) -> ProblemError:
    errs = list(errors)
    if detail is None:
        detail = "; ".join(f"{e['field']}: {e['message']}" for e in errs) or "the request cannot be processed"
    return ProblemError(422, detail, errors=errs)


def unavailable(detail: str, *, retry_after: int | None = None) -> ProblemError:
    headers = {"Retry-After": str(retry_after)} if retry_after else None
    return ProblemError(503, detail, headers=headers)


def problem_response(
    status: int,
    detail: str,
    *,
    title: str | None = None,
    errors: list[dict[str, str]] | None = None,
    instance: str | None = None,
    headers: dict[str, str] | None = None,
    extra: dict[str, Any] | None = None,
) -> Response[dict[str, Any]]:
    body: dict[str, Any] = {
        "type": "about:blank",
        "status": status,
        "title": title or HTTPStatus(status).phrase,
        "detail": detail,
    }
    if instance:
        body["instance"] = instance
    if errors:
        body["errors"] = errors
    if extra:
        body.update(extra)
    return Response(content=body, status_code=status, media_type=PROBLEM_JSON, headers=headers)


_PATH_RE = re.compile(r"`\$\.([A-Za-z0-9_.\[\]]+)`")
_MISSING_RE = re.compile(r"missing required field `([^`]+)`")
_UNKNOWN_RE = re.compile(r"unknown field `([^`]+)`")


def _field_errors(extra: Any) -> list[dict[str, str]]:
    errors: list[dict[str, str]] = []
    items = extra if isinstance(extra, list) else [extra] if extra else []
    for item in items:
        if not isinstance(item, dict):
            errors.append(FieldError("body", str(item)))
            continue
        message = str(item.get("message", "invalid value"))
        key = item.get("key")
        path = _PATH_RE.search(message)
        missing = _MISSING_RE.search(message)
        unknown = _UNKNOWN_RE.search(message)
        if missing:
            field = missing.group(1)
            if path:
                field = f"{path.group(1)}.{field}"
            message = "this field is required"
        elif unknown:
            field = unknown.group(1)
            message = "unknown field"
        elif path:
            field = path.group(1)
            message = _PATH_RE.sub("", message).replace(" - at ", "").strip(" -")
        elif key and key != "data":
            field = str(key)
        else:
            field = "body"
        errors.append(FieldError(field, message))
    return errors


def _http_exception_handler(request: Request[Any, Any, Any], exc: HTTPException) -> Response[dict[str, Any]]:
    if isinstance(exc, ProblemError):
        return problem_response(
            exc.status_code,
            exc.detail,
            title=exc.title,
            errors=exc.errors or None,
            instance=request.url.path,
            headers=exc.headers,
            extra=exc.extra_members or None,
        )
    if isinstance(exc, ValidationException):
        errors = _field_errors(exc.extra)
        detail = "; ".join(f"{e['field']}: {e['message']}" for e in errors) if errors else exc.detail
        return problem_response(exc.status_code, detail, errors=errors or None, instance=request.url.path)
    status = exc.status_code
    detail = exc.detail or HTTPStatus(status).phrase
    return problem_response(status, detail, instance=request.url.path, headers=exc.headers)


def _duplicate_handler(request: Request[Any, Any, Any], exc: Exception) -> Response[dict[str, Any]]:
    log.info("integrity error on %s: %s", request.url.path, exc)
    return problem_response(409, "this would duplicate or orphan existing data", instance=request.url.path)


def _not_found_handler(request: Request[Any, Any, Any], exc: Exception) -> Response[dict[str, Any]]:
    return problem_response(404, str(exc) or "not found", instance=request.url.path)


def _pool_timeout_handler(request: Request[Any, Any, Any], exc: Exception) -> Response[dict[str, Any]]:
    log.warning("no database connection free in time on %s %s: %s", request.method, request.url.path, exc)
    return problem_response(
        503,
        "every database connection of this service is in use; try again shortly",
        instance=request.url.path,
        headers={"Retry-After": "2"},
    )


def _internal_handler(request: Request[Any, Any, Any], exc: Exception) -> Response[dict[str, Any]]:
    log.exception("unhandled error on %s %s", request.method, request.url.path, exc_info=exc)
    return problem_response(
        HTTP_500_INTERNAL_SERVER_ERROR, "an internal error occurred; it has been logged", instance=request.url.path
    )


def exception_handlers() -> dict[Any, Any]:
    """The handlers every component registers."""
    from advanced_alchemy.exceptions import DuplicateKeyError, IntegrityError, NotFoundError
    from sqlalchemy.exc import IntegrityError as SAIntegrityError
    from sqlalchemy.exc import TimeoutError as PoolTimeout

    return {
        HTTPException: _http_exception_handler,
        DuplicateKeyError: _duplicate_handler,
        IntegrityError: _duplicate_handler,
        SAIntegrityError: _duplicate_handler,
        NotFoundError: _not_found_handler,
        # The pool had no connection free within its timeout: busy, not broken.
        PoolTimeout: _pool_timeout_handler,
        Exception: _internal_handler,
    }
