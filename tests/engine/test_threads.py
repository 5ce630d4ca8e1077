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


def _count_in_child(queue: "object") -> None:
    edges = e.BinEdges.explicit([0.0])
    hs = [e.NumericHistogram(edges) for _ in range(2)]
    e.update_2d(hs, np.ones((400_000, 2)), threads=2)
    queue.put(hs[0].total)  # type: ignore[attr-defined]


def test_fork_after_the_pool_ran_does_not_deadlock() -> None:
    import multiprocessing as mp
    import sys

    if sys.platform != "linux":
        return
    edges = e.BinEdges.explicit([0.0])
    hs = [e.NumericHistogram(edges) for _ in range(2)]
    e.update_2d(hs, np.ones((400_000, 2)), threads=2)  # starts the rayon pool in the parent
    ctx = mp.get_context("fork")
    queue = ctx.Queue()
    child = ctx.Process(target=_count_in_child, args=(queue,))
    child.start()
    child.join(timeout=60)
    assert child.exitcode == 0, "the forked child deadlocked or crashed"
    assert queue.get(timeout=5) == 400_000
