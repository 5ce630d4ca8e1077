"""Evidently's data-drift job on mlmon's fixed pipeline workload (``mlmon.bench.workloads.pipeline``).

Run with Evidently's own virtualenv, never mlmon's (see the Peers section of ``benches/README.md``)::

    /tmp/evidently-venv/bin/python JOBS_DIR/evidently_job.py [--rows N] [--columns num_00,num_01]

where ``JOBS_DIR`` is ``python -c 'import mlmon.bench.peers as p; print(p.JOBS_DIR)'`` with mlmon's
interpreter.

Builds the reference (seed 1) and current (seed 2, drifted) pandas frames exactly as
``mlmon.bench.compare.pipeline`` does, then times ONE Evidently run: building the ``Dataset`` objects, the
``Report([DataDriftPreset(num_method="psi", cat_method="chisquare")])`` and ``report.run(...)``, and
reading the per-column values out of the snapshot. Data generation is not timed. The column types are
given explicitly (a ``DataDefinition``), so Evidently spends no time inferring them.

Peak extra memory is the resident high-water mark (VmHWM) above the resident size (VmRSS) at the start
of that run, the method of ``mlmon.bench.measure``. Like ``mlmon.bench.compare.pipeline``'s memory child, the
script re-executes itself with ``MALLOC_MMAP_THRESHOLD_=65536`` (unless ``--no-mmap-threshold``) so
that memory freed while building the data goes back to the OS before the run starts; the timing comes
from the same run.

With ``--rows`` below the workload's 1,000,000 the time and memory are also extrapolated linearly to
1M rows and marked as such (``extrapolated_to_1m``); the default is a full 1M-row run.

Prints one JSON line: seconds, peak_extra_mib, versions, load average, and Evidently's per-column drift
values: PSI for numerical columns (Evidently bins on Sturges equal-width edges over reference+current,
mlmon on reference deciles, so the two PSIs agree only roughly) and the chi-square p-value for
categorical ones. For the same columns it also prints the workload's decile-bin numpy PSI
(``numpy_pipeline``, which mlmon matches), computed after the timed run.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import platform
import sys
import time
import warnings
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING

CLEAR_REFS = Path("/proc/self/clear_refs")
STATUS = Path("/proc/self/status")
MMAP_ENV = "MALLOC_MMAP_THRESHOLD_"


def _status_kib(field: str) -> int:
    for line in STATUS.read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise RuntimeError(f"{field} not in /proc/self/status")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rows", type=int, default=None, help="rows per set (default: 1,000,000)")
    parser.add_argument(
        "--columns",
        default="num_00,num_01,num_02,num_03,num_04,num_05,cat_5,cat_300,cat_1000",
        help="comma-separated columns whose drift values are printed ('all' for every column)",
    )
    parser.add_argument(
        "--no-mmap-threshold", action="store_true", help=f"do not re-exec with {MMAP_ENV}=65536"
    )
    parser.add_argument(
        "--warmup", action="store_true", help="run once on 5,000 rows (untimed) before the timed run"
    )
    parser.add_argument(
        "--no-reference-psi", action="store_true", help="skip the numpy decile PSI for comparison"
    )
    args = parser.parse_args()

    if not args.no_mmap_threshold and MMAP_ENV not in os.environ:
        os.execve(sys.executable, [sys.executable, *sys.argv], {**os.environ, MMAP_ENV: "65536"})

    import evidently  # type: ignore[import-not-found, unused-ignore]
    import numpy as np
    import pandas as pd
    import scipy

    if TYPE_CHECKING:
        from mlmon.bench.peers.jobs._harness import workload
    else:
        from _harness import workload
    from evidently import DataDefinition, Dataset, Report  # type: ignore[import-not-found, unused-ignore]
    from evidently.presets import DataDriftPreset  # type: ignore[import-not-found, unused-ignore]

    rows = args.rows or workload.ROWS
    columns = workload.NUMERIC + workload.CATEGORICAL if args.columns == "all" else args.columns.split(",")

    ref_cols, cur_cols = workload.make_columns(1, rows), workload.make_columns(2, rows, drift=True)
    ref, cur = workload.to_pandas(ref_cols), workload.to_pandas(cur_cols)
    del ref_cols, cur_cols
    gc.collect()

    def job(ref: pd.DataFrame = ref, cur: pd.DataFrame = cur) -> dict[str, float]:
        definition = DataDefinition(
            numerical_columns=list(workload.NUMERIC), categorical_columns=list(workload.CATEGORICAL)
        )
        report = Report([DataDriftPreset(num_method="psi", cat_method="chisquare")])
        snapshot = report.run(
            Dataset.from_pandas(cur, data_definition=definition),
            Dataset.from_pandas(ref, data_definition=definition),
        )
        values: dict[str, float] = {}
        for metric in snapshot.dict()["metrics"]:
            column = metric["config"].get("column")
            if column is not None:
                values[column] = float(metric["value"])
            elif isinstance(metric["value"], dict) and "count" in metric["value"]:
                values["__drifted_count__"] = float(metric["value"]["count"])
        return values

    with warnings.catch_warnings():
        # scipy's chisquare warns on categories with zero expected count; the values are still reported.
        warnings.simplefilter("ignore", RuntimeWarning)
        if args.warmup:  # one small untimed run first: imports and first-call set-up are not the job
            job(ref.head(5_000), cur.head(5_000))
            gc.collect()
        CLEAR_REFS.write_text("5")
        rss_before = _status_kib("VmRSS")
        start = time.perf_counter()
        values = job()
        seconds = time.perf_counter() - start
        peak_rss_kib = _status_kib("VmHWM")
        peak_extra_mib = max(0, peak_rss_kib - rss_before) / 1024

    load = os.getloadavg()
    out: dict[str, object] = {
        "tool": "evidently",
        "evidently": evidently.__version__,
        "pandas": pd.__version__,
        "numpy": np.__version__,
        "scipy": scipy.__version__,
        "python": platform.python_version(),
        "date": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "rows": rows,
        "features": len(workload.NUMERIC) + len(workload.CATEGORICAL),
        "methods": {"numerical": "psi", "categorical": "chisquare"},
        "seconds": round(seconds, 3),
        "peak_extra_mib": round(peak_extra_mib, 1),
        "peak_rss_mib": round(peak_rss_kib / 1024, 1),
        "malloc_mmap_threshold": os.environ.get(MMAP_ENV),
        "loadavg_after": [round(x, 2) for x in load],
        "drifted_columns": int(values["__drifted_count__"]),
        "evidently_values": {
            n: {("psi" if n in workload.NUMERIC else "chisquare_p_value"): values[n]}
            for n in columns
            if n in values
        },
    }
    if rows != workload.ROWS:
        scale = workload.ROWS / rows
        out["extrapolated_to_1m"] = {
            "note": f"linear extrapolation from {rows:,} rows (x{scale:g}); not measured",
            "seconds": round(seconds * scale, 1),
            "peak_extra_mib": round(peak_extra_mib * scale, 0),
        }
    if not args.no_reference_psi:
        reference = workload.numpy_pipeline(ref, cur)
        out["decile_psi_numpy"] = {n: reference[n]["psi"] for n in columns if n in reference}
    print(json.dumps(out))


if __name__ == "__main__":
    main()
