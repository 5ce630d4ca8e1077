"""The label join: predictions kept at ingest, labels joined exactly once by request id (before or after
their prediction), performance counts per window merged on read, expiry counted."""

from __future__ import annotations

import threading
from collections.abc import Sequence
from datetime import timedelta

import numpy as np
import pytest
from store_workers import MINUTE, T0, make_profile

from mlmon.exceptions import InputError
from mlmon.performance import ClassificationCounts, ConfidenceCounts, decode, encode
from mlmon.store import (
    IngestBatch,
    Joined,
    LabeledRow,
    PartialWindow,
    Prediction,
    RetentionPolicy,
    Store,
    apply_retention,
)
from mlmon.store._labels import merge_counts

CLASSES = ["no", "yes"]
W1 = (T0, T0 + MINUTE)
W2 = (T0 + MINUTE, T0 + 2 * MINUTE)


def counter(version: str, rows: Sequence[Joined]) -> tuple[bytes, int]:
    """What the service's counter does: class indices and float64 scores to ClassificationCounts."""
    assert version == "v1"
    c = ClassificationCounts(CLASSES, bins=10)
    for r in rows:
        if r.label not in CLASSES:
            raise InputError(f"label {r.label!r} is not a class")
    proba = np.array([np.frombuffer(r.scores or b"", dtype="<f8") for r in rows])
    c.update([r.label for r in rows], [CLASSES[int(r.predicted)] for r in rows], proba)
    return encode(c), len(rows)


def prediction(rid: str, p_yes: float) -> Prediction:
    return Prediction(rid, float(p_yes >= 0.5), np.array([1 - p_yes, p_yes], dtype="<f8").tobytes())


def batch(key: str, window: tuple, preds: list[Prediction], estimate: bytes | None = None) -> IngestBatch:
    part = PartialWindow(window[0], window[1], make_profile(len(key)), len(preds) or 1, estimate=estimate)
    return IngestBatch(batch_id=key, digest=key, partials=[part], predictions=preds)


def realized(store: Store, start=T0, end=T0 + 10 * MINUTE) -> dict:
    out = {}
    for w in store.performance("m", "v1", start, end):
        if w.realized is not None:
            out[w.window_start] = decode(w.realized)
    return out


def test_labels_join_their_predictions_once(store: Store) -> None:
    store.register_version("m", "v1")
    preds = [prediction(f"r{i}", p) for i, p in enumerate([0.9, 0.2, 0.7, 0.4])]
    store.ingest("m", "v1", "w", [batch("b1", W1, preds)], counter)
    labels = [LabeledRow("r0", "yes"), LabeledRow("r1", "yes"), LabeledRow("r2", "no")]
    res = store.join_labels("m", labels, counter, "w")
    assert (res.matched, res.duplicates, res.conflicts, res.pending) == (3, 0, 0, 0)
    again = store.join_labels("m", [*labels, LabeledRow("r0", "no")], counter, "w")
    assert (again.matched, again.duplicates, again.conflicts, again.pending) == (0, 3, 1, 0)
    counts = realized(store)[T0]
    want = ClassificationCounts(CLASSES, bins=10)
    want.update(["yes", "yes", "no"], ["yes", "no", "yes"], [[1 - p, p] for p in (0.9, 0.2, 0.7)])
    assert (counts.confusion == want.confusion).all()
    assert counts.metrics() == want.metrics()
    status = store.label_status("m")
    assert (status.waiting, status.labelled, status.pending) == (1, 3, 0)


def test_a_label_before_its_prediction_waits_and_joins_at_ingest(store: Store) -> None:
    store.register_version("m", "v1")
    res = store.join_labels("m", [LabeledRow("late", "yes"), LabeledRow("late", "yes")], counter, "w")
    assert (res.matched, res.pending, res.duplicates) == (0, 1, 1)
    assert store.join_labels("m", [LabeledRow("late", "no")], counter, "w").conflicts == 1
    assert store.label_status("m").pending == 1
    store.ingest("m", "v1", "w", [batch("b1", W2, [prediction("late", 0.8), prediction("x", 0.1)])], counter)
    counts = realized(store)[W2[0]]
    assert counts.confusion.tolist() == [[0, 0], [0, 1]]
    status = store.label_status("m")
    assert (status.waiting, status.labelled, status.pending) == (1, 1, 0)
    # The retried ingest is a duplicate: nothing is kept or joined twice.
    store.ingest("m", "v1", "w", [batch("b1", W2, [prediction("late", 0.8)])], counter)
    assert realized(store)[W2[0]].confusion.sum() == 1


def test_windows_merge_across_commits_and_estimates_are_kept(store: Store) -> None:
    store.register_version("m", "v1")
    est = ConfidenceCounts(2, 10)
    est.update([[0.1, 0.9], [0.6, 0.4]])
    store.ingest("m", "v1", "w", [batch("b1", W1, [prediction("a", 0.9)], encode(est))], counter)
    store.ingest("m", "v1", "w2", [batch("b2", W1, [prediction("b", 0.3)], encode(est))], counter)
    store.join_labels("m", [LabeledRow("a", "yes")], counter, "w")
    store.join_labels("m", [LabeledRow("b", "yes")], counter, "w2")
    [window] = store.performance("m", "v1", T0, T0 + MINUTE)
    assert (window.labelled, window.estimated) == (2, 2)
    assert decode(window.realized).confusion.tolist() == [[0, 0], [1, 1]]
    merged = decode(window.estimate)
    assert merged.top.sum() == 4
    assert store.performance("m", "v1", T0 + MINUTE, T0 + 2 * MINUTE) == []


def test_a_label_the_version_cannot_count_rolls_the_call_back(store: Store) -> None:
    store.register_version("m", "v1")
    store.ingest("m", "v1", "w", [batch("b1", W1, [prediction("a", 0.9), prediction("b", 0.9)])], counter)
    with pytest.raises(InputError, match="maybe"):
        store.join_labels("m", [LabeledRow("a", "yes"), LabeledRow("b", "maybe")], counter, "w")
    assert store.label_status("m").labelled == 0
    assert store.join_labels("m", [LabeledRow("a", "yes")], counter, "w").matched == 1


def test_bad_request_ids_are_refused(store: Store) -> None:
    store.register_version("m", "v1")
    with pytest.raises(InputError, match="request_id"):
        store.join_labels("m", [LabeledRow("", "yes")], counter, "w")
    with pytest.raises(InputError, match="request_id"):
        store.ingest("m", "v1", "w", [batch("b1", W1, [prediction("x" * 129, 0.5)])], counter)
    assert store.label_versions("m", ["nothing"]) == []


def test_expiry_counts_what_never_joined(store: Store) -> None:
    store.register_version("m", "v1")
    store.ingest("m", "v1", "w", [batch("b1", W1, [prediction("a", 0.9), prediction("b", 0.9)])], counter)
    store.join_labels("m", [LabeledRow("a", "yes"), LabeledRow("orphan", "no")], counter, "w")
    assert store.label_versions("m", ["a", "b", "orphan"]) == ["v1"]
    later = T0.now(T0.tzinfo) + timedelta(days=40)
    report = apply_retention(store, RetentionPolicy(), now=later)
    assert (report.predictions_expired, report.labels_expired) == (2, 1)
    status = store.label_status("m")
    assert (status.waiting, status.labelled, status.pending) == (0, 0, 0)
    assert (status.expired_predictions, status.expired_labels) == (1, 1)
    # The window's counts stay: expiry forgets rows, not what they counted.
    assert realized(store)[T0].confusion.sum() == 1


def test_concurrent_label_batches_count_each_id_once(store: Store) -> None:
    store.register_version("m", "v1")
    ids = [f"r{i}" for i in range(200)]
    store.ingest("m", "v1", "w", [batch("b1", W1, [prediction(r, 0.7) for r in ids])], counter)
    results = []

    def send(seed: int) -> None:
        order = list(np.random.default_rng(seed).permutation(ids))
        results.append(store.join_labels("m", [LabeledRow(r, "yes") for r in order], counter, "w"))

    threads = [threading.Thread(target=send, args=(s,)) for s in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sum(r.matched for r in results) == 200
    assert sum(r.duplicates for r in results) == 600
    assert realized(store)[T0].confusion.sum() == 200


def test_merge_counts_refuses_mixed_kinds() -> None:
    est = encode(ConfidenceCounts(2, 10))
    cls = encode(ClassificationCounts(CLASSES, bins=10))
    with pytest.raises(Exception, match="different kinds"):
        merge_counts([est, cls])


def test_a_label_job_killed_mid_transaction_loses_and_doubles_nothing(url: str) -> None:
    import multiprocessing
    import os
    import random
    import signal
    import time

    from store_workers import join_labels_forever, label_counter, label_of

    from mlmon.store import open_store

    n = 3000
    with open_store(url) as store:
        store.register_version("m", "v1")
        preds = [Prediction(f"r{i}", float(i % 2)) for i in range(n)]
        store.ingest("m", "v1", "w", [batch("b1", W1, preds)], label_counter)
        rng = random.Random(1)
        for _ in range(3):
            child = multiprocessing.get_context("spawn").Process(
                target=join_labels_forever, args=(url, n, 50)
            )
            child.start()
            started = time.monotonic()
            while store.label_status("m").labelled == 0:  # wait until the child is joining
                assert time.monotonic() - started < 60, "the child never joined a label"
                time.sleep(0.01)
            time.sleep(rng.uniform(0.0, 0.3))
            assert child.pid is not None
            os.kill(child.pid, signal.SIGKILL)
            child.join(timeout=30)
            status = store.label_status("m")
            counted = store.performance("m", "v1", T0, T0 + MINUTE)
            labelled = sum(w.labelled for w in counted)
            assert labelled == status.labelled  # every joined row counted, none twice
        rows = [LabeledRow(f"r{i}", label_of(i)) for i in range(n)]
        store.join_labels("m", rows, label_counter, "w")  # the job's rerun finishes the rest
        [window] = store.performance("m", "v1", T0, T0 + MINUTE)
        assert window.labelled == n and store.label_status("m").labelled == n
        want = ClassificationCounts(CLASSES, bins=10)
        want.update([label_of(i) for i in range(n)], [CLASSES[i % 2] for i in range(n)])
        assert (decode(window.realized).confusion == want.confusion).all()


def test_compaction_folds_a_windows_performance_rows_and_reads_stay_exact(store: Store) -> None:
    store.register_version("m", "v1")
    est = ConfidenceCounts(2, 10)
    est.update([[0.2, 0.8]])
    for i in range(6):
        preds = [prediction(f"r{i}", 0.8)]
        store.ingest("m", "v1", f"w{i % 2}", [batch(f"b{i}", W1, preds, encode(est))], counter)
        store.join_labels("m", [LabeledRow(f"r{i}", "yes" if i % 3 else "no")], counter, f"w{i % 2}")
    before = store.performance("m", "v1", T0, T0 + MINUTE)

    def rows() -> int:
        found = store._run(lambda tx: tx.one("SELECT COUNT(*) FROM window_performance"), write=False)  # type: ignore[attr-defined]
        return int(found[0])

    assert rows() == 12
    removed, written = store.compact_windows()
    assert rows() == 2 and written >= 2 and removed >= 12
    after = store.performance("m", "v1", T0, T0 + MINUTE)
    assert (
        [(w.labelled, w.estimated) for w in after] == [(w.labelled, w.estimated) for w in before] == [(6, 6)]
    )
    assert decode(after[0].realized).metrics() == decode(before[0].realized).metrics()
    assert (decode(after[0].estimate).top == decode(before[0].estimate).top).all()


def test_a_waiting_label_the_version_cannot_count_never_costs_the_batch(store: Store) -> None:
    store.register_version("m", "v1")
    assert store.join_labels("m", [LabeledRow("odd", "maybe")], counter, "w").pending == 1
    res = store.ingest(
        "m", "v1", "w", [batch("b1", W1, [prediction("odd", 0.9), prediction("x", 0.2)])], counter
    )
    assert res.accepted == ["b1"]  # counted; the label keeps waiting
    status = store.label_status("m")
    assert (status.waiting, status.pending) == (2, 1)
    assert store.merged_profile("m", "v1", T0, T0 + MINUTE).rows == 2
