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
from mlmon.bench.workloads import monitor_update as w
from mlmon.bench.workloads.monitor_update import NUMERIC, by_hand, counted

Bench = Any
ROWS = 1_000


@pytest.fixture(scope="module")
def baseline() -> mlmon.Baseline:
    return w.baseline()


@pytest.fixture(scope="module")
def numeric_baseline() -> mlmon.Baseline:
    """The same reference's 20 numeric columns: a model with numeric features only."""
    return w.baseline(numeric_only=True)


@pytest.fixture(scope="module")
def batch() -> dict[str, np.ndarray]:
    return w.make(np.random.default_rng(1), ROWS)


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
