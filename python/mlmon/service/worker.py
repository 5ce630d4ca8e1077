"""One worker's parts, built at startup and torn down at shutdown in a fixed order: the composition
root of the service. The routes never see this object; each part reaches them on its own as a
Litestar dependency (:mod:`mlmon.service.deps`), and the guards (:mod:`mlmon.service.guards`) read
the auth checker and settings.

Shutdown order matters: stop raising alerts and compacting, refuse new batches, commit what was
queued, then close the store.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from mlmon.core.drift import Thresholds
from mlmon.service.alerts import AlertManager
from mlmon.service.auth import Auth
from mlmon.service.baselines import BaselineCache
from mlmon.service.compactor import Compactor
from mlmon.service.ingest.budget import InflightBudget
from mlmon.service.ingest.commit import GroupCommitter, writer_id
from mlmon.service.metrics import Metrics
from mlmon.service.reports import Reports
from mlmon.service.settings import Settings
from mlmon.service.thresholds import load_thresholds
from mlmon.store import IngestBatch, Store

__all__ = ["LabelPath", "Lifecycle", "Worker", "WritePath"]


@dataclass(frozen=True)
class WritePath:
    """The worker's parts the write path uses (one per worker; the ``write_path`` dependency)."""

    settings: Settings
    budget: InflightBudget
    baselines: BaselineCache
    committer: GroupCommitter
    metrics: Metrics


@dataclass(frozen=True)
class LabelPath:
    """The worker's parts the labels route uses (the ``label_path`` dependency)."""

    settings: Settings
    store: Store
    baselines: BaselineCache
    metrics: Metrics
    writer_id: str
    """This worker's writer id: its performance counts rows are its own, as its partials are."""
    budget: InflightBudget
    """The worker's in-flight byte budget, shared with ingest: label bodies count against it too."""


@dataclass
class Lifecycle:
    """Whether the worker still wants traffic: ``/readyz`` turns 503 once ``unready`` (a SIGTERM)."""

    unready: bool = False

    def mark_unready(self) -> None:
        """Turns ``/readyz`` to 503; ingest is still served until the worker stops."""
        self.unready = True


def _count_commits(metrics: Metrics) -> Callable[[str, str, list[IngestBatch], float], None]:
    # The committer reports each group; the counters count only accepted batches (no duplicates).
    def committed(model: str, version: str, batches: list[IngestBatch], seconds: float) -> None:
        metrics.commit_duration.observe(seconds)
        if batches:
            metrics.batches.labels(model, version).inc(len(batches))
            metrics.rows.labels(model, version).inc(sum(p.rows for b in batches for p in b.partials))

    return committed


@dataclass
class Worker:
    """A worker's parts. Build with :meth:`open`; :meth:`start` and :meth:`stop` run the lifespan."""

    settings: Settings
    store: Store
    metrics: Metrics
    auth: Auth
    committer: GroupCommitter
    budget: InflightBudget
    baselines: BaselineCache
    reports: Reports
    alerts: AlertManager
    compactor: Compactor
    write_path: WritePath
    """The parts the ingest route hands to :func:`mlmon.service.ingest.ingest` (built once)."""
    label_path: LabelPath
    """The parts the labels route hands to :func:`mlmon.service.labels.post_labels`."""
    lifecycle: Lifecycle = field(default_factory=Lifecycle)

    @classmethod
    def open(cls, settings: Settings, store: Store, metrics: Metrics) -> Worker:
        """Builds the parts around an open store (the worker closes it in :meth:`stop`)."""
        s = settings
        writer = writer_id()
        committer = GroupCommitter(
            store,
            writer,
            max_batches=s.commit_max_batches,
            max_queue=s.max_queue,
            on_commit=_count_commits(metrics),
        )
        baselines = BaselineCache(store, s.max_rows, s.max_categories)
        thresholds = Thresholds(warning=s.warning_threshold, critical=s.critical_threshold)
        per_model = load_thresholds(s.thresholds_file, s.warning_threshold, s.critical_threshold)
        reports = Reports(store, baselines, thresholds, per_model, s.window_seconds)
        compactor = Compactor(
            store, s.compact_interval_seconds, lambda removed, _: metrics.compacted_rows.inc(removed)
        )
        budget = InflightBudget(s.inflight_bytes)
        return cls(
            settings=s,
            store=store,
            metrics=metrics,
            auth=Auth(s.admin_token, s.ingest_tokens),
            committer=committer,
            budget=budget,
            baselines=baselines,
            reports=reports,
            alerts=AlertManager(s, store, metrics, reports, baselines),
            compactor=compactor,
            write_path=WritePath(s, budget, baselines, committer, metrics),
            label_path=LabelPath(s, store, baselines, metrics, writer, budget),
        )

    def start(self) -> None:
        """Starts the group committer, the alert loop and the compactor on the running loop."""
        self.committer.start()
        self.alerts.start()
        self.compactor.start()

    async def stop(self) -> None:
        """Drains: stops alerting and compacting, refuses new batches, commits the queued ones, closes
        the store."""
        await self.alerts.stop()
        await self.compactor.stop()
        self.lifecycle.mark_unready()
        self.budget.close()
        await self.committer.stop()
        self.store.close()
