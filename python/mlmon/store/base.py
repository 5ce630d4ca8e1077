"""The ``Store`` interface, its record types and its errors: what the service, the CLI and the deploy
tooling program against, whichever database is behind it.

Records are frozen msgspec Structs. Baselines and profiles are opaque bytes here (the engine's codec);
drift figures and alerts are plain values, so this module imports nothing from the library
(``mlmon.core.baseline``, ``mlmon.core.drift``...), only the exception base class.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from typing import Any, Literal, Protocol, TypeVar

import msgspec

from mlmon.exceptions import MlmonError

__all__ = [
    "STAGES",
    "Alert",
    "AlertDelivery",
    "AlertState",
    "ConflictError",
    "DriftResult",
    "IngestBatch",
    "IngestResult",
    "Joined",
    "LabelCounter",
    "LabelResult",
    "LabelStatus",
    "LabeledRow",
    "MergedProfile",
    "Model",
    "ModelVersion",
    "NotFoundError",
    "PartialWindow",
    "PerformanceWindow",
    "Prediction",
    "SchemaVersionError",
    "Severity",
    "Stage",
    "Store",
    "StoreUnavailableError",
    "StoredDriftResult",
    "WindowPartial",
]

_S = TypeVar("_S", bound="Store")

Stage = Literal["none", "staging", "production", "archived"]
STAGES: tuple[Stage, ...] = ("none", "staging", "production", "archived")
Severity = Literal["ok", "warning", "critical", "insufficient_data"]
AlertState = Literal["pending", "sent", "failed"]


class NotFoundError(MlmonError, LookupError):
    """A model, version, baseline or alert that is not in the store."""


class ConflictError(MlmonError, ValueError):
    """A write that contradicts what is stored: a version re-registered with another artifact."""


class SchemaVersionError(MlmonError, RuntimeError):
    """The database schema is newer than this code, or older and not upgraded."""


class StoreUnavailableError(MlmonError, ConnectionError):
    """The database could not be reached or dropped the connection; the write may not have happened.

    The service answers 503 with ``Retry-After``: a retried ingest with the same batch id is counted once.
    """


class Model(msgspec.Struct, frozen=True):
    """A registered model: a unique name."""

    name: str
    description: str
    created_at: datetime


class ModelVersion(msgspec.Struct, frozen=True):
    """One version of a model and what the registry knows about it."""

    model: str
    version: str
    stage: Stage
    metrics: dict[str, Any]
    params: dict[str, Any]
    feature_schema: dict[str, Any]
    feature_importances: dict[str, float]
    artifact_uri: str | None
    artifact_sha256: str | None
    git_sha: str | None
    created_at: datetime
    deployed_at: datetime | None


class WindowPartial(msgspec.Struct, frozen=True):
    """One writer's counts for one window of one model version (profile bytes from the engine codec)."""

    model: str
    version: str
    window_start: datetime
    window_end: datetime
    writer_id: str
    profile: bytes
    rows: int


class PartialWindow(msgspec.Struct, frozen=True):
    """The counts one ingested batch adds to one window: its drift profile and, for a classifier whose
    probabilities were sent, its label-free performance counts (``mlmon.performance`` bytes)."""

    window_start: datetime
    window_end: datetime
    profile: bytes
    rows: int
    estimate: bytes | None = None


class Prediction(msgspec.Struct, frozen=True):
    """One row's prediction, kept so that its label can be joined when it arrives.

    ``predicted`` is the class index (in the version's class order) or the regression value; ``scores``
    the class probabilities as little-endian float64 bytes, when the model gave them.
    """

    request_id: str
    predicted: float
    scores: bytes | None = None


class LabeledRow(msgspec.Struct, frozen=True):
    """A label to join: the request id of the prediction and the true value (a class label or number)."""

    request_id: str
    label: str | int | float | bool


class Joined(msgspec.Struct, frozen=True):
    """A prediction and its label, as a :data:`LabelCounter` counts them."""

    predicted: float
    scores: bytes | None
    label: str | int | float | bool


LabelCounter = Callable[[str, Sequence[Joined]], tuple[bytes, int]]
"""Counts the joined rows of one model version (its name, first argument) and one window into
performance counts: ``(mlmon.performance bytes, rows counted)``. Runs inside the store's transaction;
an ``InputError`` (a label the version has no class for) rolls the whole call back."""


class LabelResult(msgspec.Struct, frozen=True):
    """What a label batch did, per request id: ``matched`` joined a prediction now; ``duplicates`` were
    joined (or are pending) with the same label before; ``conflicts`` were, with another label (the first
    one counts); ``pending`` have no prediction yet and wait for it."""

    matched: int
    duplicates: int
    conflicts: int
    pending: int


class PerformanceWindow(msgspec.Struct, frozen=True):
    """A window's merged performance counts: ``realized`` from joined labels (``labelled`` rows) and
    ``estimate`` from the label-free counts of every ingested row with probabilities (``estimated``)."""

    window_start: datetime
    window_end: datetime
    realized: bytes | None
    labelled: int
    estimate: bytes | None
    estimated: int


class LabelStatus(msgspec.Struct, frozen=True):
    """The label join of a model: predictions kept and ``waiting`` for a label, ``labelled`` ones,
    labels ``pending`` without a prediction, and what expired unjoined (predictions that never got a
    label, labels that never met a prediction)."""

    waiting: int
    labelled: int
    pending: int
    expired_predictions: int
    expired_labels: int


class IngestBatch(msgspec.Struct, frozen=True):
    """A batch to ingest exactly once, and the window counts it contributes.

    Exactly-once rests on one of two keys. With ``producer_id`` and ``sequence`` (what ``DriftClient``
    sends) the store keeps constant-size state per producer (``mlmon.store._sequences``) and
    ``batch_id`` only names the batch in the result. Without them, ``batch_id`` is remembered with a
    ``digest`` of the body (to tell a retry from a different batch that reuses the id) for the
    retention period of :class:`~mlmon.store.RetentionPolicy`.
    """

    batch_id: str
    digest: str
    partials: list[PartialWindow]
    producer_id: str | None = None
    sequence: int | None = None
    predictions: list[Prediction] = []
    """Rows kept for the label join (counted in the first partial's window)."""


class IngestResult(msgspec.Struct, frozen=True):
    """What an ingest call did with each batch id.

    ``accepted`` were counted now; ``duplicates`` were counted before (with the same digest, or the same
    producer sequence: ack them); ``conflicts`` were counted before with a different digest, and
    ``out_of_order`` carry a sequence too far ahead of or behind their producer's window (reject
    both, 409). Each list holds batch ids.
    """

    accepted: list[str]
    duplicates: list[str]
    conflicts: list[str]
    out_of_order: list[str] = msgspec.field(default_factory=list)


class MergedProfile(msgspec.Struct, frozen=True):
    """The exact merge of the partials of a time range: profile bytes (``None`` when there is no
    partial), the row count and how many partials were merged."""

    profile: bytes | None
    rows: int
    partials: int


class DriftResult(msgspec.Struct, frozen=True):
    """Drift of one feature in one window, against the baseline with sha256 ``baseline_sha256``.

    ``score`` is ``None`` for insufficient data; ``details`` holds the other figures (chi2, p_value,
    js_distance, rates, count...) as JSON values.
    """

    window_start: datetime
    window_end: datetime
    feature: str
    score: float | None
    severity: Severity
    baseline_sha256: str
    details: dict[str, Any] = {}


class StoredDriftResult(DriftResult, frozen=True, kw_only=True):
    """A drift result as read back: with its model version and when it was stored."""

    version: str
    computed_at: datetime


class Alert(msgspec.Struct, frozen=True):
    """An alert raised for a window (``feature`` is ``None`` for an overall alert) and its delivery."""

    id: int
    model: str
    version: str
    window_start: datetime
    window_end: datetime
    feature: str | None
    severity: Literal["warning", "critical"]
    score: float | None
    baseline_sha256: str
    state: AlertState
    delivery_attempts: int
    last_error: str | None
    created_at: datetime
    updated_at: datetime


class AlertDelivery(msgspec.Struct, frozen=True):
    """One delivery attempt of an alert to one sink (``slack``, ``webhook``, ``email``, ``retrain``)."""

    alert_id: int
    sink: str
    ok: bool
    error: str | None
    attempted_at: datetime


class Store(Protocol):
    """The system of record: registry, baselines, window partials, drift results and alerts.

    Every method is synchronous, thread-safe, and runs in one database transaction. Names are validated
    (:mod:`mlmon.store.names`) and raise ``InputError`` naming the field; timestamps must be aware.
    """

    url: str

    def close(self) -> None:
        """Closes every connection. The store is unusable afterwards."""
        ...

    def __enter__(self: _S) -> _S: ...

    def __exit__(self, *exc: object) -> None: ...

    # --- retention (see mlmon.store.retention.apply_retention) --------------------------------------
    def compact_partials(self, before: datetime, granularity: timedelta) -> tuple[int, int]:
        """Merges the partials of each ``granularity`` bucket (aligned to the UTC epoch) that ended before
        ``before`` into one partial, without changing the merge of any range that covers whole buckets.

        Returns:
            ``(partials removed, partials written)``.
        """
        ...

    def expire_batch_ids(self, before: datetime) -> int:
        """Forgets batch ids ingested before ``before``; returns how many."""
        ...

    def expire_producers(self, before: datetime) -> int:
        """Forgets the sequence state of producers idle since ``before``; returns how many."""
        ...

    def compact_windows(self, *, max_windows: int = 256, max_rows: int = 1000) -> tuple[int, int]:
        """Merges the rows of each window that has several into one (continuous compaction); returns
        ``(removed, written)``. Reads are exact before, during and after."""
        ...

    # --- registry -----------------------------------------------------------------------------------
    def create_model(self, name: str, description: str = "") -> Model:
        """Registers a model; returns the existing one if the name is taken."""
        ...

    def get_model(self, name: str) -> Model:
        """Raises ``NotFoundError`` for an unknown model."""
        ...

    def list_models(self) -> list[Model]:
        """All models, by name."""
        ...

    def register_version(
        self,
        model: str,
        version: str,
        *,
        metrics: dict[str, Any] | None = None,
        params: dict[str, Any] | None = None,
        feature_schema: dict[str, Any] | None = None,
        feature_importances: dict[str, float] | None = None,
        artifact_uri: str | None = None,
        artifact_sha256: str | None = None,
        git_sha: str | None = None,
    ) -> ModelVersion:
        """Registers a version (creating the model if needed) at stage ``none``.

        Idempotent for the same artifact: re-registering with the same ``artifact_sha256`` returns the
        stored version unchanged.

        Raises:
            ConflictError: the version exists with a different artifact sha256.
        """
        ...

    def get_version(self, model: str, version: str) -> ModelVersion:
        """Raises ``NotFoundError`` for an unknown model or version."""
        ...

    def list_versions(self, model: str) -> list[ModelVersion]:
        """The versions of a model, oldest first."""
        ...

    def production_version(self, model: str) -> ModelVersion | None:
        """The production version of a model, if any."""
        ...

    def set_stage(self, model: str, version: str, stage: Stage) -> ModelVersion:
        """Moves a version to ``stage`` in one transaction; to ``production`` archives the previous
        production version and stamps ``deployed_at``. At most one production version per model is a
        database constraint, so concurrent promotions serialize and the last one wins."""
        ...

    def promote(self, model: str, version: str) -> ModelVersion:
        """``set_stage(model, version, "production")``."""
        ...

    # --- baselines ----------------------------------------------------------------------------------
    def put_baseline(self, model: str, version: str, data: bytes) -> str:
        """Stores baseline bytes for a version (content-addressed, idempotent); returns their sha256."""
        ...

    def get_baseline(self, model: str, version: str, sha256: str | None = None) -> tuple[str, bytes]:
        """``(sha256, bytes)`` of the given or else the latest baseline of the version.

        Raises:
            NotFoundError: no such baseline for that version.
        """
        ...

    def get_baseline_by_sha(self, sha256: str) -> bytes:
        """The baseline with this sha256, whichever version it belongs to."""
        ...

    # --- window partials ----------------------------------------------------------------------------
    def write_partials(self, partials: Sequence[WindowPartial]) -> None:
        """Writes partials in one transaction (group commit): all or none."""
        ...

    def ingest(
        self,
        model: str,
        version: str,
        writer_id: str,
        batches: Sequence[IngestBatch],
        counter: LabelCounter | None = None,
    ) -> IngestResult:
        """Records batch ids and the partials of the new ones in one transaction: exactly-once counting.

        A batch id already stored for this model version is not counted again; it is reported as a
        duplicate (same digest) or a conflict (different digest). The partials of the accepted batches
        are merged per window and written as one row per window. Their predictions are kept for the
        label join, and labels already waiting for them are joined now, counted by ``counter``.
        """
        ...

    def merged_profile(self, model: str, version: str, start: datetime, end: datetime) -> MergedProfile:
        """Exact merge of the partials lying within ``[start, end)``."""
        ...

    # --- delayed labels (see mlmon.store._labels) ------------------------------------------------
    def join_labels(
        self,
        model: str,
        labels: Sequence[LabeledRow],
        counter: LabelCounter,
        writer_id: str,
    ) -> LabelResult:
        """Joins labels to the predictions of ``model`` by request id, exactly once, in one transaction:
        each matched prediction is counted into its window's performance by ``counter``; a label
        without a prediction waits for it (joined at its ingest). Within a call, the first label of a
        request id counts and the others are duplicates or conflicts."""
        ...

    def label_versions(self, model: str, request_ids: Sequence[str]) -> list[str]:
        """The versions whose predictions these request ids name (to prepare their counters)."""
        ...

    def performance(
        self, model: str, version: str, start: datetime, end: datetime
    ) -> list[PerformanceWindow]:
        """The merged performance counts of each window starting in ``[start, end)``, by start."""
        ...

    def label_status(self, model: str) -> LabelStatus:
        """How the label join of ``model`` stands."""
        ...

    def expire_labels(self, predictions_before: datetime, labels_before: datetime) -> tuple[int, int]:
        """Forgets predictions kept since before ``predictions_before`` and pending labels received
        before ``labels_before``, counting the unjoined ones; returns ``(predictions, labels)``."""
        ...

    # --- drift results and alerts -------------------------------------------------------------------
    def put_drift_results(self, model: str, version: str, results: Sequence[DriftResult]) -> None:
        """Stores drift results; a result for the same window, feature and baseline is replaced."""
        ...

    def drift_history(
        self,
        model: str,
        feature: str,
        start: datetime,
        end: datetime,
        version: str | None = None,
    ) -> list[StoredDriftResult]:
        """Results of one feature whose windows start in ``[start, end)``, by window start."""
        ...

    def add_alert(
        self,
        model: str,
        version: str,
        *,
        window_start: datetime,
        window_end: datetime,
        feature: str | None,
        severity: Literal["warning", "critical"],
        score: float | None,
        baseline_sha256: str,
    ) -> Alert:
        """Records a new ``pending`` alert."""
        ...

    def claim_alert(
        self,
        model: str,
        version: str,
        *,
        window_start: datetime,
        window_end: datetime,
        feature: str | None,
        severity: Literal["warning", "critical"],
        score: float | None,
        baseline_sha256: str,
        cooldown: timedelta,
    ) -> Alert | None:
        """Records a new ``pending`` alert unless one with the same model version, feature and severity
        was recorded within ``cooldown``; check and insert share one serialized transaction, so of
        several workers or replicas racing, exactly one gets the alert (the others get ``None``)."""
        ...

    def record_delivery(
        self, alert_id: int, *, ok: bool, error: str | None = None, sink: str | None = None
    ) -> Alert:
        """Counts a delivery attempt: state ``sent`` when ``ok``, else ``failed`` with the error; with
        ``sink``, the attempt is also kept in the alert's delivery log."""
        ...

    def list_deliveries(self, alert_id: int) -> list[AlertDelivery]:
        """The delivery log of an alert, oldest first."""
        ...

    def list_alerts(
        self,
        model: str,
        *,
        version: str | None = None,
        state: AlertState | None = None,
        since: datetime | None = None,
        limit: int = 100,
    ) -> list[Alert]:
        """Alerts of a model, newest first."""
        ...
