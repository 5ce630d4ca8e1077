"""pytest-benchmark suite for the public ``Monitor.update`` call on issue 15's workload, each beside numpy
by hand (searchsorted + bincount per numeric column, np.unique per string column) in the same run.

Workload: 1,000 rows x 25 features (20 float64, 5 strings of 30 labels), baseline fitted on 100,000
rows. Run with timing: ``.venv/bin/python -m pytest benches/bench_monitor_update.py --benchmark-enable``.
Without timing (the default) each function runs once and checks that mlmon and numpy count the same.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pytest

import mlmon

Bench = Any
ROWS = 1_000
REFERENCE_ROWS = 100_000
NUMERIC = [f"x{i}" for i in range(20)]
STRINGS = [f"s{i}" for i in range(5)]
LABELS = np.array([f"label_{j}" for j in range(30)], dtype=object)


def make(rng: np.random.Generator, n: int) -> dict[str, np.ndarray]:
    """``n`` rows: 20 normal float64 columns and 5 object columns of 30 labels."""
    out: dict[str, np.ndarray] = {name: rng.normal(size=n) for name in NUMERIC}
    out.update({name: LABELS[rng.integers(0, len(LABELS), n)] for name in STRINGS})
    return out


@pytest.fixture(scope="module")
def baseline() -> mlmon.Baseline:
    return mlmon.Baseline.fit(make(np.random.default_rng(0), REFERENCE_ROWS))


@pytest.fixture(scope="module")
def numeric_baseline() -> mlmon.Baseline:
    """The same reference's 20 numeric columns: a model with numeric features only."""
    reference = make(np.random.default_rng(0), REFERENCE_ROWS)
    return mlmon.Baseline.fit({name: reference[name] for name in NUMERIC})


@pytest.fixture(scope="module")
def batch() -> dict[str, np.ndarray]:
    return make(np.random.default_rng(1), ROWS)


def by_hand(baseline: mlmon.Baseline, batch: dict[str, np.ndarray]) -> dict[str, dict[Any, int]]:
    """What a user would write with numpy: bin counts per numeric column, label counts per string one."""
    out: dict[str, dict[Any, int]] = {}
    for name, values in batch.items():
        prof = baseline.profiles[name]
        if isinstance(prof, mlmon._engine.NumericHistogram):
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
        if isinstance(prof, mlmon._engine.NumericHistogram):
            out[name] = dict(enumerate(prof.counts.tolist()))
        else:
            out[name] = {k: n for k, n in zip(prof.categories, prof.counts.tolist(), strict=True) if n}
    return out


def run(benchmark: Bench, baseline: mlmon.Baseline, data: Any, batch: dict[str, np.ndarray]) -> None:
    monitor = mlmon.Monitor(baseline)
    benchmark(monitor.update, data)
    calls = monitor.rows // ROWS
    want = {name: {k: n * calls for k, n in c.items()} for name, c in by_hand(baseline, batch).items()}
    got = counted(monitor)
    assert {name: got[name] for name in batch} == want


@pytest.mark.benchmark(group="monitor-update-dict-1000x25")
def test_mlmon_update_dict(benchmark: Bench, baseline: mlmon.Baseline, batch: dict[str, np.ndarray]) -> None:
    run(benchmark, baseline, batch, batch)


@pytest.mark.benchmark(group="monitor-update-dict-1000x25")
def test_numpy_dict(benchmark: Bench, baseline: mlmon.Baseline, batch: dict[str, np.ndarray]) -> None:
    benchmark(by_hand, baseline, batch)


@pytest.mark.benchmark(group="monitor-update-numeric-1000x20")
def test_mlmon_update_numeric(
    benchmark: Bench, numeric_baseline: mlmon.Baseline, batch: dict[str, np.ndarray]
) -> None:
    numeric = {name: batch[name] for name in NUMERIC}
    run(benchmark, numeric_baseline, numeric, numeric)


@pytest.mark.benchmark(group="monitor-update-numeric-1000x20")
def test_numpy_numeric(
    benchmark: Bench, numeric_baseline: mlmon.Baseline, batch: dict[str, np.ndarray]
) -> None:
    benchmark(by_hand, numeric_baseline, {name: batch[name] for name in NUMERIC})


@pytest.mark.benchmark(group="monitor-update-pandas-1000x25")
def test_mlmon_update_pandas(
    benchmark: Bench, baseline: mlmon.Baseline, batch: dict[str, np.ndarray]
) -> None:
    run(benchmark, baseline, pd.DataFrame(batch), batch)


@pytest.mark.benchmark(group="monitor-update-pandas-1000x25")
def test_numpy_pandas(benchmark: Bench, baseline: mlmon.Baseline, batch: dict[str, np.ndarray]) -> None:
    frame = pd.DataFrame(batch)
    benchmark(lambda: by_hand(baseline, {name: frame[name].to_numpy() for name in frame.columns}))
