"""Continuous compaction: a window converges to one row whatever the number of batches, reads are exact
before, during and after, concurrent compactors never merge a row twice, and a compactor killed with
kill -9 mid-transaction leaves rows the next pass finishes. Both backends."""

from __future__ import annotations

import multiprocessing
import os
import random
import signal
import threading
import time
from datetime import datetime

from store_workers import MINUTE, T0, add_counts, compact_forever, counts, make_profile

from mlmon.store import IngestBatch, PartialWindow, Store, open_store

_SPAWN = multiprocessing.get_context("spawn")


def _ingest(store: Store, seed: int, start: datetime = T0, writer: str = "w") -> None:
    part = PartialWindow(window_start=start, window_end=start + MINUTE, profile=make_profile(seed), rows=50)
    batch = IngestBatch(batch_id=f"b{seed}", digest="d", partials=[part], producer_id=writer, sequence=seed)
    assert store.ingest("m", "v1", writer, [batch]).accepted == [f"b{seed}"]


def _rows(store: Store) -> int:
    row = store._run(lambda tx: tx.one("SELECT COUNT(*) FROM window_partials"), write=False)  # type: ignore[attr-defined]
    return int(row[0])


def _expected(seeds: range | list[int]) -> dict[str, list[int]]:
    out: dict[str, list[int]] = {}
    for seed in seeds:
        out = add_counts(out, counts(make_profile(seed)))
    return out


def _read(store: Store, start: datetime = T0) -> tuple[dict[str, list[int]], int]:
    merged = store.merged_profile("m", "v1", start, start + MINUTE)
    return counts(merged.profile), merged.rows


def test_each_window_converges_to_one_row_and_reads_do_not_change(store: Store) -> None:
    store.register_version("m", "v1")
    for seed in range(30):
        _ingest(store, seed, T0 if seed % 3 else T0 + MINUTE)
    before = (_read(store), _read(store, T0 + MINUTE))
    assert _rows(store) == 30
    assert store.compact_windows() == (30, 2)
    assert _rows(store) == 2
    assert (_read(store), _read(store, T0 + MINUTE)) == before
    assert store.compact_windows() == (0, 0)  # nothing left to do
    _ingest(store, 40)
    assert store.compact_windows() == (2, 1) and _rows(store) == 2
    assert _read(store) == (add_counts(before[0][0], counts(make_profile(40))), before[0][1] + 50)


def test_bounded_passes_still_converge(store: Store) -> None:
    store.register_version("m", "v1")
    for seed in range(20):
        _ingest(store, seed)
    while store.compact_windows(max_windows=1, max_rows=3) != (0, 0):
        pass
    assert _rows(store) == 1 and _read(store) == (_expected(range(20)), 1000)


def test_compactors_writers_and_readers_at_once(url: str) -> None:
    with open_store(url) as setup:
        setup.register_version("m", "v1")
    stop = threading.Event()
    acked: list[int] = []
    problems: list[str] = []

    def write(offset: int) -> None:
        with open_store(url) as store:
            for seed in range(offset, offset + 60, 2):
                _ingest(store, seed, writer=f"w{offset}")
                acked.append(seed)

    def compact() -> None:
        with open_store(url) as store:
            while not stop.is_set():
                store.compact_windows(max_windows=2, max_rows=5)

    def read() -> None:
        with open_store(url) as store:
            while not stop.is_set():
                low = 50 * len(acked)
                rows = _read(store)[1]
                high = 50 * (len(acked) + 2)  # at most one batch in flight per writer
                if not low <= rows <= high:
                    problems.append(f"read {rows} rows with {low}..{high} acknowledged")

    workers = [threading.Thread(target=f) for f in (compact, compact, read)]
    writers = [threading.Thread(target=write, args=(o,)) for o in (0, 1)]
    for t in workers + writers:
        t.start()
    for t in writers:
        t.join(timeout=120)
    stop.set()
    for t in workers:
        t.join(timeout=60)
    with open_store(url) as store:
        store.compact_windows()
        assert problems == []
        assert _read(store) == (_expected(sorted(acked)), 50 * 60)
        assert _rows(store) == 1


def test_compactor_killed_mid_transaction_loses_and_doubles_nothing(url: str) -> None:
    with open_store(url) as store:
        store.register_version("m", "v1")
        seeds = iter(range(10_000))
        written: list[int] = []
        rng = random.Random(0)
        for _ in range(3):
            child = _SPAWN.Process(target=compact_forever, args=(url, 60.0))
            child.start()
            # Ingest while the child starts; once it has merged rows, go on a random while and kill it.
            rows_before, written_before = _rows(store), len(written)
            started, kill_at = time.monotonic(), None
            while kill_at is None or time.monotonic() < kill_at:
                assert time.monotonic() - started < 60, "the child never compacted: the test proves nothing"
                seed = next(seeds)
                _ingest(store, seed)
                written.append(seed)
                merged = _rows(store) < rows_before + len(written) - written_before
                if kill_at is None and merged:
                    kill_at = time.monotonic() + rng.uniform(0.2, 1.0)
            assert child.pid is not None
            os.kill(child.pid, signal.SIGKILL)
            child.join(timeout=30)
            assert _read(store) == (_expected(written), 50 * len(written))
        while store.compact_windows() != (0, 0):
            pass
        assert _rows(store) == 1 and _read(store) == (_expected(written), 50 * len(written))
