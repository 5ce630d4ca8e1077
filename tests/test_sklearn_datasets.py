"""Real data bundled with scikit-learn: an i.i.d. split is quiet, a shifted feature is caught alone."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
from sklearn.datasets import load_breast_cancer, load_wine

import mlmon

# wine has 178 rows: 89 per half needs fewer bins for the noise floor to sit under 0.2.
DATASETS: list[tuple[Callable[..., Any], int]] = [(load_wine, 4), (load_breast_cancer, 10)]
THRESHOLDS = mlmon.Thresholds(min_count=50)


def split(loader: Callable[..., Any], seed: int) -> tuple[Any, Any]:
    frame = loader(as_frame=True).data
    idx = np.random.default_rng(seed).permutation(len(frame))
    half = len(frame) // 2
    return frame.iloc[idx[:half]].reset_index(drop=True), frame.iloc[idx[half:]].reset_index(drop=True)


def drift(ref: Any, cur: Any, bins: int) -> mlmon.DriftReport:
    monitor = mlmon.Monitor(mlmon.Baseline.fit(ref, bins=bins), THRESHOLDS)
    monitor.update(cur)
    return monitor.report()


@pytest.mark.parametrize(("loader", "bins"), DATASETS, ids=["wine", "breast_cancer"])
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_iid_split_shows_no_warning(loader: Callable[..., Any], bins: int, seed: int) -> None:
    report = drift(*split(loader, seed), bins)
    assert report.severity == "ok", [(f.name, f.severity, f.score) for f in report.drifted()]
    assert report.drifted_share == 0.0


@pytest.mark.parametrize(("loader", "bins"), DATASETS, ids=["wine", "breast_cancer"])
def test_each_shifted_feature_is_caught_alone(loader: Callable[..., Any], bins: int) -> None:
    ref, cur = split(loader, 0)
    for name in ref.columns:
        shifted = cur.copy()
        shifted[name] = shifted[name] + ref[name].std()
        report = drift(ref, shifted, bins)
        assert [f.name for f in report.drifted()] == [name]
        assert report.features[name].significant
