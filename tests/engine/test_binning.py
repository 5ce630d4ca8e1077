"""Bin edges against numpy's own quantile and searchsorted, on random and adversarial data."""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from mlmon import _engine as e
from quantile_reference import merged, numpy_cuts

finite = st.floats(-1e12, 1e12, allow_nan=False, allow_infinity=False)
floats_with_specials = st.one_of(
    finite, st.sampled_from([np.nan, np.inf, -np.inf, 0.0, -0.0, 5e-324, -5e-324])
)


@given(hnp.arrays(np.float64, st.integers(1, 400), elements=floats_with_specials), st.integers(1, 20))
def test_quantile_cuts_equal_numpy_before_merging(x: np.ndarray, bins: int) -> None:
    if not np.isfinite(x).any():
        with pytest.raises(e.InputError):
            e.BinEdges.quantile(x, bins)
        return
    edges = e.BinEdges.quantile(x, bins)
    np.testing.assert_array_equal(edges.cuts, merged(numpy_cuts(x, bins), x))
    assert edges.lower == x[np.isfinite(x)].min()
    assert edges.upper == x[np.isfinite(x)].max()


@given(hnp.arrays(np.int64, st.integers(1, 300), elements=st.integers(-5, 5)), st.integers(2, 12))
def test_discrete_reference_gives_non_empty_bins(x: np.ndarray, bins: int) -> None:
    edges = e.BinEdges.quantile(x, bins)
    counts = np.bincount(np.searchsorted(edges.cuts, x, side="right"), minlength=edges.n_bins)
    assert (counts > 0).all()
    assert edges.n_bins <= min(bins, len(np.unique(x)))


def test_large_reference_uses_the_sampled_path_and_stays_exact() -> None:
    rng = np.random.default_rng(7)
    x = rng.lognormal(size=400_000)
    x[::97] = np.nan
    x[5] = np.inf
    np.testing.assert_array_equal(e.BinEdges.quantile(x, 10).cuts, numpy_cuts(x, 10))
    x32 = x.astype(np.float32)
    np.testing.assert_array_equal(e.BinEdges.quantile(x32, 10).cuts, numpy_cuts(x32, 10))
    strided = x[::2]
    np.testing.assert_array_equal(e.BinEdges.quantile(strided, 7).cuts, numpy_cuts(strided, 7))


@given(
    st.lists(floats_with_specials, min_size=1, max_size=12),
    st.floats(0.0, 1.0),
    st.integers(-3, 300),
    st.integers(2, 40),
    st.integers(0, 2**32 - 1),
)
def test_large_references_with_ties_and_specials_equal_numpy(
    pool: list[float], share: float, scale: int, bins: int, seed: int
) -> None:
    """The sampled grid path (at least 2^17 values) on few distinct values with huge runs of each,
    +-0.0, subnormals, infinities and NaN, mixed with a continuous part of any scale: numpy's cuts and
    a recount's counts."""
    rng = np.random.default_rng(seed)
    n = (1 << 17) + int(rng.integers(0, 5000))
    x = rng.choice(np.asarray(pool, dtype=np.float64), n)
    spread = rng.random(n) < share
    x[spread] = rng.standard_normal(int(spread.sum())) * 10.0 ** min(scale, 300)
    if not np.isfinite(x).any():
        return
    edges = e.BinEdges.quantile(x, bins)
    np.testing.assert_array_equal(edges.cuts, merged(numpy_cuts(x, bins), x))
    assert (edges.lower, edges.upper) == (x[np.isfinite(x)].min(), x[np.isfinite(x)].max())
    (hist,) = e.fit_numeric([(x, None, 0)], bins)
    present = x[~np.isnan(x)]
    want = np.bincount(np.searchsorted(edges.cuts, present, side="right"), minlength=edges.n_bins)
    np.testing.assert_array_equal(hist.counts, want)
    assert hist.missing == int(np.isnan(x).sum())


def test_all_equal_reference_gives_one_bin() -> None:
    edges = e.BinEdges.quantile(np.full(1000, 3.5), 10)
    assert edges.n_bins == 1
    assert (edges.lower, edges.upper) == (3.5, 3.5)


@pytest.mark.parametrize(
    ("data", "message"),
    [(np.array([]), "empty"), (np.array([np.nan, np.nan]), "no finite values")],
)
def test_unusable_references_raise_input_error(data: np.ndarray, message: str) -> None:
    with pytest.raises(e.InputError, match=message):
        e.BinEdges.quantile(data, 10)
    with pytest.raises(ValueError, match=message):
        e.BinEdges.uniform(data, 10)


@pytest.mark.parametrize(
    ("cuts", "message"),
    [([1.0, 1.0], "strictly increasing"), ([2.0, 1.0], "strictly increasing"), ([np.nan], "finite")],
)
def test_explicit_edges_are_validated(cuts: list[float], message: str) -> None:
    with pytest.raises(e.InputError, match=message):
        e.BinEdges.explicit(cuts)


def test_bins_out_of_range_is_an_error() -> None:
    with pytest.raises(e.InputError, match="bins"):
        e.BinEdges.quantile(np.arange(10.0), 0)


def test_wrong_types_raise_dtype_error() -> None:
    with pytest.raises(e.DtypeError, match="expected a numpy array"):
        e.BinEdges.quantile([1.0, 2.0], 10)  # type: ignore[arg-type]
    with pytest.raises(e.DtypeError, match="unsupported dtype"):
        e.BinEdges.quantile(np.array(["a", "b"]), 10)
    with pytest.raises(TypeError):
        e.BinEdges.quantile(np.array([1 + 2j]), 10)
    with pytest.raises(e.InputError, match="1-D"):
        e.BinEdges.quantile(np.zeros((3, 3)), 10)


def test_uniform_edges() -> None:
    edges = e.BinEdges.uniform(np.array([0.0, 10.0, np.nan]), 5)
    np.testing.assert_allclose(edges.cuts, [2.0, 4.0, 6.0, 8.0])
    np.testing.assert_allclose(edges.positions(), [1.0, 3.0, 5.0, 7.0, 9.0])


def test_edges_pickle_and_compare() -> None:
    import pickle

    edges = e.BinEdges.quantile(np.arange(100.0), 4)
    assert pickle.loads(pickle.dumps(edges)) == edges
