"""The batch path (issue #10) on a small Parquet file: mlmon.batch.profile against a pandas + numpy job
reading the same file; per-day counts must agree exactly. The 10^7-row figures, memory growth and Spark
come from ``python -m mlmon.bench.compare.batch``."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

import mlmon
from mlmon.bench.workloads.batch import CATEGORICAL, NUMERIC, baseline, mlmon_job, pandas_job, write

ROWS = 300_000


@pytest.fixture(scope="module")
def batch_file(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, mlmon.Baseline]:
    path = write(tmp_path_factory.mktemp("batch") / "history.parquet", ROWS, step=100_000)
    return path, baseline(50_000)


def test_mlmon_batch(benchmark: Any, batch_file: tuple[Path, mlmon.Baseline]) -> None:
    history = benchmark(mlmon_job, *batch_file)
    assert len(history) == 30 and history.rows == ROWS


def test_pandas_batch(benchmark: Any, batch_file: tuple[Path, mlmon.Baseline]) -> None:
    out = benchmark(pandas_job, *batch_file)
    assert len(out) == 30 * 25


def test_counts_agree_with_pandas(batch_file: tuple[Path, mlmon.Baseline]) -> None:
    history = mlmon_job(*batch_file)
    theirs = pandas_job(*batch_file)
    for report in history:
        day = next(d for d, _ in theirs if d.value // 10**9 == int(report.window_start.timestamp()))
        for name in NUMERIC + CATEGORICAL:
            counts, psi = theirs[(day, name)]
            mine = report.features[name]
            assert mine.score == pytest.approx(psi, rel=1e-9, abs=1e-12), (day, name)
            assert mine.count - round(mine.missing_rate * mine.count) == int(np.sum(counts)), (day, name)
