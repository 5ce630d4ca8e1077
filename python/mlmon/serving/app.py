"""The application factory of the reference production API: ``create_app(settings)``. Nothing is read
from the environment here; the model is restored from ``model_dir`` at startup and every drift client
is flushed at shutdown."""

from __future__ import annotations

import logging
from typing import Any

from litestar import Litestar, MediaType, Request, Response
from litestar.openapi import OpenAPIConfig
from prometheus_client import CollectorRegistry

from mlmon import __version__
from mlmon.artifacts import ArtifactError
from mlmon.service.errors import exception_handlers
from mlmon.serving.metrics import ServingMetrics
from mlmon.serving.models import ModelHolder, NoModelError
from mlmon.serving.routes import ShaMismatchError, build_routes
from mlmon.serving.settings import ServingSettings
from mlmon.serving.trust import UNTRUSTED_REASON, UntrustedArtifactError

__all__ = ["create_app"]


def _body(status: int, detail: str, **extra: Any) -> Response[Any]:
    headers = {"Retry-After": "1"} if status == 503 else None
    return Response(
        {"status_code": status, "detail": detail, **extra},
        status_code=status,
        media_type=MediaType.JSON,
        headers=headers,
    )


def _handlers() -> dict[type[Exception] | int, Any]:
    def status(code: int) -> Any:
        return lambda request, exc: _body(code, str(exc) or type(exc).__name__)

    def sha(request: Request[Any, Any, Any], exc: ShaMismatchError) -> Response[Any]:
        return _body(422, str(exc), expected=exc.expected, actual=exc.actual)

    def untrusted(request: Request[Any, Any, Any], exc: UntrustedArtifactError) -> Response[Any]:
        # The reason tells a deploy step "this file" (bad input) from "your token" (both are 403).
        return _body(403, str(exc), reason=UNTRUSTED_REASON)

    # The drift service's mapping and HTTP error classes (4xx for bad input, 500 only for bugs, logged)
    # plus this API's own errors.
    return {
        **exception_handlers(),
        NoModelError: status(503),
        ArtifactError: status(422),
        UntrustedArtifactError: untrusted,
        ShaMismatchError: sha,
    }


def create_app(settings: ServingSettings, registry: CollectorRegistry | None = None) -> Litestar:
    """Builds the production API.

    Args:
        settings: The settings (tests build them directly; ``mlmon serve-model`` reads the environment).
        registry: Where metrics register (default: a fresh registry, never the global one).

    Returns:
        The Litestar app; the stored model (if any) is loaded when its lifespan starts.
    """
    logging.getLogger("mlmon").setLevel(settings.log_level)
    metrics = ServingMetrics.build(registry or CollectorRegistry())

    async def startup(app: Litestar) -> None:
        app.state.holder = ModelHolder(settings, metrics.registry)
        await app.state.holder.restore()

    async def shutdown(app: Litestar) -> None:
        await app.state.holder.close()

    return Litestar(
        route_handlers=build_routes(settings, metrics),
        on_startup=[startup],
        on_shutdown=[shutdown],
        exception_handlers=_handlers(),
        openapi_config=OpenAPIConfig(
            title="mlmon reference production API", version=__version__, path="/schema"
        ),
        logging_config=None,
        debug=False,
    )
