"""Benchmark data, built once per session: a small ``rng`` fixture and the pipeline workload
(``mlmon.bench.workloads.pipeline``, the one ``mlmon bench`` times too).

The pipeline workload is 1,000,000 rows per set by default; set ``MLMON_BENCH_ROWS`` to shrink it.
"""

from __future__ import annotations

import os
from typing import Any

import numpy as np
import pytest

from mlmon.bench.workloads.pipeline import ROWS, make_columns, to_arrow, to_pandas, to_polars


@pytest.fixture(scope="session")
def rng() -> np.random.Generator:
    """A seeded generator for benchmark inputs."""
    return np.random.default_rng(0)


@pytest.fixture(scope="session")
def workload_columns() -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
    """Reference and current sets as numpy columns."""
    rows = int(os.environ.get("MLMON_BENCH_ROWS", ROWS))
    return make_columns(1, rows), make_columns(2, rows, drift=True)


@pytest.fixture(scope="session")
def workload_pandas(workload_columns: tuple[dict[str, np.ndarray], ...]) -> tuple[Any, Any]:
    """The workload as pandas DataFrames."""
    return to_pandas(workload_columns[0]), to_pandas(workload_columns[1])


@pytest.fixture(scope="session")
def workload_polars(workload_columns: tuple[dict[str, np.ndarray], ...]) -> tuple[Any, Any]:
    """The workload as polars DataFrames."""
    return to_polars(workload_columns[0]), to_polars(workload_columns[1])


@pytest.fixture(scope="session")
def workload_arrow(workload_columns: tuple[dict[str, np.ndarray], ...]) -> tuple[Any, Any]:
    """The workload as pyarrow Tables."""
    return to_arrow(workload_columns[0]), to_arrow(workload_columns[1])
