"""The whole drift job on the fixed workload, mlmon vs a hand-written numpy/pandas/scipy implementation.

Run: ``python -m mlmon.bench.compare.pipeline [--rows N] [--repeat R]``; prints a Markdown table for
benches/README.md. Each job is fit baseline + update with the current set + report; the input frames are
built before timing. Peak extra memory is the resident high-water mark above the start of the job.
"""

from __future__ import annotations

import argparse
import os
import platform
import subprocess
import sys
from collections.abc import Callable
from datetime import date
from functools import partial
from typing import Any

import numpy as np

from mlmon.bench.measure import best_of, peak_extra_mib
from mlmon.bench.workloads.pipeline import (
    NUMERIC,
    ROWS,
    input_bytes,
    make_columns,
    mlmon_pipeline,
    numpy_pipeline,
    to_arrow,
    to_pandas,
    to_polars,
)
from mlmon.core import _native


def _memory_in_child(job: str, rows: int) -> float:
    """Peak extra memory of one job in a fresh process: a process that already ran a job keeps freed
    pages resident, which would hide the next job's allocations. Large allocations are forced to mmap
    so that memory freed while building the data goes back to the OS before the job starts."""
    env = {**os.environ, "MALLOC_MMAP_THRESHOLD_": "65536"}
    cmd = [sys.executable, "-m", __spec__.name, "--rows", str(rows), "--memory-job", job]
    out = subprocess.run(cmd, env=env, capture_output=True, text=True, check=True).stdout
    return float(out.strip().splitlines()[-1])


def _frames(source: str, ref_cols: dict[str, np.ndarray], cur_cols: dict[str, np.ndarray]) -> tuple[Any, Any]:
    convert = {"pandas": to_pandas, "polars": to_polars, "pyarrow": to_arrow, "numpy": to_pandas}[source]
    return convert(ref_cols), convert(cur_cols)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=ROWS)
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument("--memory-job", help=argparse.SUPPRESS)
    args = parser.parse_args()
    ref_cols, cur_cols = make_columns(1, args.rows), make_columns(2, args.rows, drift=True)
    if args.memory_job:
        ref, cur = _frames(args.memory_job, ref_cols, cur_cols)
        del ref_cols, cur_cols
        job = numpy_pipeline if args.memory_job == "numpy" else mlmon_pipeline
        print(peak_extra_mib(lambda: job(ref, cur)))
        return
    size_mib = (input_bytes(ref_cols) + input_bytes(cur_cols)) / 2**20
    frames = {
        "pandas": (to_pandas(ref_cols), to_pandas(cur_cols)),
        "polars": (to_polars(ref_cols), to_polars(cur_cols)),
        "pyarrow": (to_arrow(ref_cols), to_arrow(cur_cols)),
    }
    pd_ref, pd_cur = frames["pandas"]

    def numpy_job() -> object:
        return numpy_pipeline(pd_ref, pd_cur)

    jobs: list[tuple[str, str, Callable[[], object]]] = [
        ("numpy/pandas/scipy (hand-written)", "numpy", numpy_job)
    ]
    for name, (ref, cur) in frames.items():
        jobs.append((f"mlmon from {name}", name, partial(mlmon_pipeline, ref, cur)))
    times = {label: best_of(fn, repeat=args.repeat, warmup=0) for label, _, fn in jobs}
    memory = {label: _memory_in_child(source, args.rows) for label, source, _ in jobs}
    base = times[jobs[0][0]]
    report = mlmon_pipeline(pd_ref, pd_cur)
    ref_scores = numpy_job()
    assert isinstance(ref_scores, dict)
    worst = max(abs(report.features[n].score - ref_scores[n]["psi"]) / ref_scores[n]["psi"] for n in NUMERIC)
    print(
        f"Measured {date.today()} on {platform.machine()} ({platform.processor() or 'cpu'}), kernels "
        f"{_native.SIMD}, numpy {np.__version__}; {args.rows:,} rows x 25 features per set, input "
        f"{size_mib:,.0f} MiB for both sets; best of {args.repeat}.\n"
    )
    print("| job (fit + update + report) | time | vs numpy | peak extra memory | % of input |")
    print("|---|---|---|---|---|")
    for label, _, _ in jobs:
        t, m = times[label], memory[label]
        print(f"| {label} | {t:.3f} s | {base / t:.1f}x | {m:,.0f} MiB | {100 * m / size_mib:.1f}% |")
    print(f"\nLargest relative PSI difference vs numpy on numerical features: {worst:.1e}")


if __name__ == "__main__":
    main()
