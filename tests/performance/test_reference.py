"""The performance reference: its metrics equal scikit-learn's on the reference rows, its bytes round-trip
(labels of every type keep their type) and refuse any changed, truncated, foreign or newer blob, it
rides in the baseline file (older files without it still read), and of_model builds it from a model."""

from __future__ import annotations

import doctest
import hashlib
from typing import Any

import msgspec
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn import metrics as skm
from sklearn.linear_model import LinearRegression, LogisticRegression

import mlmon
from mlmon.performance import (
    ClassificationCounts,
    ClassificationMetrics,
    ConfidenceCounts,
    Reference,
    RegressionCounts,
    RegressionMetrics,
    encode,
    reference,
)

REL = 1e-9
LABELS: dict[str, list[Any]] = {
    "str": ["no", "yes", "maybe"],
    "int": [3, -1, 7],
    "bool": [False, True],
    "float": [0.5, 1.0, 2.5],
}


def _classified(seed: int, rows: int, classes: list[Any]) -> tuple[list[Any], list[Any], np.ndarray]:
    rng = np.random.default_rng(seed)
    k = len(classes)
    y = rng.integers(0, k, rows)
    logits = rng.normal(size=(rows, k))
    logits[np.arange(rows), y] += 1.5
    proba = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    return [classes[i] for i in y], [classes[i] for i in proba.argmax(axis=1)], proba


def _classifier_metrics(ref: Reference) -> ClassificationMetrics:
    m = ref.metrics()
    assert isinstance(m, ClassificationMetrics)
    return m


def _regressor_metrics(ref: Reference) -> RegressionMetrics:
    m = ref.metrics()
    assert isinstance(m, RegressionMetrics)
    return m


@settings(max_examples=60, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), rows=st.integers(1, 300), kind=st.sampled_from(sorted(LABELS)))
def test_classifier_reference_metrics_equal_scikit_learn(seed: int, rows: int, kind: str) -> None:
    classes = LABELS[kind]
    y, pred, proba = _classified(seed, rows, classes)
    ref = Reference.of_classifier(y, pred, proba, classes=classes)
    m = _classifier_metrics(ref)
    assert m.rows == rows and ref.calibration is not None
    # scikit-learn calls float labels continuous: it gets the labels' indices (the same metrics).
    t, p_ = [classes.index(v) for v in y], [classes.index(v) for v in pred]
    labels = list(range(len(classes)))
    assert m.accuracy == pytest.approx(skm.accuracy_score(t, p_), rel=REL)
    p, r, f, _ = skm.precision_recall_fscore_support(t, p_, labels=labels, zero_division=0)
    assert m.precision == pytest.approx(p.tolist(), rel=REL, abs=1e-15)
    assert m.recall == pytest.approx(r.tolist(), rel=REL, abs=1e-15)
    assert m.f1 == pytest.approx(f.tolist(), rel=REL, abs=1e-15)
    assert m.log_loss == pytest.approx(skm.log_loss(t, proba, labels=labels), rel=REL)
    # The calibration is fitted on these rows: on their own confidence counts it gives their accuracy.
    confidence = ref.empty_confidence()
    assert confidence is not None
    confidence.update(proba)
    assert ref.estimate(confidence).accuracy == pytest.approx(m.accuracy, rel=1e-12)


@settings(max_examples=60, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), rows=st.integers(2, 300), scale=st.sampled_from([1e-3, 1.0, 1e4]))
def test_regressor_reference_metrics_equal_scikit_learn(seed: int, rows: int, scale: float) -> None:
    rng = np.random.default_rng(seed)
    y = scale * rng.normal(size=rows)
    pred = y + scale * rng.normal(scale=0.3, size=rows)
    ref = Reference.of_regressor(y, pred)
    m = _regressor_metrics(ref)
    assert ref.task == "regression" and ref.classes is None and ref.calibration is None
    assert m.mae == pytest.approx(skm.mean_absolute_error(y, pred), rel=REL)
    assert m.r2 == pytest.approx(skm.r2_score(y, pred), rel=1e-9, abs=1e-9)
    assert Reference.from_bytes(ref.to_bytes()).metrics() == m
    assert ref.empty_confidence() is None and isinstance(ref.empty_counts(), RegressionCounts)
    with pytest.raises(mlmon.InputError, match="no calibration"):
        ref.estimate(ConfidenceCounts(2, 100))


@pytest.mark.parametrize("kind", sorted(LABELS))
@pytest.mark.parametrize("with_proba", [True, False])
def test_the_bytes_round_trip_with_the_labels_types(kind: str, with_proba: bool) -> None:
    classes = LABELS[kind]
    y, pred, proba = _classified(0, 200, classes)
    ref = Reference.of_classifier(y, pred, proba if with_proba else None, classes=classes, bins=20)
    back = Reference.from_bytes(ref.to_bytes())
    assert back.classes == classes and [type(c) for c in back.classes] == [type(c) for c in classes]
    assert (back.task, back.bins) == ("classification", 20)
    assert back.metrics() == ref.metrics() and back.to_bytes() == ref.to_bytes()
    if not with_proba:
        assert back.calibration is None and back.empty_confidence() is None
        return
    assert back.calibration is not None and ref.calibration is not None
    assert np.array_equal(back.calibration.correct, ref.calibration.correct)
    if len(classes) == 2:
        assert np.array_equal(back.calibration.positive, ref.calibration.positive)
    confidence = back.empty_confidence()
    assert confidence is not None
    confidence.update(proba[:50])
    assert back.estimate(confidence) == ref.estimate(confidence)
    window = back.empty_counts()
    assert isinstance(window, ClassificationCounts)
    window.update(y[:50], pred[:50], proba[:50])
    window.merge(ref.counts)  # type: ignore[arg-type]  # the same classes and bins: they merge


def test_numpy_labels_become_python_scalars() -> None:
    ref = Reference.of_classifier(np.array([1, 2, 2]), np.array([1, 2, 1]), classes=np.array([1, 2]))
    assert ref.classes == [1, 2] and type(ref.classes[0]) is int
    assert Reference.from_bytes(ref.to_bytes()).classes == [1, 2]


@pytest.fixture(scope="module")
def blob() -> bytes:
    y, pred, proba = _classified(1, 40, ["a", "b"])
    return Reference.of_classifier(y, pred, proba, classes=["a", "b"], bins=4).to_bytes()


def test_every_flipped_byte_and_every_truncation_is_refused(blob: bytes) -> None:
    accepted = []
    for offset in range(len(blob)):
        for mask in (0x01, 0x80, 0xFF):
            damaged = bytearray(blob)
            damaged[offset] ^= mask
            try:
                Reference.from_bytes(bytes(damaged))
            except mlmon.CodecError:
                continue
            accepted.append((offset, mask))
    assert not accepted
    for size in range(len(blob)):
        with pytest.raises(mlmon.CodecError):
            Reference.from_bytes(blob[:size])


@settings(max_examples=200, deadline=None)
@given(data=st.binary(max_size=400))
def test_arbitrary_bytes_are_codec_errors(data: bytes) -> None:
    with pytest.raises(mlmon.CodecError):
        Reference.from_bytes(data)
    body = data[:200]
    with pytest.raises(mlmon.CodecError):  # a valid digest over arbitrary bytes
        Reference.from_bytes(body + hashlib.sha256(body).digest())


def _resealed(blob: bytes, edit: Any) -> bytes:
    """``blob`` with its struct edited and a valid digest: what a newer or buggy writer would make."""
    raw = msgspec.msgpack.decode(blob[:-32])
    edit(raw)
    body = msgspec.msgpack.encode(raw)
    return body + hashlib.sha256(body).digest()


def test_foreign_newer_and_inconsistent_blobs_say_why(blob: bytes) -> None:
    counts = RegressionCounts()
    counts.update([1.0], [2.0])
    cases = {
        b"": "truncated, changed, or another kind",
        encode(counts): "truncated, changed, or another kind",
        # A baseline file also ends with the SHA-256 of the rest: it is refused by its shape.
        mlmon.Baseline.fit({"x": np.arange(10.0)}).to_bytes(): "not an mlmon performance reference",
        _resealed(blob, lambda r: r.__setitem__(1, 99)): "format 99",
        _resealed(blob, lambda r: r.__setitem__(2, "ranking")): "unknown task 'ranking'",
        _resealed(blob, lambda r: r.__setitem__(3, ["a", "c"])): "counts need its classes",
        _resealed(blob, lambda r: r.__setitem__(4, 6)): "counts need its classes and an even bins",
        _resealed(blob, lambda r: r.__setitem__(6, None) or r.__setitem__(2, "regression")): "regression",
        _resealed(blob, lambda r: r[6][0].__setitem__(2, np.full(8, 2.0).tobytes())): "within",
        _resealed(blob, lambda r: r[6].__setitem__(1, None)): "required for two classes",
        _resealed(blob, lambda r: r.__setitem__(5, "x")): "not an mlmon performance reference",
    }
    for data, reason in cases.items():
        with pytest.raises(mlmon.CodecError, match=reason):
            Reference.from_bytes(data)


def test_bad_references_are_refused() -> None:
    with pytest.raises(mlmon.InputError, match="even"):
        Reference.of_classifier(["a"], ["a"], classes=["a", "b"], bins=5)
    with pytest.raises(mlmon.InputError, match="at least one"):
        Reference.of_classifier([], [], classes=["a", "b"])
    with pytest.raises(mlmon.InputError, match="at least one"):
        Reference.of_regressor([], [])
    with pytest.raises(mlmon.InputError, match="not among the classes"):
        Reference.of_classifier(["c"], ["a"], classes=["a", "b"])
    with pytest.raises(mlmon.InputError, match="a str, int, bool or float"):
        Reference.of_classifier([(1,)], [(1,)], classes=[(1,), (2,)])
    with pytest.raises(mlmon.InputError, match="regression counts"):
        Reference("regression", None, 100, ClassificationCounts(["a", "b"]))


def test_the_baseline_carries_it_and_older_files_still_read() -> None:
    y, pred, proba = _classified(2, 100, ["no", "yes"])
    ref = Reference.of_classifier(y, pred, proba, classes=["no", "yes"])
    plain = mlmon.Baseline.fit({"x": np.arange(100.0)})
    assert plain.performance is None and Reference.from_baseline(plain) is None
    carried = ref.attach(plain)
    assert plain.performance is None and carried.performance == ref.to_bytes()  # a copy
    assert carried.fingerprint == plain.fingerprint and carried.features == plain.features
    again = mlmon.Baseline.from_bytes(carried.to_bytes())
    back = Reference.from_baseline(again)
    assert back is not None and back.metrics() == ref.metrics()
    with_outputs = again.with_outputs({"prediction": np.array(pred, dtype=object)})
    assert with_outputs.performance == ref.to_bytes()
    with pytest.raises(mlmon.InputError, match="non-empty bytes"):
        plain.with_performance(b"")
    # A file written before the field existed: the same map without the key, checksum recomputed.
    doc = msgspec.msgpack.decode(carried.to_bytes())
    del doc["performance"]
    doc["checksum"] = bytes(32)
    body = msgspec.msgpack.encode(doc)[:-32]
    old = mlmon.Baseline.from_bytes(body + hashlib.sha256(body).digest())
    assert old.performance is None and old.fingerprint == plain.fingerprint
    doc.pop("checksum")
    doc["format"] = 1
    assert mlmon.Baseline.from_bytes(msgspec.msgpack.encode(doc)).performance is None


def test_of_model_on_scikit_learn_models() -> None:
    rng = np.random.default_rng(3)
    x = rng.normal(size=(600, 4))
    y = np.digitize(x[:, 0] + 0.5 * rng.normal(size=600), [-0.5, 0.5])  # classes 0, 1, 2
    clf = LogisticRegression().fit(x, y)
    ref = Reference.of_model(clf, x, y)
    m = _classifier_metrics(ref)
    assert ref.classes == [0, 1, 2] and ref.calibration is not None and ref.bins == 100
    assert m.accuracy == pytest.approx(skm.accuracy_score(y, clf.predict(x)), rel=REL)
    assert m.log_loss == pytest.approx(skm.log_loss(y, clf.predict_proba(x)), rel=REL)
    target = x @ np.array([1.0, -2.0, 0.5, 0.0]) + rng.normal(size=600)
    reg = LinearRegression().fit(x, target)
    rm = _regressor_metrics(Reference.of_model(reg, x, target))
    assert rm.mae == pytest.approx(skm.mean_absolute_error(target, reg.predict(x)), rel=REL)
    assert rm.r2 == pytest.approx(skm.r2_score(target, reg.predict(x)), rel=REL)


class _ManyClasses:
    """A classifier with more classes than the outputs record probabilities for."""

    classes_ = np.arange(25)

    def predict(self, X: np.ndarray) -> np.ndarray:  # noqa: N803
        return np.zeros(len(X), dtype=np.int64)

    def predict_proba(self, X: np.ndarray) -> np.ndarray:  # noqa: N803
        raise AssertionError("not called above MAX_PROBA_CLASSES")


def test_of_model_skips_the_probabilities_of_many_classes() -> None:
    ref = Reference.of_model(_ManyClasses(), np.zeros((10, 1)), np.zeros(10, dtype=np.int64))
    assert ref.calibration is None and ref.classes == list(range(25))
    assert _classifier_metrics(ref).accuracy == 1.0 and "calibrated" not in repr(ref)


def test_docstring_example() -> None:
    assert doctest.testmod(reference).failed == 0
