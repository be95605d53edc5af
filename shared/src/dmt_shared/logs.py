"""Log lines of every component: one handler on the root logger, JSON or text, with the
request id and the signed-in user of the request being answered, secrets masked.

``DMT_LOG_FORMAT`` chooses the format: ``json`` (one object per line, for log collectors),
``text`` (for a terminal) or ``auto`` (the default: text when stderr is a terminal, else JSON).
A JSON line carries ``ts`` (ISO-8601, UTC), ``level``, ``component``, ``logger``, ``message``,
``request_id`` and ``user_id`` (null outside a request or before sign-in), every field given
with ``extra=``, and ``exc_info`` (the traceback as text) when an exception is logged.

:class:`AccessLogMiddleware` writes one ``dmt.access`` line per HTTP request with ``method``,
``path`` (never the query string), ``status`` and ``duration_ms``. Health probes and metric
scrapes are left out unless they fail with a 5xx status: they come every few seconds and would
hide everything else.

Bearer tokens, JWT-looking strings, passwords in URLs and the values of ``password``,
``token``, ``secret`` and ``api_key`` fields become ``[redacted]`` before a line is written, in
the message, in extra fields and in tracebacks.
"""

from __future__ import annotations

import contextvars
import json
import logging
import os
import re
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, TextIO

from litestar.logging.config import BaseLoggingConfig
from litestar.types import ASGIApp, Message, Receive, Scope, Send

from dmt_shared.request_id import current_request_id

LOG_FORMAT_ENV = "DMT_LOG_FORMAT"
FORMATS = ("json", "text", "auto")
ACCESS_LOGGER = "dmt.access"
REDACTED = "[redacted]"

#: uvicorn's own loggers; their lines go through the same handler as the component's.
UVICORN_LOGGERS = ("uvicorn", "uvicorn.error", "uvicorn.access")

_user_id: contextvars.ContextVar[int | str | None] = contextvars.ContextVar("dmt_user_id", default=None)
_component: contextvars.ContextVar[str | None] = contextvars.ContextVar("dmt_component", default=None)


def current_user_id() -> int | str | None:
    """The id of the user whose verified token the current request carries, if any."""
    return _user_id.get()


def set_user_id(user_id: int | str | None) -> None:
    """Called by the token check once a token is verified; the access middleware clears it
    at the start and the end of each request."""
    _user_id.set(user_id)


# ---------------------------------------------------------------- redaction

_SECRET_KEY = r"[A-Za-z0-9_.-]*(?:password|passwd|pwd|token|secret|api[_-]?key|apikey)[A-Za-z0-9_.-]*"
_SECRET_NAME = re.compile(rf"^{_SECRET_KEY}$|^authorization$|^cookie$", re.IGNORECASE)
_PATTERNS: tuple[tuple[re.Pattern[str], str | Callable[[re.Match[str]], str]], ...] = (
    # "password": "...", 'token': '...', password="..."
    (
        re.compile(
            rf"""(?P<key>(?P<q>["']?){_SECRET_KEY}(?P=q)\s*[:=]\s*)(?P<v>"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*')""",
            re.I,
        ),
        lambda m: f"{m['key']}{m['v'][0]}{REDACTED}{m['v'][0]}",
    ),
    # password=..., access_token=... (query strings, key=value text)
    (re.compile(rf"(?P<key>\b{_SECRET_KEY}=)(?P<v>[^\s&,;'\"]+)", re.I), rf"\g<key>{REDACTED}"),
    # Authorization: Bearer <token>; a token has a capital, a digit or a sign ("a bearer token" stays)
    (
        re.compile(r"\b(?P<scheme>bearer|basic)\s+(?-i:(?=[a-z]*[A-Z0-9._~+/=-]))[A-Za-z0-9._~+/=-]+", re.I),
        rf"\g<scheme> {REDACTED}",
    ),
    # anything shaped like a JWT
    (re.compile(r"\beyJ[A-Za-z0-9_-]+\.eyJ[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*"), REDACTED),
    # scheme://user:password@host
    (re.compile(r"(?P<head>\b[a-z][a-z0-9+.-]*://[^:/\s@]+:)[^@\s/]+(?P<at>@)", re.I), rf"\g<head>{REDACTED}\g<at>"),
)


def _may_hold_secret(text: str) -> bool:
    """False when none of the patterns can match: each needs ``=``, ``:``, ``eyJ``, ``bearer`` or
    ``basic``. Most lines (every access line) have none, and skip the patterns."""
    if "=" in text or ":" in text or "eyJ" in text:
        return True
    lowered = text.lower()
    return "bearer" in lowered or "basic" in lowered


def redact(text: str) -> str:
    """``text`` with every secret the patterns recognise replaced by ``[redacted]``."""
    if not _may_hold_secret(text):
        return text
    for pattern, replacement in _PATTERNS:
        text = pattern.sub(replacement, text)
    return text


def redact_value(key: str, value: Any) -> Any:
    """A field's value as it may be logged: masked whole when its name says it is a secret."""
    if _SECRET_NAME.match(key):
        return REDACTED if value not in (None, "") else value
    if isinstance(value, str):
        return redact(value)
    if isinstance(value, dict):
        return {k: redact_value(str(k), v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [redact_value("", v) for v in value]
    return value


#: Attributes every LogRecord has; anything else on a record came with ``extra=``.
_RECORD_FIELDS = frozenset(logging.makeLogRecord({}).__dict__) | {"message", "asctime", "taskName"}
#: Set by our filters, written as the fixed keys rather than as extra fields.
_CONTEXT_FIELDS = frozenset({"request_id", "user_id", "component"})
#: Attributes other libraries add for their own formatters.
_IGNORED_FIELDS = frozenset({"color_message"})


def extra_fields(record: logging.LogRecord) -> dict[str, Any]:
    return {
        key: value
        for key, value in record.__dict__.items()
        if key not in _RECORD_FIELDS and key not in _CONTEXT_FIELDS and key not in _IGNORED_FIELDS
        and not key.startswith("_")
    }  # fmt: skip


class RedactionFilter(logging.Filter):
    """Masks secrets in the message, the extra fields and the traceback of every record."""

    _exception_formatter = logging.Formatter()

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a broken format string: log what was given
            message = f"{record.msg} {record.args}"
        record.msg, record.args = redact(message), None
        for key, value in extra_fields(record).items():
            setattr(record, key, redact_value(key, value))
        if record.exc_info and not record.exc_text:
            record.exc_text = self._exception_formatter.formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact(record.exc_text)
        if record.stack_info:
            record.stack_info = redact(record.stack_info)
        return True


class ContextFilter(logging.Filter):
    """Adds the component, the request id and the user id of the request being answered."""

    def __init__(self, component: str) -> None:
        super().__init__()
        self.component = component

    def filter(self, record: logging.LogRecord) -> bool:
        request_id = current_request_id()
        record.request_id = None if request_id == "-" else request_id
        record.user_id = current_user_id()
        record.component = _component.get() or self.component
        return True


# ---------------------------------------------------------------- formats


def _timestamp(record: logging.LogRecord) -> str:
    moment = datetime.fromtimestamp(record.created, UTC)
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


class JsonFormatter(logging.Formatter):
    """One JSON object per line (see the module's description for the keys)."""

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "ts": _timestamp(record),
            "level": record.levelname,
            "component": getattr(record, "component", None),
            "logger": record.name,
            "message": record.getMessage(),
            "request_id": getattr(record, "request_id", None),
            "user_id": getattr(record, "user_id", None),
        }
        for key, value in extra_fields(record).items():
            line.setdefault(key, value)
        if record.exc_info and not record.exc_text:
            record.exc_text = self.formatException(record.exc_info)
        if record.exc_text:
            line["exc_info"] = record.exc_text
        if record.stack_info:
            line["stack_info"] = record.stack_info
        return json.dumps(line, default=str, ensure_ascii=False)


#: Fields an access line's message already shows; the text format does not repeat them.
_ACCESS_FIELDS = frozenset({"method", "path", "status", "duration_ms"})


class TextFormatter(logging.Formatter):
    """``ts level component [request_id user] logger: message key=value ...``, for terminals."""

    def format(self, record: logging.LogRecord) -> str:
        request_id = getattr(record, "request_id", None) or "-"
        user_id = getattr(record, "user_id", None)
        head = (
            f"{_timestamp(record)} {record.levelname:<7} {getattr(record, 'component', '-')} "
            f"[{request_id} {'-' if user_id is None else user_id}] {record.name}: {record.getMessage()}"
        )
        extras = extra_fields(record)
        if record.name == ACCESS_LOGGER:
            extras = {k: v for k, v in extras.items() if k not in _ACCESS_FIELDS}
        if extras:
            head += " " + " ".join(f"{key}={_text_value(value)}" for key, value in extras.items())
        if record.exc_info and not record.exc_text:
            record.exc_text = self.formatException(record.exc_info)
        if record.exc_text:
            head += "\n" + record.exc_text
        if record.stack_info:
            head += "\n" + record.stack_info
        return head


def _text_value(value: Any) -> str:
    text = value if isinstance(value, str) else json.dumps(value, default=str, ensure_ascii=False)
    return json.dumps(text, ensure_ascii=False) if (not text or any(c.isspace() for c in text)) else text


# ---------------------------------------------------------------- configuration


class _DmtHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """The one handler :func:`configure_logging` puts on the root logger."""


def resolve_format(fmt: str | None = None, stream: TextIO | None = None) -> str:
    """``json`` or ``text``: ``fmt`` if given, else ``DMT_LOG_FORMAT``, ``auto`` deciding by
    whether ``stream`` (stderr) is a terminal."""
    chosen = (fmt or os.environ.get(LOG_FORMAT_ENV) or "auto").strip().lower()
    if chosen not in FORMATS:
        from dmt_shared.settings import SettingsError

        raise SettingsError(f"{LOG_FORMAT_ENV} must be one of {', '.join(FORMATS)}, not {chosen!r}")
    if chosen == "auto":
        target = stream if stream is not None else sys.stderr
        isatty = getattr(target, "isatty", None)
        return "text" if callable(isatty) and isatty() else "json"
    return chosen


def dmt_handler() -> logging.StreamHandler | None:  # type: ignore[type-arg]
    """The handler :func:`configure_logging` installed, if it did."""
    for handler in logging.getLogger().handlers:
        if isinstance(handler, _DmtHandler):
            return handler
    return None


def configure_logging(component: str, level: str = "INFO", fmt: str | None = None) -> logging.Handler:
    """Send every log line of the process (uvicorn's included) through one handler on the root
    logger, in the chosen format, with context and without secrets. Calling it again adjusts
    that handler (component, level, format) rather than adding another."""
    handler = dmt_handler()
    if handler is None:
        handler = _DmtHandler(sys.stderr)
        handler.addFilter(ContextFilter(component))
        handler.addFilter(RedactionFilter())
        logging.getLogger().addHandler(handler)
    for entry in handler.filters:
        if isinstance(entry, ContextFilter):
            entry.component = component
    chosen = resolve_format(fmt, handler.stream)
    handler.setFormatter(JsonFormatter() if chosen == "json" else TextFormatter())
    logging.getLogger().setLevel(level.upper())
    for name in UVICORN_LOGGERS:
        routed = logging.getLogger(name)
        if name == "uvicorn.access" and not routed.handlers and not routed.propagate:
            continue  # --no-access-log: uvicorn writes access lines only while this logger has a handler
        routed.handlers.clear()
        routed.propagate = True
    # Migration progress lines at every start say nothing an operator needs.
    logging.getLogger("alembic").setLevel(logging.WARNING)
    logging.getLogger("httpx").setLevel(logging.WARNING)
    return handler


class StdlibLogging(BaseLoggingConfig):
    """Lets Litestar log through the standard loggers configured here instead of installing a
    root handler of its own. Unhandled errors are logged by the problem-details handlers."""

    def __init__(self) -> None:
        self.log_exceptions = "never"
        self.exception_logging_handler = None
        self.traceback_line_limit = -1
        self.disable_stack_trace = set()

    def configure(self) -> Any:
        return logging.getLogger

    @staticmethod
    def set_level(logger: Any, level: int) -> None:
        logger.setLevel(level)


# ---------------------------------------------------------------- access lines

_access_log = logging.getLogger(ACCESS_LOGGER)
_QUIET_PATHS = re.compile(r"^/(health(/.*)?|metrics/?)$")


class AccessLogMiddleware:
    """ASGI middleware: one ``dmt.access`` line per HTTP request, with the status the client
    got (also when an inner layer refused the request or failed)."""

    def __init__(self, app: ASGIApp, component: str) -> None:
        self.app = app
        self.component = component

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status: int | None = None

        async def send_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        component = _component.set(self.component)
        user = _user_id.set(None)
        try:
            await self.app(scope, receive, send_status)
        except Exception as exc:
            if status is None:
                status = int(getattr(exc, "status_code", 500))
            raise
        finally:
            status = 500 if status is None else status
            path = scope.get("path", "")
            if status >= 500 or not _QUIET_PATHS.match(path):
                method = scope.get("method", "-")
                duration_ms = round((time.perf_counter() - started) * 1000, 1)
                _access_log.info(
                    "%s %s %s %.1f ms",
                    method,
                    path,
                    status,
                    duration_ms,
                    extra={"method": method, "path": path, "status": status, "duration_ms": duration_ms},
                )
            _user_id.reset(user)
            _component.reset(component)
