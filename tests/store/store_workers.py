"""Profile factories and process entry points shared by the store tests (importable by spawned
children, which is why they live in a module rather than a test file)."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any

import numpy as np

from mlmon._engine import BinEdges, CategoryCounts, NumericHistogram, decode_profile, encode_profile
from mlmon.store import WindowPartial, open_store

T0 = datetime(2024, 3, 1, tzinfo=timezone.utc)
MINUTE = timedelta(minutes=1)
_CUTS = [0.2, 0.4, 0.6, 0.8]
_CATEGORIES = np.array(["a", "b", "c"], dtype=object)


def make_profile(seed: int, rows: int = 50) -> bytes:
    """A two-feature profile (numerical ``x``, categorical ``c``) of ``rows`` random values."""
    rng = np.random.default_rng(seed)
    hist = NumericHistogram(BinEdges.explicit(_CUTS))
    hist.update(rng.random(rows))
    cats = CategoryCounts.fit(_CATEGORIES).empty_like()
    cats.update(rng.choice(np.array(["a", "b", "c", "zz"], dtype=object), rows))
    return encode_profile([("x", hist), ("c", cats)])


def counts(profile: bytes | None) -> dict[str, list[int]]:
    """Per feature: bin or category counts plus the total, comparable with ``==``."""
    if profile is None:
        return {}
    out = {}
    for name, part in decode_profile(profile):
        dist = part.counts if isinstance(part, NumericHistogram) else part.distribution
        out[name] = [int(v) for v in dist] + [part.total]
    return out


def add_counts(a: dict[str, list[int]], b: dict[str, list[int]]) -> dict[str, list[int]]:
    """Feature-wise sum of two :func:`counts` results."""
    out = {k: list(v) for k, v in a.items()}
    for k, v in b.items():
        out[k] = [x + y for x, y in zip(out[k], v, strict=True)] if k in out else list(v)
    return out


def write_partials_process(url: str, writer: str, seeds: list[int]) -> int:
    """Writes one partial per seed into window T0 of model ``m`` version ``v1``; returns rows written."""
    with open_store(url, upgrade=False) as store:
        for seed in seeds:
            profile = make_profile(seed)
            store.write_partials([WindowPartial("m", "v1", T0, T0 + MINUTE, writer, profile, 50)])
    return 50 * len(seeds)


def promote_process(url: str, version: str, rounds: int) -> None:
    """Promotes ``version`` of model ``m`` ``rounds`` times."""
    with open_store(url, upgrade=False) as store:
        for _ in range(rounds):
            store.promote("m", version)


def compact_forever(url: str, seconds: float) -> None:
    """Compacts windows in a loop for ``seconds`` (a child the tests kill -9 mid-transaction)."""
    import time

    deadline = time.monotonic() + seconds
    with open_store(url, upgrade=False) as store:
        while time.monotonic() < deadline:
            store.compact_windows(max_windows=4, max_rows=8)


LABEL_CLASSES = ["no", "yes"]


def label_counter(version: str, rows: Any) -> tuple[bytes, int]:
    """A counter as the service's: class indices to ClassificationCounts of ``LABEL_CLASSES``."""
    from mlmon.performance import ClassificationCounts, encode

    c = ClassificationCounts(LABEL_CLASSES, bins=10)
    c.update([r.label for r in rows], [LABEL_CLASSES[int(r.predicted)] for r in rows])
    return encode(c), len(rows)


def label_of(i: int) -> str:
    """The true label of request ``r<i>`` in the label tests (predictions are ``i % 2``)."""
    return LABEL_CLASSES[(i // 3) % 2]


def join_labels_forever(url: str, n: int, batch: int) -> None:
    """Sends the labels of requests ``r0 .. r<n-1>`` in batches, over and over (a feedback job the tests
    kill -9 mid-transaction)."""
    from mlmon.store import LabeledRow

    with open_store(url, upgrade=False) as store:
        while True:
            for start in range(0, n, batch):
                rows = [LabeledRow(f"r{i}", label_of(i)) for i in range(start, min(n, start + batch))]
                store.join_labels("m", rows, label_counter, "child")
