"""The batch workload: a Parquet file of N rows x 25 features over 30 days (drift from day 20), written
in chunks so that generating 3x10^7 rows never holds them in memory; the mlmon batch job and a pandas +
numpy job computing the same per-day histograms and PSI (``mlmon bench --full``'s batch kernels,
``mlmon.bench.compare.batch`` and a checkout's ``benches/bench_batch.py``)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

import mlmon
import mlmon.batch
from mlmon.core import _native
from mlmon.core._compat import require

NUMERIC = [f"n{i:02d}" for i in range(22)]
CATEGORICAL = ["plan", "region", "device"]
DAYS = 30
DAY = 86_400
START = int(np.datetime64("2024-01-01T00:00:00", "s").astype(np.int64))
_LEVELS = {
    "plan": [f"plan_{i}" for i in range(6)],
    "region": [f"region_{i:02d}" for i in range(40)],
    "device": ["ios", "android", "web"],
}


def chunk(rows: int, first_row: int, total: int, seed: int) -> pa.Table:
    """Rows ``[first_row, first_row + rows)`` of a ``total``-row file, in time order."""
    rng = np.random.default_rng(seed)
    ts = START + (np.arange(first_row, first_row + rows, dtype=np.int64) * (DAYS * DAY)) // total
    late = ts >= START + 20 * DAY
    cols: dict[str, Any] = {"ts": pa.array(ts.astype("datetime64[s]"))}
    for i, name in enumerate(NUMERIC):
        shift = 0.6 if i < 3 else 0.0
        values = rng.normal(np.where(late, shift, 0.0), 1.0 + 0.1 * i, rows).astype(np.float32)
        values[rng.random(rows) < 0.01] = np.nan
        cols[name] = values
    for name, levels in _LEVELS.items():
        codes = rng.integers(0, len(levels), rows)
        cols[name] = pa.DictionaryArray.from_arrays(codes.astype(np.int32), levels).cast(pa.string())
    return pa.table(cols)


def write(path: Path, rows: int, seed: int = 0, step: int = 1_000_000) -> Path:
    """Writes the file once (kept when it exists with the right row count)."""
    if path.exists() and pq.ParquetFile(path).metadata.num_rows == rows:
        return path
    with pq.ParquetWriter(path, chunk(1, 0, 1, seed).schema) as writer:
        for i, start in enumerate(range(0, rows, step)):
            writer.write_table(chunk(min(step, rows - start), start, rows, seed + i + 1), row_group_size=step)
    return path


def baseline(rows: int = 200_000) -> mlmon.Baseline:
    """The reference: undrifted rows like the file's first days."""
    return mlmon.Baseline.fit(chunk(rows, 0, rows * 10, 99).drop_columns(["ts"]), model="bench", version="1")


def mlmon_job(path: Path, ref: mlmon.Baseline) -> mlmon.batch.DriftHistory:
    """The mlmon batch path: stream the file, one report per day."""
    return mlmon.batch.profile(path, ref, by="1d", timestamp="ts", progress=False)


def _psi(ref: np.ndarray, cur: np.ndarray, eps: float = 1e-4) -> float:
    p = np.maximum(ref / ref.sum(), eps)
    q = np.maximum(cur / cur.sum(), eps)
    p, q = p / p.sum(), q / q.sum()
    return float(np.sum((q - p) * np.log(q / p)))


def pandas_job(path: Path, ref: mlmon.Baseline) -> dict[tuple[Any, str], tuple[np.ndarray, float]]:
    """The straightforward pandas + numpy job: read the file, group rows by day, per feature
    searchsorted + bincount on the baseline's edges (value_counts for categories), then PSI."""
    pd = require("pandas", "pandas")

    df = pd.read_parquet(path)
    out: dict[tuple[Any, str], tuple[np.ndarray, float]] = {}
    for day, group in df.groupby(df["ts"].dt.floor("D")):
        for name in NUMERIC:
            prof = ref.profiles[name]
            assert isinstance(prof, _native.NumericHistogram)
            values = group[name].to_numpy()
            values = values[~np.isnan(values)]
            counts = np.bincount(
                np.searchsorted(prof.edges.cuts, values, side="right"), minlength=prof.edges.n_bins
            )
            out[(day, name)] = counts, _psi(prof.counts.astype(float), counts.astype(float))
        for name in CATEGORICAL:
            cats = ref.profiles[name]
            assert isinstance(cats, _native.CategoryCounts)
            known = group[name].value_counts().reindex(cats.categories, fill_value=0).to_numpy()
            unseen = int(group[name].notna().sum()) - int(known.sum())
            counts = np.concatenate([known, [0, unseen]])  # categories, other, unseen: mlmon's layout
            out[(day, name)] = counts, _psi(cats.distribution.astype(float), counts.astype(float))
    return out
