"""mlmon.spark in Spark local mode: partition-wise profiles merged on the driver equal the local path
exactly; Spark baselines agree with local ones (categories and counts exactly, edges within the sketch
bound)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pytest

import mlmon
import mlmon.batch
import mlmon.spark
from batch.data import history_table, reference, write_parts
from mlmon import _engine
from mlmon.exceptions import SchemaMismatchError

pytest.importorskip("pyspark")
# A JVM per worker and Spark's job start-up: the slow tier (make test-slow); the local batch path that
# Spark must equal is tested in make test (tests/batch).
pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def data(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, pa.Table, mlmon.Baseline]:
    table = history_table(30_000, seed=5)
    directory = tmp_path_factory.mktemp("spark-history")
    write_parts(table, directory, parts=3)
    return directory, table, reference()


def test_profile_equals_the_local_path(spark: Any, data: tuple[Path, pa.Table, mlmon.Baseline]) -> None:
    directory, table, baseline = data
    df = spark.read.parquet(str(directory))
    assert df.rdd.getNumPartitions() >= 3  # split files (see the session's maxPartitionBytes)
    on_spark = mlmon.spark.profile(df, baseline, by="1d", timestamp="ts")
    local = mlmon.batch.profile(directory, baseline, by="1d", timestamp="ts", progress=False)
    assert len(on_spark) == 6 and on_spark.rows == table.num_rows
    assert on_spark.reports == local.reports
    assert on_spark.to_arrow().equals(local.to_arrow())


def test_fit_baseline_agrees_with_local(spark: Any, data: tuple[Path, pa.Table, mlmon.Baseline]) -> None:
    directory, table, _ = data
    df = spark.read.parquet(str(directory))
    on_spark = mlmon.spark.fit_baseline(df, exclude=["ts"], model="m", version="1")
    local = mlmon.batch.fit_baseline(directory, exclude=["ts"], model="m", version="1", progress=False)
    assert on_spark.features == local.features and on_spark.n_rows == local.n_rows == table.num_rows
    for name in ("plan", "active"):
        assert on_spark.profiles[name] == local.profiles[name]
    values = table["x"].to_numpy(zero_copy_only=False)
    finite = np.sort(values[np.isfinite(values)])
    hist = on_spark.profiles["x"]
    assert isinstance(hist, _engine.NumericHistogram)
    lo = np.searchsorted(finite, hist.edges.cuts, side="left") / len(finite)
    hi = np.searchsorted(finite, hist.edges.cuts, side="right") / len(finite)
    wanted = np.linspace(0, 1, 11)[1:-1]
    eps = _engine.QuantileSketch.epsilon_for(200)
    assert len(hist.edges.cuts) == 9 and np.all((wanted >= lo - eps) & (wanted <= hi + eps))
    recount = _engine.NumericHistogram(hist.edges)
    recount.update(values)
    assert hist == recount


def test_missing_timestamp_is_named(spark: Any, data: tuple[Path, pa.Table, mlmon.Baseline]) -> None:
    directory, _, baseline = data
    df = spark.read.parquet(str(directory))
    with pytest.raises(SchemaMismatchError, match="timestamp column 'when'"):
        mlmon.spark.profile(df, baseline, timestamp="when")
