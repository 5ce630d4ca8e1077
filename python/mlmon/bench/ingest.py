"""Store-only ingest throughput: group commits of 25-feature deltas through ``Store.ingest``, on SQLite and
PostgreSQL, in batches per second, and what one compaction pass then costs.

Each commit is what the service's group committer sends for one model: ``group`` batches (default 256) of
one 1,000-row partial each, all in one hourly window, keyed by producer id + sequence (``keys="producer"``,
8 producers) or by batch id (``keys="batch_id"``, the path of clients without a producer id, and the only
one before issue 16, so an older checkout can run this too). Inside each commit the store merges the
group's partials into one delta row per window; the share of the commit spent merging is measured
beside it (the same group merged in-process just before each commit, no database), so the report can
say how much a faster merge would buy. PostgreSQL runs on a throwaway server with ``fsync`` on
(``TemporaryPostgres(durable=True)``, as in production); SQLite with ``synchronous=FULL``.
"""

from __future__ import annotations

import hashlib
import statistics
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path
from typing import Any, Literal

from mlmon.bench.workloads.store import T0, profiles
from mlmon.store import IngestBatch, PartialWindow, Store, open_store
from mlmon.store._windows import merge_profiles
from mlmon.store.testing import TemporaryPostgres

__all__ = ["Keys", "backend_url", "batches", "store_ingest"]

Keys = Literal["producer", "batch_id"]
PRODUCERS = 8
_HOUR = timedelta(hours=1)


def batches(blobs: list[bytes], commit: int, group: int, keys: Keys) -> list[IngestBatch]:
    """The ``commit``-th group: ``group`` batches of one 1,000-row partial in the first hourly window.

    With producer keys, batch ``i`` of the run is sequence ``i // PRODUCERS`` of producer
    ``i % PRODUCERS``: each producer's sequences rise by one per batch, as ``DriftClient`` sends them.
    """
    out = []
    for k in range(group):
        i = commit * group + k
        partial = PartialWindow(T0, T0 + _HOUR, blobs[i % len(blobs)], 1000)
        digest = hashlib.sha256(i.to_bytes(8, "little")).hexdigest()
        if keys == "producer":
            out.append(IngestBatch(f"b{i}", digest, [partial], f"p{i % PRODUCERS}", i // PRODUCERS))
        else:
            out.append(IngestBatch(f"b{i}", digest, [partial]))
    return out


@contextmanager
def backend_url(backend: str, name: str) -> Iterator[str]:
    """A fresh, empty database of ``backend`` (``sqlite`` or ``postgres``) for one measurement."""
    if backend == "sqlite":
        with tempfile.TemporaryDirectory(prefix="mlmon-bench-ingest-") as tmp:
            yield f"sqlite:///{Path(tmp) / name}.db"
        return

    with TemporaryPostgres(durable=True) as server:
        yield server.create_database(name)


def _rows(store: Store) -> int:
    run: Callable[..., Any] = store._run  # type: ignore[attr-defined]  # the bench reads the table directly
    row = run(lambda tx: tx.one("SELECT COUNT(*) FROM window_partials"), write=False)
    return int(row[0])


def _timed_commits(
    store: Store, blobs: list[bytes], group: int, keys: Keys, commits: int, budget_s: float
) -> tuple[list[float], list[float]]:
    """Times each commit, and just before it the in-process merge of the same group (so the two share
    the machine's state: a busy moment slows both); returns ``(commit times, merge times)``."""
    store.ingest("m", "v1", "w0", batches(blobs, 0, group, keys))  # warm-up: connections, caches
    deadline = time.monotonic() + budget_s
    times: list[float] = []
    merges: list[float] = []
    for commit in range(1, commits + 1):
        if times and time.monotonic() > deadline:
            break
        group_batches = batches(blobs, commit, group, keys)
        t0 = time.perf_counter()
        merge_profiles(p.profile for b in group_batches for p in b.partials)
        t1 = time.perf_counter()
        result = store.ingest("m", "v1", "w0", group_batches)
        times.append(time.perf_counter() - t1)
        merges.append(t1 - t0)
        if len(result.accepted) != group:
            raise RuntimeError(f"commit {commit}: {len(result.accepted)} of {group} batches accepted")
    return times, merges


def store_ingest(
    backend: str, *, group: int = 256, commits: int = 40, keys: Keys = "producer", budget_s: float = 30.0
) -> dict[str, Any]:
    """Batches per second of group commits through ``Store.ingest`` on an empty ``backend`` store, then one
    ``compact_windows`` pass over the delta rows they left.

    Args:
        backend: ``sqlite`` or ``postgres``.
        group: Batches per ``Store.ingest`` call (the service's ``max_batches`` is 256).
        commits: Timed commits at most (after one untimed warm-up).
        keys: Exactly-once key of the batches.
        budget_s: No commit starts after this many seconds of timed commits (at least one runs).

    Returns:
        ``batches_s`` (from the median commit), ``commit_median_s``/``commit_min_s``, ``merge_s`` (the
        median in-process merge of a group, timed beside each commit) and its share of the median
        commit, the delta rows written, and the compaction pass: ``compact_s`` and
        ``rows_after_compaction`` (1: the window's aggregate).
    """
    blobs = profiles(16)
    with backend_url(backend, "ingest") as url, open_store(url) as store:
        store.register_version("m", "v1")
        times, merges = _timed_commits(store, blobs, group, keys, commits, budget_s)
        deltas = _rows(store)
        t0 = time.perf_counter()
        removed = 0
        while True:
            done = store.compact_windows()
            if done == (0, 0):
                break
            removed += done[0]
        compact_s = time.perf_counter() - t0
        after = _rows(store)
        total = store.merged_profile("m", "v1", T0, T0 + _HOUR).rows
    median = statistics.median(times)
    merge_s = statistics.median(merges)
    expected = 1000 * group * (len(times) + 1)
    if total != expected:
        raise RuntimeError(f"the window holds {total} rows after compaction, expected {expected}")
    return {
        "backend": backend,
        "keys": keys,
        "group": group,
        "features": 25,
        "commits": len(times),
        "batches_s": group / median,
        "batches_s_best": group / min(times),
        "commit_median_s": median,
        "commit_min_s": min(times),
        "merge_s": merge_s,
        "merge_share": merge_s / median,
        "delta_rows": deltas,
        "compact_s": compact_s,
        "compacted_rows": removed,
        "rows_after_compaction": after,
    }
