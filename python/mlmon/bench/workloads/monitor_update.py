"""Issue 15's public-call workload: ``Monitor.update`` of one batch (1,000 rows x 25 features: 20 float64
columns and 5 object-string columns of 30 labels) against a baseline fitted on 100,000 rows, beside what a
user would write with numpy (searchsorted + bincount per numeric column, ``np.unique`` per string one).

Shared by ``mlmon bench`` (the ``monitor`` kernels suite) and ``benches/bench_monitor_update.py``, so both
time the same calls.
"""

from __future__ import annotations

from typing import Any

import numpy as np

import mlmon
from mlmon.core import _native

__all__ = ["LABELS", "NUMERIC", "REFERENCE_ROWS", "STRINGS", "baseline", "by_hand", "counted", "make"]

REFERENCE_ROWS = 100_000
NUMERIC = [f"x{i}" for i in range(20)]
STRINGS = [f"s{i}" for i in range(5)]
LABELS = np.array([f"label_{j}" for j in range(30)], dtype=object)


def make(rng: np.random.Generator, n: int) -> dict[str, np.ndarray]:
    """``n`` rows: 20 normal float64 columns and 5 object columns of 30 labels."""
    out: dict[str, np.ndarray] = {name: rng.normal(size=n) for name in NUMERIC}
    out.update({name: LABELS[rng.integers(0, len(LABELS), n)] for name in STRINGS})
    return out


def baseline(numeric_only: bool = False) -> mlmon.Baseline:
    """The baseline of 100,000 reference rows (its 20 numeric columns only, with ``numeric_only``)."""
    reference = make(np.random.default_rng(0), REFERENCE_ROWS)
    if numeric_only:
        reference = {name: reference[name] for name in NUMERIC}
    return mlmon.Baseline.fit(reference)


def by_hand(ref: mlmon.Baseline, batch: dict[str, np.ndarray]) -> dict[str, dict[Any, int]]:
    """What a user would write with numpy: bin counts per numeric column, label counts per string one."""
    out: dict[str, dict[Any, int]] = {}
    for name, values in batch.items():
        prof = ref.profiles[name]
        if isinstance(prof, _native.NumericHistogram):
            bins = np.bincount(
                np.searchsorted(prof.edges.cuts, values, side="right"), minlength=prof.edges.n_bins
            )
            out[name] = dict(enumerate(bins.tolist()))
        else:
            labels, counts = np.unique(values, return_counts=True)
            out[name] = dict(zip(labels.tolist(), counts.tolist(), strict=True))
    return out


def counted(monitor: mlmon.Monitor) -> dict[str, dict[Any, int]]:
    """The open window's counts in :func:`by_hand`'s shape (zero counts left out of label counts)."""
    out: dict[str, dict[Any, int]] = {}
    for name, prof in monitor._open.profiles.items():
        if isinstance(prof, _native.NumericHistogram):
            out[name] = dict(enumerate(prof.counts.tolist()))
        else:
            out[name] = {k: n for k, n in zip(prof.categories, prof.counts.tolist(), strict=True) if n}
    return out
