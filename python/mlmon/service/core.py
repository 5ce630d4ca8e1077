"""The service's state and what the routes share: caches, the committer, auth, metrics and drift reports.

The write path itself is :mod:`mlmon.service.ingest` (its entry point ``ingest(core, model, request)``).

One :class:`ServiceCore` per worker holds the store, the group committer, the auth checker, the
metrics and two caches: baselines per model version (immutable once stored, so cached for the worker's
life) and each model's default version (cached briefly so a promotion takes effect within seconds).
Store calls are synchronous and run in threads so the event loop keeps decoding other requests.
"""

from __future__ import annotations

import functools
import os
import re
import socket
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime, timezone
from typing import TypeVar

import anyio
import anyio.to_thread

from mlmon._evaluate import evaluate
from mlmon.drift import DriftReport, Thresholds
from mlmon.quality import QualityThresholds
from mlmon.service.auth import Auth
from mlmon.service.errors import BadRequestError, OverloadedError, UnsupportedMediaError
from mlmon.service.ingest.commit import GroupCommitter
from mlmon.service.ingest.decode import BaselineEntry
from mlmon.service.ingest.pipeline import IngestRequest
from mlmon.service.ingest.window import window_of
from mlmon.service.metrics import Metrics
from mlmon.service.settings import Settings
from mlmon.service.thresholds import load_thresholds
from mlmon.store import ConflictError, IngestBatch, NotFoundError, Store, StoreUnavailableError
from mlmon.windows import StateWire, WindowState

__all__ = ["ServiceCore", "writer_id"]

_DEFAULT_TTL = 5.0
_READ_TIMEOUT = 5.0
T = TypeVar("T")
_REASONS: tuple[tuple[type[Exception], str], ...] = (
    (BadRequestError, "malformed"),
    (UnsupportedMediaError, "media_type"),
    (NotFoundError, "not_found"),
    (ConflictError, "conflict"),
    (OverloadedError, "overloaded"),
    (StoreUnavailableError, "unavailable"),
    (ValueError, "invalid"),
)


async def _bounded(fn: Callable[..., T], *args: object) -> T:
    """A store read on the ingest path, in a thread, given up after ``_READ_TIMEOUT`` seconds: a hung
    database (no RST, no answer) must cost a 503, not a request held until the database wakes."""
    try:
        with anyio.fail_after(_READ_TIMEOUT):
            return await anyio.to_thread.run_sync(functools.partial(fn, *args), abandon_on_cancel=True)
    except TimeoutError as exc:
        raise StoreUnavailableError(f"the store did not answer within {_READ_TIMEOUT:g} s") from exc


def writer_id() -> str:
    """This process's partial-writer id: host and pid, in the store's name charset."""
    host = re.sub(r"[^A-Za-z0-9_.:-]", "-", socket.gethostname())[:80] or "host"
    return f"{host}-{os.getpid()}"


class ServiceCore:
    """A worker's state: store, committer, caches, auth and metrics.

    Args:
        settings: The service settings.
        store: An open store (the core closes it in :meth:`stop`).
        metrics: The metrics to update.
    """

    def __init__(self, settings: Settings, store: Store, metrics: Metrics) -> None:
        self.settings = settings
        self.store = store
        self.metrics = metrics
        self.auth = Auth(settings.admin_token, settings.ingest_tokens)
        self.thresholds = Thresholds(warning=settings.warning_threshold, critical=settings.critical_threshold)
        self.model_thresholds = load_thresholds(
            settings.thresholds_file, settings.warning_threshold, settings.critical_threshold
        )
        self.committer = GroupCommitter(
            store, writer_id(), max_batches=settings.commit_max_batches, max_queue=settings.max_queue,
            on_commit=self._committed,
        )  # fmt: skip
        self.draining = False
        self.unready = False
        self._entries: dict[tuple[str, str], BaselineEntry] = {}
        self._defaults: dict[str, tuple[str, float]] = {}
        self._inflight = 0

    async def start(self) -> None:
        """Starts the group committer."""
        self.committer.start()

    def mark_unready(self) -> None:
        """Turns ``/readyz`` to 503 (a SIGTERM arrived); ingest is still served until :meth:`stop`."""
        self.unready = True

    async def stop(self) -> None:
        """Drains: refuses new batches, commits the queued ones, closes the store."""
        self.unready = self.draining = True
        await self.committer.stop()
        self.store.close()

    def _committed(self, model: str, version: str, batches: list[IngestBatch], seconds: float) -> None:
        self.metrics.commit_duration.observe(seconds)
        if batches:
            self.metrics.batches.labels(model, version).inc(len(batches))
            self.metrics.rows.labels(model, version).inc(sum(p.rows for b in batches for p in b.partials))

    @contextmanager
    def reserve(self, size: int) -> Iterator[None]:
        """Holds ``size`` bytes of the in-flight budget while a body is read and processed.

        Raises:
            OverloadedError: the budget is spent (429 before the body is read) or the worker is draining.
        """
        if self.draining:
            raise OverloadedError("the service is shutting down")
        if self._inflight and self._inflight + size > self.settings.inflight_bytes:
            raise OverloadedError("too many bytes in flight; retry after the Retry-After delay")
        self._inflight += size
        try:
            yield
        finally:
            self._inflight -= size

    async def entry(self, model: str, version: str) -> BaselineEntry:
        """The cached baseline of a model version.

        Raises:
            NotFoundError: unknown model or version, or no baseline for it.
        """
        key = (model, version)
        cached = self._entries.get(key)
        if cached is not None:
            return cached
        sha, data = await _bounded(self.store.get_baseline, model, version)
        s = self.settings
        entry = BaselineEntry.build(model, version, sha, data, s.max_rows, s.max_categories)
        self._entries[key] = entry
        return entry

    def _default_version_sync(self, model: str) -> str:
        prod = self.store.production_version(model)
        if prod is not None:
            return prod.version
        with_baseline = []
        for v in self.store.list_versions(model):
            try:
                self.store.get_baseline(model, v.version)
            except NotFoundError:
                continue
            with_baseline.append(v.version)
        if len(with_baseline) != 1:
            raise NotFoundError(
                f"model {model!r} has no production version and {len(with_baseline)} versions with a "
                "baseline; give the version"
            )
        return with_baseline[0]

    async def default_version(self, model: str) -> str:
        """The production version, else the only version with a baseline (cached a few seconds).

        Raises:
            NotFoundError: unknown model, or no single version to choose.
        """
        hit = self._defaults.get(model)
        now = time.monotonic()
        if hit is not None and hit[1] > now:
            return hit[0]
        version = await _bounded(self._default_version_sync, model)
        self._defaults[model] = (version, now + _DEFAULT_TTL)
        return version

    def require_read(self, request: IngestRequest, model: str) -> None:
        """Read access to one model: open with ``public_read``, else its own token or admin.

        Raises:
            HTTPException: 401 or 403.
        """
        if not self.settings.public_read:
            self.auth.require_model(request.headers.get("authorization"), model)

    def readable(self, request: IngestRequest) -> frozenset[str] | None:
        """The models a listing across models shows: ``None`` (all) with ``public_read`` or the admin
        token, else only the ingest token's own models (one model's token sees no other's names).

        Raises:
            HTTPException: 401 for no or an unknown token.
        """
        if self.settings.public_read:
            return None
        return self.auth.readable(request.headers.get("authorization"))

    def reject(self, exc: BaseException) -> None:
        """Counts a refused ingest under its reason."""
        reason = next((name for cls, name in _REASONS if isinstance(exc, cls)), "error")
        status = getattr(exc, "status_code", None)
        if status == 413:
            reason = "too_large"
        elif isinstance(status, int) and 400 <= status < 500:
            reason = f"http_{status}"
        self.metrics.rejected.labels(reason).inc()

    def thresholds_for(self, model: str) -> Thresholds:
        """The model's thresholds: its entry in the thresholds file, else the service-wide ones."""
        return self.model_thresholds.get(model, self.thresholds)

    def _report_sync(
        self, entry: BaselineEntry, start: datetime, end: datetime, only_with_data: bool = False
    ) -> DriftReport | None:
        merged = self.store.merged_profile(entry.model, entry.version, start, end)
        if merged.profile is None and only_with_data:
            return None
        if merged.profile is None:
            state = WindowState(entry.baseline)
            state.start, state.end = start, end
        else:
            state = WindowState.from_wire(
                entry.baseline,
                StateWire(
                    key=0, profile=merged.profile, invalid={}, extra_missing={}, rows=merged.rows,
                    row_start=0, start=start, end=end, unexpected=[], missing_columns=[],
                ),
            )  # fmt: skip
        return evaluate(entry.baseline, state, self.thresholds_for(entry.model), QualityThresholds())

    async def report(self, model: str, version: str, start: datetime, end: datetime) -> DriftReport:
        """The drift report of the exact merge of every partial in ``[start, end)``.

        Raises:
            NotFoundError: unknown model, version or baseline.
        """
        entry = await self.entry(model, version)
        report = await anyio.to_thread.run_sync(self._report_sync, entry, start, end)
        assert report is not None  # only_with_data is off
        return report

    async def report_if_data(
        self, model: str, version: str, start: datetime, end: datetime
    ) -> DriftReport | None:
        """Like :meth:`report`, but ``None`` when no worker counted a row in ``[start, end)``."""
        entry = await self.entry(model, version)
        return await anyio.to_thread.run_sync(self._report_sync, entry, start, end, True)

    def current_window(self) -> tuple[datetime, datetime]:
        """The open tumbling window."""
        return window_of(None, datetime.now(timezone.utc), self.settings.window_seconds)
