"""The routing table, the public paths and the header rules, without HTTP."""

from __future__ import annotations

import re

import pytest

from dmt_gateway.domain.proxy.rules import (
    is_public,
    public_path_patterns,
    request_headers,
    response_headers,
    upstream_for,
)


@pytest.mark.parametrize(
    ("path", "service"),
    [
        ("/api/v1/auth/login", "auth"),
        ("/api/v1/auth", "auth"),
        ("/api/v1/users", "auth"),
        ("/api/v1/users/3", "auth"),
        ("/api/v1/catalogs", "masterdata"),
        ("/api/v1/catalogs/work-centers/3", "masterdata"),
        ("/api/v1/records", "records"),
        ("/api/v1/records/9/close", "records"),
        ("/api/v1/analytics", "records"),
        ("/api/v1/analytics/pareto", "records"),
        ("/api/v1/analyticsx", None),
        ("/api/v1/usersettings", None),
        ("/api/v1/recordsets", None),
        ("/api/v1/", None),
        ("/api/v2/records", None),
        ("/records", None),
    ],
)
def test_each_path_belongs_to_one_service_or_none(path: str, service: str | None) -> None:
    assert upstream_for(path) == service


def test_only_the_named_paths_are_public() -> None:
    for path in ("/api/v1/auth/login", "/api/v1/auth/login/", "/api/v1/auth/jwks", "/", "/api/docs", "/health"):
        assert is_public(path), path
    for path in ("/api/v1/auth/me", "/api/v1/auth/login/x", "/api/v1/records/health", "/api/v1/users", "/x/"):
        assert not is_public(path), path


def test_the_token_check_skips_exactly_the_public_paths() -> None:
    pattern = re.compile("|".join(public_path_patterns()))
    assert pattern.search("/api/v1/auth/refresh")
    assert pattern.search("/")
    assert not pattern.search("/api/v1/records")
    assert not pattern.search("/api/v1/auth/login/../../records")
    assert not pattern.search("/api/v1/records/api/docs")


def test_request_headers_drop_hop_by_hop_host_and_forged_forwarding() -> None:
    out = request_headers(
        [
            ("Host", "gateway"),
            ("Connection", "keep-alive, X-Private"),
            ("X-Private", "1"),
            ("Transfer-Encoding", "chunked"),
            ("Proxy-Authorization", "Basic x"),
            ("X-Forwarded-For", "1.2.3.4"),
            ("X-Request-ID", "abc"),
            ("Authorization", "Bearer t"),
            ("Cookie", "a=1"),
            ("Cookie", "b=2"),
            ("Accept", "text/csv"),
            ("Accept", "application/json"),
        ]
    )
    assert out == {"authorization": "Bearer t", "cookie": "a=1; b=2", "accept": "text/csv, application/json"}


def test_response_headers_keep_repeated_cookies_and_drop_what_the_gateway_writes() -> None:
    out = response_headers(
        [
            ("Set-Cookie", "a=1"),
            ("Set-Cookie", "b=2"),
            ("Connection", "close, X-Hop"),
            ("X-Hop", "1"),
            ("Transfer-Encoding", "chunked"),
            ("Date", "Mon, 01 Jan 2024 00:00:00 GMT"),
            ("Server", "uvicorn"),
            ("X-Request-ID", "abc"),
            ("ETag", '"4"'),
            ("Content-Length", "10"),
        ],
        drop=("Content-Length",),
    )
    assert out == [("set-cookie", "a=1"), ("set-cookie", "b=2"), ("etag", '"4"')]
