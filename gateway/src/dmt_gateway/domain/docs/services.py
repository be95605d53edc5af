"""One OpenAPI document for the whole public API, made from the services' own documents.

Each service describes its paths, which are already the public ones. Their schema names
could clash (two services may both have a ``Page``), so each service's component names
get its prefix (``Records``, ``Masterdata``, ``Auth``) and every ``$ref`` is rewritten to
match. A service that cannot be asked is left out and named in ``info.x-unavailable``.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from dmt_gateway import __version__
from dmt_gateway.domain.proxy.rules import upstream_for
from dmt_gateway.upstreams import SERVICES, Upstreams
from dmt_shared.http import UpstreamUnavailable

log = logging.getLogger("dmt.gateway.docs")

SERVICE_DOCUMENT_PATH = "/schema/openapi.json"
TITLE = "DMT - Defect Management & Tracking API"
DESCRIPTION = (
    "The public API of DMT: sign in under /api/v1/auth, users under /api/v1/users, catalogs (master data) "
    "under /api/v1/catalogs, defect records under /api/v1/records and charts of them under /api/v1/analytics. "
    "Send the access token as `Authorization: Bearer <token>`. Record answers carry a label next to each "
    "catalog and user id, in the language of your Accept-Language (en, es, zh)."
)
BEARER_SCHEME = "BearerToken"
BEARER = {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}

#: Seconds a document missing a service is kept, so the service shows up soon after it is back.
PARTIAL_CACHE_SECONDS = 5.0


def schema_prefix(service: str) -> str:
    return service[:1].upper() + service[1:]


def _pointer_token(name: str) -> str:
    return name.replace("~", "~0").replace("/", "~1")


def _rewrite_refs(node: Any, renames: Mapping[str, str]) -> Any:
    if isinstance(node, dict):
        out = {key: _rewrite_refs(value, renames) for key, value in node.items()}
        ref = out.get("$ref")
        if isinstance(ref, str) and ref in renames:
            out["$ref"] = renames[ref]
        return out
    if isinstance(node, list):
        return [_rewrite_refs(item, renames) for item in node]
    return node


def merge_documents(
    documents: Mapping[str, Mapping[str, Any]],
    unavailable: Iterable[str] = (),
    *,
    version: str = __version__,
) -> dict[str, Any]:
    """Merge the services' documents (service name -> document) into one public document.

    Only the paths a service owns at the gateway are taken from it, so a path never appears
    in the document that the gateway would not route to that service.
    """
    components: dict[str, dict[str, Any]] = {"schemas": {}, "securitySchemes": {BEARER_SCHEME: dict(BEARER)}}
    paths: dict[str, dict[str, Any]] = {}
    tags: list[dict[str, Any]] = []
    for service in sorted(documents, key=lambda s: (SERVICES.index(s) if s in SERVICES else len(SERVICES), s)):
        document = documents[service]
        prefix = schema_prefix(service)
        own = document.get("components") or {}
        renames: dict[str, str] = {}
        for section, entries in own.items():
            if section == "securitySchemes" or not isinstance(entries, dict):
                continue
            for name in entries:
                old = f"#/components/{section}/{_pointer_token(name)}"
                renames[old] = f"#/components/{section}/{_pointer_token(prefix + name)}"
        for section, entries in own.items():
            if not isinstance(entries, dict):
                continue
            if section == "securitySchemes":
                for name, scheme in entries.items():
                    components["securitySchemes"].setdefault(name, scheme)
                continue
            target = components.setdefault(section, {})
            for name, value in entries.items():
                target[prefix + name] = _rewrite_refs(value, renames)
        for path, item in (document.get("paths") or {}).items():
            if upstream_for(path) != service or not isinstance(item, dict):
                continue
            paths.setdefault(path, {}).update(_rewrite_refs(item, renames))
        known = {tag.get("name") for tag in tags}
        for tag in document.get("tags") or []:
            if isinstance(tag, dict) and tag.get("name") not in known:
                tags.append(tag)
                known.add(tag.get("name"))

    info: dict[str, Any] = {"title": TITLE, "version": version, "description": DESCRIPTION}
    missing = sorted(set(unavailable))
    if missing:
        info["x-unavailable"] = missing
    merged: dict[str, Any] = {
        "openapi": "3.1.0",
        "info": info,
        "servers": [{"url": "/"}],
        "paths": dict(sorted(paths.items())),
        "components": components,
        "security": [{BEARER_SCHEME: []}],
    }
    if tags:
        merged["tags"] = tags
    return merged


def dangling_refs(document: Any) -> list[str]:
    """Local ``$ref``s that point nowhere in ``document`` (a merged document has none)."""
    found: list[str] = []

    def resolves(ref: str) -> bool:
        node: Any = document
        for token in ref.removeprefix("#/").split("/"):
            token = token.replace("~1", "/").replace("~0", "~")
            if not isinstance(node, dict) or token not in node:
                return False
            node = node[token]
        return True

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            ref = node.get("$ref")
            if isinstance(ref, str) and ref.startswith("#/") and not resolves(ref):
                found.append(ref)
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for item in node:
                walk(item)

    walk(document)
    return found


class PublicApiDocument:
    """The merged document, fetched from the services at most once per ``ttl`` seconds."""

    def __init__(
        self,
        upstreams: Upstreams,
        *,
        ttl: float,
        timeout: float,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._upstreams = upstreams
        self._ttl = ttl
        self._timeout = timeout
        self._clock = clock
        self._document: dict[str, Any] | None = None
        self._expires_at = 0.0
        self._lock = asyncio.Lock()

    async def _fetch(self, service: str) -> dict[str, Any] | None:
        try:
            async with asyncio.timeout(self._timeout):
                response = await self._upstreams.client(service).request(
                    "GET", SERVICE_DOCUMENT_PATH, timeout=self._timeout
                )
                if response.status_code != 200:
                    log.warning("the %s service's API document answered %s", service, response.status_code)
                    return None
                document = response.json()
        except (UpstreamUnavailable, TimeoutError, ValueError) as exc:
            log.warning("the %s service's API document is unavailable: %s", service, exc)
            return None
        if not isinstance(document, dict) or not isinstance(document.get("paths"), dict):
            log.warning("the %s service's API document is not an OpenAPI document", service)
            return None
        return document

    async def get(self) -> dict[str, Any]:
        async with self._lock:
            if self._document is not None and self._clock() < self._expires_at:
                return self._document
            fetched = await asyncio.gather(*(self._fetch(service) for service in SERVICES))
            documents = {s: d for s, d in zip(SERVICES, fetched, strict=True) if d is not None}
            unavailable = [s for s, d in zip(SERVICES, fetched, strict=True) if d is None]
            self._document = merge_documents(documents, unavailable)
            ttl = min(self._ttl, PARTIAL_CACHE_SECONDS) if unavailable else self._ttl
            self._expires_at = self._clock() + ttl
            return self._document
