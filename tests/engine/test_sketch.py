"""QuantileSketch: rank error within its documented bound against exact numpy ranks, for one stream and
for merged partitions; codec round trips and hostile bytes; edges from a sketch."""

import pickle

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from mlmon import _engine as e

PROBS = np.linspace(0, 1, 11)


def rank_error(values: np.ndarray, sketch: e.QuantileSketch) -> float:
    """Worst distance between each p and the exact rank interval of the sketch's answer."""
    finite = np.sort(values[np.isfinite(values)])
    n = len(finite)
    worst = 0.0
    for p, q in zip(PROBS, sketch.quantiles(PROBS.tolist()), strict=True):
        lt = np.searchsorted(finite, q, side="left") / n
        le = np.searchsorted(finite, q, side="right") / n
        worst = max(worst, lt - p, p - le, 0.0)
    return worst


floats = st.floats(-1e9, 1e9) | st.sampled_from([np.nan, np.inf, -np.inf])


@given(
    arrays(np.float64, st.integers(1, 30_000), elements=floats),
    st.sampled_from([50, 100, 200]),
)
def test_rank_error_within_bound(values: np.ndarray, k: int) -> None:
    sketch = e.QuantileSketch(k)
    sketch.update(values)
    finite = values[np.isfinite(values)]
    assert sketch.n == len(finite)
    if len(finite) == 0:
        with pytest.raises(e.InputError, match="empty"):
            sketch.quantiles([0.5])
        return
    assert rank_error(values, sketch) <= sketch.epsilon
    assert sketch.min == finite.min() and sketch.max == finite.max()


def generated(seed: int, n: int, dist: str) -> np.ndarray:
    rng = np.random.default_rng(seed)
    if dist == "normal":
        return rng.normal(size=n)
    if dist == "lognormal":
        return rng.lognormal(0, 2, size=n)
    if dist == "ties":
        return rng.integers(0, 7, size=n).astype(np.float64)
    return np.sort(rng.normal(size=n))[:: 1 if seed % 2 else -1].copy()  # sorted / reversed input


dists = st.sampled_from(["normal", "lognormal", "ties", "sorted"])


@given(st.integers(0, 2**32), st.integers(1_000, 300_000), dists, st.sampled_from([64, 200]))
def test_rank_error_within_bound_on_large_inputs(seed: int, n: int, dist: str, k: int) -> None:
    values = generated(seed, n, dist)
    sketch = e.QuantileSketch(k)
    sketch.update(values)
    assert rank_error(values, sketch) <= sketch.epsilon


@given(st.integers(0, 2**32), st.integers(1_000, 300_000), dists, st.integers(2, 6))
def test_merge_of_partitions_within_bound_on_large_inputs(seed: int, n: int, dist: str, parts: int) -> None:
    values = generated(seed, n, dist)
    merged = e.QuantileSketch()
    for chunk in np.array_split(values, parts):
        part = e.QuantileSketch()
        part.update(chunk)
        merged.merge(part)
    assert merged.n == n
    assert rank_error(values, merged) <= merged.epsilon


@given(
    arrays(np.int32, st.integers(1, 30_000), elements=st.integers(-500, 500)),
    st.integers(1, 8),
)
def test_merged_partitions_within_bound(values: np.ndarray, parts: int) -> None:
    merged = e.QuantileSketch(100)
    for chunk in np.array_split(values, parts):
        part = e.QuantileSketch(100)
        part.update(chunk)
        merged.merge(e.QuantileSketch.from_bytes(part.to_bytes()))
    assert merged.n == len(values)
    assert rank_error(values.astype(np.float64), merged) <= merged.epsilon


def test_large_stream_is_small_and_accurate() -> None:
    values = np.random.default_rng(1).lognormal(size=2_000_000)
    sketch = e.QuantileSketch()
    sketch.update(values[::2])  # strided: read in place
    sketch.update(values[1::2].astype(np.float32))
    assert sketch.n == len(values)
    assert sketch.retained < 4 * sketch.k + 600
    assert rank_error(values.astype(np.float32).astype(np.float64), sketch) <= sketch.epsilon


def test_exact_below_k_and_nulls_from_bitmap() -> None:
    sketch = e.QuantileSketch(200)
    values = np.arange(16, dtype=np.float64)
    bits = np.packbits(np.arange(16) % 2 == 0, bitorder="little")  # keep even positions
    sketch.update(values, bits, 0)
    assert sketch.n == 8
    np.testing.assert_array_equal(sketch.quantiles([0.0, 0.5, 1.0]), [0.0, 6.0, 14.0])
    assert sketch.rank(6.0) == pytest.approx(0.5)


def test_edges_match_the_sketch_and_leave_no_bin_empty() -> None:
    values = np.random.default_rng(2).integers(0, 5, 100_000)
    sketch = e.QuantileSketch()
    sketch.update(values)
    edges = sketch.edges(10)
    np.testing.assert_array_equal(edges.cuts, [1.0, 2.0, 3.0, 4.0])
    hist = e.NumericHistogram(edges)
    hist.update(values)
    assert (hist.counts > 0).all()


def test_round_trip_pickle_and_errors() -> None:
    sketch = e.QuantileSketch(64)
    sketch.update(np.random.default_rng(3).normal(size=10_000))
    assert pickle.loads(pickle.dumps(sketch)) == sketch
    data = sketch.to_bytes()
    for n in range(0, len(data), 7):
        with pytest.raises(e.CodecError):
            e.QuantileSketch.from_bytes(data[:n])
    with pytest.raises(e.CodecError):
        e.QuantileSketch.from_bytes(e.encode_profile([]))
    with pytest.raises(e.SchemaMismatchError, match="different k"):
        sketch.merge(e.QuantileSketch(65))
    with pytest.raises(e.InputError, match="k must be"):
        e.QuantileSketch(2)
    with pytest.raises(e.InputError, match=r"\[0, 1\]"):
        sketch.quantiles([1.5])
    with pytest.raises(e.DtypeError):
        sketch.update(np.array(["a"]))
    assert e.QuantileSketch().k == 200
    assert e.QuantileSketch.epsilon_for(200) == pytest.approx(0.0166, abs=1e-4)


@given(st.binary(max_size=600))
def test_arbitrary_bytes_raise_codec_error(data: bytes) -> None:
    with pytest.raises(e.CodecError):
        e.QuantileSketch.from_bytes(data)


def test_fit_counts_matches_fit() -> None:
    values = np.array(["a", "b", "b", None, "c", "b"], dtype=object)
    direct = e.CategoryCounts.fit(values, max_categories=2)
    by_counts = e.CategoryCounts.fit_counts(["c", "b", None, "a", "b"], [1, 2, 1, 1, 1], max_categories=2)
    assert by_counts == direct
    with pytest.raises(e.InputError, match="2 values but 1 counts"):
        e.CategoryCounts.fit_counts(["a", "b"], [1])
    with pytest.raises(e.DtypeError):
        e.CategoryCounts.fit_counts([1.5], [1])
