"""The large-reference paths against numpy: the bracket pass behind ``BinEdges.quantile`` (inputs of
2^17 values and more), the reference counts it derives without a second pass, and ``fit_numeric``,
which fits many columns in one call. Random and adversarial data: ties, all-equal, NaN and
infinities, signed zeros, extreme magnitudes, strided views, integer and float32 dtypes, bitmaps."""

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mlmon import _engine as e
from quantile_reference import merged, numpy_cuts

LARGE = 1 << 17  # the bracket pass starts here


def merged_cuts(x: np.ndarray, bins: int) -> np.ndarray:
    """np.quantile of the finite values, ties merged as the engine merges."""
    return merged(numpy_cuts(x, bins), x)


def recount(h: e.NumericHistogram, x: np.ndarray) -> e.NumericHistogram:
    """The same edges with the reference counted again by the update kernel."""
    again = e.NumericHistogram(h.edges)
    again.update(x)
    return again


def make(kind: str, n: int, rng: np.random.Generator) -> np.ndarray:
    """One adversarial column of ``n`` values."""
    if kind == "normal":
        return rng.normal(size=n)
    if kind == "lognormal":
        return rng.lognormal(10, 2, size=n)
    if kind == "ties":
        return rng.integers(0, 4, size=n).astype(np.float64)
    if kind == "all_equal":
        return np.full(n, -2.5)
    if kind == "specials":
        x = rng.normal(size=n)
        idx = rng.integers(0, n, size=n // 20)
        x[idx] = rng.choice([np.nan, np.inf, -np.inf, 0.0, -0.0, 5e-324], size=len(idx))
        return x
    if kind == "mostly_nan":
        x = np.full(n, np.nan)
        step = int(rng.integers(2, 9))  # 50% to 12.5% finite: either side of the sample's threshold
        x[::step] = rng.normal(size=len(x[::step]))
        return x
    if kind == "huge":
        return rng.choice([-1.7e308, -1e300, 0.0, 1e-300, 1e300, 1.7e308], size=n) * rng.random(n)
    if kind == "sorted":
        return np.sort(rng.normal(size=n))
    if kind == "outliers":
        x = rng.normal(size=n)
        x[:50] = 1e250
        x[50:100] = -1e250
        return x
    raise AssertionError(kind)


KINDS = ["normal", "lognormal", "ties", "all_equal", "specials", "mostly_nan", "huge", "sorted", "outliers"]


def check(x: np.ndarray, bins: int) -> None:
    f = np.asarray(x, dtype=np.float64)
    if not np.isfinite(f).any():
        with pytest.raises(e.InputError):
            e.BinEdges.quantile(x, bins)
        return
    edges = e.BinEdges.quantile(x, bins)
    np.testing.assert_array_equal(edges.cuts, merged_cuts(x, bins))
    assert (edges.lower, edges.upper) == (f[np.isfinite(f)].min(), f[np.isfinite(f)].max())
    (h,) = e.fit_numeric([(x, None, 0)], bins)
    assert h.edges == edges
    assert h == recount(h, x)
    want = np.bincount(np.searchsorted(edges.cuts, f[~np.isnan(f)], side="right"), minlength=edges.n_bins)
    np.testing.assert_array_equal(h.counts, want)
    assert h.missing == int(np.isnan(f).sum())
    assert h.out_of_range == int(np.isinf(f).sum())


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.sampled_from(KINDS),
    st.integers(LARGE, LARGE + 70_000),
    st.integers(2, 40),
    st.integers(0, 2**32 - 1),
)
def test_large_references_equal_numpy(kind: str, n: int, bins: int, seed: int) -> None:
    check(make(kind, n, np.random.default_rng(seed)), bins)


@pytest.mark.parametrize("kind", KINDS)
def test_every_kind_at_a_million(kind: str) -> None:
    check(make(kind, 1_000_000, np.random.default_rng(3)), 10)


def test_inputs_past_the_parallel_split() -> None:
    check(make("specials", (1 << 20) + 12_345, np.random.default_rng(4)), 10)


@pytest.mark.parametrize("bins", [1, 2, 3, 64, 65, 200])
def test_bin_counts_at_and_beyond_the_bracket_limit(bins: int) -> None:
    check(make("normal", 300_000, np.random.default_rng(bins)), bins)


def test_strided_float32_and_integer_dtypes() -> None:
    rng = np.random.default_rng(5)
    base = rng.lognormal(size=3 * LARGE)
    check(base[::3], 10)
    check(base[::-2], 7)
    check(base.astype(np.float32), 10)
    check(rng.integers(-5, 5, size=LARGE + 1).astype(np.int8), 10)
    check(rng.integers(0, 255, size=LARGE).astype(np.uint8), 10)
    check(rng.integers(-(2**31), 2**31 - 1, size=LARGE, dtype=np.int64).astype(np.int32), 10)
    big = rng.integers(2**60, 2**62, size=LARGE, dtype=np.int64)
    edges = e.BinEdges.quantile(big, 10)
    np.testing.assert_array_equal(edges.cuts, merged_cuts(big, 10))
    (h,) = e.fit_numeric([(big, None, 0)])
    assert h == recount(h, big)


def test_validity_bitmap_is_read_as_nulls() -> None:
    rng = np.random.default_rng(6)
    x = rng.normal(size=LARGE + 99)
    present = rng.random(len(x)) > 0.3
    bits = np.packbits(np.concatenate([[0, 0, 0], present]).astype(np.uint8), bitorder="little")
    (h,) = e.fit_numeric([(x, bits, 3)])
    filled = np.where(present, x, np.nan)
    np.testing.assert_array_equal(h.edges.cuts, merged_cuts(filled, 10))
    assert h == recount(h, filled)
    assert h == e.fit_numeric([(filled, None, 0)])[0]


def test_many_columns_equal_one_at_a_time() -> None:
    rng = np.random.default_rng(7)
    cols = [make(k, 200_000 + 1000 * i, rng) for i, k in enumerate(KINDS)]
    cols += [rng.normal(size=50), rng.integers(0, 3, size=3000)]
    for threads in (1, 2, 3):
        fitted = e.fit_numeric([(c, None, 0) for c in cols], 10, threads)
        for h, c in zip(fitted, cols, strict=True):
            one = e.NumericHistogram(e.BinEdges.quantile(c, 10))
            one.update(c)
            assert h == one


def test_an_unusable_column_raises() -> None:
    with pytest.raises(e.InputError, match="no finite values"):
        e.fit_numeric([(np.ones(LARGE), None, 0), (np.full(LARGE, np.nan), None, 0)])
    with pytest.raises(e.DtypeError):
        e.fit_numeric([(np.array(["a", "b"]), None, 0)])
    assert e.fit_numeric([]) == []
