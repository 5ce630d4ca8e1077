"""Continuous window compaction in the service: every ``compact_interval_seconds`` each worker folds the
delta rows that ingest appended into one aggregate row per window (``Store.compact_windows``), so the
store grows with windows and producers, not with batches.

Every worker and replica runs one; the store makes that safe (rows are claimed with ``SKIP LOCKED`` on
PostgreSQL and merged, deleted and replaced in one transaction), and reads are exact whether a window's
deltas were compacted yet or not. A failed pass (a store outage) is logged and the next one retries.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

import anyio.to_thread

from mlmon.store import Store

__all__ = ["Compactor"]

_log = logging.getLogger("mlmon.service.compactor")


class Compactor:
    """Runs ``store.compact_windows`` periodically on a worker thread.

    Args:
        store: The store.
        interval: Seconds between passes; 0 never compacts.
        on_pass: Called with ``(rows removed, rows written)`` after each pass that merged something.
    """

    def __init__(
        self, store: Store, interval: float, on_pass: Callable[[int, int], None] | None = None
    ) -> None:
        self._store = store
        self._interval = interval
        self._on_pass = on_pass
        self._task: asyncio.Task[None] | None = None
        self._stopping = asyncio.Event()

    def start(self) -> None:
        """Starts the periodic pass on the running loop (not when the interval is 0)."""
        if self._interval > 0:
            self._task = asyncio.get_running_loop().create_task(self._loop(), name="mlmon-compactor")

    async def stop(self) -> None:
        """Ends the loop after the pass in progress, if any (a transaction is never abandoned)."""
        self._stopping.set()
        if self._task is not None:
            await self._task
            self._task = None

    async def run_once(self) -> tuple[int, int]:
        """One full pass: compacts until no window has more than one row (bounded per transaction)."""
        removed = written = 0
        while not self._stopping.is_set():
            done = await anyio.to_thread.run_sync(self._store.compact_windows)
            if done == (0, 0):
                break
            removed, written = removed + done[0], written + done[1]
        if removed and self._on_pass is not None:
            self._on_pass(removed, written)
        return removed, written

    async def _loop(self) -> None:
        while not self._stopping.is_set():
            try:
                await asyncio.wait_for(self._stopping.wait(), timeout=self._interval)
                return
            except TimeoutError:
                pass
            try:
                await self.run_once()
            except Exception:  # an outage must not end compaction for the worker's life
                _log.warning("window compaction failed", exc_info=True)
