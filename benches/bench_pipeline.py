"""The whole drift job on the fixed workload (fit baseline, update, report) from pandas, polars and
pyarrow, against a hand-written numpy/pandas/scipy implementation; scores must agree where the methods
coincide (PSI on the same edges)."""

from __future__ import annotations

from typing import Any

import pytest

import mlmon
from mlmon.bench.workloads.pipeline import (
    CATEGORICAL,
    DRIFTED,
    NUMERIC,
    mlmon_fit,
    mlmon_pipeline,
    numpy_fit,
    numpy_pipeline,
)


# polars in the slow tier of make test (9 s once); pandas and Arrow cover the engine paths it takes.
@pytest.mark.parametrize("source", ["pandas", pytest.param("polars", marks=pytest.mark.slow), "arrow"])
def test_mlmon_pipeline(benchmark: Any, request: pytest.FixtureRequest, source: str) -> None:
    ref, cur = request.getfixturevalue(f"workload_{source}")
    report = benchmark(mlmon_pipeline, ref, cur)
    assert {f.name for f in report.drifted()} == DRIFTED


def test_numpy_pipeline(benchmark: Any, workload_pandas: tuple[Any, Any]) -> None:
    scores = benchmark(numpy_pipeline, *workload_pandas)
    assert len(scores) == 25


def test_mlmon_fit(benchmark: Any, workload_pandas: tuple[Any, Any]) -> None:
    baseline = benchmark(mlmon_fit, workload_pandas[0])
    assert len(baseline.features) == 25


def test_numpy_fit(benchmark: Any, workload_pandas: tuple[Any, Any]) -> None:
    fitted = benchmark(numpy_fit, workload_pandas[0])
    assert len(fitted) == 25


def test_fit_agrees_with_numpy(workload_pandas: tuple[Any, Any]) -> None:
    baseline: mlmon.Baseline = mlmon_fit(workload_pandas[0])
    for name, (cuts, counts) in numpy_fit(workload_pandas[0]).items():
        if name in NUMERIC:
            prof = baseline.profiles[name]
            assert isinstance(prof, mlmon._engine.NumericHistogram)
            assert prof.edges.cuts.tolist() == cuts.tolist(), name
            assert prof.counts.tolist() == counts.tolist(), name


def test_scores_agree_with_numpy(workload_pandas: tuple[Any, Any]) -> None:
    report: mlmon.DriftReport = mlmon_pipeline(*workload_pandas)
    ref = numpy_pipeline(*workload_pandas)
    for name in NUMERIC + CATEGORICAL:
        assert report.features[name].score == pytest.approx(ref[name]["psi"], rel=1e-9), name
