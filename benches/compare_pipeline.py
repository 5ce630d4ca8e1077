"""The whole drift job on the fixed workload, mlmon vs a hand-written numpy/pandas/scipy implementation.

Run: ``.venv/bin/python benches/compare_pipeline.py [--rows N] [--repeat R]``; prints a Markdown table for
benches/README.md. Each job is fit baseline + update with the current set + report; the input frames are
built before timing. Peak extra memory is the resident high-water mark above the start of the job.
"""

from __future__ import annotations

import argparse
import platform
import sys
from collections.abc import Callable
from datetime import date
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))
from _measure import best_of, peak_extra_mib
from _workload import (
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
from mlmon import _engine


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=ROWS)
    parser.add_argument("--repeat", type=int, default=1)
    args = parser.parse_args()
    ref_cols, cur_cols = make_columns(1, args.rows), make_columns(2, args.rows, drift=True)
    size_mib = (input_bytes(ref_cols) + input_bytes(cur_cols)) / 2**20
    frames = {
        "pandas": (to_pandas(ref_cols), to_pandas(cur_cols)),
        "polars": (to_polars(ref_cols), to_polars(cur_cols)),
        "pyarrow": (to_arrow(ref_cols), to_arrow(cur_cols)),
    }
    pd_ref, pd_cur = frames["pandas"]

    def numpy_job() -> object:
        return numpy_pipeline(pd_ref, pd_cur)

    jobs: list[tuple[str, Callable[[], object]]] = [("numpy/pandas/scipy (hand-written)", numpy_job)]
    for name, (ref, cur) in frames.items():
        jobs.append((f"mlmon from {name}", lambda ref=ref, cur=cur: mlmon_pipeline(ref, cur)))
    times = {label: best_of(fn, repeat=args.repeat, warmup=0) for label, fn in jobs}
    memory = {label: peak_extra_mib(fn) for label, fn in jobs}
    base = times[jobs[0][0]]
    report = mlmon_pipeline(pd_ref, pd_cur)
    ref_scores = numpy_job()
    assert isinstance(ref_scores, dict)
    worst = max(abs(report.features[n].score - ref_scores[n]["psi"]) / ref_scores[n]["psi"] for n in NUMERIC)
    print(
        f"Measured {date.today()} on {platform.machine()} ({platform.processor() or 'cpu'}), kernels "
        f"{_engine.SIMD}, numpy {np.__version__}; {args.rows:,} rows x 25 features per set, input "
        f"{size_mib:,.0f} MiB for both sets; best of {args.repeat}.\n"
    )
    print("| job (fit + update + report) | time | vs numpy | peak extra memory | % of input |")
    print("|---|---|---|---|---|")
    for label, _ in jobs:
        t, m = times[label], memory[label]
        print(f"| {label} | {t:.3f} s | {base / t:.1f}x | {m:,.0f} MiB | {100 * m / size_mib:.1f}% |")
    print(f"\nLargest relative PSI difference vs numpy on numerical features: {worst:.1e}")


if __name__ == "__main__":
    main()
