"""Timing and peak-memory helpers shared by the comparison scripts (not a test module)."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

CLEAR_REFS = Path("/proc/self/clear_refs")
STATUS = Path("/proc/self/status")


def best_of(fn: Callable[[], object], repeat: int = 5, warmup: int = 1) -> float:
    """Best wall time of ``repeat`` runs in seconds (the least noisy estimate on a shared machine)."""
    for _ in range(warmup):
        fn()
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - start)
    return best


def _status_kib(field: str) -> int:
    for line in STATUS.read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise RuntimeError(f"{field} not in /proc/self/status")


def peak_extra_mib(fn: Callable[[], object]) -> float:
    """Peak resident memory above the starting point while ``fn`` runs, in MiB.

    Linux resets the high-water mark (VmHWM) when "5" is written to /proc/self/clear_refs, so this
    sees allocations made in Rust and C as well as in Python (tracemalloc sees only Python's).
    """
    CLEAR_REFS.write_text("5")
    before = _status_kib("VmRSS")
    fn()
    return max(0, _status_kib("VmHWM") - before) / 1024
