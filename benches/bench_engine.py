"""pytest-benchmark suite for the engine, each mlmon kernel beside the numpy way of doing the same.

Its inputs come from ``mlmon.bench.workloads.engine``, the ones ``mlmon bench``'s kernels step times.
`make bench-pytest` runs it with timing; `make test` runs every benchmark once as a plain test (the
`--benchmark-disable` default), which also checks that both sides agree.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pytest

from mlmon import _engine as e
from mlmon.bench.workloads import engine as w

N = w.N
Bench = Any


@pytest.fixture(scope="module")
def column() -> np.ndarray:
    return w.column(N)


@pytest.fixture(scope="module")
def edges(column: np.ndarray) -> e.BinEdges:
    return e.BinEdges.quantile(column, 10)


@pytest.mark.benchmark(group="histogram-10M-f64")
def test_mlmon_histogram(benchmark: Bench, column: np.ndarray, edges: e.BinEdges) -> None:
    h = e.NumericHistogram(edges)
    benchmark(h.update, column)
    want = np.bincount(np.searchsorted(edges.cuts, column, side="right"), minlength=edges.n_bins)
    np.testing.assert_array_equal(h.counts // (h.total // N), want)


@pytest.mark.benchmark(group="histogram-10M-f64")
def test_numpy_searchsorted_bincount(benchmark: Bench, column: np.ndarray, edges: e.BinEdges) -> None:
    benchmark(lambda: np.bincount(np.searchsorted(edges.cuts, column, side="right"), minlength=10))


@pytest.mark.benchmark(group="histogram-10M-f64")
def test_numpy_histogram(benchmark: Bench, column: np.ndarray, edges: e.BinEdges) -> None:
    full = np.concatenate([[-np.inf], edges.cuts, [np.inf]])
    benchmark(np.histogram, column, full)


@pytest.mark.benchmark(group="histogram-10M-f32-and-strided")
def test_mlmon_histogram_f32(benchmark: Bench, column: np.ndarray, edges: e.BinEdges) -> None:
    benchmark(e.NumericHistogram(edges).update, column.astype(np.float32))


@pytest.mark.benchmark(group="histogram-10M-f32-and-strided")
def test_mlmon_histogram_strided(benchmark: Bench, edges: e.BinEdges) -> None:
    benchmark(e.NumericHistogram(edges).update, w.strided(N))


@pytest.fixture(scope="module")
def with_nan(column: np.ndarray) -> np.ndarray:
    return w.with_nan(column)


@pytest.mark.benchmark(group="quantile-edges-10M")
def test_mlmon_quantile_edges(benchmark: Bench, with_nan: np.ndarray) -> None:
    got = benchmark(e.BinEdges.quantile, with_nan, 10)
    np.testing.assert_array_equal(got.cuts, np.nanquantile(with_nan, np.linspace(0, 1, 11)[1:-1]))


@pytest.mark.benchmark(group="quantile-edges-10M")
def test_numpy_nanquantile(benchmark: Bench, with_nan: np.ndarray) -> None:
    benchmark(np.nanquantile, with_nan, np.linspace(0, 1, 11)[1:-1])


@pytest.fixture(scope="module")
def wide() -> tuple[np.ndarray, list[e.NumericHistogram]]:
    return w.wide()


@pytest.mark.benchmark(group="update-2d-1Mx25")
@pytest.mark.parametrize("order", ["C", "F"])
@pytest.mark.parametrize("threads", [1, 2])
def test_mlmon_update_2d(
    benchmark: Bench, wide: tuple[np.ndarray, list[e.NumericHistogram]], order: str, threads: int
) -> None:
    x, hs = wide
    arr = np.asarray(x, order=order)  # type: ignore[call-overload]
    benchmark(e.update_2d, hs, arr, threads)


@pytest.mark.benchmark(group="small-batch-1000x25")
def test_mlmon_small_batch(benchmark: Bench, wide: tuple[np.ndarray, list[e.NumericHistogram]]) -> None:
    x, hs = wide
    benchmark(e.update_2d, hs, x[:1000])


@pytest.mark.benchmark(group="small-batch-1000x25")
def test_numpy_small_batch(benchmark: Bench, wide: tuple[np.ndarray, list[e.NumericHistogram]]) -> None:
    x, hs = wide
    batch, cuts = x[:1000], [h.edges.cuts for h in hs]
    benchmark(
        lambda: [
            np.bincount(np.searchsorted(c, batch[:, j], "right"), minlength=11) for j, c in enumerate(cuts)
        ]
    )


@pytest.fixture(scope="module")
def codes() -> tuple[np.ndarray, list[str]]:
    return w.codes(N)


@pytest.mark.benchmark(group="categorical-codes-10M")
def test_mlmon_codes(benchmark: Bench, codes: tuple[np.ndarray, list[str]]) -> None:
    c, cats = codes
    cc = e.CategoryCounts.fit_codes(c[:100], cats)
    benchmark(cc.update_codes, c, cats)


@pytest.mark.benchmark(group="categorical-codes-10M")
def test_numpy_bincount_codes(benchmark: Bench, codes: tuple[np.ndarray, list[str]]) -> None:
    benchmark(np.bincount, codes[0], minlength=50)


@pytest.fixture(scope="module")
def strings() -> np.ndarray:
    return w.strings()


@pytest.mark.benchmark(group="strings-1M-1000-categories")
def test_mlmon_object_strings(benchmark: Bench, strings: np.ndarray) -> None:
    cc = e.CategoryCounts.fit(strings[:10_000])
    benchmark(cc.update, strings)
    assert cc.total >= 10_000 + len(strings)


@pytest.mark.benchmark(group="strings-1M-1000-categories")
def test_pandas_value_counts(benchmark: Bench, strings: np.ndarray) -> None:
    benchmark(pd.Series(strings).value_counts)


@pytest.mark.benchmark(group="statistics-25x12")
def test_mlmon_psi_chi_square(benchmark: Bench) -> None:
    pairs = w.stat_pairs()
    benchmark(lambda: [(e.psi(a, b), e.chi_square_pooled(a, b)) for a, b in pairs])
