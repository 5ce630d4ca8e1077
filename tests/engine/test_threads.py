"""Stateful classes lock their counts: concurrent updates from threads lose nothing."""

from concurrent.futures import ThreadPoolExecutor

import numpy as np

from mlmon import _engine as e


def test_concurrent_updates_are_exact() -> None:
    edges = e.BinEdges.explicit([0.0, 1.0])
    h = e.NumericHistogram(edges)
    x = np.random.default_rng(0).normal(size=200_000)
    with ThreadPoolExecutor(4) as pool:
        list(pool.map(lambda _: h.update(x), range(16)))
    one = e.NumericHistogram(edges)
    one.update(x)
    np.testing.assert_array_equal(h.counts, one.counts * 16)


def test_concurrent_update_2d_over_shared_histograms() -> None:
    edges = e.BinEdges.explicit([0.0])
    hs = [e.NumericHistogram(edges) for _ in range(3)]
    x = np.ones((100_000, 3))
    with ThreadPoolExecutor(4) as pool:
        # Opposite orders exercise the address-ordered locking (a naive lock order would deadlock).
        jobs = [pool.submit(e.update_2d, hs if i % 2 else hs[::-1], x) for i in range(8)]
        for j in jobs:
            j.result(timeout=60)
    assert all(h.total == 800_000 for h in hs)


def test_concurrent_category_updates() -> None:
    c = e.CategoryCounts.fit(np.array(["a", "b"]))
    batch = np.array(["a", "b", "c"] * 10_000)
    with ThreadPoolExecutor(4) as pool:
        list(pool.map(lambda _: c.update(batch), range(8)))
    assert c.total == 2 + 8 * 30_000
