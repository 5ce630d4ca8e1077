"""The inputs of the store kernels: window-partial profiles of 25 features (20 numerical of 10 bins, 5
categorical of 20 categories) after 1,000 rows, as the service writes them. Shared by ``mlmon bench``'s
kernels step and a checkout's ``benches/bench_store.py``."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import numpy as np

from mlmon.core._native import BinEdges, CategoryCounts, NumericHistogram, encode_profile
from mlmon.store import WindowPartial

__all__ = ["FEATURES", "MINUTE", "T0", "minute_partials", "profile", "profiles"]

FEATURES = 25
T0 = datetime(2024, 3, 1, tzinfo=timezone.utc)
MINUTE = timedelta(minutes=1)


def profile(seed: int) -> bytes:
    """One partial's profile bytes: 20 numerical features of 10 bins and 5 categorical ones of 20
    categories, 1,000 rows each."""
    rng = np.random.default_rng(seed)
    parts: list[tuple[str, NumericHistogram | CategoryCounts]] = []
    edges = BinEdges.explicit(np.linspace(-2, 2, 9))
    categories = np.array([f"c{i}" for i in range(20)], dtype=object)
    for j in range(FEATURES):
        if j < 20:
            hist = NumericHistogram(edges)
            hist.update(rng.normal(size=1000))
            parts.append((f"num{j}", hist))
        else:
            cats = CategoryCounts.fit(categories).empty_like()
            cats.update(rng.choice(categories, 1000))
            parts.append((f"cat{j}", cats))
    return encode_profile(parts)


def profiles(n: int = 16) -> list[bytes]:
    """``n`` distinct profiles (seeds 0 to n - 1), cycled through by the writers."""
    return [profile(seed) for seed in range(n)]


def minute_partials(
    blobs: list[bytes], minutes: int, first: int = 0, writers: int = 1
) -> list[WindowPartial]:
    """``writers`` partials per minute for ``minutes`` 1-minute windows of model ``m`` v1 from
    ``T0 + first`` minutes, each of 1,000 rows."""
    return [
        WindowPartial(
            "m", "v1", T0 + i * MINUTE, T0 + (i + 1) * MINUTE, f"w{w}", blobs[(i + w) % len(blobs)], 1000
        )
        for i in range(first, first + minutes)
        for w in range(writers)
    ]
