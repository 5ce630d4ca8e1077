"""Runs per-column work on a few threads when a batch is big enough to repay it.

The engine releases the GIL while it counts numeric arrays, codes and Arrow buffers, so columns convert
and count in parallel on threads. The pool is created per call rather than kept at module level: a
process that forks (prefork servers) must not inherit a pool whose threads no longer exist.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

__all__ = ["PARALLEL_MIN_VALUES", "run"]

T = TypeVar("T")

PARALLEL_MIN_VALUES = 1_000_000
"""Below this many values per batch the thread start-up costs more than the parallelism saves."""


def run(tasks: Sequence[Callable[[], T]], values: int) -> list[T]:
    """Results of ``tasks`` in order, on threads when ``values`` is large and there are several cores.

    The first exception raised by a task propagates (after the other tasks finish).
    """
    workers = min(len(tasks), os.cpu_count() or 1)
    if workers < 2 or values < PARALLEL_MIN_VALUES:
        return [task() for task in tasks]
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="mlmon") as pool:
        futures = [pool.submit(task) for task in tasks]
        return [f.result() for f in futures]
