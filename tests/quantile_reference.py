"""numpy's statement of the engine's bin edges, shared by the engine's edge tests: ``np.quantile`` of the
finite values, and the tie-merging rule (dedupe, then drop cuts that close empty bins)."""

from __future__ import annotations

import numpy as np


def numpy_cuts(x: np.ndarray, bins: int) -> np.ndarray:
    """The issue's reference: np.quantile on finite values at linspace(0, 1, bins + 1)[1:-1]."""
    x = np.asarray(x, dtype=np.float64)
    x = x[np.isfinite(x)]
    return np.quantile(x, np.linspace(0, 1, bins + 1)[1:-1])


def merged(cuts: np.ndarray, x: np.ndarray) -> np.ndarray:
    """Independent statement of the tie-merging rule: dedupe, then drop cuts closing empty bins."""
    cuts = np.unique(cuts)
    finite_x = np.asarray(x, dtype=np.float64)
    finite_x = finite_x[~np.isnan(finite_x)]
    counts = np.bincount(np.searchsorted(cuts, finite_x, side="right"), minlength=len(cuts) + 1)
    kept: list[float] = []
    run = 0
    for cut, n in zip(cuts, counts[:-1], strict=True):
        run += n
        if run > 0:
            kept.append(cut)
            run = 0
    if counts[-1] == 0 and kept:
        kept.pop()
    return np.array(kept)
