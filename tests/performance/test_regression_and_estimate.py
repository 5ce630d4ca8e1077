"""Regression metrics from mergeable sums against scikit-learn, and the label-free CBPE estimate against a
hand-written per-row numpy CBPE on the same bins."""

from __future__ import annotations

import doctest

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn import metrics as skm

import mlmon
from mlmon.performance import Calibration, ConfidenceCounts, RegressionCounts, estimate, regression

REL = 1e-9


def _regression(seed: int, rows: int, scale: float, offset: float) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    y = offset + scale * rng.normal(size=rows)
    return y, y + rng.normal(scale=max(scale, 1e-3) * 0.3, size=rows)


@settings(max_examples=200, deadline=None)
@given(
    seed=st.integers(0, 2**32 - 1),
    rows=st.integers(1, 500),
    scale=st.sampled_from([1e-6, 1.0, 1e6]),
    offset=st.sampled_from([0.0, 1e8, -3.5]),
    parts=st.integers(1, 5),
)
def test_regression_metrics_equal_scikit_learn_in_any_split(
    seed: int, rows: int, scale: float, offset: float, parts: int
) -> None:
    y, p = _regression(seed, rows, scale, offset)
    whole = RegressionCounts()
    for chunk_y, chunk_p in zip(np.array_split(y, parts), np.array_split(p, parts), strict=True):
        part = RegressionCounts()
        part.update(chunk_y, chunk_p)
        whole.merge(part)
    m = whole.metrics()
    assert m.rows == rows
    assert m.mae == pytest.approx(skm.mean_absolute_error(y, p), rel=REL)
    assert m.rmse == pytest.approx(skm.root_mean_squared_error(y, p), rel=REL)
    assert m.bias == pytest.approx(float(np.mean(p - y)), rel=1e-7, abs=1e-12 * max(scale, 1.0))
    if rows > 1:
        # R² divides by the targets' spread, which float64 holds to about eps * offset / scale relative
        # (two summation orders differ by that much): the tolerance follows the conditioning.
        tol = max(REL, 1e-13 * abs(offset) / scale)
        assert m.r2 == pytest.approx(skm.r2_score(y, p), rel=tol, abs=tol)


def test_regression_edge_cases_and_errors() -> None:
    r = RegressionCounts()
    assert r.metrics().mae is None
    r.update([2.0, 2.0], [2.0, 2.0])
    assert r.metrics().r2 == skm.r2_score([2.0, 2.0], [2.0, 2.0]) == 1.0
    r.update([2.0], [3.0])
    assert r.metrics().r2 == pytest.approx(skm.r2_score([2.0, 2.0, 2.0], [2.0, 2.0, 3.0]))
    with pytest.raises(mlmon.InputError, match="finite"):
        r.update([1.0], [np.nan])
    with pytest.raises(mlmon.InputError, match="rows"):
        r.update([1.0, 2.0], [1.0])


def _proba(seed: int, rows: int, k: int, sharpness: float) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    logits = sharpness * rng.normal(size=(rows, k))
    proba = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    # Labels drawn from the probabilities: a calibrated model, so the estimate should track the truth.
    y = (rng.random(rows)[:, None] < proba.cumsum(axis=1)).argmax(axis=1)
    return y, proba


def _hand_cbpe(y_ref, p_ref, p_new, bins):  # type: ignore[no-untyped-def]
    """Per-row CBPE in plain numpy: calibrate each (predicted class, bin) on the reference, then average
    the calibrated confidence of each new row."""
    k = p_ref.shape[1]
    pred_ref = p_ref.argmax(1)
    bin_ref = np.minimum((p_ref[np.arange(len(p_ref)), pred_ref] * bins).astype(int), bins - 1)
    calib = np.tile((np.arange(bins) + 0.5) / bins, (k, 1))
    for c in range(k):
        for b in range(bins):
            rows = (pred_ref == c) & (bin_ref == b)
            if rows.any():
                calib[c, b] = np.mean(y_ref[rows] == c)
    pred = p_new.argmax(1)
    b_new = np.minimum((p_new[np.arange(len(p_new)), pred] * bins).astype(int), bins - 1)
    return float(np.mean(calib[pred, b_new]))


@settings(max_examples=60, deadline=None)
@given(
    seed=st.integers(0, 2**32 - 1),
    k=st.integers(2, 4),
    bins=st.sampled_from([2, 10, 50]),
    parts=st.integers(1, 4),
)
def test_cbpe_equals_a_hand_written_numpy_cbpe(seed: int, k: int, bins: int, parts: int) -> None:
    y_ref, p_ref = _proba(seed, 3000, k, 1.5)
    _, p_new = _proba(seed + 1, 700, k, 2.5)
    cal = Calibration(y_ref, p_ref, bins)
    counts = ConfidenceCounts(k, bins)
    for chunk in np.array_split(p_new, parts):
        part = ConfidenceCounts(k, bins)
        part.update(chunk)
        counts.merge(part)
    est = cal.estimate(counts)
    assert est.rows == 700
    assert est.accuracy == pytest.approx(_hand_cbpe(y_ref, p_ref, p_new, bins), rel=REL)


def test_binary_cbpe_tracks_the_realized_metrics_of_a_calibrated_model() -> None:
    y_ref, p_ref = _proba(7, 20_000, 2, 2.0)
    y_new, p_new = _proba(8, 20_000, 2, 2.0)
    cal = Calibration(y_ref, p_ref, bins=20)
    counts = ConfidenceCounts(2, bins=20)
    counts.update(p_new)
    est = cal.estimate(counts)
    pred = p_new.argmax(1)
    assert est.accuracy == pytest.approx(skm.accuracy_score(y_new, pred), abs=0.02)
    assert est.precision == pytest.approx(skm.precision_score(y_new, pred), abs=0.02)
    assert est.recall == pytest.approx(skm.recall_score(y_new, pred), abs=0.02)
    assert est.f1 == pytest.approx(skm.f1_score(y_new, pred), abs=0.02)
    assert est.roc_auc == pytest.approx(skm.roc_auc_score(y_new, p_new[:, 1]), abs=0.02)


def test_estimate_errors() -> None:
    with pytest.raises(mlmon.InputError, match="even"):
        Calibration([0, 1], [[0.4, 0.6], [0.7, 0.3]], bins=5)
    cal = Calibration([0, 1], [[0.4, 0.6], [0.7, 0.3]], bins=4)
    assert cal.estimate(ConfidenceCounts(2, 4)).accuracy is None
    with pytest.raises(mlmon.InputError, match="other classes or bins"):
        cal.estimate(ConfidenceCounts(2, 6))
    with pytest.raises(mlmon.InputError, match="rows x 2"):
        ConfidenceCounts(2, 4).update([0.3, 0.7])


def test_docstring_examples_run() -> None:
    for module in (regression, estimate):
        assert doctest.testmod(module).failed == 0
