"""``GET /``: the server-rendered overview page (see :mod:`mlmon.service.dashboard`)."""

from __future__ import annotations

import anyio.to_thread
from litestar import Controller, MediaType, get
from litestar.di import NamedDependency

from mlmon.service.dashboard import render_dashboard
from mlmon.service.deps import InjectedStore
from mlmon.service.settings import Settings

__all__ = ["DashboardController"]


class DashboardController(Controller):
    """The HTML overview."""

    tags = ("dashboard",)

    @get("/", operation_id="Dashboard", media_type=MediaType.HTML, include_in_schema=False)
    async def dashboard(
        self,
        store: NamedDependency[InjectedStore],
        settings: NamedDependency[Settings],
        read_scope: NamedDependency[frozenset[str] | None],
    ) -> str:
        """Models, versions, current severity and per-feature drift over time as inline SVG, and the
        model's performance beside its reference where the baseline has one (an ingest token's page
        shows only its own models)."""
        return await anyio.to_thread.run_sync(render_dashboard, store, settings, read_scope)
