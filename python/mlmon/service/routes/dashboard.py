"""``GET /``: the server-rendered overview page (see :mod:`mlmon.service.dashboard`)."""

from __future__ import annotations

from typing import Any

import anyio.to_thread
from litestar import Controller, MediaType, Request, get
from litestar.di import NamedDependency

from mlmon.service.core import ServiceCore
from mlmon.service.dashboard import render_dashboard

__all__ = ["DashboardController"]


class DashboardController(Controller):
    """The HTML overview."""

    tags = ("dashboard",)

    @get("/", operation_id="Dashboard", media_type=MediaType.HTML, include_in_schema=False)
    async def dashboard(self, request: Request[Any, Any, Any], core: NamedDependency[ServiceCore]) -> str:
        """Models, versions, current severity and per-feature drift over time as inline SVG."""
        scope = core.readable(request)  # an ingest token's page shows only its own models
        return await anyio.to_thread.run_sync(
            render_dashboard, core.store, core.settings.window_seconds, scope
        )
