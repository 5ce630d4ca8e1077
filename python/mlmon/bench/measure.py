"""Time and peak memory of one job in this process, and running measurement children.

Peak memory is the resident high-water mark (VmHWM) above the resident size when the job starts:
Linux resets the mark when "5" is written to /proc/self/clear_refs, so allocations made in Rust and C
count as well as Python's. Children run with ``MALLOC_MMAP_THRESHOLD_=65536`` so that memory freed
between jobs goes back to the OS and one job's peak is not hidden by the previous one's free pages.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

__all__ = ["CHILD_ENV", "best_of", "peak_extra_mib", "rss_mib", "run_child", "timed_rounds"]

_CLEAR_REFS = Path("/proc/self/clear_refs")
_STATUS = Path("/proc/self/status")
CHILD_ENV = {"MALLOC_MMAP_THRESHOLD_": "65536"}


def _status_kib(field: str) -> int:
    for line in _STATUS.read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise RuntimeError(f"{field} not in {_STATUS}")


def rss_mib() -> float:
    """Resident memory of this process now, in MiB."""
    return _status_kib("VmRSS") / 1024


def peak_extra_mib(fn: Callable[[], object]) -> float:
    """Peak resident memory above the starting point while ``fn`` runs, in MiB."""
    _CLEAR_REFS.write_text("5")
    before = _status_kib("VmRSS")
    fn()
    return max(0, _status_kib("VmHWM") - before) / 1024


def best_of(fn: Callable[[], object], repeat: int = 5, warmup: int = 1) -> float:
    """Best wall time of ``repeat`` runs in seconds (the least noisy figure on a shared machine)."""
    for _ in range(warmup):
        fn()
    best = float("inf")
    for _ in range(max(1, repeat)):
        start = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - start)
    return best


def timed_rounds(fn: Callable[[], object], min_rounds: int, max_time: float, warmup: int = 1) -> list[float]:
    """Wall times of successive runs of ``fn``: at least ``min_rounds``, then more until ``max_time``
    seconds of runs have passed (at most 10,000), after ``warmup`` untimed runs."""
    for _ in range(warmup):
        fn()
    times: list[float] = []
    spent = 0.0
    while len(times) < max(1, min_rounds) or (spent < max_time and len(times) < 10_000):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
        spent += times[-1]
    return times


def run_child(task: str, params: dict[str, Any], timeout: float) -> Any:
    """Runs ``mlmon.bench._child`` for one task in a fresh interpreter and returns its JSON answer.

    Raises:
        RuntimeError: the child failed or ran out of time (its last stderr line is in the message).
    """
    cmd = [sys.executable, "-m", "mlmon.bench._child", task, json.dumps(params)]
    try:
        done = subprocess.run(
            cmd, capture_output=True, text=True, timeout=timeout, env={**os.environ, **CHILD_ENV}
        )
    except subprocess.TimeoutExpired as exc:
        raise RuntimeError(f"{task}: no answer within {timeout:.0f} s") from exc
    if done.returncode != 0:
        lines = done.stderr.strip().splitlines() or [f"exit status {done.returncode}"]
        raise RuntimeError(f"{task}: {lines[-1]}")
    return json.loads(done.stdout.strip().splitlines()[-1])
