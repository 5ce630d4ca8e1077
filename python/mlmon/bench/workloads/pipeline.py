"""The fixed pipeline workload and the hand-written numpy/pandas/scipy implementation it is compared with.

Reference and current sets of ``rows`` rows and 25 features: 20 float64 of varied shapes (four with 1%
NaN) and 5 string categoricals with 5 to 1,000 Zipf-distributed categories; the current set drifts in
half the features. Shared by ``mlmon bench`` (its kernels step and, loaded by file path, the peer jobs),
``mlmon.bench.compare.pipeline`` and a checkout's pytest-benchmark suites. numpy, pandas and scipy only at
import time: the peers' virtualenvs have no mlmon (``mlmon_pipeline`` imports it when called).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats as sps

ROWS = 1_000_000
EPS = 1e-4
CARDINALITIES = (5, 20, 100, 300, 1000)
NUMERIC = [f"num_{i:02d}" for i in range(20)]
CATEGORICAL = [f"cat_{c}" for c in CARDINALITIES]
DRIFTED = {*NUMERIC[::2], *CATEGORICAL[:3]}  # 13 of 25 features drift (rounded up half)

Gen = Callable[[np.random.Generator, int, float], np.ndarray]
_SHAPES: list[Gen] = [
    lambda r, n, s: r.normal(1.2 * s, 1, n),
    lambda r, n, s: r.lognormal(10 + s, 1, n),
    lambda r, n, s: r.exponential(2 + 4 * s, n),
    lambda r, n, s: r.uniform(0 + s, 1 + s, n),
    lambda r, n, s: r.gamma(2 + 3 * s, 1, n),
    lambda r, n, s: r.beta(2, 5 + 5 * s, n),
    lambda r, n, s: np.where(r.random(n) < 0.3 + s / 2, r.normal(-2, 0.5, n), r.normal(2, 1, n)),
    lambda r, n, s: r.standard_t(3, n) + s,
    lambda r, n, s: r.poisson(4 + 4 * s, n).astype(np.float64),  # discrete: ties merge bins
    lambda r, n, s: r.weibull(1.5 + s, n),
]


def _zipf_strings(rng: np.random.Generator, n: int, k: int, drift: bool) -> np.ndarray:
    labels = np.array([f"v{i:04d}" for i in range(k)], dtype=object)
    weights = 1.0 / np.arange(1, k + 1) ** 1.1
    if drift:
        weights = weights[::-1].copy()  # rare categories become common
    return labels[rng.choice(k, size=n, p=weights / weights.sum())]


def make_columns(seed: int, rows: int = ROWS, drift: bool = False) -> dict[str, np.ndarray]:
    """One set as numpy columns (float64 and object strings)."""
    rng = np.random.default_rng(seed)
    cols: dict[str, np.ndarray] = {}
    for i, name in enumerate(NUMERIC):
        shift = 0.5 if drift and name in DRIFTED else 0.0
        x = _SHAPES[i % len(_SHAPES)](rng, rows, shift).astype(np.float64)
        if i % 5 == 1:
            x[rng.random(rows) < 0.01] = np.nan
        cols[name] = x
    for k, name in zip(CARDINALITIES, CATEGORICAL, strict=True):
        cols[name] = _zipf_strings(rng, rows, k, drift and name in DRIFTED)
    return cols


def input_bytes(cols: dict[str, np.ndarray]) -> int:
    """Size of a set: 8 bytes per float, UTF-8 bytes plus a 4-byte offset per string."""
    total = 0
    for v in cols.values():
        total += (
            v.nbytes
            if v.dtype.kind == "f"
            else int(sum(len(s) for s in v[:10_000]) * len(v) / 10_000) + 4 * len(v)
        )
    return total


def _psi(e: np.ndarray, a: np.ndarray) -> float:
    p, q = np.maximum(e / e.sum(), EPS), np.maximum(a / a.sum(), EPS)
    p, q = p / p.sum(), q / q.sum()
    return float(np.sum((q - p) * np.log(q / p)))


def numpy_pipeline(ref: pd.DataFrame, cur: pd.DataFrame) -> dict[str, dict[str, float]]:
    """PSI on ``np.nanquantile`` edges with ``searchsorted`` + ``bincount`` for numerical features;
    ``value_counts`` and ``scipy.stats.chisquare`` (plus PSI) for categorical ones."""
    out: dict[str, dict[str, float]] = {}
    probs = np.linspace(0, 1, 11)[1:-1]
    for name in NUMERIC:
        r, c = ref[name].to_numpy(), cur[name].to_numpy()
        r, c = r[~np.isnan(r)], c[~np.isnan(c)]
        cuts = np.unique(np.nanquantile(r, probs))
        e = np.bincount(np.searchsorted(cuts, r, side="right"), minlength=len(cuts) + 1)
        a = np.bincount(np.searchsorted(cuts, c, side="right"), minlength=len(cuts) + 1)
        out[name] = {"psi": _psi(e, a)}
    for name in CATEGORICAL:
        vr, vc = ref[name].value_counts(), cur[name].value_counts()
        a_seen = vc.reindex(vr.index, fill_value=0).to_numpy()
        unseen = vc.sum() - a_seen.sum()
        # Same cell layout as the engine: categories, "other" (empty), unseen.
        e = np.concatenate([vr.to_numpy(), [0, 0]]).astype(np.float64)
        a = np.concatenate([a_seen, [0, unseen]]).astype(np.float64)
        expected = vr.to_numpy() / vr.sum() * a_seen.sum()
        stat, p = sps.chisquare(a_seen, expected)
        out[name] = {"psi": _psi(e, a), "chi2": float(stat), "p_value": float(p)}
    return out


def numpy_fit(ref: pd.DataFrame) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """The reference half of :func:`numpy_pipeline` alone, what ``Baseline.fit`` does: the quantile
    edges and the reference counted on them for numerical features, ``value_counts`` for categorical
    ones (categories, counts)."""
    out: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    probs = np.linspace(0, 1, 11)[1:-1]
    for name in NUMERIC:
        r = ref[name].to_numpy()
        r = r[~np.isnan(r)]
        cuts = np.unique(np.nanquantile(r, probs))
        out[name] = cuts, np.bincount(np.searchsorted(cuts, r, side="right"), minlength=len(cuts) + 1)
    for name in CATEGORICAL:
        vr = ref[name].value_counts()
        out[name] = vr.index.to_numpy(), vr.to_numpy()
    return out


def mlmon_fit(ref: Any) -> Any:
    """The fit step of the mlmon job alone: ``Baseline.fit``."""
    import mlmon

    return mlmon.Baseline.fit(ref)


def mlmon_pipeline(ref: Any, cur: Any) -> Any:
    """The whole mlmon job: fit the baseline, update with the current set, report."""
    import mlmon

    monitor = mlmon.Monitor(mlmon.Baseline.fit(ref))
    monitor.update(cur)
    return monitor.report()


def to_pandas(cols: dict[str, np.ndarray]) -> pd.DataFrame:
    """pandas with its default string dtype (Arrow-backed ``str`` in pandas 3)."""
    return pd.DataFrame(cols)


def to_polars(cols: dict[str, np.ndarray]) -> Any:
    """A polars DataFrame (through pandas, as a user converting a frame would)."""
    import polars as pl

    return pl.from_pandas(pd.DataFrame(cols))


def to_arrow(cols: dict[str, np.ndarray]) -> Any:
    """A pyarrow Table."""
    import pyarrow as pa

    return pa.table({k: pa.array(v) for k, v in cols.items()})
