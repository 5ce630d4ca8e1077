"""The application factory: ``create_app(settings)`` builds the Litestar app, with the store opened (and
migrated) and the worker's parts built at startup, and everything drained at shutdown. Nothing is read
from the environment here.

The skeleton both apps share (:mod:`mlmon.serving.app` is the other): an app factory, one controller
per file (:mod:`mlmon.service.routes`), guards for who may call what (:mod:`mlmon.service.guards`),
the worker's parts as dependencies (:mod:`mlmon.service.deps`) and the shared HTTP errors
(:mod:`mlmon._http.errors`).
"""

from __future__ import annotations

import os
from typing import Any

from litestar import Litestar
from litestar.enums import ScopeType
from litestar.middleware import DefineMiddleware
from litestar.openapi import OpenAPIConfig
from litestar.types import ASGIApp, Receive, Scope, Send
from prometheus_client import CollectorRegistry

from mlmon import __version__
from mlmon.service.deps import dependencies, worker_of
from mlmon.service.drain import install_drain
from mlmon.service.errors import exception_handlers
from mlmon.service.ingest.rejects import rejects_hook
from mlmon.service.logging import RequestLogMiddleware, configure_logging
from mlmon.service.metrics import build_metrics, mark_worker_dead
from mlmon.service.openapi import document_bodies
from mlmon.service.routes import CONTROLLERS
from mlmon.service.routes.ingest_asgi import IngestEndpoint, ingest_model
from mlmon.service.settings import Settings
from mlmon.service.worker import Worker
from mlmon.store import open_store

__all__ = ["DriftService", "app_from_env", "create_app"]


class DriftService(Litestar):
    """The service's Litestar app with its hottest route ahead of the router: a ``POST`` to
    ``/v1/models/{model}/ingest`` goes to :class:`~mlmon.service.routes.ingest_asgi.IngestEndpoint`
    inside the app's middleware; everything else (the route's other paths included) to Litestar.

    Same arguments as ``Litestar``.

    Raises:
        ValueError: a CORS, CSRF, compression, allowed-hosts config or a request/response hook, which
            Litestar applies around its routes and the raw endpoint would skip.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        skipped = {
            "cors_config": self.cors_config,
            "csrf_config": self.csrf_config,
            "compression_config": self.compression_config,
            "allowed_hosts": self.allowed_hosts,
            "before_request": self.before_request,
            "after_request": self.after_request,
            "after_response": self.after_response,
        }
        if any(skipped.values()):
            given = ", ".join(name for name, value in skipped.items() if value)
            raise ValueError(f"DriftService serves ingest outside Litestar's router, which {given} needs")
        endpoint: ASGIApp = IngestEndpoint(self)
        for layer in reversed(self.middleware):  # what Litestar wraps around every route
            endpoint = layer(endpoint)
        self._ingest = endpoint

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:  # type: ignore[override]
        """Routes one ASGI call (see the class docstring)."""
        if scope["type"] == ScopeType.HTTP and scope["method"] == "POST" and not scope.get("root_path"):
            model = ingest_model(scope["path"])
            if model is not None:
                scope["app"] = scope["litestar_app"] = self  # as Litestar.__call__ sets them
                scope.setdefault("state", {})
                scope["path_params"] = {"model": model}
                await self._ingest(scope, receive, self._wrap_send(send, scope))
                return
        await super().__call__(scope, receive, send)


def create_app(settings: Settings, registry: CollectorRegistry | None = None) -> DriftService:
    """Builds the service.

    Args:
        settings: The settings (tests build them directly; ``serve`` uses ``Settings.from_env``).
        registry: Where metrics register (default: a fresh registry, never the global one).

    Returns:
        The Litestar app; the store opens when its lifespan starts.
    """
    metrics = build_metrics(registry or CollectorRegistry())
    configure_logging(settings.log_level)

    async def startup(app: Litestar) -> None:
        document_bodies(app)
        worker = Worker.open(settings, open_store(settings.database_url), metrics)
        worker.start()
        app.state.worker = worker
        app.state.alerts = worker.alerts
        install_drain(settings.drain_seconds, worker.lifecycle.mark_unready)

    async def shutdown(app: Litestar) -> None:
        await worker_of(app.state).stop()
        mark_worker_dead()

    return DriftService(
        route_handlers=CONTROLLERS,
        dependencies=dependencies(),
        on_startup=[startup],
        on_shutdown=[shutdown],
        after_exception=[rejects_hook(metrics)],
        exception_handlers=exception_handlers(),
        middleware=[DefineMiddleware(RequestLogMiddleware, metrics=metrics)],
        request_max_body_size=settings.max_body_bytes,
        openapi_config=OpenAPIConfig(title="mlmon drift service", version=__version__, path="/schema"),
        logging_config=None,
        debug=False,
    )


def app_from_env() -> DriftService:
    """The app for a server worker: settings from ``MLMON_SETTINGS_JSON`` (set by ``serve``) or
    ``MLMON_*`` variables."""
    raw: Any = os.environ.get("MLMON_SETTINGS_JSON")
    settings = Settings.from_json(raw) if raw else Settings.from_env()
    return create_app(settings)
