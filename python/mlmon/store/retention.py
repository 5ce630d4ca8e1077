"""Retention: compaction of old window partials into coarser windows, and expiry of ingested batch ids.

Compaction merges the partials of one model version that lie wholly inside one bucket of
``granularity`` (aligned to the UTC epoch, e.g. a day) into a single partial spanning from the earliest
start to the latest end of what it merged. Counts add exactly, so any range that contained all of the
merged partials merges to the same profile and row count afterwards; finer ranges inside a compacted
bucket resolve to the bucket (that is the point of compacting). Each bucket is compacted in its own
transaction, and a bucket whose rows changed underneath (a concurrent compactor) is rolled back and
skipped, so rows are never counted twice.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Protocol

import msgspec

from mlmon.exceptions import InputError, MlmonError
from mlmon.store._labels import merge_counts
from mlmon.store._sql import Row, SqlCore, Tx, chunks, insert_sql
from mlmon.store._windows import merge_profiles
from mlmon.store.names import validate_count, validate_timestamp

__all__ = ["COMPACTED_WRITER", "RetentionOps", "RetentionPolicy", "RetentionReport", "apply_retention"]

#: writer_id of the rows compaction produces.
COMPACTED_WRITER = "compacted"
_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)


@dataclass(frozen=True)
class _Compacted:
    """A table of per-window rows that continuous compaction folds into one row per key."""

    name: str
    keys: tuple[str, ...]
    blob: str
    merge: Callable[[Iterable[bytes]], bytes]


_PARTIALS = _Compacted(
    "window_partials", ("model_version_id", "window_start", "window_end"), "profile", merge_profiles
)
_PERFORMANCE = _Compacted(
    "window_performance", ("model_version_id", "kind", "window_start", "window_end"), "counts", merge_counts
)


class RetentionPolicy(msgspec.Struct, frozen=True):
    """How long raw data is kept.

    Attributes:
        compact_after: Partials that ended longer ago than this are compacted.
        granularity: Size of the coarse windows compaction produces (a divisor of a day is sensible).
        batch_ids_for: How long ingested batch ids (of clients without a producer id) are remembered
            for deduplication; a retry older than this would be counted again, so keep it well above
            the clients' retry horizon.
        producers_for: How long an idle producer's sequence state is kept (one row per producer); a
            producer silent for longer starts afresh, and its retries of older batches would count.
        predictions_for: How long a prediction waits for its label (a label arriving later is pending,
            then expires); unlabelled ones are counted as expired. The join's table holds at most
            this much sampled traffic (``MLMON_LABEL_SAMPLE``).
        pending_labels_for: How long a label waits for its prediction (a client that buffers through
            an outage sends predictions late); then it is counted as unmatched.
    """

    compact_after: timedelta = timedelta(days=2)
    granularity: timedelta = timedelta(days=1)
    batch_ids_for: timedelta = timedelta(days=7)
    producers_for: timedelta = timedelta(days=7)
    predictions_for: timedelta = timedelta(days=35)
    pending_labels_for: timedelta = timedelta(days=2)


class RetentionReport(msgspec.Struct, frozen=True):
    """What one retention pass did."""

    partials_removed: int
    partials_written: int
    batch_ids_expired: int
    producers_expired: int = 0
    predictions_expired: int = 0
    labels_expired: int = 0


class _Retains(Protocol):
    def compact_partials(self, before: datetime, granularity: timedelta) -> tuple[int, int]: ...
    def expire_batch_ids(self, before: datetime) -> int: ...
    def expire_producers(self, before: datetime) -> int: ...
    def expire_labels(self, predictions_before: datetime, labels_before: datetime) -> tuple[int, int]: ...


def apply_retention(store: _Retains, policy: RetentionPolicy, now: datetime | None = None) -> RetentionReport:
    """Runs one retention pass: compacts old partials, expires old batch ids, idle producers, and
    predictions and labels past their wait.

    Args:
        store: An open store.
        policy: The horizons.
        now: The reference time (default: the current UTC time).

    Returns:
        How many partials were removed and written, and how many batch ids expired.
    """
    at = datetime.now(timezone.utc) if now is None else validate_timestamp(now, "now")
    removed, written = store.compact_partials(at - policy.compact_after, policy.granularity)
    expired = store.expire_batch_ids(at - policy.batch_ids_for)
    producers = store.expire_producers(at - policy.producers_for)
    predictions, labels = store.expire_labels(at - policy.predictions_for, at - policy.pending_labels_for)
    return RetentionReport(
        partials_removed=removed,
        partials_written=written,
        batch_ids_expired=expired,
        producers_expired=producers,
        predictions_expired=predictions,
        labels_expired=labels,
    )


def _bucket(start: datetime, granularity: timedelta) -> tuple[datetime, datetime]:
    lo = _EPOCH + ((start - _EPOCH) // granularity) * granularity
    return lo, lo + granularity


class RetentionOps(SqlCore):
    """Compaction and expiry on the shared SQL core."""

    def compact_partials(self, before: datetime, granularity: timedelta) -> tuple[int, int]:
        """Compacts partials that ended before ``before`` into ``granularity`` buckets.

        Returns:
            ``(removed, written)`` row counts.
        """
        horizon = validate_timestamp(before, "before")
        if not isinstance(granularity, timedelta) or granularity <= timedelta(0):
            raise InputError("granularity must be a positive timedelta")

        def candidates(tx: Tx) -> list[tuple[int, int, datetime, datetime]]:
            rows = tx.all(
                "SELECT id, model_version_id, window_start, window_end FROM window_partials"
                " WHERE window_end <= ? ORDER BY model_version_id, window_start, id",
                (tx.ts(horizon),),
            )
            return [(int(r[0]), int(r[1]), tx.dt(r[2]), tx.dt(r[3])) for r in rows]

        groups: dict[tuple[int, datetime], list[int]] = {}
        for row_id, version_id, start, end in self._run(candidates, write=False):
            lo, hi = _bucket(start, granularity)
            # Only whole buckets that ended before the horizon: a bucket still filling would be compacted
            # again and again. A partial straddling two buckets stays as it is.
            if end <= hi <= horizon:
                groups.setdefault((version_id, lo), []).append(row_id)
        removed = written = 0
        for (version_id, _), ids in groups.items():
            if len(ids) < 2:
                continue
            try:
                done = self._run(functools.partial(self._compact, version_id=version_id, ids=ids), write=True)
            except _RacedError:
                done = False
            if done:
                removed += len(ids)
                written += 1
        return removed, written

    def _compact(self, tx: Tx, version_id: int, ids: Sequence[int]) -> bool:
        rows = []
        for part in chunks(ids, 500):
            marks = ", ".join("?" * len(part))
            rows += tx.all(
                "SELECT window_start, window_end, profile, row_count FROM window_partials"
                f" WHERE id IN ({marks}) ORDER BY window_start, id",
                part,
            )
        if len(rows) != len(ids):
            return False  # another compactor got here first
        profile = merge_profiles(bytes(r[2]) for r in rows)
        deleted = 0
        for part in chunks(ids, 500):
            marks = ", ".join("?" * len(part))
            deleted += tx.execute(f"DELETE FROM window_partials WHERE id IN ({marks})", part)
        if deleted != len(ids):
            # Rows vanished between our read and delete: roll back rather than count them twice.
            raise _RacedError
        tx.execute(
            "INSERT INTO window_partials (model_version_id, window_start, window_end, writer_id, profile,"
            " row_count, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
            (
                version_id,
                min(r[0] for r in rows),
                max(r[1] for r in rows),
                COMPACTED_WRITER,
                profile,
                sum(int(r[3]) for r in rows),
                tx.ts(datetime.now(timezone.utc)),
            ),
        )
        return True

    def compact_windows(self, *, max_windows: int = 256, max_rows: int = 1000) -> tuple[int, int]:
        """Merges the rows of each window that has several into one aggregate row (continuous compaction).

        Ingest appends one delta row per window per group commit (and the label join one performance row
        per window per commit); this folds them into the window's aggregate, so a window converges to one
        row however many batches it got. Reads merge whatever rows a range holds, so they are exact
        before, during and after. Safe with any number of
        compactors: rows are claimed with ``FOR UPDATE SKIP LOCKED`` on PostgreSQL (SQLite has one
        writer), merged, deleted and replaced by their sum in one transaction, so a crash leaves the rows
        as they were and no row is merged twice.

        Args:
            max_windows: Most windows merged in one transaction (bounds its length).
            max_rows: Most rows of one window merged in one pass (bounds its memory).

        Returns:
            ``(removed, written)`` row counts.
        """
        validate_count(max_windows, "max_windows")
        validate_count(max_rows, "max_rows")

        removed = written = 0
        for table in (_PARTIALS, _PERFORMANCE):
            r, w = self._compact_table(table, max_windows, max_rows)
            removed, written = removed + r, written + w
        return removed, written

    def _compact_table(self, table: _Compacted, max_windows: int, max_rows: int) -> tuple[int, int]:
        keys = ", ".join(table.keys)

        def candidates(tx: Tx) -> list[Row]:
            return tx.all(
                f"SELECT {keys} FROM {table.name} GROUP BY {keys} HAVING COUNT(*) > 1 LIMIT ?",
                (max_windows,),
            )

        windows = self._run(candidates, write=False)
        if not windows:
            return 0, 0
        merged = self._run(
            lambda tx: [self._compact_window(tx, table, window, max_rows=max_rows) for window in windows],
            write=True,
        )
        return sum(merged), sum(1 for removed in merged if removed)

    def _compact_window(self, tx: Tx, table: _Compacted, key: Row, *, max_rows: int) -> int:
        """Replaces up to ``max_rows`` unlocked rows of one window by their sum; returns how many."""
        match = " AND ".join(f"{k} = ?" for k in table.keys)
        rows = tx.all(
            f"SELECT id, {table.blob}, row_count FROM {table.name} WHERE {match}"
            " ORDER BY id LIMIT ?" + self.skip_locked,
            (*key, max_rows),
        )
        if len(rows) < 2:
            return 0
        ids = [int(r[0]) for r in rows]
        deleted = 0
        for part in chunks(ids, 500):
            marks = ", ".join("?" * len(part))
            deleted += tx.execute(f"DELETE FROM {table.name} WHERE id IN ({marks})", part)
        if deleted != len(ids):  # pragma: no cover - the rows are locked (or the writer is exclusive)
            raise _RacedError
        now = tx.ts(datetime.now(timezone.utc))
        blob = table.merge(bytes(r[1]) for r in rows)
        columns = (*table.keys, "writer_id", table.blob, "row_count", "created_at")
        values = (*key, COMPACTED_WRITER, blob, sum(int(r[2]) for r in rows), now)
        tx.execute(insert_sql(table.name, columns), values)
        return len(ids)

    def expire_batch_ids(self, before: datetime) -> int:
        """Forgets batch ids ingested before ``before``; returns how many."""
        horizon = validate_timestamp(before, "before")
        return self._run(
            lambda tx: tx.execute("DELETE FROM ingested_batches WHERE ingested_at < ?", (tx.ts(horizon),)),
            write=True,
        )


class _RacedError(MlmonError):
    """Internal: a concurrent compaction changed the rows; the transaction is rolled back."""
