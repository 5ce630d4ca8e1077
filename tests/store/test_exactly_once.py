"""Exactly-once with constant-size state: producer sequences (``mlmon.store._sequences``) against a
reference that remembers every committed sequence, then through ``Store.ingest`` on both backends,
across store instances (replicas) and reopenings (restarts)."""

from __future__ import annotations

import threading
from datetime import datetime, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st
from store_workers import MINUTE, T0, add_counts, counts, make_profile

from mlmon.store import IngestBatch, PartialWindow, Store, open_store
from mlmon.store._sequences import WINDOW, admit

_OTHER_T0 = datetime(2024, 3, 2, tzinfo=timezone.utc)


def _reference(committed: set[int], seq: int) -> str:
    """What a store remembering every sequence would say, within the window's rules."""
    if not committed:
        return "accepted"
    high = max(committed)
    if seq > high + WINDOW:
        return "ahead"
    if seq <= high - WINDOW:
        return "behind"
    return "duplicate" if seq in committed else "accepted"


@given(st.lists(st.integers(0, 400), max_size=300), st.integers(0, 10**12))
def test_admit_agrees_with_a_store_that_remembers_everything(seqs: list[int], base: int) -> None:
    high: int | None = None
    mask = 0
    committed: set[int] = set()
    for seq in (base + s for s in seqs):
        want = _reference(committed, seq)
        got, high, mask = admit(high, mask, seq)
        assert got == want, (seq, sorted(committed)[-5:])
        if got == "accepted":
            committed.add(seq)
        assert 0 <= mask < 1 << WINDOW


def _batch(producer: str | None, seq: int, seed: int, start: datetime = T0) -> IngestBatch:
    part = PartialWindow(window_start=start, window_end=start + MINUTE, profile=make_profile(seed), rows=50)
    key = f"{producer}.{seq}" if producer else f"b{seed}"
    sequence = seq if producer else None
    return IngestBatch(
        batch_id=key, digest=f"d{seed}", partials=[part], producer_id=producer, sequence=sequence
    )


def _counts(store: Store, start: datetime = T0) -> tuple[dict[str, list[int]], int]:
    merged = store.merged_profile("m", "v1", start, start + MINUTE)
    return counts(merged.profile), merged.rows


def _expected(*seeds: int) -> dict[str, list[int]]:
    out: dict[str, list[int]] = {}
    for seed in seeds:
        out = add_counts(out, counts(make_profile(seed)))
    return out


def test_retries_are_duplicates_and_sequences_out_of_the_window_are_refused(store: Store) -> None:
    store.register_version("m", "v1")
    first = store.ingest("m", "v1", "w", [_batch("p", 0, 0), _batch("p", 1, 1), _batch("p", 1, 1)])
    assert first.accepted == ["p.0", "p.1"] and first.duplicates == ["p.1"]
    again = store.ingest("m", "v1", "w", [_batch("p", 0, 0), _batch("p", 3, 3), _batch("p", 2, 2)])
    assert again.duplicates == ["p.0"] and again.accepted == ["p.3", "p.2"]  # reordered within the window
    gap = store.ingest("m", "v1", "w", [_batch("p", 3 + WINDOW + 1, 9)])
    assert gap.out_of_order == [f"p.{3 + WINDOW + 1}"] and gap.accepted == []
    store.ingest("m", "v1", "w", [_batch("p", 3 + WINDOW, 4)])
    late = store.ingest("m", "v1", "w", [_batch("p", 3, 5)])
    assert late.out_of_order == ["p.3"]
    assert _counts(store) == (_expected(0, 1, 2, 3, 4), 250)


def test_producers_batch_ids_and_versions_are_independent(store: Store) -> None:
    store.register_version("m", "v1")
    store.register_version("m", "v2")
    result = store.ingest("m", "v1", "w", [_batch("a", 0, 0), _batch("b", 0, 1), _batch(None, 0, 2)])
    assert sorted(result.accepted) == ["a.0", "b.0", "b2"]
    other = store.ingest("m", "v2", "w", [_batch("a", 0, 3)])
    assert other.accepted == ["a.0"]
    assert _counts(store) == (_expected(0, 1, 2), 150)


def test_state_survives_a_restart_and_is_shared_by_replicas(url: str) -> None:
    with open_store(url) as store:
        store.register_version("m", "v1")
        store.ingest("m", "v1", "w1", [_batch("p", 7, 0)])
    with open_store(url) as a, open_store(url) as b:
        assert a.ingest("m", "v1", "w1", [_batch("p", 7, 0)]).duplicates == ["p.7"]
        assert b.ingest("m", "v1", "w2", [_batch("p", 8, 1)]).accepted == ["p.8"]
        assert a.ingest("m", "v1", "w1", [_batch("p", 8, 1)]).duplicates == ["p.8"]
        assert _counts(a) == (_expected(0, 1), 100)


def test_replicas_racing_one_producer_count_each_sequence_once(url: str) -> None:
    with open_store(url) as store:
        store.register_version("m", "v1")
    stores = [open_store(url) for _ in range(4)]
    errors: list[BaseException] = []

    def send(store: Store) -> None:
        try:
            for seq in range(30):  # every replica sends every batch: three of each four are retries
                store.ingest("m", "v1", "w", [_batch("p", seq, seq)])
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=send, args=(s,)) for s in stores]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    try:
        assert errors == []
        assert _counts(stores[0]) == (_expected(*range(30)), 1500)
    finally:
        for s in stores:
            s.close()


def test_idle_producers_expire(store: Store) -> None:
    store.register_version("m", "v1")
    store.ingest("m", "v1", "w", [_batch("p", 0, 0)])
    assert store.expire_producers(datetime(2000, 1, 1, tzinfo=timezone.utc)) == 0
    assert store.expire_producers(datetime.now(timezone.utc).replace(year=2100)) == 1
    assert store.ingest("m", "v1", "w", [_batch("p", 500, 1)]).accepted == ["p.500"]  # starts afresh


@pytest.mark.parametrize(
    ("producer", "sequence", "message"),
    [
        ("p", -1, "sequence"),
        ("p", 1 << 62, "sequence"),
        ("bad id!", 0, "producer_id"),
        ("p", None, "sequence"),
    ],
)
def test_bad_producer_fields_are_refused(
    store: Store, producer: str, sequence: int | None, message: str
) -> None:
    store.register_version("m", "v1")
    part = PartialWindow(window_start=T0, window_end=T0 + MINUTE, profile=make_profile(0), rows=50)
    batch = IngestBatch(batch_id="k", digest="d", partials=[part], producer_id=producer, sequence=sequence)
    with pytest.raises(ValueError, match=message):
        store.ingest("m", "v1", "w", [batch])
