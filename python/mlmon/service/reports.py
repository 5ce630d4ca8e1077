"""Drift reports of stored counts: the exact merge of every worker's partials over a window, reported
through the library's public :func:`mlmon.core.monitor.report_from_profile` under the model's thresholds.

Used by the report routes and the alert loop; the clock of the open tumbling window lives here too.
"""

from __future__ import annotations

from datetime import datetime, timezone

import anyio.to_thread

from mlmon.core.drift import DriftReport, Thresholds
from mlmon.core.monitor import report_from_profile
from mlmon.service.baselines import BaselineCache
from mlmon.service.ingest.decode import BaselineEntry
from mlmon.service.ingest.window import window_of
from mlmon.store import Store

__all__ = ["Reports"]


class Reports:
    """Reports of stored windows.

    Args:
        store: The store.
        baselines: The worker's baseline cache.
        thresholds: The service-wide thresholds.
        model_thresholds: Per-model thresholds (the thresholds file), which win over ``thresholds``.
        window_seconds: The tumbling window's length.
    """

    def __init__(
        self,
        store: Store,
        baselines: BaselineCache,
        thresholds: Thresholds,
        model_thresholds: dict[str, Thresholds],
        window_seconds: int,
    ) -> None:
        self._store = store
        self._baselines = baselines
        self._thresholds = thresholds
        self._model_thresholds = model_thresholds
        self.window_seconds = window_seconds

    def thresholds_for(self, model: str) -> Thresholds:
        """The model's thresholds: its entry in the thresholds file, else the service-wide ones."""
        return self._model_thresholds.get(model, self._thresholds)

    def current_window(self) -> tuple[datetime, datetime]:
        """The open tumbling window ``[start, end)``."""
        return window_of(None, datetime.now(timezone.utc), self.window_seconds)

    def _report_sync(
        self, entry: BaselineEntry, start: datetime, end: datetime, only_with_data: bool
    ) -> DriftReport | None:
        merged = self._store.merged_profile(entry.model, entry.version, start, end)
        if merged.profile is None and only_with_data:
            return None
        return report_from_profile(
            entry.baseline, merged.profile, merged.rows, start, end, self.thresholds_for(entry.model)
        )

    async def report(self, model: str, version: str, start: datetime, end: datetime) -> DriftReport:
        """The drift report of the exact merge of every partial in ``[start, end)``.

        Raises:
            NotFoundError: unknown model, version or baseline.
        """
        entry = await self._baselines.entry(model, version)
        report = await anyio.to_thread.run_sync(self._report_sync, entry, start, end, False)
        assert report is not None  # only_with_data is off
        return report

    async def report_if_data(
        self, model: str, version: str, start: datetime, end: datetime
    ) -> DriftReport | None:
        """Like :meth:`report`, but ``None`` when no worker counted a row in ``[start, end)``."""
        entry = await self._baselines.entry(model, version)
        return await anyio.to_thread.run_sync(self._report_sync, entry, start, end, True)
