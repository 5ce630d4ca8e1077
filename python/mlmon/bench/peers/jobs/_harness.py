"""The common frame of the peer jobs: build the fixed workload, time ONE run of a tool's drift job, print
one JSON line.

The jobs run by file path with each peer's own interpreter, where mlmon is not installed, so the
workload (``mlmon/bench/workloads/pipeline.py``, numpy, pandas and scipy only) is loaded from its file
and offered here as :data:`workload`; importing the ``mlmon`` package would need mlmon's dependencies.

Each ``*_job.py`` beside this file defines the job (``job(ref, cur) -> scores``) and calls :func:`main`.
A small untimed warm-up run (5,000 rows) comes first. It runs in the tool's own virtualenv (made by
``mlmon bench``), so it uses only numpy, pandas and scipy besides the tool. Data generation is not
timed. Peak extra memory is the resident high-water mark (VmHWM) above the resident size at the start of
the run, the method of ``mlmon.bench.measure``.

``scores`` maps a feature to the values the tool reports for it, under these keys when it has them:
``psi``, ``chi2_p`` (two-sample 2 x k contingency test), ``chi2_stat``, ``chi2gof_p`` (goodness of fit
against the reference proportions), ``ks_p``, ``ks_stat``, and ``drift`` (the tool's own verdict).
"""

from __future__ import annotations

import argparse
import gc
import importlib.util
import json
import platform
import sys
import time
from collections.abc import Callable
from pathlib import Path
from types import ModuleType
from typing import Any

STATUS = Path("/proc/self/status")
WORKLOAD_FILE = Path(__file__).resolve().parents[2] / "workloads" / "pipeline.py"
Scores = dict[str, dict[str, Any]]


def _load_workload() -> ModuleType:
    """``mlmon.bench.workloads.pipeline`` loaded from its file, without importing the mlmon package."""
    spec = importlib.util.spec_from_file_location("mlmon_bench_workload", WORKLOAD_FILE)
    if spec is None or spec.loader is None:
        raise SystemExit(f"cannot load the workload from {WORKLOAD_FILE}")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


workload = _load_workload()
"""The fixed workload: ``NUMERIC``, ``CATEGORICAL``, ``make_columns``, ``numpy_pipeline`` and the rest."""


def _status_kib(field: str) -> int:
    for line in STATUS.read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise RuntimeError(f"{field} not in /proc/self/status")


def main(
    tool: str,
    version: str,
    job: Callable[[Any, Any], Scores],
    untimed: Callable[[Any, Any, Scores], None] | None = None,
) -> None:
    """Parses ``--rows``, times ``job`` once on the workload's pandas frames and prints the JSON line.

    ``untimed`` may add reference values to the scores after the timed run.
    """
    parser = argparse.ArgumentParser(description=f"{tool}'s drift job on mlmon's fixed workload")
    parser.add_argument("--rows", type=int, default=workload.ROWS, help="rows per set (default: 1,000,000)")
    args = parser.parse_args()
    import numpy as np
    import pandas as pd

    ref = workload.to_pandas(workload.make_columns(1, args.rows))
    cur = workload.to_pandas(workload.make_columns(2, args.rows, drift=True))
    # One small untimed run first, for every tool alike: lazy imports, JIT compilation and other
    # first-call set-up are not the job being compared.
    job(ref.head(5_000), cur.head(5_000))
    gc.collect()
    Path("/proc/self/clear_refs").write_text("5")
    rss_before = _status_kib("VmRSS")
    start = time.perf_counter()
    scores = job(ref, cur)
    seconds = time.perf_counter() - start
    peak_rss_kib = _status_kib("VmHWM")
    peak_extra_mib = max(0, peak_rss_kib - rss_before) / 1024
    if untimed is not None:
        untimed(ref, cur, scores)
    out = {
        "tool": tool,
        "version": version,
        "rows": args.rows,
        "features": ref.shape[1],
        "seconds": seconds,
        "peak_extra_mib": peak_extra_mib,
        "input_rss_mib": rss_before / 1024,
        "peak_rss_mib": peak_rss_kib / 1024,
        "python": platform.python_version(),
        "numpy": np.__version__,
        "pandas": pd.__version__,
        "scores": scores,
    }
    print(json.dumps(out, default=float))
