"""The jobs the scaling curves and the memory figures time, on generated data (seeded, so reproducible).

Each curve varies one dimension of the whole in-process job (fit the baseline, update with the current
set, report) or of the ingest path (``Monitor.update`` of one batch), with the others held fixed.
"""

from __future__ import annotations

from typing import Any

import msgspec
import numpy as np

from mlmon.core import _native
from mlmon.core.baseline import Baseline
from mlmon.core.monitor import Monitor
from mlmon.core.windows import WindowState

__all__ = [
    "INGEST_FEATURES",
    "categorical_sets",
    "numeric_sets",
    "service_body",
    "service_entry",
    "service_ingest",
    "whole_job",
    "window_profile",
]

INGEST_FEATURES = 25
"""Features of the ingest (batch size) curve: the service load test's batch shape."""

Columns = dict[str, np.ndarray[Any, Any]]


def numeric_sets(rows: int, features: int, seed: int = 0) -> tuple[Columns, Columns]:
    """Reference and current sets of float64 columns (normal; the current set shifted by 0.1 sigma)."""
    rng = np.random.default_rng(seed)
    ref = {f"f{j}": rng.normal(0.0, 1.0, rows) for j in range(features)}
    cur = {f"f{j}": rng.normal(0.1, 1.0, rows) for j in range(features)}
    return ref, cur


def categorical_sets(rows: int, categories: int, seed: int = 0) -> tuple[Columns, Columns]:
    """One string feature with ``categories`` labels (uniform, every label present when rows allow)."""
    rng = np.random.default_rng(seed)
    labels = np.array([f"c{i}" for i in range(categories)], dtype=object)
    return {"cat": labels[rng.integers(0, categories, rows)]}, {
        "cat": labels[rng.integers(0, categories, rows)]
    }


def whole_job(ref: Columns, cur: Columns, max_categories: int = 10_000) -> Any:
    """Fit the baseline on ``ref``, update a monitor with ``cur``, report: the library's whole job."""
    monitor = Monitor(Baseline.fit(ref, max_categories=max_categories))
    monitor.update(cur)
    return monitor.report()


def service_body(batch: Columns) -> bytes:
    """An ingest request body as the service load test sends it: msgpack with raw float64 bytes."""
    columns = {name: {"dtype": "<f8", "data": col.astype("<f8").tobytes()} for name, col in batch.items()}
    return msgspec.msgpack.encode({"batch_id": "b", "version": "v1", "columns": columns})


def service_entry(baseline: Baseline) -> Any:
    """The service's per-version decoder and baseline (``BaselineEntry``), built as the service does."""
    from mlmon.service.ingest import BaselineEntry  # the service extra: imported only for this curve

    return BaselineEntry.build("m", "v1", "0" * 64, baseline.to_bytes(), 10_000_000, 10_000)


def service_ingest(entry: Any, body: bytes) -> bytes:
    """The service's in-process ingest path for one body: decode the envelope, then the stage the
    route runs (the engine reads and counts the columns), giving the partial profile (no HTTP, no
    commit)."""
    from mlmon.service.ingest import decode_and_count, decode_envelope

    envelope = decode_envelope(body, "msgpack")
    return bytes(decode_and_count(entry, envelope, "msgpack", 10_000_000).profile)


def window_profile(baseline: Baseline, batch: Columns) -> bytes:
    """The codec bytes of one window's counts after ``batch``: what the service stores per partial."""
    state = WindowState(baseline)
    for name, profile in state.profiles.items():
        profile.update(batch[name])
    return bytes(_native.encode_profile(list(state.profiles.items())))
