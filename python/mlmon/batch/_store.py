"""Writing a batch history into the store, so the service's drift history and dashboard show it.

Per period: the exact counts go in as one ingested partial (batch id from the baseline and the period,
digest from the counts, so a rerun over the same data is a no-op rather than a double count), then one
drift result per feature, replaced if it was stored before.
"""

from __future__ import annotations

import hashlib
from datetime import datetime, timedelta, timezone

from mlmon.batch._fold import PeriodFold
from mlmon.core import _native
from mlmon.core.baseline import Baseline
from mlmon.core.drift import DriftReport
from mlmon.exceptions import InputError
from mlmon.store import (
    ConflictError,
    DriftResult,
    IngestBatch,
    NotFoundError,
    PartialWindow,
    Store,
    open_store,
)

__all__ = ["WRITER_ID", "write_history"]

WRITER_ID = "mlmon-batch"


def _ensure_version(store: Store, model: str, version: str) -> None:
    try:
        store.get_version(model, version)
    except NotFoundError:
        store.register_version(model, version)


def _batches(fold: PeriodFold, sha: str) -> list[IngestBatch]:
    out = []
    for key in sorted(fold.states):
        state = fold.states[key]
        start = datetime.fromtimestamp(key * fold.seconds, timezone.utc)
        end = start + timedelta(seconds=fold.seconds)
        profile = _native.encode_profile(list(state.profiles.items()))
        digest = hashlib.sha256(profile + state.rows.to_bytes(8, "little")).hexdigest()[:32]
        batch_id = f"batch-{sha[:16]}-{int(fold.seconds)}-{key}"
        out.append(IngestBatch(batch_id, digest, [PartialWindow(start, end, profile, state.rows)]))
    return out


def _results(reports: list[DriftReport], sha: str) -> list[DriftResult]:
    return [
        DriftResult(
            window_start=r.window_start,  # type: ignore[arg-type]  # a period report has both ends
            window_end=r.window_end,  # type: ignore[arg-type]
            feature=name,
            score=f.score,
            severity=f.severity,
            baseline_sha256=sha,
            details={
                "p_value": f.p_value,
                "count": f.count,
                "missing_rate": f.missing_rate,
                "source": WRITER_ID,
            },
        )
        for r in reports
        for name, f in r.features.items()
    ]


def write_history(
    store: Store | str,
    fold: PeriodFold,
    reports: list[DriftReport],
    baseline: Baseline,
    model: str | None,
    version: str | None,
) -> None:
    """Stores the counts and drift results of every period.

    Args:
        store: A store, or a database URL to open (and close) one.
        fold: The per-period counts.
        reports: Their reports.
        baseline: The reference (stored too, content-addressed).
        model: Model name (default: the baseline's).
        version: Model version (default: the baseline's).

    Raises:
        InputError: no model or version known.
        ConflictError: a period was stored before from different data (its counts are not added twice).
    """
    model = model or baseline.model
    version = version or baseline.version
    if not model or not version:
        raise InputError(
            "writing to a store needs a model and version: fit the baseline with model= and "
            "version=, or pass model= and version="
        )
    if isinstance(store, str):
        with open_store(store) as opened:
            write_history(opened, fold, reports, baseline, model, version)
        return
    _ensure_version(store, model, version)
    sha = store.put_baseline(model, version, baseline.to_bytes())
    result = store.ingest(model, version, WRITER_ID, _batches(fold, sha))
    if result.conflicts:
        raise ConflictError(
            f"{len(result.conflicts)} period(s) were stored before from different data (first: "
            f"{result.conflicts[0]}); their counts were not added again"
        )
    store.put_drift_results(model, version, _results(reports, sha))
