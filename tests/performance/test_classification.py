"""Classification metrics from mergeable counts against scikit-learn, on random and adversarial data: the
confusion-matrix metrics exactly, log loss and Brier to rounding, ROC AUC and average precision exactly on
the binned scores and within the stated bound on the raw ones; merging halves equals the whole."""

from __future__ import annotations

import doctest

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn import metrics as skm

import mlmon
from mlmon.performance import ClassificationCounts, classification, ranking
from mlmon.performance.classification import score_bins

REL = 1e-9


def _data(seed: int, rows: int, k: int, skew: float, ties: bool) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    logits = rng.normal(size=(rows, k))
    y = rng.integers(0, k, rows)
    logits[np.arange(rows), y] += skew  # informative scores
    if ties:
        logits = np.round(logits, 1)
    proba = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    pred = proba.argmax(axis=1)
    return y, pred, proba


cases = st.tuples(
    st.integers(0, 2**32 - 1),
    st.integers(1, 400),
    st.integers(2, 5),
    st.floats(0, 4),
    st.booleans(),
    st.sampled_from([2, 10, 100, 1000]),
)


@settings(max_examples=80, deadline=None)
@given(case=cases)
def test_metrics_equal_scikit_learn(case: tuple[int, int, int, float, bool, int]) -> None:
    seed, rows, k, skew, ties, bins = case
    y, pred, proba = _data(seed, rows, k, skew, ties)
    c = ClassificationCounts(list(range(k)), bins=bins)
    c.update(y, pred, proba)
    m = c.metrics()
    labels = list(range(k))
    assert np.array_equal(c.confusion, skm.confusion_matrix(y, pred, labels=labels))
    assert m.accuracy == pytest.approx(skm.accuracy_score(y, pred), rel=REL)
    p, r, f, _ = skm.precision_recall_fscore_support(y, pred, labels=labels, zero_division=0)
    assert m.precision == pytest.approx(p.tolist(), rel=REL, abs=1e-15)
    assert m.recall == pytest.approx(r.tolist(), rel=REL, abs=1e-15)
    assert m.f1 == pytest.approx(f.tolist(), rel=REL, abs=1e-15)
    macro = skm.precision_recall_fscore_support(y, pred, labels=labels, average="macro", zero_division=0)
    assert (m.macro_precision, m.macro_recall, m.macro_f1) == pytest.approx(macro[:3], rel=REL, abs=1e-15)
    assert m.log_loss == pytest.approx(skm.log_loss(y, proba, labels=labels), rel=REL)
    brier_proba = proba[:, 1] if k == 2 else proba
    assert m.brier == pytest.approx(skm.brier_score_loss(y, brier_proba, labels=labels), rel=REL, abs=1e-15)
    _check_ranking(y, proba, c, m, k, bins)


def _check_ranking(y, proba, c, m, k, bins) -> None:  # type: ignore[no-untyped-def]
    binned = score_bins(proba, bins).astype(np.float64)
    for cls in range(k):
        truth = y == cls
        auc, ap = m.roc_auc[cls], m.average_precision[cls]
        if truth.all() or not truth.any():
            assert auc is None
            continue
        assert auc is not None and ap is not None
        assert auc.value == pytest.approx(skm.roc_auc_score(truth, binned[:, cls]), rel=REL)
        assert abs(auc.value - skm.roc_auc_score(truth, proba[:, cls])) <= auc.bound + 1e-12
        assert ap.value == pytest.approx(skm.average_precision_score(truth, binned[:, cls]), rel=REL)
        assert abs(ap.value - skm.average_precision_score(truth, proba[:, cls])) <= ap.bound + 1e-9


@settings(max_examples=50, deadline=None)
@given(case=cases, cut=st.floats(0, 1))
def test_merging_halves_equals_the_whole(case: tuple[int, int, int, float, bool, int], cut: float) -> None:
    seed, rows, k, skew, ties, bins = case
    y, pred, proba = _data(seed, rows, k, skew, ties)
    at = int(rows * cut)
    whole = ClassificationCounts(list(range(k)), bins)
    whole.update(y, pred, proba)
    left, right = ClassificationCounts(list(range(k)), bins), ClassificationCounts(list(range(k)), bins)
    left.update(y[:at], pred[:at], proba[:at])
    right.update(y[at:], pred[at:], proba[at:])
    left.merge(right)
    assert np.array_equal(left.confusion, whole.confusion)
    assert np.array_equal(left.positive, whole.positive) and np.array_equal(left.negative, whole.negative)
    assert left.log_loss_sum == pytest.approx(whole.log_loss_sum, rel=1e-12)
    assert left.metrics().roc_auc == whole.metrics().roc_auc


def test_string_labels_and_clear_errors() -> None:
    c = ClassificationCounts(["cat", "dog", "eel"], bins=4)
    c.update(np.array(["cat", "dog"]), ["dog", "dog"])
    assert c.metrics().accuracy == 0.5
    assert c.metrics().log_loss is None and c.metrics().macro_roc_auc is None
    with pytest.raises(mlmon.InputError, match="'cow'"):
        c.update(["cow"], ["cat"])
    with pytest.raises(mlmon.InputError, match="shape"):
        c.update(["cat"], ["cat"], [[0.5, 0.5]])
    with pytest.raises(mlmon.InputError, match=r"\[0, 1\]"):
        c.update(["cat"], ["cat"], [[1.5, 0.0, 0.0]])
    with pytest.raises(mlmon.InputError, match="rows"):
        c.update(["cat", "dog"], ["cat"])
    with pytest.raises(mlmon.InputError, match="distinct"):
        ClassificationCounts(["a", "a"])
    with pytest.raises(mlmon.InputError, match="merge"):
        c.merge(ClassificationCounts(["cat", "dog"], bins=4))


def test_ranking_bounds_hold_on_adversarial_ties() -> None:
    # Every score in one bin: the binned AUC is 0.5 whatever the order, and the bound covers 0 to 1.
    auc = ranking.roc_auc([5], [7])
    assert auc is not None and auc.value == 0.5 and auc.bound == 0.5
    ap = ranking.average_precision([5], [7])
    assert ap is not None and ap.value == pytest.approx(5 / 12)
    assert ranking.average_precision([0, 0], [3, 4]) is None
    assert ranking.roc_auc([0, 0], [3, 4]) is None


def test_docstring_examples_run() -> None:
    for module in (classification, ranking):
        assert doctest.testmod(module).failed == 0
