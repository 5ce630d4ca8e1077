"""NumericHistogram counts against an independent numpy searchsorted + bincount reference."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from mlmon import _engine as e

values = st.one_of(
    st.floats(-1e6, 1e6, allow_nan=False),
    st.sampled_from([np.nan, np.inf, -np.inf, 0.0, -0.0, 5e-324, 1.0, 2.0]),
)
cut_lists = st.lists(st.floats(-1e6, 1e6, allow_nan=False), min_size=0, max_size=40, unique=True).map(sorted)


def reference_counts(
    cuts: np.ndarray, x: np.ndarray, lower: float, upper: float
) -> tuple[np.ndarray, int, int]:
    x = np.asarray(x)
    xf = x.astype(np.float64) if x.dtype.kind == "f" else x
    nan = np.isnan(xf) if x.dtype.kind == "f" else np.zeros(len(x), bool)
    kept = x[~nan]
    if x.dtype.kind in "iu":
        # Exact integer comparison: x >= c  <=>  x >= ceil(c).
        bins = np.array([int(np.sum(kept.astype(object) >= c)) for c in map(float, cuts)])
        counts = np.empty(len(cuts) + 1, dtype=np.int64)
        counts[0] = len(kept) - (bins[0] if len(cuts) else 0)
        for i in range(1, len(cuts)):
            counts[i] = bins[i - 1] - bins[i]
        if len(cuts):
            counts[-1] = bins[-1]
        oor = int(sum(1 for v in kept.tolist() if v < lower or v > upper))
        return counts, 0, oor
    counts = np.bincount(np.searchsorted(cuts, kept, side="right"), minlength=len(cuts) + 1)
    oor = int(np.sum((kept < lower) | (kept > upper)))
    return counts, int(nan.sum()), oor


def check(cuts: list[float], x: np.ndarray, lower: float, upper: float) -> None:
    edges = e.BinEdges.explicit(np.array(cuts, dtype=np.float64), lower, upper)
    h = e.NumericHistogram(edges)
    h.update(x)
    counts, missing, oor = reference_counts(np.array(cuts), x, lower, upper)
    np.testing.assert_array_equal(h.counts, counts)
    assert h.missing == missing
    assert h.out_of_range == oor
    assert h.total == len(x)


@given(cut_lists, hnp.arrays(np.float64, st.integers(0, 700), elements=values))
def test_float64_counts_match_numpy(cuts: list[float], x: np.ndarray) -> None:
    check(cuts, x, -5e5, 5e5)


@given(cut_lists, hnp.arrays(np.float32, st.integers(0, 600), elements=st.floats(-1e6, 1e6, width=32)))
def test_float32_counts_match_numpy(cuts: list[float], x: np.ndarray) -> None:
    check(cuts, x, -1e3, 1e3)


@given(
    st.lists(st.floats(-2e18, 2e18, allow_nan=False), max_size=20, unique=True).map(sorted),
    hnp.arrays(np.int64, st.integers(0, 300), elements=st.integers(-(2**63), 2**63 - 1)),
)
def test_int64_counts_are_exact_beyond_2_53(cuts: list[float], x: np.ndarray) -> None:
    check(cuts, x, -1e18, 1e18)


def test_int64_near_edges_beyond_2_53() -> None:
    cut = float(2**53 + 2)
    x = np.array([2**53 + 1, 2**53 + 2, 2**53 + 3, -(2**63), 2**63 - 1], dtype=np.int64)
    check([cut], x, float(-(2**62)), float(2**62))


@pytest.mark.parametrize("dtype", [np.int32, np.int16, np.int8, np.uint8, np.uint16, np.uint32])
def test_narrow_integer_dtypes(dtype: type) -> None:
    x = np.arange(-100, 200).astype(dtype)
    check([-0.5, 3.0, 10.5, 99.0], x, 0.0, 50.0)


@given(cut_lists, hnp.arrays(np.float64, st.integers(0, 500), elements=values), st.integers(2, 5))
def test_strided_views_equal_contiguous_copies(cuts: list[float], x: np.ndarray, step: int) -> None:
    check(cuts, x[::step], -1e5, 1e5)
    check(cuts, x[::-1], -1e5, 1e5)


@given(hnp.arrays(np.float64, st.integers(0, 800), elements=values), st.integers(0, 800))
def test_merge_of_halves_equals_whole(x: np.ndarray, split: int) -> None:
    edges = e.BinEdges.explicit([-10.0, 0.0, 1e-300, 7.5], -100.0, 100.0)
    whole, a, b = e.NumericHistogram(edges), e.NumericHistogram(edges), e.NumericHistogram(edges)
    whole.update(x)
    a.update(x[:split])
    b.update(x[split:])
    ab, ba = a.copy(), b.copy()
    ab.merge(b)
    ba.merge(a)
    assert ab == whole
    assert ba == whole


def test_merge_refuses_other_edges() -> None:
    a = e.NumericHistogram(e.BinEdges.explicit([0.0]))
    b = e.NumericHistogram(e.BinEdges.explicit([1.0]))
    with pytest.raises(e.SchemaMismatchError, match="different bin edges"):
        a.merge(b)


def test_self_merge_doubles() -> None:
    h = e.NumericHistogram(e.BinEdges.explicit([0.0]))
    h.update(np.array([-1.0, 1.0, 2.0]))
    h.merge(h)
    np.testing.assert_array_equal(h.counts, [2, 4])


@pytest.mark.parametrize("order", ["C", "F"])
@pytest.mark.parametrize("dtype", [np.float64, np.float32, np.int64, np.int32])
@pytest.mark.parametrize("rows", [0, 1, 1000, 300_000])
def test_update_2d_equals_per_column_updates(order: str, dtype: type, rows: int) -> None:
    rng = np.random.default_rng(rows)
    x = np.asarray(rng.normal(size=(rows, 7)) * 100, dtype=dtype, order=order)  # type: ignore[call-overload]
    edges = [e.BinEdges.explicit(np.sort(rng.normal(size=5) * 50), -150.0, 150.0) for _ in range(7)]
    hs = [e.NumericHistogram(ed) for ed in edges]
    e.update_2d(hs, x, threads=2)
    for j, ed in enumerate(edges):
        one = e.NumericHistogram(ed)
        one.update(np.ascontiguousarray(x[:, j]))
        assert hs[j] == one


def test_update_2d_on_a_strided_view() -> None:
    x = np.random.default_rng(1).normal(size=(5000, 8))[::3, ::2]
    edges = e.BinEdges.explicit([-1.0, 0.0, 1.0])
    hs = [e.NumericHistogram(edges) for _ in range(4)]
    e.update_2d(hs, x)
    for j in range(4):
        one = e.NumericHistogram(edges)
        one.update(x[:, j].copy())
        assert hs[j] == one


def test_update_2d_validates() -> None:
    edges = e.BinEdges.explicit([0.0])
    h = e.NumericHistogram(edges)
    with pytest.raises(e.InputError, match="columns"):
        e.update_2d([h], np.zeros((3, 2)))
    with pytest.raises(e.InputError, match="twice"):
        e.update_2d([h, h], np.zeros((3, 2)))
    with pytest.raises(e.InputError, match="2-D"):
        e.update_2d([h], np.zeros(3))
    before = h.total
    with pytest.raises(e.DtypeError):
        e.update_2d([h], np.zeros((3, 1), dtype=np.complex128))
    assert h.total == before


def test_update_rejects_bad_input_without_counting() -> None:
    h = e.NumericHistogram(e.BinEdges.explicit([0.0]))
    for bad in (np.array(["x"]), np.zeros((2, 2)), [1.0], np.array([True])):
        with pytest.raises((TypeError, ValueError)):
            h.update(bad)  # type: ignore[arg-type]
    assert h.total == 0


def test_pickle_round_trip() -> None:
    import pickle

    h = e.NumericHistogram(e.BinEdges.quantile(np.arange(100.0), 5))
    h.update(np.arange(-10.0, 120.0))
    assert pickle.loads(pickle.dumps(h)) == h


# 50 examples: drawing 129+ unique floats is hypothesis' slow part (7 s at 150), and every draw reaches
# the same search path.
@settings(max_examples=50)
@given(
    st.lists(st.floats(-1e3, 1e3, allow_nan=False), min_size=129, max_size=300, unique=True).map(sorted),
    hnp.arrays(np.float64, st.integers(0, 400), elements=values),
)
def test_many_cuts_take_the_binary_search_path(cuts: list[float], x: np.ndarray) -> None:
    check(cuts, x, -500.0, 500.0)
    ints = np.clip(np.nan_to_num(x), -2e9, 2e9).astype(np.int32)
    check(cuts, ints, -500.0, 500.0)


@given(hnp.arrays(np.float64, st.integers(1, 600), elements=values), st.integers(0, 40), st.integers(0, 7))
def test_validity_bitmap_counts_like_nan(x: np.ndarray, cut: int, offset: int) -> None:
    rng = np.random.default_rng(len(x))
    present = rng.random(len(x)) > 0.2
    bits = np.packbits(np.concatenate([np.zeros(offset, bool), present]), bitorder="little")
    filled = np.where(present, x, np.nan)
    edges = e.BinEdges.explicit([-10.0, 0.0, 3.5], -50.0, 50.0)
    masked, plain = e.NumericHistogram(edges), e.NumericHistogram(edges)
    masked.update(x, bits, offset)
    plain.update(filled)
    assert masked == plain
    if np.isfinite(filled).any():
        assert e.BinEdges.quantile(x, 7, bits, offset) == e.BinEdges.quantile(filled, 7)


def test_validity_bitmap_is_checked() -> None:
    h = e.NumericHistogram(e.BinEdges.explicit([0.0]))
    with pytest.raises(e.InputError, match="too short"):
        h.update(np.zeros(20), np.zeros(1, np.uint8))
    with pytest.raises(e.DtypeError, match="float"):
        h.update(np.zeros(4, np.int64), np.zeros(1, np.uint8))
    assert h.total == 0
