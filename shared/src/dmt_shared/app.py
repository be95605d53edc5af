"""The wiring every DMT component shares, in one place: request ids, access lines and log
format, problem details, token verification, health endpoints with the SIGTERM drain, request
size limit and the OpenAPI document."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import Any

from litestar import Litestar
from litestar.openapi.config import OpenAPIConfig
from litestar.openapi.plugins import ScalarRenderPlugin, SwaggerRenderPlugin
from litestar.openapi.spec import Components, SecurityScheme
from litestar.types import ControllerRouterHandler, Middleware

from dmt_shared.contracts import JWKS_PATH
from dmt_shared.health import Drain, ReadyCheck, drain_seconds_from_env, health_router
from dmt_shared.http import (
    ServiceClient,
    UpstreamError,
    UpstreamUnavailable,
    upstream_error_handler,
    upstream_unavailable_handler,
)
from dmt_shared.logs import AccessLogMiddleware, StdlibLogging, configure_logging
from dmt_shared.metrics import MetricsController, metrics_middleware
from dmt_shared.problems import exception_handlers
from dmt_shared.request_id import RequestIdMiddleware, add_request_id_header
from dmt_shared.security import token_auth
from dmt_shared.tokens import TokenVerifier

#: Largest request body a component accepts (413 beyond).
MAX_BODY_BYTES = 20 * 1024 * 1024


def openapi_config(title: str, version: str, description: str = "") -> OpenAPIConfig:
    return OpenAPIConfig(
        title=title,
        version=version,
        description=description,
        path="/schema",
        render_plugins=[SwaggerRenderPlugin(), ScalarRenderPlugin(path="/scalar")],
        components=Components(
            security_schemes={
                "BearerToken": SecurityScheme(type="http", scheme="bearer", bearer_format="JWT"),
            }
        ),
        security=[{"BearerToken": []}],
    )


def jwks_from(client: ServiceClient) -> Callable[[], Any]:
    """Fetch the auth service's public keys through ``client``."""

    async def fetch() -> dict[str, Any]:
        return await client.json("GET", JWKS_PATH)

    return fetch


def all_exception_handlers() -> dict[Any, Any]:
    handlers = exception_handlers()
    handlers[UpstreamUnavailable] = upstream_unavailable_handler
    handlers[UpstreamError] = upstream_error_handler
    return handlers


def create_component_app(
    *,
    service: str,
    title: str,
    version: str,
    route_handlers: Sequence[ControllerRouterHandler],
    verifier: TokenVerifier,
    ready_checks: dict[str, ReadyCheck],
    public_paths: Iterable[str] = (),
    lifespan: Sequence[Any] = (),
    on_startup: Sequence[Callable[..., Any]] = (),
    on_shutdown: Sequence[Callable[..., Any]] = (),
    extra_middleware: Sequence[Middleware] = (),
    dependencies: dict[str, Any] | None = None,
    state: dict[str, Any] | None = None,
    description: str = "",
    debug: bool = False,
    log_level: str = "INFO",
    plugins: Sequence[Any] = (),
    max_body_bytes: int | None = MAX_BODY_BYTES,
    drain_seconds: float | None = None,
) -> Litestar:
    """The component's Litestar app. ``max_body_bytes`` caps request bodies (413 beyond; None:
    no cap); ``drain_seconds`` is how long to keep serving after SIGTERM (None:
    ``DMT_SHUTDOWN_DRAIN_SECONDS``, default 2)."""
    from litestar.datastructures import State

    configure_logging(service, log_level)
    drain = Drain(service, drain_seconds_from_env() if drain_seconds is None else drain_seconds)
    app = Litestar(
        route_handlers=[health_router(service, ready_checks, drain=drain), MetricsController, *route_handlers],
        middleware=[
            metrics_middleware(service),
            token_auth(verifier, exclude=public_paths),
            *extra_middleware,
        ],
        exception_handlers=all_exception_handlers(),
        openapi_config=openapi_config(title, version, description),
        lifespan=list(lifespan),
        on_startup=[drain.install, *on_startup],
        on_shutdown=[*on_shutdown, drain.uninstall],
        dependencies=dependencies or {},
        state=State(state or {}),
        plugins=list(plugins),
        before_send=[add_request_id_header],
        debug=debug,
        request_max_body_size=max_body_bytes,
        logging_config=StdlibLogging(),
    )
    app.state.drain = drain
    # Around everything Litestar does, routing and its exception handling included: a request
    # to an unknown path or one refused by the token check has an id and an access line too.
    app.asgi_handler = RequestIdMiddleware(AccessLogMiddleware(app.asgi_handler, service))
    return app
