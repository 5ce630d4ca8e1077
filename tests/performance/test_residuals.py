"""The regression residual histogram: fixed log-spaced bins, so windows merge exactly (any split gives the
same counts as one pass); its quantiles lie in the bin of numpy's, within a factor 10 ** 0.1 at any scale;
it round-trips through the codec, and format 1 counts (no histogram) still decode, with no quantiles."""

from __future__ import annotations

import msgspec
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import mlmon
from mlmon.performance import RegressionCounts, codec, decode, encode
from mlmon.performance.regression import LARGEST, PER_DECADE, RESIDUAL_EDGES, SMALLEST, ResidualHistogram

FACTOR = 10 ** (1 / PER_DECADE)


def _residuals(seed: int, rows: int, scale: float) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    y = rng.normal(size=rows) * 10
    return y, y + scale * rng.standard_t(3, size=rows)


@settings(max_examples=100, deadline=None)
@given(
    seed=st.integers(0, 2**32 - 1),
    rows=st.integers(1, 400),
    scale=st.sampled_from([1e-5, 1e-2, 1.0, 3e3, 1e7]),
    parts=st.integers(1, 6),
)
def test_windows_merge_exactly_and_quantiles_fall_in_numpys_bin(
    seed: int, rows: int, scale: float, parts: int
) -> None:
    y, p = _residuals(seed, rows, scale)
    whole = RegressionCounts()
    whole.update(y, p)
    merged = RegressionCounts()
    for cy, cp in zip(np.array_split(y, parts), np.array_split(p, parts), strict=True):
        part = RegressionCounts()
        part.update(cy, cp)
        merged.merge(decode(encode(part)))  # type: ignore[arg-type]
    assert np.array_equal(merged.residuals, whole.residuals) and int(whole.residuals.sum()) == rows
    e = p - y
    m = merged.metrics()
    for q, got in ((0.5, m.median_absolute_error), (0.9, m.p90_absolute_error)):
        exact = float(np.quantile(np.abs(e), q, method="inverted_cdf"))
        assert got is not None
        assert exact / FACTOR <= got <= exact * FACTOR or max(got, exact) < SMALLEST
    signed = merged.residual_histogram()
    for q in (0.1, 0.5, 0.9):
        exact = float(np.quantile(e, q, method="inverted_cdf"))
        got = signed.quantile(q)
        assert got is not None
        if abs(exact) >= SMALLEST * FACTOR:
            assert np.sign(got) == np.sign(exact) and abs(exact) / FACTOR <= abs(got) <= abs(exact) * FACTOR


def test_the_bins_are_symmetric_and_fixed() -> None:
    half = len(RESIDUAL_EDGES) // 2
    assert len(RESIDUAL_EDGES) == 302 and np.array_equal(RESIDUAL_EDGES[:half], -RESIDUAL_EDGES[half:][::-1])
    assert RESIDUAL_EDGES[half] == pytest.approx(SMALLEST) and RESIDUAL_EDGES[-1] == pytest.approx(LARGEST)
    assert np.allclose(RESIDUAL_EDGES[half + 1 :] / RESIDUAL_EDGES[half:-1], FACTOR)
    r = RegressionCounts()
    r.update([0.0, 0.0, 0.0, 0.0], [0.0, 1e-9, -2e10, 3e12])
    h = r.residual_histogram()
    assert h.counts[0] == 1 and h.counts[half] == 2 and h.counts[-1] == 1 and h.rows == 4
    assert (h.quantile(0.0), h.quantile(1.0)) == (h.edges[0], h.edges[-1])  # open bins: their edge
    folded = h.absolute()
    assert (
        folded.counts[1] == 2
        and folded.counts[-1] == 2
        and folded.quantile(0.25) == pytest.approx(SMALLEST / 2)
    )
    assert ResidualHistogram(h.edges, [0] * len(h.counts)).quantile(0.5) is None
    with pytest.raises(mlmon.InputError, match="within"):
        h.quantile(1.5)
    assert RegressionCounts().metrics().median_absolute_error is None


def test_format_1_regression_counts_decode_without_quantiles() -> None:
    r = RegressionCounts()
    r.update([1.0, 2.0, 3.0], [1.5, 2.0, 2.0])
    raw = msgspec.msgpack.decode(encode(r))
    old = msgspec.msgpack.encode([raw[0], 1, *raw[2:8]])  # format 1: the sums, no histogram
    back = decode(old)
    assert isinstance(back, RegressionCounts)
    m = back.metrics()
    assert (m.mae, m.rmse, m.r2) == (r.metrics().mae, r.metrics().rmse, r.metrics().r2)
    assert m.median_absolute_error is None and m.p90_absolute_error is None
    back.merge(r)  # a range including old counts has no quantiles (they would describe some rows only)
    assert back.metrics().median_absolute_error is None and back.metrics().rows == 6
    assert codec.FORMAT == 2
    without = msgspec.msgpack.encode([raw[0], 2, *raw[2:8]])
    with pytest.raises(mlmon.CodecError, match="without their histogram"):
        decode(without)
    raw[8][2] = np.zeros(len(RESIDUAL_EDGES) + 1, dtype="<i8").tobytes()
    with pytest.raises(mlmon.CodecError, match="does not hold every row"):
        decode(msgspec.msgpack.encode(raw))
