"""The gateway application: ``uvicorn dmt_gateway.asgi:create_app --factory``."""

from __future__ import annotations

from collections.abc import Mapping

import httpx
from litestar import Litestar
from litestar.config.app import AppConfig
from litestar.config.cors import CORSConfig
from litestar.plugins import InitPluginProtocol

from dmt_gateway import __version__
from dmt_gateway.config import Settings, get_settings
from dmt_gateway.domain.docs import controllers as docs
from dmt_gateway.domain.docs.services import PublicApiDocument
from dmt_gateway.domain.proxy import controllers as proxy
from dmt_gateway.domain.proxy.rules import public_path_patterns
from dmt_gateway.domain.records.services import RecordLabeller
from dmt_gateway.domain.web import controllers as web
from dmt_gateway.edge import EdgePlugin
from dmt_gateway.upstreams import Upstreams
from dmt_shared.app import create_component_app, jwks_from
from dmt_shared.tokens import TokenVerifier


class CorsPlugin(InitPluginProtocol):
    """Lets the named browser origins call the API; the answer to a preflight needs no token."""

    def __init__(self, origins: tuple[str, ...]) -> None:
        self.origins = origins

    def on_app_init(self, app_config: AppConfig) -> AppConfig:
        anywhere = "*" in self.origins
        app_config.cors_config = CORSConfig(
            allow_origins=list(self.origins),
            allow_methods=["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE"],
            allow_headers=[
                "Authorization",
                "Content-Type",
                "Accept-Language",
                "If-Match",
                "If-None-Match",
                "X-Request-ID",
            ],
            # X-DMT-Unresolved: an export made while a service was down holds bare ids; a page can say so.
            expose_headers=[
                "ETag",
                "Location",
                "X-Request-ID",
                "Retry-After",
                "Content-Disposition",
                "X-DMT-Unresolved",
            ],
            # Credentials (cookies) only ever go to origins named one by one.
            allow_credentials=not anywhere,
            max_age=600,
        )
        return app_config


def _token_verifier(upstreams: Upstreams) -> TokenVerifier:
    async def fetch() -> dict[str, object]:
        # The client exists only while the gateway runs, so it is looked up at each fetch.
        return await jwks_from(upstreams.client("auth"))()

    return TokenVerifier(fetch)


def create_app(
    settings: Settings | None = None,
    *,
    transports: Mapping[str, httpx.AsyncBaseTransport] | None = None,
    verifier: TokenVerifier | None = None,
) -> Litestar:
    settings = settings or get_settings()
    upstreams = Upstreams(settings, transports)
    return create_component_app(
        service="gateway",
        title="DMT gateway",
        version=__version__,
        description="The one public entry point of DMT; the whole API is described at /api/openapi.json.",
        route_handlers=[*docs.route_handlers, *proxy.route_handlers, *web.route_handlers],
        verifier=verifier or _token_verifier(upstreams),
        ready_checks=upstreams.ready_checks(),
        public_paths=[*public_path_patterns(), *docs.PUBLIC_PATTERNS, *web.PUBLIC_PATTERNS],
        on_startup=[upstreams.open],
        on_shutdown=[upstreams.aclose],
        state={
            "upstreams": upstreams,
            "labeller": RecordLabeller(
                upstreams,
                timeout=settings.lookup_timeout,
                cache_seconds=settings.label_cache_seconds,
                cache_max_entries=settings.label_cache_max_entries,
                cache_grace_seconds=settings.label_cache_grace_seconds,
            ),
            # The address the page is reached at, for the QR codes of records ("" = each request's own).
            "public_url": settings.public_url,
            "openapi": PublicApiDocument(
                upstreams, ttl=settings.openapi_cache_seconds, timeout=settings.lookup_timeout
            ),
        },
        plugins=[EdgePlugin(settings), *([CorsPlugin(settings.cors_origins)] if settings.cors_origins else [])],
        debug=settings.debug,
        log_level=settings.log_level,
    )
