"""The inputs of the engine kernels, each beside the numpy or pandas way of doing the same: built here once
for ``mlmon bench``'s kernels step and a checkout's ``benches/bench_engine.py`` (seeded, so the two time
the same data).

``n`` is the length of the long columns (10,000,000 in the suites of record); the 2-D and string inputs
are a tenth of it, as in the original suites (1,000,000 x 25 and 1,000,000 strings).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from mlmon.core import _native as e

__all__ = ["N", "codes", "column", "stat_pairs", "strided", "strings", "wide", "with_nan"]

N = 10_000_000
FloatArray = np.ndarray[Any, np.dtype[np.float64]]


def column(n: int = N) -> FloatArray:
    """``n`` standard normal float64 values."""
    return np.random.default_rng(0).normal(size=n)


def strided(n: int = N) -> FloatArray:
    """A view of ``n`` values taking every second element (a non-contiguous column)."""
    return np.random.default_rng(1).normal(size=2 * n)[::2]


def with_nan(values: FloatArray) -> FloatArray:
    """A copy with every hundredth value NaN (1% missing)."""
    x = values.copy()
    x[::100] = np.nan
    return x


def wide(rows: int = N // 10, features: int = 25) -> tuple[FloatArray, list[e.NumericHistogram]]:
    """A C-order ``rows`` x ``features`` matrix and a 10-bin histogram per column, on its quantiles."""
    x = np.random.default_rng(2).normal(size=(rows, features))
    return x, [e.NumericHistogram(e.BinEdges.quantile(x[:, j], 10)) for j in range(features)]


def codes(n: int = N, categories: int = 50) -> tuple[np.ndarray[Any, np.dtype[np.int8]], list[str]]:
    """``n`` int8 dictionary codes over ``categories`` labels, and the labels."""
    values = np.random.default_rng(3).integers(0, categories, size=n).astype(np.int8)
    return values, [f"c{i}" for i in range(categories)]


def strings(n: int = N // 10, categories: int = 1000) -> np.ndarray[Any, np.dtype[np.object_]]:
    """``n`` object strings over ``categories`` labels, Zipf-distributed (a few labels dominate)."""
    labels = np.array([f"v{i:04d}" for i in range(categories)], dtype=object)
    rng = np.random.default_rng(4)
    picked: np.ndarray[Any, np.dtype[np.object_]] = labels[np.minimum(rng.zipf(1.3, size=n), categories) - 1]
    return picked


def stat_pairs(features: int = 25, bins: int = 12) -> list[tuple[FloatArray, FloatArray]]:
    """Reference and current counts of ``features`` features of ``bins`` bins (for PSI and chi-square)."""
    rng = np.random.default_rng(5)
    return [
        (rng.integers(1, 10_000, bins).astype(float), rng.integers(1, 10_000, bins).astype(float))
        for _ in range(features)
    ]
