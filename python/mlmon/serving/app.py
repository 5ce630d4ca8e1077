"""The application factory of the reference production API: ``create_app(settings)``. Nothing is read
from the environment here; the model is restored from ``model_dir`` at startup and every drift client
is flushed at shutdown.

The same skeleton as the drift service (:mod:`mlmon.service.app`): a factory, one controller per file
(:mod:`mlmon.serving.routes`), a guard (:mod:`mlmon.serving.guards`), dependencies
(:mod:`mlmon.serving.deps`) and the shared HTTP errors of :mod:`mlmon._http.errors`, plus this API's
own three.
"""

from __future__ import annotations

import logging

from litestar import Litestar, Router
from litestar.datastructures import State
from litestar.openapi import OpenAPIConfig
from prometheus_client import CollectorRegistry

from mlmon import __version__
from mlmon._http.errors import exception_handlers
from mlmon.core.artifacts import ArtifactError
from mlmon.serving.deps import dependencies
from mlmon.serving.guards import admin_digest
from mlmon.serving.metrics import ServingMetrics
from mlmon.serving.models import ModelHolder, NoModelError
from mlmon.serving.routes import ModelAdminController, OpsController, PredictController
from mlmon.serving.routes.admin import deploy_refusals_hook
from mlmon.serving.settings import ServingSettings
from mlmon.serving.trust import UntrustedArtifactError

__all__ = ["create_app"]

# This API's errors beyond the shared family (a digest mismatch is an InputError: 422 already).
_STATUSES: dict[type[Exception], int] = {NoModelError: 503, ArtifactError: 422, UntrustedArtifactError: 403}


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

    # Each upload route has its own body limit, so each is mounted through its own router.
    predict = Router(
        "/", route_handlers=[PredictController], request_max_body_size=settings.max_predict_bytes
    )
    admin = Router(
        "/", route_handlers=[ModelAdminController], request_max_body_size=settings.max_artifact_bytes
    )
    return Litestar(
        route_handlers=[predict, admin, OpsController],
        dependencies=dependencies(),
        state=State(
            {"settings": settings, "metrics": metrics, "admin_digest": admin_digest(settings.admin_token)}
        ),
        on_startup=[startup],
        on_shutdown=[shutdown],
        after_exception=[deploy_refusals_hook(metrics)],
        exception_handlers=exception_handlers(_STATUSES),
        openapi_config=OpenAPIConfig(
            title="mlmon reference production API", version=__version__, path="/schema"
        ),
        logging_config=None,
        debug=False,
    )
