"""The store side of the outputs-and-labels figures (see :mod:`mlmon.bench.labels`), per backend: what
keeping the predictions costs a group commit, the label join's three paths, and the bytes a kept
prediction and a window's performance counts take on disk.

Everything goes through the store API (``Store.ingest`` with ``IngestBatch.predictions``,
``Store.join_labels``, ``Store.performance``), with the service's counter
(:func:`mlmon.service.ingest.outputs.counter_of`). SQLite runs with ``synchronous=FULL`` (the store's
setting) and PostgreSQL on a throwaway server with ``fsync`` on (``TemporaryPostgres(durable=True)``).
"""

from __future__ import annotations

import hashlib
import sqlite3
import statistics
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

from mlmon.bench.workloads.store import T0
from mlmon.core._compat import require
from mlmon.store import (
    IngestBatch,
    LabelCounter,
    LabeledRow,
    PartialWindow,
    Prediction,
    Store,
    open_store,
)
from mlmon.store.testing import TemporaryPostgres

__all__ = ["GROUP", "Template", "commit_cost", "databases", "disk_cost", "join_cost"]

#: Batches per group commit in these figures (what the service's committer gathers under load).
GROUP = 16
_HOUR = timedelta(hours=1)
_WINDOW = (T0, T0 + _HOUR)


@dataclass(frozen=True)
class Template:
    """One ingested batch as the write path leaves it: its drift profile, its label-free counts and its
    kept predictions (their request ids are replaced per batch)."""

    profile: bytes
    rows: int
    estimate: bytes | None
    predictions: list[Prediction]
    labels: list[str]
    """A true label per kept prediction, in the same order."""


def _rid(batch: int, row: int) -> str:
    """A 36-character request id, as long as a UUID (what services usually send)."""
    return f"{batch:08x}-0000-4000-8000-{row:012x}"


def _group(t: Template, commit: int, outputs: bool, size: int = GROUP) -> list[IngestBatch]:
    """The ``commit``-th group of ``size`` batches (at most :data:`GROUP`); with ``outputs``, each keeps
    its predictions (request ids of batch ``commit * GROUP + k``) and carries its estimate."""
    out = []
    for k in range(size):
        n = commit * GROUP + k
        preds = [Prediction(_rid(n, i), p.predicted, p.scores) for i, p in enumerate(t.predictions)]
        part = PartialWindow(*_WINDOW, t.profile, t.rows, estimate=t.estimate if outputs else None)
        digest = hashlib.sha256(n.to_bytes(8, "little")).hexdigest()
        out.append(
            IngestBatch(f"b{n}", digest, [part], f"p{k}", commit, predictions=preds if outputs else [])
        )
    return out


def _labels(t: Template, batch: int, prefix: str = "") -> list[LabeledRow]:
    ids = [_rid(batch, i) for i in range(len(t.predictions))]
    return [LabeledRow(prefix + rid, label) for rid, label in zip(ids, t.labels, strict=True)]


@contextmanager
def databases(backend: str) -> Iterator[Callable[[str], str]]:
    """A factory of fresh, empty databases of ``backend`` (``sqlite`` or ``postgres``), by name.

    Raises:
        PostgresUnavailable: no PostgreSQL binaries (``postgres``).
    """
    if backend == "sqlite":
        with tempfile.TemporaryDirectory(prefix="mlmon-bench-labels-") as tmp:
            yield lambda name: f"sqlite:///{Path(tmp) / name}.db"
        return
    with TemporaryPostgres(durable=True) as server:
        yield server.create_database


def _ingest(store: Store, batches: list[IngestBatch], counter: LabelCounter) -> float:
    t0 = time.perf_counter()
    result = store.ingest("m", "v1", "w0", batches, counter)
    elapsed = time.perf_counter() - t0
    if len(result.accepted) != len(batches):
        raise RuntimeError(f"{len(result.accepted)} of {len(batches)} batches accepted")
    return elapsed


def commit_cost(
    url: Callable[[str], str], t: Template, counter: LabelCounter, commits: int, budget_s: float
) -> dict[str, Any]:
    """Group commits of :data:`GROUP` batches with their kept predictions and estimates vs the same
    groups without (a model without outputs), alternated commit by commit, each into its own store."""
    times: dict[bool, list[float]] = {False: [], True: []}
    with open_store(url("plain")) as plain, open_store(url("outputs")) as outs:
        stores = {False: plain, True: outs}
        for outputs, store in stores.items():
            store.register_version("m", "v1")
            _ingest(store, _group(t, 0, outputs), counter)  # warm-up: connections, caches
        deadline = time.monotonic() + budget_s
        for commit in range(1, commits + 1):
            if times[True] and time.monotonic() > deadline:
                break
            order = (False, True) if commit % 2 else (True, False)  # neither always goes first
            groups = {outputs: _group(t, commit, outputs) for outputs in order}
            for outputs in order:
                times[outputs].append(_ingest(stores[outputs], groups[outputs], counter))
        kept = outs.label_status("m").waiting
    if kept != (len(times[True]) + 1) * GROUP * len(t.predictions):
        raise RuntimeError(f"{kept} predictions kept after {len(times[True]) + 1} commits of {GROUP}")
    plain_s, outputs_s = statistics.median(times[False]), statistics.median(times[True])
    return {
        "group": GROUP,
        "predictions_per_batch": len(t.predictions),
        "commits": len(times[True]),
        "plain_commit_s": plain_s,
        "outputs_commit_s": outputs_s,
        "plain_batches_s": GROUP / plain_s,
        "outputs_batches_s": GROUP / outputs_s,
        "cost_ratio": outputs_s / plain_s,
    }


def _fill(store: Store, t: Template, counter: LabelCounter, batches: int, deadline: float) -> int:
    """Ingests groups with predictions until ``batches`` batches or the deadline; returns how many
    (batch ``n`` is the ``n % GROUP``-th of commit ``n // GROUP``)."""
    store.register_version("m", "v1")
    done = 0
    while done < batches and (done == 0 or time.monotonic() < deadline):
        size = min(GROUP, batches - done)
        _ingest(store, _group(t, done // GROUP, True, size), counter)
        done += GROUP
    return min(done, batches)


def _timed_join(store: Store, rows: list[LabeledRow], counter: LabelCounter, want: str) -> float:
    t0 = time.perf_counter()
    result = store.join_labels("m", rows, counter, "w0")
    elapsed = time.perf_counter() - t0
    if getattr(result, want) != len(rows):
        raise RuntimeError(f"join of {len(rows)} labels: {result!r}, expected all {want}")
    return elapsed


def join_cost(
    url: Callable[[str], str], t: Template, counter: LabelCounter, joins: int, budget_s: float
) -> dict[str, Any]:
    """``Store.join_labels`` of label batches matching kept predictions (one batch's each), a retry of
    the first (all duplicates), and batches whose predictions were never kept (all pending); then the
    size of the window's merged realized and estimate counts."""
    n = len(t.predictions)
    with open_store(url("join")) as store:
        filled = _fill(store, t, counter, joins, time.monotonic() + budget_s / 2)
        deadline = time.monotonic() + budget_s / 2
        matched = [
            _timed_join(store, _labels(t, j), counter, "matched")
            for j in range(min(joins, filled))
            if j == 0 or time.monotonic() < deadline
        ]
        retry = _timed_join(store, _labels(t, 0), counter, "duplicates")
        # Ten calls, not three: one landing on a checkpoint of the filled tables moved a median of three.
        pending = [
            _timed_join(store, _labels(t, j, prefix="x"), counter, "pending")
            for j in range(max(1, min(10, joins)))
        ]
        [window] = store.performance("m", "v1", *_WINDOW)
    return {
        "labels_per_batch": n,
        "batches": len(matched),
        "matched_join_s": statistics.median(matched),
        "matched_labels_s": n / statistics.median(matched),
        "retry_join_s": retry,
        "retry_labels_s": n / retry,
        "pending_join_s": statistics.median(pending),
        "pending_labels_s": n / statistics.median(pending),
        "realized_bytes": len(window.realized or b""),
        "realized_rows": window.labelled,
        "estimate_bytes": len(window.estimate or b""),
        "estimate_rows": window.estimated,
    }


def _sqlite_size(url: str) -> int:
    with sqlite3.connect(url.removeprefix("sqlite:///")) as conn:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        pages = conn.execute("PRAGMA page_count").fetchone()[0]
        free = conn.execute("PRAGMA freelist_count").fetchone()[0]
        page = conn.execute("PRAGMA page_size").fetchone()[0]
    return int((pages - free) * page)


def _postgres_size(url: str) -> int:
    psycopg = require("psycopg", "store-postgres")
    with psycopg.connect(url, autocommit=True) as conn:
        row = conn.execute("SELECT pg_total_relation_size('predictions')").fetchone()
    return int(row[0]) if row else 0


def disk_cost(
    url: Callable[[str], str], backend: str, t: Template, counter: LabelCounter, rows: int, budget_s: float
) -> dict[str, Any]:
    """Bytes on disk per kept prediction: the growth over ``rows`` predictions (fewer when the budget
    ends first) divided by the rows. SQLite: the used pages of the file, after the window's delta rows
    are compacted into one; PostgreSQL: ``pg_total_relation_size('predictions')`` (heap, TOAST,
    indexes)."""
    db = url("disk")
    size: Callable[[str], int] = _sqlite_size if backend == "sqlite" else _postgres_size
    with open_store(db) as store:
        before = size(db)
        batches = _fill(store, t, counter, -(-rows // len(t.predictions)), time.monotonic() + budget_s)
        while store.compact_windows() != (0, 0):
            pass
        grown = size(db) - before
    kept = batches * len(t.predictions)
    return {
        "predictions": kept,
        "request_id_chars": len(_rid(0, 0)),
        "scores_bytes": len(t.predictions[0].scores or b""),
        "bytes_per_prediction": grown / kept,
        "measured": "file pages in use" if backend == "sqlite" else "pg_total_relation_size('predictions')",
    }
