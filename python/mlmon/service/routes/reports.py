"""Drift reads of one model: the report of a window or range (JSON or HTML) and a feature's stored
history. The reports come from :class:`mlmon.service.reports.Reports` (the library's public report of
stored counts); the HTML page of a version with a reference performance also gets its "Model
performance" section over the same range (:mod:`mlmon.service.labels.html`)."""

from __future__ import annotations

import functools
from datetime import datetime, timedelta, timezone
from html import escape

import anyio.to_thread
import msgspec
from litestar import Controller, MediaType, Response, get
from litestar.di import NamedDependency
from litestar.params import FromPath, FromQuery

from mlmon.core.drift import DriftReport
from mlmon.exceptions import CodecError, InputError
from mlmon.service.baselines import BaselineCache
from mlmon.service.deps import InjectedStore
from mlmon.service.guards import model_reader
from mlmon.service.ingest.outputs import OutputSpec
from mlmon.service.labels.html import insert_section, report_section
from mlmon.service.labels.view import read_performance
from mlmon.service.reports import Reports
from mlmon.service.settings import Settings
from mlmon.store import Store

__all__ = ["ReportsController", "parse_range"]

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


def _performance_section(
    store: Store,
    spec: OutputSpec,
    model: str,
    version: str,
    span: tuple[datetime, datetime],
    settings: Settings,
) -> str:
    """The report page's performance section: the same reads and figures as ``GET /performance``."""
    try:
        perf = read_performance(store, spec, model, version, span)
    except (CodecError, InputError) as exc:
        # Damaged stored counts cost the section, not the drift report around it (the JSON route says 4xx).
        return f"<h2>Model performance</h2><p class='issues'>cannot be shown: {escape(str(exc))}</p>"
    return report_section(perf, settings)


async def _report(
    reports: Reports,
    baselines: BaselineCache,
    model: str,
    window: str,
    version: str | None,
) -> DriftReport:
    span = parse_range(window, reports.current_window(), reports.window_seconds)
    return await reports.report(model, version or await baselines.default_version(model), *span)


class ReportsController(Controller):
    """Drift reports and history of one model (open with ``public_read``, else its token or admin)."""

    path = "/v1/models/{model:str}"
    tags = ("drift",)
    guards = (model_reader,)

    # DriftReport and StoredDriftResult have dict defaults, which Litestar 2.25's OpenAPI generator cannot
    # hash (TypeError in plugins/struct.py); so these two return JSON bytes encoded here by msgspec.
    @get("/drift", operation_id="GetDrift", media_type=MediaType.JSON)
    async def drift(
        self,
        model: FromPath[str],
        reports: NamedDependency[Reports],
        baselines: NamedDependency[BaselineCache],
        window: FromQuery[str] = "current",
        version: FromQuery[str | None] = None,
    ) -> Response[bytes]:
        """The drift report of the exact merge of every worker's counts over the window.

        Args:
            model: The model.
            reports: The reports of stored windows.
            baselines: The baseline cache (the default version).
            window: ``current`` (default), ``previous`` or ``<start>/<end>`` in ISO 8601.
            version: The version (default: production, else the only one with a baseline).

        Returns:
            The ``DriftReport`` as JSON.
        """
        report = await _report(reports, baselines, model, window, version)
        return Response(msgspec.json.encode(report), media_type=MediaType.JSON)

    @get("/report.html", operation_id="GetReportHtml", media_type=MediaType.HTML)
    async def report_html(
        self,
        model: FromPath[str],
        reports: NamedDependency[Reports],
        baselines: NamedDependency[BaselineCache],
        store: NamedDependency[InjectedStore],
        settings: NamedDependency[Settings],
        window: FromQuery[str] = "current",
        version: FromQuery[str | None] = None,
    ) -> str:
        """The same report as a self-contained HTML page; for a version whose baseline carries a
        reference performance, with a "Model performance" section over the same range (realized and
        estimated metrics against the reference, per window)."""
        span = parse_range(window, reports.current_window(), reports.window_seconds)
        version = version or await baselines.default_version(model)
        report = await reports.report(model, version, *span)
        page = await anyio.to_thread.run_sync(report.to_html)
        spec = (await baselines.entry(model, version)).outputs
        if spec is None:
            return page
        call = functools.partial(_performance_section, store, spec, model, version, span, settings)
        return insert_section(page, await anyio.to_thread.run_sync(call))

    @get("/drift/history", operation_id="GetDriftHistory", media_type=MediaType.JSON)
    async def history(
        self,
        model: FromPath[str],
        feature: FromQuery[str],
        store: NamedDependency[InjectedStore],
        reports: NamedDependency[Reports],
        days: FromQuery[int] = _HISTORY_DAYS,
        version: FromQuery[str | None] = None,
    ) -> Response[bytes]:
        """Stored drift results (``StoredDriftResult`` JSON list) of one feature over the last ``days``."""
        end = datetime.now(timezone.utc) + timedelta(seconds=reports.window_seconds)
        start = end - timedelta(days=max(1, min(days, 366)))
        results = await anyio.to_thread.run_sync(
            functools.partial(store.drift_history, model, feature, start, end, version=version)
        )
        return Response(msgspec.json.encode(results), media_type=MediaType.JSON)
