"""A regression model's quality from mergeable sums and a residual histogram: MAE, RMSE, bias, R² and
quantiles of the absolute error.

A window keeps the row count, the running mean and centred sum of squares of the targets (Chan et al.'s
pairwise update, so windows merge without the cancellation of ``sum(y**2) - n * mean**2``), and the sums
of the residuals ``e = prediction - target``: ``sum e``, ``sum e**2`` and ``sum |e|``. Every metric is a
ratio of those, equal to scikit-learn's ``mean_absolute_error``, ``root_mean_squared_error`` and
``r2_score`` to float rounding, for one window or any merged range.

The residuals are also counted in a histogram whose bins are fixed in advance, the same for every window
and every model, so any two windows merge by adding their counts, exactly, with nothing known about the
data: symmetric log-spaced bins, :data:`PER_DECADE` per decade of ``|e|`` from :data:`SMALLEST` to
:data:`LARGEST` on each side of zero, a zero bin for ``|e| < SMALLEST`` and an open bin beyond
``LARGEST`` on each side (:data:`RESIDUAL_EDGES`). A quantile read from it (the median or 90th
percentile absolute error, or of the signed residual) lies in the bin of the true one, so it is within a
factor ``10 ** (1 / PER_DECADE)`` (26%) of it, whatever the targets' scale from ``1e-6`` to ``1e9``.
"""

from __future__ import annotations

import math
from typing import Any

import msgspec
import numpy as np
import numpy.typing as npt

from mlmon.exceptions import InputError

__all__ = [
    "LARGEST",
    "PER_DECADE",
    "RESIDUAL_EDGES",
    "SMALLEST",
    "RegressionCounts",
    "RegressionMetrics",
    "ResidualHistogram",
]

#: Log-spaced bins per decade of ``|e|`` (each bin spans a factor ``10 ** 0.1``).
PER_DECADE = 10
#: The smallest and largest bin edges of ``|e|``: smaller residuals share the zero bin, larger ones the
#: open end bins.
SMALLEST, LARGEST = 1e-6, 1e9
_MAGNITUDES = np.logspace(
    math.log10(SMALLEST), math.log10(LARGEST), round(PER_DECADE * math.log10(LARGEST / SMALLEST)) + 1
)
#: The inner edges of the signed residual histogram, ascending: ``-LARGEST .. -SMALLEST, SMALLEST ..
#: LARGEST``. Bin ``i`` holds the residuals ``RESIDUAL_EDGES[i - 1] <= e < RESIDUAL_EDGES[i]`` (open at
#: both ends), so there are ``len(RESIDUAL_EDGES) + 1`` bins (303).
RESIDUAL_EDGES: npt.NDArray[np.float64] = np.concatenate([-_MAGNITUDES[::-1], _MAGNITUDES])
RESIDUAL_BINS = len(RESIDUAL_EDGES) + 1


class ResidualHistogram(msgspec.Struct, frozen=True):
    """Counts of the residuals between ``edges`` (``len(edges) + 1`` bins, the first and last open).

    Use :meth:`quantile`; :meth:`absolute` folds it into a histogram of ``|e|``.
    """

    edges: list[float]
    counts: list[int]

    @property
    def rows(self) -> int:
        """Rows counted."""
        return sum(self.counts)

    def absolute(self) -> ResidualHistogram:
        """The histogram of ``|e|``: the zero bin, then one bin per magnitude (both signs added), then
        the open bin beyond :data:`LARGEST`; its edges are ``0, SMALLEST .. LARGEST``."""
        half = len(self.edges) // 2
        neg, zero, pos = self.counts[:half], self.counts[half], self.counts[half + 1 :]
        folded = [zero] + [a + b for a, b in zip(reversed(neg), pos, strict=True)]
        return ResidualHistogram([0.0, *self.edges[half:]], [0, *folded])

    def quantile(self, q: float) -> float | None:
        """The ``q`` quantile of the counted values (``None`` without rows): the bin where the
        cumulative count reaches ``q * rows``, interpolated inside it (log-linearly between two edges of
        one sign, linearly across zero); an open end bin gives its finite edge.

        Raises:
            InputError: ``q`` outside ``[0, 1]``.
        """
        if not 0.0 <= q <= 1.0:
            raise InputError(f"a quantile is within [0, 1], got {q}")
        counts = np.asarray(self.counts, dtype=np.float64)
        total = counts.sum()
        if not total:
            return None
        cum = np.cumsum(counts)
        target = q * total
        b = min(int(np.searchsorted(cum, target, side="left")), len(counts) - 1)
        while not counts[b]:  # q == 0: the first bin with rows
            b += 1
        if b == 0:
            return self.edges[0]
        if b == len(self.edges):
            return self.edges[-1]
        lo, hi = self.edges[b - 1], self.edges[b]
        f = float((target - (cum[b] - counts[b])) / counts[b])
        if lo * hi > 0:
            return math.copysign(abs(lo) ** (1 - f) * abs(hi) ** f, lo)
        return lo + f * (hi - lo)


class RegressionMetrics(msgspec.Struct, frozen=True):
    """Metrics of a window (``None`` without rows). The absolute error's quantiles come from the residual
    histogram (within a factor ``10 ** 0.1`` of the exact ones); ``None`` also when some merged counts
    were decoded from the format that had no histogram."""

    rows: int
    mae: float | None
    rmse: float | None
    bias: float | None
    r2: float | None
    median_absolute_error: float | None = None
    p90_absolute_error: float | None = None


def residual_bins(e: npt.NDArray[np.float64]) -> npt.NDArray[np.int64]:
    """The residual histogram's bin of each residual."""
    return np.searchsorted(RESIDUAL_EDGES, e, side="right").astype(np.int64)


class RegressionCounts:
    """Sums of a regression model's residuals and of its targets, and the residual histogram, in one
    window.

    >>> r = RegressionCounts()
    >>> r.update([3.0, -0.5, 2.0, 7.0], [2.5, 0.0, 2.0, 8.0])
    >>> round(r.metrics().r2, 6)
    0.948608
    >>> 0.398 < r.metrics().median_absolute_error < 0.501  # 0.5, in the bin [10 ** -0.4, 10 ** -0.3)
    True
    """

    def __init__(self) -> None:
        self.rows = 0
        self.mean = 0.0
        self.m2 = 0.0
        self.sum_error = 0.0
        self.sum_squared = 0.0
        self.sum_absolute = 0.0
        #: Rows per bin of the residual (see :data:`RESIDUAL_EDGES`).
        self.residuals = np.zeros(RESIDUAL_BINS, dtype=np.int64)

    def update(self, y_true: Any, y_pred: Any) -> None:
        """Adds rows of targets and predictions.

        Raises:
            InputError: mismatched lengths or non-finite values.
        """
        t = np.asarray(y_true, dtype=np.float64).ravel()
        p = np.asarray(y_pred, dtype=np.float64).ravel()
        if t.shape != p.shape:
            raise InputError(f"y_true has {t.size} rows, y_pred {p.size}")
        if not (np.isfinite(t).all() and np.isfinite(p).all()):
            raise InputError("y_true and y_pred must be finite")
        if not t.size:
            return
        e = p - t
        batch = RegressionCounts()
        batch.rows = int(t.size)
        batch.mean = float(t.mean())
        batch.m2 = float(((t - batch.mean) ** 2).sum())
        batch.sum_error = float(e.sum())
        batch.sum_squared = float((e * e).sum())
        batch.sum_absolute = float(np.abs(e).sum())
        batch.residuals = np.bincount(residual_bins(e), minlength=RESIDUAL_BINS).astype(np.int64)
        self.merge(batch)

    def merge(self, other: RegressionCounts) -> None:
        """Adds ``other``'s sums (Chan's update for the targets' mean and spread) and histogram."""
        self.residuals = self.residuals + other.residuals
        n = self.rows + other.rows
        if not n:
            return
        delta = other.mean - self.mean
        self.m2 += other.m2 + delta * delta * self.rows * other.rows / n
        self.mean += delta * other.rows / n
        self.rows = n
        self.sum_error += other.sum_error
        self.sum_squared += other.sum_squared
        self.sum_absolute += other.sum_absolute

    def residual_histogram(self) -> ResidualHistogram:
        """The residuals' histogram (signed; ``.absolute()`` for ``|e|``)."""
        return ResidualHistogram(RESIDUAL_EDGES.tolist(), self.residuals.tolist())

    def metrics(self) -> RegressionMetrics:
        """Every metric of these sums; R² follows scikit-learn for constant targets (1.0 when the
        predictions are exact, else 0.0)."""
        n = self.rows
        if not n:
            return RegressionMetrics(rows=0, mae=None, rmse=None, bias=None, r2=None)
        constant = 1.0 if self.sum_squared == 0 else 0.0
        r2 = 1.0 - self.sum_squared / self.m2 if self.m2 > 0 else constant
        # Counts decoded from format 1 carry no histogram: quantiles of some rows only would mislead.
        absolute = self.residual_histogram().absolute() if int(self.residuals.sum()) == n else None
        return RegressionMetrics(
            rows=n,
            mae=self.sum_absolute / n,
            rmse=math.sqrt(self.sum_squared / n),
            bias=self.sum_error / n,
            r2=r2,
            median_absolute_error=None if absolute is None else absolute.quantile(0.5),
            p90_absolute_error=None if absolute is None else absolute.quantile(0.9),
        )
