"""Drift reads: the report of a window or range (JSON or HTML) and a feature's stored history."""

from __future__ import annotations

import functools
from datetime import datetime, timedelta, timezone
from typing import Any

import anyio.to_thread
import msgspec
from litestar import Controller, MediaType, Request, Response, get
from litestar.di import NamedDependency
from litestar.params import FromPath, FromQuery

from mlmon.drift import DriftReport
from mlmon.exceptions import InputError
from mlmon.service.core import ServiceCore

__all__ = ["DriftController", "parse_range"]

_HISTORY_DAYS = 7


def _instant(text: str) -> datetime:
    try:
        when = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError as exc:
        raise InputError(f"window bound {text!r} is not an ISO 8601 time") from exc
    return when if when.tzinfo is not None else when.replace(tzinfo=timezone.utc)


def parse_range(window: str, current: tuple[datetime, datetime], seconds: int) -> tuple[datetime, datetime]:
    """``current``, ``previous`` or ``<start>/<end>`` (ISO 8601) as ``[start, end)``.

    Raises:
        InputError: an unreadable window or ``start >= end`` (422).
    """
    if window == "current":
        return current
    if window == "previous":
        return current[0] - timedelta(seconds=seconds), current[0]
    start, sep, end = window.partition("/")
    if not sep:
        raise InputError(f"window must be 'current', 'previous' or '<start>/<end>', got {window[:64]!r}")
    lo, hi = _instant(start), _instant(end)
    if lo >= hi:
        raise InputError("window start must be before its end")
    return lo, hi


class DriftController(Controller):
    """Drift reports and history of one model."""

    path = "/v1/models/{model:str}"
    tags = ("drift",)

    @staticmethod
    async def _report(
        request: Request[Any, Any, Any], core: ServiceCore, model: str, window: str, version: str | None
    ) -> DriftReport:
        core.require_read(request, model)
        span = parse_range(window, core.current_window(), core.settings.window_seconds)
        return await core.report(model, version or await core.default_version(model), *span)

    # DriftReport and StoredDriftResult have dict defaults, which Litestar 2.25's OpenAPI generator cannot
    # hash (TypeError in plugins/struct.py); so these two return JSON bytes encoded here by msgspec.
    @get("/drift", operation_id="GetDrift", media_type=MediaType.JSON)
    async def drift(
        self, request: Request[Any, Any, Any], model: FromPath[str], core: NamedDependency[ServiceCore],
        window: FromQuery[str] = "current", version: FromQuery[str | None] = None,
    ) -> Response[bytes]:  # fmt: skip
        """The drift report of the exact merge of every worker's counts over the window.

        Args:
            request: The request.
            model: The model.
            core: Service state.
            window: ``current`` (default), ``previous`` or ``<start>/<end>`` in ISO 8601.
            version: The version (default: production, else the only one with a baseline).

        Returns:
            The ``DriftReport`` as JSON.
        """
        report = await DriftController._report(request, core, model, window, version)
        return Response(msgspec.json.encode(report), media_type=MediaType.JSON)

    @get("/report.html", operation_id="GetReportHtml", media_type=MediaType.HTML)
    async def report_html(
        self, request: Request[Any, Any, Any], model: FromPath[str], core: NamedDependency[ServiceCore],
        window: FromQuery[str] = "current", version: FromQuery[str | None] = None,
    ) -> str:  # fmt: skip
        """The same report as a self-contained HTML page."""
        report = await DriftController._report(request, core, model, window, version)
        return await anyio.to_thread.run_sync(report.to_html)

    @get("/drift/history", operation_id="GetDriftHistory", media_type=MediaType.JSON)
    async def history(
        self, request: Request[Any, Any, Any], model: FromPath[str], feature: FromQuery[str],
        core: NamedDependency[ServiceCore],
        days: FromQuery[int] = _HISTORY_DAYS, version: FromQuery[str | None] = None,
    ) -> Response[bytes]:  # fmt: skip
        """Stored drift results (``StoredDriftResult`` JSON list) of one feature over the last ``days``."""
        core.require_read(request, model)
        end = datetime.now(timezone.utc) + timedelta(seconds=core.settings.window_seconds)
        start = end - timedelta(days=max(1, min(days, 366)))
        results = await anyio.to_thread.run_sync(
            functools.partial(core.store.drift_history, model, feature, start, end, version=version)
        )
        return Response(msgspec.json.encode(results), media_type=MediaType.JSON)
