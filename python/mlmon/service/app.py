"""The application factory: ``create_app(settings)`` builds the Litestar app, with the store opened (and
migrated) at startup and drained at shutdown. Nothing is read from the environment here."""

from __future__ import annotations

import os
from typing import Any

from litestar import Litestar
from litestar.datastructures import State
from litestar.di import Provide
from litestar.middleware import DefineMiddleware
from litestar.openapi import OpenAPIConfig
from prometheus_client import CollectorRegistry

from mlmon import __version__
from mlmon.service.alerts import AlertManager
from mlmon.service.compactor import Compactor
from mlmon.service.core import ServiceCore
from mlmon.service.drain import install_drain
from mlmon.service.errors import exception_handlers
from mlmon.service.logging import RequestLogMiddleware, configure_logging
from mlmon.service.metrics import build_metrics, mark_worker_dead
from mlmon.service.openapi import document_bodies
from mlmon.service.routes import CONTROLLERS
from mlmon.service.settings import Settings
from mlmon.store import open_store

__all__ = ["app_from_env", "create_app"]


def _core(state: State) -> ServiceCore:
    core: ServiceCore = state.core
    return core


def create_app(settings: Settings, registry: CollectorRegistry | None = None) -> Litestar:
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
        store = open_store(settings.database_url)
        core = ServiceCore(settings, store, metrics)
        await core.start()
        app.state.core = core
        app.state.alerts = AlertManager(core)
        app.state.alerts.start()
        app.state.compactor = Compactor(
            store, settings.compact_interval_seconds, lambda removed, _: metrics.compacted_rows.inc(removed)
        )
        app.state.compactor.start()
        install_drain(settings.drain_seconds, core.mark_unready)

    async def shutdown(app: Litestar) -> None:
        # Order matters: stop raising alerts and compacting, then commit what was queued, then close the
        # store.
        await app.state.alerts.stop()
        await app.state.compactor.stop()
        await app.state.core.stop()
        mark_worker_dead()

    return Litestar(
        route_handlers=CONTROLLERS,
        dependencies={"core": Provide(_core, sync_to_thread=False)},
        on_startup=[startup],
        on_shutdown=[shutdown],
        exception_handlers=exception_handlers(),
        middleware=[DefineMiddleware(RequestLogMiddleware, metrics=metrics)],
        request_max_body_size=settings.max_body_bytes,
        openapi_config=OpenAPIConfig(title="mlmon drift service", version=__version__, path="/schema"),
        logging_config=None,
        debug=False,
    )


def app_from_env() -> Litestar:
    """The app for a server worker: settings from ``MLMON_SETTINGS_JSON`` (set by ``serve``) or
    ``MLMON_*`` variables."""
    raw: Any = os.environ.get("MLMON_SETTINGS_JSON")
    settings = Settings.from_json(raw) if raw else Settings.from_env()
    return create_app(settings)
