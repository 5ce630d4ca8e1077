"""Compaction keeps merged results exact; expired batch ids are forgotten."""

from __future__ import annotations

from datetime import timedelta

from store_workers import MINUTE, T0, counts, make_profile

from mlmon.store import IngestBatch, PartialWindow, RetentionPolicy, Store, WindowPartial, apply_retention

HOUR = timedelta(hours=1)
DAY = timedelta(days=1)


def fill(store: Store, hours: int) -> None:
    store.register_version("m", "v1")
    parts = [
        WindowPartial("m", "v1", T0 + h * HOUR, T0 + (h + 1) * HOUR, f"w{w}", make_profile(h * 10 + w), 50)
        for h in range(hours)
        for w in range(2)
    ]
    # One partial straddling midnight stays as it is.
    parts.append(WindowPartial("m", "v1", T0 + DAY - MINUTE, T0 + DAY + MINUTE, "w9", make_profile(999), 7))
    store.write_partials(parts)


def test_compaction_keeps_merged_results(store: Store) -> None:
    fill(store, hours=30)  # day one (24 h) and part of day two
    day_one = store.merged_profile("m", "v1", T0, T0 + DAY)
    everything = store.merged_profile("m", "v1", T0, T0 + 3 * DAY)
    removed, written = store.compact_partials(T0 + 2 * DAY, DAY)
    assert (removed, written) == (60, 2)
    after_day_one = store.merged_profile("m", "v1", T0, T0 + DAY)
    after_all = store.merged_profile("m", "v1", T0, T0 + 3 * DAY)
    assert counts(after_day_one.profile) == counts(day_one.profile)
    assert after_day_one.rows == day_one.rows == 24 * 2 * 50
    assert (after_day_one.partials, day_one.partials) == (1, 48)
    assert counts(after_all.profile) == counts(everything.profile)
    assert after_all.rows == everything.rows
    assert after_all.partials == 3  # day one, day two, the straddler
    assert store.compact_partials(T0 + 2 * DAY, DAY) == (0, 0)


def test_compaction_respects_the_horizon(store: Store) -> None:
    fill(store, hours=24)
    assert store.compact_partials(T0 + 12 * HOUR, DAY) == (0, 0)  # the day is not over yet
    assert store.compact_partials(T0 + 12 * HOUR, HOUR * 6) == (24, 2)


def test_apply_retention_expires_batch_ids(store: Store) -> None:
    store.register_version("m", "v1")
    batch = IngestBatch("b1", "d", [PartialWindow(T0, T0 + MINUTE, make_profile(1), 50)])
    store.ingest("m", "v1", "w1", [batch])
    assert store.ingest("m", "v1", "w1", [batch]).duplicates == ["b1"]
    from datetime import datetime, timezone

    now = datetime.now(timezone.utc)
    kept = apply_retention(store, RetentionPolicy(batch_ids_for=DAY), now=now)
    assert kept.batch_ids_expired == 0
    report = apply_retention(store, RetentionPolicy(batch_ids_for=DAY), now=now + 2 * DAY)
    assert report.batch_ids_expired == 1
    assert store.ingest("m", "v1", "w1", [batch]).accepted == ["b1"]
