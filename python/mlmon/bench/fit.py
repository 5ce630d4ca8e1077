"""The cost model of a scaling curve: a least-squares line, fixed cost plus cost per unit, with its R^2.

The curves span several decades of x, so an ordinary fit would be decided by the largest points alone
(and could put the fixed cost below zero). The fit therefore minimizes *relative* residuals (weights
1/y) when every y is positive, which treats a 10% miss at 10 rows like a 10% miss at 10 million; R^2 is
computed with the same weights. With a zero or negative y it falls back to ordinary least squares.
"""

from __future__ import annotations

from collections.abc import Sequence

import msgspec
import numpy as np

from mlmon.exceptions import InputError

__all__ = ["LineFit", "line_fit"]


class LineFit(msgspec.Struct, frozen=True):
    """``y = fixed + per_unit * x`` fitted by least squares on ``points`` measurements.

    ``r2`` is the coefficient of determination (1.0 for a perfect line; 1.0 as well when every y is
    the same and the line passes through them); ``weighting`` is ``relative`` or ``none``.
    """

    fixed: float
    per_unit: float
    r2: float
    points: int
    weighting: str = "none"

    def predict(self, x: float) -> float:
        """The model's value at ``x``."""
        return self.fixed + self.per_unit * x


def line_fit(x: Sequence[float], y: Sequence[float]) -> LineFit:
    """Fits ``y = fixed + per_unit * x`` by least squares (relative residuals when every y > 0).

    Raises:
        InputError: fewer than two points, lengths that differ, non-finite values, or all x equal.
    """
    xs, ys = np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64)
    if xs.shape != ys.shape or xs.ndim != 1:
        raise InputError(f"line fit needs two 1-D sequences of one length, got {xs.shape} and {ys.shape}")
    if len(xs) < 2:
        raise InputError(f"line fit needs at least 2 points, got {len(xs)}")
    if not (np.isfinite(xs).all() and np.isfinite(ys).all()):
        raise InputError("line fit: x and y must be finite")
    if np.ptp(xs) == 0:
        raise InputError("line fit: every x is the same, the slope is undefined")
    relative = bool((ys > 0).all())
    w = 1.0 / ys if relative else np.ones_like(ys)
    design = np.column_stack([np.ones_like(xs), xs]) * w[:, None]
    (fixed, per_unit), *_ = np.linalg.lstsq(design, ys * w, rcond=None)
    residual = (ys - (fixed + per_unit * xs)) * w
    weights = w**2
    mean = float(np.sum(weights * ys) / np.sum(weights))
    total = float(np.sum(weights * (ys - mean) ** 2))
    r2 = 1.0 - float(np.sum(residual**2)) / total if total > 1e-300 else 1.0
    return LineFit(float(fixed), float(per_unit), r2, len(xs), "relative" if relative else "none")
