"""Window partials, exactly-once ingest and merges, the same on both backends."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta

import pytest
from store_workers import MINUTE, T0, add_counts, counts, make_profile

from mlmon.exceptions import InputError
from mlmon.store import IngestBatch, NotFoundError, PartialWindow, Store, WindowPartial


@pytest.fixture
def version(store: Store) -> Store:
    store.register_version("m", "v1")
    return store


def partial(seed: int, minute: int = 0, writer: str = "w1", rows: int = 50) -> WindowPartial:
    start = T0 + minute * MINUTE
    return WindowPartial("m", "v1", start, start + MINUTE, writer, make_profile(seed, rows), rows)


def test_merge_of_a_range_is_the_sum_of_its_partials(version: Store) -> None:
    parts = [partial(seed, minute=seed % 5, writer=f"w{seed % 2}") for seed in range(10)]
    version.write_partials(parts)
    merged = version.merged_profile("m", "v1", T0, T0 + 5 * MINUTE)
    expected: dict[str, list[int]] = {}
    for p in parts:
        expected = add_counts(expected, counts(p.profile))
    assert counts(merged.profile) == expected
    assert (merged.rows, merged.partials) == (500, 10)


def test_merge_includes_only_partials_inside_the_range(version: Store) -> None:
    version.write_partials([partial(1, minute=0), partial(2, minute=1), partial(3, minute=2)])
    middle = version.merged_profile("m", "v1", T0 + MINUTE, T0 + 2 * MINUTE)
    assert counts(middle.profile) == counts(make_profile(2))
    straddling = version.merged_profile("m", "v1", T0 + MINUTE / 2, T0 + 3 * MINUTE / 2)
    assert straddling.profile is None and straddling.rows == 0 and straddling.partials == 0


def test_timestamps_in_other_zones_are_the_same_instant(version: Store) -> None:
    from datetime import timezone

    plus2 = timezone(timedelta(hours=2))
    version.write_partials([partial(1)])
    merged = version.merged_profile("m", "v1", T0.astimezone(plus2), (T0 + MINUTE).astimezone(plus2))
    assert merged.rows == 50


def test_write_partials_is_all_or_nothing(version: Store) -> None:
    bad = WindowPartial("m", "v404", T0, T0 + MINUTE, "w1", make_profile(1), 50)
    with pytest.raises(NotFoundError, match="v404"):
        version.write_partials([partial(1), bad])
    assert version.merged_profile("m", "v1", T0, T0 + MINUTE).partials == 0


@pytest.mark.parametrize(
    ("field", "kwargs"),
    [
        ("window_end", {"window_end": T0}),
        ("timezone-aware", {"window_start": datetime(2024, 3, 1)}),
        ("rows", {"rows": -1}),
        ("profile", {"profile": b""}),
        ("writer_id", {"writer_id": "w 1"}),
    ],
)
def test_bad_partials_are_refused(version: Store, field: str, kwargs: dict[str, object]) -> None:
    values: dict[str, object] = {
        "model": "m",
        "version": "v1",
        "window_start": T0,
        "window_end": T0 + MINUTE,
        "writer_id": "w1",
        "profile": make_profile(1),
        "rows": 50,
    }
    values.update(kwargs)
    with pytest.raises(InputError, match=field):
        version.write_partials([WindowPartial(**values)])  # type: ignore[arg-type]


def batch(batch_id: str, seed: int, digest: str = "d1", minute: int = 0) -> IngestBatch:
    start = T0 + minute * MINUTE
    return IngestBatch(batch_id, digest, [PartialWindow(start, start + MINUTE, make_profile(seed), 50)])


def test_ingest_counts_each_batch_id_once(version: Store) -> None:
    first = version.ingest("m", "v1", "w1", [batch("b1", 1), batch("b2", 2, minute=1), batch("b3", 3)])
    assert (first.accepted, first.duplicates, first.conflicts) == (["b1", "b2", "b3"], [], [])
    again = version.ingest("m", "v1", "w2", [batch("b1", 1), batch("b2", 99, digest="other"), batch("b4", 4)])
    assert (again.accepted, again.duplicates, again.conflicts) == (["b4"], ["b1"], ["b2"])
    merged = version.merged_profile("m", "v1", T0, T0 + 2 * MINUTE)
    expected = add_counts(
        add_counts(counts(make_profile(1)), counts(make_profile(2))), counts(make_profile(3))
    )
    assert counts(merged.profile) == add_counts(expected, counts(make_profile(4)))
    assert merged.rows == 200
    # Group commit: the batches of one call share one row per window (b1+b3 in minute 0, b2 in minute 1).
    assert merged.partials == 3


def test_ingest_repeats_inside_one_call_count_once(version: Store) -> None:
    result = version.ingest("m", "v1", "w1", [batch("b1", 1), batch("b1", 1)])
    assert (result.accepted, result.duplicates) == (["b1"], ["b1"])
    assert version.merged_profile("m", "v1", T0, T0 + MINUTE).rows == 50


def test_batch_ids_are_per_model_version(version: Store) -> None:
    version.register_version("m", "v2")
    version.ingest("m", "v1", "w1", [batch("b1", 1)])
    assert version.ingest("m", "v2", "w1", [batch("b1", 1)]).accepted == ["b1"]


def test_ingest_unknown_version_writes_nothing(version: Store) -> None:
    with pytest.raises(NotFoundError):
        version.ingest("m", "v9", "w1", [batch("b1", 1)])
    assert version.ingest("m", "v1", "w1", [batch("b1", 1)]).accepted == ["b1"]


def test_concurrent_threads_writing_one_window_sum_exactly(version: Store) -> None:
    seeds = list(range(40))
    barrier = threading.Barrier(4)

    def write(writer: int) -> None:
        barrier.wait()
        for seed in seeds[writer::4]:
            version.write_partials([partial(seed, writer=f"t{writer}")])

    with ThreadPoolExecutor(4) as pool:
        list(pool.map(write, range(4)))
    expected: dict[str, list[int]] = {}
    for seed in seeds:
        expected = add_counts(expected, counts(make_profile(seed)))
    merged = version.merged_profile("m", "v1", T0, T0 + MINUTE)
    assert counts(merged.profile) == expected
    assert merged.rows == 50 * len(seeds)


def test_concurrent_threads_ingesting_the_same_batches_count_once(version: Store) -> None:
    ids = [f"b{i}" for i in range(30)]
    barrier = threading.Barrier(3)

    def send(worker: int) -> list[str]:
        barrier.wait()
        accepted: list[str] = []
        for i in range(0, len(ids), 5):
            chunk = [batch(b, int(b[1:])) for b in ids[i : i + 5]]
            accepted += version.ingest("m", "v1", f"w{worker}", chunk).accepted
        return accepted

    with ThreadPoolExecutor(3) as pool:
        accepted = [b for result in pool.map(send, range(3)) for b in result]
    assert sorted(accepted) == sorted(ids)
    assert version.merged_profile("m", "v1", T0, T0 + MINUTE).rows == 50 * len(ids)
