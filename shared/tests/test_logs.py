"""Log lines as an operator reads them: one JSON object per line (or text on a terminal), one
access line per request with its request id and user, and no secrets."""

import io
import json
import logging
import re
from collections.abc import Iterator
from datetime import datetime
from typing import Any

import pytest
from litestar import get, post
from litestar.testing import AsyncTestClient

from dmt_shared.app import create_component_app
from dmt_shared.logs import configure_logging, dmt_handler, resolve_format
from dmt_shared.problems import unprocessable
from dmt_shared.settings import SettingsError
from dmt_shared.testing import TokenFactory
from dmt_shared.tokens import Role

log = logging.getLogger("dmt.example")

BASE_KEYS = {"ts", "level", "component", "logger", "message", "request_id", "user_id"}
ACCESS_KEYS = BASE_KEYS | {"method", "path", "status", "duration_ms"}


@get("/things/{thing_id:int}")
async def read_thing(thing_id: int) -> dict[str, int]:
    log.info("looking up thing %s", thing_id, extra={"thing_id": thing_id})
    if thing_id > 100:
        raise unprocessable([{"field": "thing_id", "message": "no such thing"}])
    return {"id": thing_id}


@post("/sign-in")
async def sign_in(data: dict[str, Any]) -> dict[str, str]:
    # The careless lines a handler might write: every secret in them must be masked.
    log.info("sign-in for %s with password=%s", data["username"], data["password"])
    log.info("request body %s", json.dumps(data))
    log.warning("issued token %s", data["token"], extra={"token": data["token"], "body": data})
    try:
        raise ValueError(f"cannot reach postgresql://dmt:{data['password']}@db/dmt with Bearer {data['token']}")
    except ValueError:
        log.exception("sign-in failed")
    return {"status": "ok"}


@get("/crash")
async def crash() -> None:
    raise RuntimeError("broken")


def _app(tokens: TokenFactory, *, ready: bool = True):
    async def check() -> None:
        if not ready:
            raise RuntimeError("database gone")

    return create_component_app(
        service="example",
        title="Example",
        version="1",
        route_handlers=[read_thing, sign_in, crash],
        verifier=tokens.verifier(),
        ready_checks={"database": check},
        public_paths=["^/sign-in$"],
    )


@pytest.fixture
def output(monkeypatch: pytest.MonkeyPatch) -> Iterator[io.StringIO]:
    """What the component's log handler writes, in JSON (as under a process manager)."""
    monkeypatch.setenv("DMT_LOG_FORMAT", "json")
    handler = configure_logging("example")
    stream = io.StringIO()
    previous = handler.setStream(stream)
    try:
        yield stream
    finally:
        handler.setStream(previous)


def _lines(stream: io.StringIO) -> list[dict[str, Any]]:
    return [json.loads(line) for line in stream.getvalue().splitlines()]


def _access(stream: io.StringIO) -> list[dict[str, Any]]:
    return [line for line in _lines(stream) if line["logger"] == "dmt.access"]


async def test_each_request_gets_one_json_access_line_with_its_id_and_user(
    output: io.StringIO, tokens: TokenFactory
) -> None:
    async with AsyncTestClient(_app(tokens)) as client:
        headers = {**tokens.headers(Role.INSPECTOR, user_id=7), "X-Request-ID": "trace-42"}
        response = await client.get("/things/101?page=2&password=hunter2", headers=headers)
        assert response.status_code == 422

    [line] = _access(output)
    assert set(line) == ACCESS_KEYS
    assert line["level"] == "INFO"
    assert line["component"] == "example"
    assert line["method"] == "GET"
    assert line["path"] == "/things/101"  # never the query string
    assert line["status"] == 422
    assert line["request_id"] == "trace-42"
    assert line["user_id"] == 7
    assert isinstance(line["duration_ms"], float)
    assert line["duration_ms"] >= 0
    assert line["ts"].endswith("Z")
    assert datetime.fromisoformat(line["ts"].replace("Z", "+00:00")).utcoffset().total_seconds() == 0
    assert "hunter2" not in output.getvalue()


async def test_a_handlers_own_lines_carry_the_request_id_user_and_extra_fields(
    output: io.StringIO, tokens: TokenFactory
) -> None:
    async with AsyncTestClient(_app(tokens)) as client:
        headers = {**tokens.headers(user_id=12), "X-Request-ID": "trace-7"}
        assert (await client.get("/things/3", headers=headers)).status_code == 200

    [line] = [entry for entry in _lines(output) if entry["logger"] == "dmt.example"]
    assert set(line) == BASE_KEYS | {"thing_id"}
    assert line["message"] == "looking up thing 3"
    assert line["thing_id"] == 3
    assert (line["request_id"], line["user_id"]) == ("trace-7", 12)


async def test_refused_unknown_and_failed_requests_are_logged_with_their_real_status(
    output: io.StringIO, tokens: TokenFactory
) -> None:
    async with AsyncTestClient(_app(tokens)) as client:
        assert (await client.get("/things/1", headers={"X-Request-ID": "no-token"})).status_code == 401
        foreign = {**TokenFactory().headers(), "X-Request-ID": "foreign"}
        assert (await client.get("/things/1", headers=foreign)).status_code == 401
        missing = await client.get("/nowhere", headers={"X-Request-ID": "lost"})
        assert missing.status_code == 404
        assert missing.headers["x-request-id"] == "lost"
        assert (await client.get("/crash", headers={**tokens.headers(), "X-Request-ID": "boom"})).status_code == 500

    by_id = {line["request_id"]: line for line in _access(output)}
    assert by_id["no-token"]["status"] == 401
    assert by_id["no-token"]["user_id"] is None
    assert by_id["foreign"]["status"] == 401
    assert by_id["foreign"]["user_id"] is None
    assert (by_id["lost"]["path"], by_id["lost"]["status"]) == ("/nowhere", 404)
    assert by_id["boom"]["status"] == 500
    [error] = [line for line in _lines(output) if line["level"] == "ERROR"]
    assert error["request_id"] == "boom"
    assert "RuntimeError: broken" in error["exc_info"]


async def test_probes_and_scrapes_stay_out_of_the_log_unless_they_fail(
    output: io.StringIO, tokens: TokenFactory
) -> None:
    async with AsyncTestClient(_app(tokens)) as client:
        for path in ("/health", "/health/ready", "/metrics"):
            assert (await client.get(path)).status_code == 200
    assert _access(output) == []

    async with AsyncTestClient(_app(tokens, ready=False)) as client:
        assert (await client.get("/health/ready")).status_code == 503
    [line] = _access(output)
    assert (line["path"], line["status"]) == ("/health/ready", 503)


async def test_passwords_and_tokens_a_handler_logs_are_redacted(output: io.StringIO, tokens: TokenFactory) -> None:
    token = tokens.token(user_id=3)
    body = {"username": "ADM001", "password": "s3cret-pass", "token": token}
    async with AsyncTestClient(_app(tokens)) as client:
        response = await client.post("/sign-in", json=body, headers={"Authorization": f"Bearer {token}"})
        assert response.status_code == 201

    text = output.getvalue()
    assert "s3cret-pass" not in text
    assert token not in text
    assert token.split(".")[1] not in text  # not even the claims part
    lines = [line for line in _lines(output) if line["logger"] == "dmt.example"]
    assert [line["message"] for line in lines[:2]] == [
        "sign-in for ADM001 with password=[redacted]",
        'request body {"username": "ADM001", "password": "[redacted]", "token": "[redacted]"}',
    ]
    assert lines[2]["message"] == "issued token [redacted]"
    assert lines[2]["token"] == "[redacted]"
    assert lines[2]["body"] == {"username": "ADM001", "password": "[redacted]", "token": "[redacted]"}
    assert "postgresql://dmt:[redacted]@db/dmt with Bearer [redacted]" in lines[3]["exc_info"]


async def test_text_format_for_a_terminal(monkeypatch: pytest.MonkeyPatch, tokens: TokenFactory) -> None:
    monkeypatch.delenv("DMT_LOG_FORMAT", raising=False)
    handler = configure_logging("example", fmt="text")
    stream = io.StringIO()
    previous = handler.setStream(stream)
    try:
        app = create_component_app(
            service="example",
            title="Example",
            version="1",
            route_handlers=[read_thing],
            verifier=tokens.verifier(),
            ready_checks={},
        )
        configure_logging("example", fmt="text")
        async with AsyncTestClient(app) as client:
            headers = {**tokens.headers(user_id=5), "X-Request-ID": "abc-1"}
            assert (await client.get("/things/4?q=1", headers=headers)).status_code == 200
            assert (await client.get("/things/5")).status_code == 401
    finally:
        handler.setStream(previous)
        configure_logging("example")

    lines = stream.getvalue().splitlines()
    stamp = r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z"
    assert re.fullmatch(rf"{stamp} INFO +example \[abc-1 5\] dmt\.example: looking up thing 4 thing_id=4", lines[0])
    assert re.fullmatch(rf"{stamp} INFO +example \[abc-1 5\] dmt\.access: GET /things/4 200 [\d.]+ ms", lines[1])
    assert re.fullmatch(rf"{stamp} INFO +example \[\w{{32}} -\] dmt\.access: GET /things/5 401 [\d.]+ ms", lines[2])


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_the_format_follows_the_setting_and_auto_looks_for_a_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("DMT_LOG_FORMAT", raising=False)
    assert resolve_format(None, _Terminal()) == "text"
    assert resolve_format(None, io.StringIO()) == "json"
    monkeypatch.setenv("DMT_LOG_FORMAT", "json")
    assert resolve_format(None, _Terminal()) == "json"
    monkeypatch.setenv("DMT_LOG_FORMAT", "TEXT")
    assert resolve_format(None, io.StringIO()) == "text"
    assert resolve_format("json", _Terminal()) == "json"
    monkeypatch.setenv("DMT_LOG_FORMAT", "yaml")
    with pytest.raises(SettingsError, match="DMT_LOG_FORMAT"):
        resolve_format()


def test_uvicorns_lines_go_through_the_same_handler_once(output: io.StringIO) -> None:
    # As uvicorn leaves its loggers before the app is loaded: own handlers, not propagating.
    private = io.StringIO()
    for name in ("uvicorn", "uvicorn.access"):
        logging.getLogger(name).handlers = [logging.StreamHandler(private)]
        logging.getLogger(name).propagate = False
    configure_logging("example")
    configure_logging("example")

    logging.getLogger("uvicorn.error").info("Started server process [%d]", 42)
    logging.getLogger("uvicorn.access").info('127.0.0.1:5000 - "GET / HTTP/1.1" 200')

    assert private.getvalue() == ""
    assert [(line["logger"], line["message"], line["component"]) for line in _lines(output)] == [
        ("uvicorn.error", "Started server process [42]", "example"),
        ("uvicorn.access", '127.0.0.1:5000 - "GET / HTTP/1.1" 200', "example"),
    ]
    assert sum(handler is dmt_handler() for handler in logging.getLogger().handlers) == 1


def test_lines_outside_a_request_have_no_request_id_or_user(output: io.StringIO) -> None:
    log.warning("starting up")
    [line] = _lines(output)
    assert (line["level"], line["request_id"], line["user_id"]) == ("WARNING", None, None)


def test_uvicorns_access_lines_stay_off_when_it_was_told_so(output: io.StringIO) -> None:
    access = logging.getLogger("uvicorn.access")
    access.handlers, access.propagate = [], False  # what uvicorn --no-access-log leaves
    try:
        configure_logging("example")
        assert not access.hasHandlers()  # uvicorn checks this before writing its own access lines
    finally:
        access.propagate = True
