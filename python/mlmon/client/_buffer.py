"""The bounded buffer between the caller and the sender: open rows, sealed batches, drop accounting.

The caller's side (:meth:`Buffer.add_row`, :meth:`Buffer.add_columns`) takes one uncontended lock and
appends; when the open rows reach the batch size it moves them into the queue of sealed batches (an O(1)
swap: no encoding on the caller's thread). The queue holds at most ``max_rows`` rows; sealing past that
drops the OLDEST waiting batches and counts them, so memory stays bounded while the service is away and
the newest data wins.
The batch being sent is outside the queue (at most one more batch), so a drop never races a delivery.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

from mlmon.client._columns import Columns, Kind, concat_columns, encode_body, rows_to_columns, slice_columns

__all__ = ["Batch", "Buffer"]


@dataclass(slots=True)
class Batch:
    """A sealed batch: its id, its rows and column chunks, and, once first sent, its producer sequence
    number and encoded body (both kept across retries)."""

    n: int
    first_seen: float
    rows: list[Mapping[str, Any]] | None = None
    chunks: list[tuple[Columns, int]] | None = None
    batch_id: str = field(default_factory=lambda: uuid.uuid4().hex)
    body: bytes | None = None
    sequence: int | None = None
    attempts: int = 0

    def encode(
        self, version: str | None, kinds: Mapping[str, Kind], producer_id: str, sequence: Callable[[], int]
    ) -> bytes:
        """The msgpack body, built on first use and kept: every retry sends the same bytes, producer id
        and sequence number. The number is taken here, at the first send, so batches dropped from a
        full buffer never leave a gap in the producer's sequence.

        Raises:
            MlmonError: a value that cannot be encoded (the batch is then rejected, not retried).
        """
        if self.body is None:
            parts = list(self.chunks or [])
            if self.rows:
                parts.insert(0, (rows_to_columns(self.rows, kinds), len(self.rows)))
            cols = parts[0][0] if len(parts) == 1 else concat_columns(parts)
            sent_at = datetime.fromtimestamp(self.first_seen, timezone.utc)
            self.sequence = sequence()
            self.body = encode_body(producer_id, self.sequence, version, sent_at, cols)
            self.rows = self.chunks = None  # the body is all a retry needs
        return self.body


class Buffer:
    """Open rows plus a bounded queue of sealed batches.

    Args:
        batch_rows: Rows per batch (the size trigger).
        max_rows: Most rows waiting in sealed batches; beyond it the oldest batches are dropped.
        wake: Called (outside the lock) when a batch is sealed, to wake the sender.
        on_drop: Called with each dropped batch (under the lock: must be quick).
    """

    def __init__(
        self, batch_rows: int, max_rows: int, wake: Callable[[], None], on_drop: Callable[[Batch], None]
    ) -> None:
        self._batch_rows = batch_rows
        self._max_rows = max_rows
        self._wake = wake
        self._on_drop = on_drop
        self._lock = threading.Lock()
        self._rows: list[Mapping[str, Any]] = []
        self._chunks: list[tuple[Columns, int]] = []
        self._chunk_rows = 0
        self._first_wall = 0.0
        self._first_mono = 0.0
        self._queue: deque[Batch] = deque()
        self._queued_rows = 0

    def add_row(self, row: Mapping[str, Any]) -> None:
        """Appends one row (the caller's hot path: a lock, an append, a length check)."""
        with self._lock:
            rows = self._rows
            if not rows and not self._chunks:
                self._first_mono = time.monotonic()
                self._first_wall = time.time()
            rows.append(row)
            if len(rows) + self._chunk_rows < self._batch_rows:
                return
            self._seal_locked()
        self._wake()

    def add_columns(self, cols: Columns, n: int) -> None:
        """Adds a column batch to the open rows, sealing each time ``batch_rows`` is reached, so many
        small batches (one per request) still leave as few large ones."""
        sealed = False
        with self._lock:
            start = 0
            while start < n:
                if not self._rows and not self._chunks:
                    self._first_mono = time.monotonic()
                    self._first_wall = time.time()
                room = self._batch_rows - len(self._rows) - self._chunk_rows
                stop = min(n, start + room)
                part = cols if (start, stop) == (0, n) else slice_columns(cols, start, stop)
                self._chunks.append((part, stop - start))
                self._chunk_rows += stop - start
                start = stop
                if len(self._rows) + self._chunk_rows >= self._batch_rows:
                    self._seal_locked()
                    sealed = True
        if sealed:
            self._wake()

    def seal_due(self, max_age: float) -> float:
        """Seals the open rows when the oldest is ``max_age`` seconds old.

        Returns:
            Seconds until the open rows are due (``max_age`` when there are none).
        """
        with self._lock:
            if not self._rows and not self._chunks:
                return max_age
            wait = self._first_mono + max_age - time.monotonic()
            if wait > 0:
                return wait
            self._seal_locked()
            return max_age

    def seal(self) -> None:
        """Seals the open rows now (on close)."""
        with self._lock:
            if self._rows or self._chunks:
                self._seal_locked()

    def pop(self) -> Batch | None:
        """The oldest sealed batch, taken out of the queue (the sender owns it from here)."""
        with self._lock:
            if not self._queue:
                return None
            batch = self._queue.popleft()
            self._queued_rows -= batch.n
            return batch

    @property
    def buffered(self) -> int:
        """Rows held: open rows plus rows in sealed batches waiting to be sent."""
        with self._lock:
            return len(self._rows) + self._chunk_rows + self._queued_rows

    def _seal_locked(self) -> None:
        rows, self._rows = self._rows, []
        chunks, self._chunks = self._chunks, []
        n = len(rows) + self._chunk_rows
        self._chunk_rows = 0
        self._push_locked(Batch(n, self._first_wall, rows=rows, chunks=chunks))

    def _push_locked(self, batch: Batch) -> None:
        while self._queue and self._queued_rows + batch.n > self._max_rows:
            old = self._queue.popleft()
            self._queued_rows -= old.n
            self._on_drop(old)
        self._queue.append(batch)
        self._queued_rows += batch.n
