"""A cross-process queue for SQLite writers: an exclusive ``flock`` on a sidecar file taken before
``BEGIN IMMEDIATE``.

SQLite's busy handler makes a waiting writer sleep in growing steps (up to 100 ms each) and poll, so
when two service workers commit to one file the loser often sleeps long after the lock is free: the
tail latency of every group commit grows. Waiting on the sidecar lock instead retries every
millisecond, so the next writer starts right after the previous commit. The lock only orders writers;
SQLite's own locking still guarantees correctness (tools that skip this lock stay safe). Without
``fcntl`` (Windows) this does nothing.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None  # type: ignore[assignment]

__all__ = ["writer_turn"]

_POLL_SECONDS = 0.001


@contextmanager
def writer_turn(database: Path, timeout: float) -> Iterator[None]:
    """Holds the writer lock of ``database`` (or gives up waiting after ``timeout`` seconds and lets
    SQLite's busy timeout decide).

    Args:
        database: The SQLite file; the lock file is ``<database>-writer``.
        timeout: Longest wait for the lock.
    """
    if fcntl is None:
        yield
        return
    # A descriptor per transaction: flock excludes other open files, so threads of one process queue too.
    fd = os.open(f"{database}-writer", os.O_RDWR | os.O_CREAT, 0o600)
    try:
        deadline = time.monotonic() + timeout
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    break
                time.sleep(_POLL_SECONDS)
        yield
    finally:
        os.close(fd)  # releases the lock
