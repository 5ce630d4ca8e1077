"""A regression model's quality from mergeable sums: MAE, RMSE, bias and R².

A window keeps the row count, the running mean and centred sum of squares of the targets (Chan et al.'s
pairwise update, so windows merge without the cancellation of ``sum(y**2) - n * mean**2``), and the sums
of the residuals ``e = prediction - target``: ``sum e``, ``sum e**2`` and ``sum |e|``. Every metric is a
ratio of those, equal to scikit-learn's ``mean_absolute_error``, ``root_mean_squared_error`` and
``r2_score`` to float rounding, for one window or any merged range.
"""

from __future__ import annotations

import math
from typing import Any

import msgspec
import numpy as np

from mlmon.exceptions import InputError

__all__ = ["RegressionCounts", "RegressionMetrics"]


class RegressionMetrics(msgspec.Struct, frozen=True):
    """Metrics of a window (``None`` without rows)."""

    rows: int
    mae: float | None
    rmse: float | None
    bias: float | None
    r2: float | None


class RegressionCounts:
    """Sums of a regression model's residuals and of its targets, in one window.

    >>> r = RegressionCounts()
    >>> r.update([3.0, -0.5, 2.0, 7.0], [2.5, 0.0, 2.0, 8.0])
    >>> round(r.metrics().r2, 6)
    0.948608
    """

    def __init__(self) -> None:
        self.rows = 0
        self.mean = 0.0
        self.m2 = 0.0
        self.sum_error = 0.0
        self.sum_squared = 0.0
        self.sum_absolute = 0.0

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
        self.merge(batch)

    def merge(self, other: RegressionCounts) -> None:
        """Adds ``other``'s sums (Chan's update for the targets' mean and spread)."""
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

    def metrics(self) -> RegressionMetrics:
        """Every metric of these sums; R² follows scikit-learn for constant targets (1.0 when the
        predictions are exact, else 0.0)."""
        n = self.rows
        if not n:
            return RegressionMetrics(rows=0, mae=None, rmse=None, bias=None, r2=None)
        constant = 1.0 if self.sum_squared == 0 else 0.0
        r2 = 1.0 - self.sum_squared / self.m2 if self.m2 > 0 else constant
        return RegressionMetrics(
            rows=n,
            mae=self.sum_absolute / n,
            rmse=math.sqrt(self.sum_squared / n),
            bias=self.sum_error / n,
            r2=r2,
        )
