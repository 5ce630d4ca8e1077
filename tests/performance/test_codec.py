"""Performance counts as bytes: a decoded object reports and merges exactly as the encoded one, and a blob
that is not performance counts of this format is a CodecError naming the problem."""

from __future__ import annotations

import doctest

import msgspec
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import mlmon
from mlmon.performance import ClassificationCounts, ConfidenceCounts, RegressionCounts, codec, decode, encode


def _classification(seed: int, rows: int, classes: list[object], bins: int) -> ClassificationCounts:
    rng = np.random.default_rng(seed)
    k = len(classes)
    proba = rng.dirichlet(np.ones(k), size=rows)
    truth = [classes[i] for i in rng.integers(0, k, rows)]
    pred = [classes[i] for i in proba.argmax(axis=1)]
    c = ClassificationCounts(classes, bins=bins)
    c.update(truth, pred, proba)
    return c


@settings(max_examples=60, deadline=None)
@given(
    seed=st.integers(0, 2**32 - 1),
    rows=st.integers(0, 300),
    classes=st.sampled_from([["no", "yes"], [0, 1, 2], [True, False], ["a", "b", "c", "d"]]),
    bins=st.sampled_from([2, 10, 100]),
)
def test_classification_counts_survive_the_round_trip_and_merge_the_same(
    seed: int, rows: int, classes: list[object], bins: int
) -> None:
    a = _classification(seed, rows, classes, bins)
    b = _classification(seed + 1, rows, classes, bins)
    back = decode(encode(a))
    assert isinstance(back, ClassificationCounts)
    assert back.classes == a.classes and back.bins == a.bins
    assert back.metrics() == a.metrics()
    back.merge(decode(encode(b)))
    a.merge(b)
    assert back.metrics() == a.metrics()
    assert encode(back) == encode(a)


@settings(max_examples=60, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), rows=st.integers(0, 300), n_classes=st.integers(2, 5))
def test_regression_and_confidence_counts_round_trip(seed: int, rows: int, n_classes: int) -> None:
    rng = np.random.default_rng(seed)
    r = RegressionCounts()
    y = rng.normal(size=rows)
    r.update(y, y + rng.normal(size=rows))
    back = decode(encode(r))
    assert isinstance(back, RegressionCounts) and back.metrics() == r.metrics()
    c = ConfidenceCounts(n_classes, bins=20)
    c.update(rng.dirichlet(np.ones(n_classes), size=rows))
    again = decode(encode(c))
    assert isinstance(again, ConfidenceCounts)
    assert (again.top == c.top).all() and (again.positive_scores == c.positive_scores).all()


def _tampered(blob: bytes, edit: object) -> bytes:
    raw = msgspec.msgpack.decode(blob)
    edit(raw)  # type: ignore[operator]
    return msgspec.msgpack.encode(raw)


def test_bad_blobs_are_codec_errors_that_say_why() -> None:
    good = encode(_classification(0, 50, ["no", "yes"], 10))
    matrix = 4  # the confusion matrix's position in the array-like struct (after the tag)
    cases = {
        b"": "not mlmon performance counts",
        good[:-3]: "not mlmon performance counts",
        mlmon.Baseline.fit({"x": np.arange(10.0)}).to_bytes(): "not mlmon performance counts",
        _tampered(good, lambda r: r.__setitem__(1, 99)): "format 99",
        _tampered(good, lambda r: r[matrix].__setitem__(2, b"\x00" * 8)): "do not match its shape",
        _tampered(good, lambda r: r[matrix].__setitem__(2, (-1).to_bytes(8, "little", signed=True) * 4)): (
            "negative counts"
        ),
        _tampered(good, lambda r: r.__setitem__(2, ["same", "same"])): "two distinct labels",
        _tampered(good, lambda r: r.__setitem__(3, 1)): "bins must be between",
    }
    for blob, reason in cases.items():
        with pytest.raises(mlmon.CodecError, match=reason):
            decode(blob)
    with pytest.raises(mlmon.InputError, match="not performance counts"):
        encode(object())  # type: ignore[arg-type]


def test_docstring_example() -> None:
    assert doctest.testmod(codec).failed == 0
