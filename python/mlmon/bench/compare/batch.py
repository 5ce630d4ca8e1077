"""Batch figures for benches/README.md (issue #10): rows/s of ``mlmon.batch.profile`` on a 10^7-row,
25-feature Parquet file against a pandas + numpy job on the same file, peak memory as the file grows
(10^6, 10^7, 3x10^7 rows), the streaming ``fit_baseline``, and Spark local mode on the same file.

Each measurement runs in a fresh child process, so its peak RSS (VmHWM) is its own. Files are written
once under ``MLMON_BENCH_DIR`` (default /tmp/mlmon-bench-batch), never in the repository.

    python -m mlmon.bench.compare.batch            # prints a Markdown section
    MLMON_BENCH_SIZES=1000000 python -m mlmon.bench.compare.batch   # quick
"""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from mlmon.core import _native
from mlmon.core._compat import require

DIR = Path(os.environ.get("MLMON_BENCH_DIR", "/tmp/mlmon-bench-batch"))
SIZES = [int(s) for s in os.environ.get("MLMON_BENCH_SIZES", "1000000,10000000,30000000").split(",")]
PANDAS_MAX = int(os.environ.get("MLMON_BENCH_PANDAS_MAX", "10000000"))


def _hwm_mib() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def child(job: str, path: str) -> None:
    """Runs one job and prints ``{seconds, cpu_seconds, peak_mib, ...}`` as JSON."""
    # The job's process imports what its job needs (pyarrow, pandas), so its peak memory is the job's.
    import mlmon.batch
    from mlmon.bench.workloads.batch import baseline, mlmon_job, pandas_job

    ref = baseline()
    base_mib = _hwm_mib()
    extra: dict[str, Any] = {}
    usage0 = resource.getrusage(resource.RUSAGE_SELF)
    start = time.perf_counter()
    if job == "mlmon":
        history = mlmon_job(Path(path), ref)
        extra["periods"] = len(history)
        extra["drifted_periods"] = sum(r.severity in ("warning", "critical") for r in history)
    elif job == "pandas":
        extra["cells"] = len(pandas_job(Path(path), ref))
    elif job == "fit":
        fitted = mlmon.batch.fit_baseline(path, exclude=["ts"], progress=False)
        extra["features"] = len(fitted.features)
    elif job == "spark":
        extra.update(_spark(path, ref))
        start = time.perf_counter() - extra["profile_seconds"]
    seconds = time.perf_counter() - start
    usage = resource.getrusage(resource.RUSAGE_SELF)
    cpu = usage.ru_utime + usage.ru_stime - usage0.ru_utime - usage0.ru_stime
    print(
        json.dumps(
            {"seconds": seconds, "cpu_seconds": cpu, "peak_mib": _hwm_mib(), "base_mib": base_mib, **extra}
        )
    )


def _spark(path: str, ref: Any) -> dict[str, float]:
    os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
    os.environ["PYSPARK_PYTHON"] = sys.executable
    import mlmon.spark  # pyspark: the spark extra

    sql = require("pyspark.sql", "spark")

    t0 = time.perf_counter()
    spark = (
        sql.SparkSession.builder.master("local[2]")
        .config("spark.ui.enabled", "false")
        .config("spark.sql.shuffle.partitions", "2")
        .config("spark.driver.host", "127.0.0.1")
        .config("spark.driver.memory", "2g")
        .getOrCreate()
    )
    spark.sparkContext.setLogLevel("ERROR")
    started = time.perf_counter() - t0
    df = spark.read.parquet(path)
    t1 = time.perf_counter()
    history = mlmon.spark.profile(df, ref, by="1d", timestamp="ts")
    took = time.perf_counter() - t1
    partitions = df.rdd.getNumPartitions()
    spark.stop()
    return {
        "profile_seconds": took,
        "session_seconds": started,
        "partitions": partitions,
        "periods": len(history),
    }


def run(job: str, path: Path) -> dict[str, Any]:
    out = subprocess.run(
        [sys.executable, "-m", __spec__.name, "--child", job, str(path)],
        check=True,
        capture_output=True,
        text=True,
    )
    return dict(json.loads(out.stdout.strip().splitlines()[-1]))


def main() -> None:
    from mlmon.bench.workloads.batch import write  # pyarrow: the arrow extra

    DIR.mkdir(parents=True, exist_ok=True)
    files = {}
    for n in SIZES:
        t0 = time.perf_counter()
        files[n] = write(DIR / f"history-{n}.parquet", n)
        print(
            f"# {files[n]}: {files[n].stat().st_size / 2**20:.0f} MiB ({time.perf_counter() - t0:.0f} s)",
            file=sys.stderr,
        )
    results: dict[tuple[str, int], dict[str, Any]] = {}
    for n in SIZES:
        for job in ("mlmon", "pandas", "fit"):
            if job == "pandas" and n > PANDAS_MAX:
                continue
            results[(job, n)] = run(job, files[n])
            print(f"# {job} {n}: {results[(job, n)]}", file=sys.stderr)
    spark_n = 10_000_000 if 10_000_000 in files else SIZES[0]
    results[("spark", spark_n)] = run("spark", files[spark_n])
    print(f"# spark {spark_n}: {results[('spark', spark_n)]}", file=sys.stderr)
    print(render(results, _native.SIMD))


def _row(label: str, n: int, r: dict[str, Any]) -> str:
    rate = n / r["seconds"] / 1e6
    cores = r["cpu_seconds"] / r["seconds"]
    return (
        f"| {label} | {n:,} | {r['seconds']:.1f} s | {rate:.2f} M rows/s | {r['cpu_seconds']:.1f} s | "
        f"{cores:.2f} | {r['peak_mib']:,.0f} MiB |"
    )


def render(results: dict[tuple[str, int], dict[str, Any]], simd: str) -> str:
    """The Markdown section."""
    lines = [
        f"Measured {time.strftime('%Y-%m-%d')} on x86_64 (kernels: {simd}), 2 cores shared with other jobs.",
        "",
        "| job | rows | wall | throughput (wall) | CPU time | CPU / wall | peak RSS |",
        "|---|---|---|---|---|---|---|",
    ]
    labels = {
        "mlmon": "mlmon.batch.profile (by=1d)",
        "pandas": "pandas + numpy (read, groupby day, bincount)",
        "fit": "mlmon.batch.fit_baseline (2 passes)",
        "spark": "mlmon.spark.profile, local[2]",
    }
    for (job, n), r in sorted(results.items(), key=lambda kv: (kv[0][1], kv[0][0])):
        row = _row(labels[job], n, r)
        if job == "spark":  # the work runs in the JVM and in Python workers, which the driver does not see
            row = "|".join([*row.split("|")[:5], " n/a ", " n/a ", " n/a (JVM and workers) ", ""])
        lines.append(row)
    for n in sorted({n for _, n in results}):
        if ("mlmon", n) in results and ("pandas", n) in results:
            m, p = results[("mlmon", n)], results[("pandas", n)]
            lines.append("")
            lines.append(
                f"{n:,} rows: mlmon {p['seconds'] / m['seconds']:.1f}x faster than pandas + numpy in wall "
                f"time, {p['cpu_seconds'] / m['cpu_seconds']:.1f}x less CPU time, "
                f"{p['peak_mib'] / m['peak_mib']:.1f}x less peak memory."
            )
    spark = [(n, r) for (job, n), r in results.items() if job == "spark"]
    for n, r in spark:
        local = results.get(("mlmon", n))
        if local:
            lines.append("")
            lines.append(
                f"Spark on {n:,} rows ({r['partitions']} partitions): {r['seconds']:.1f} s for the job "
                f"(+{r['session_seconds']:.1f} s session start) vs {local['seconds']:.1f} s locally: "
                f"{r['seconds'] / local['seconds']:.1f}x the local time."
            )
    return "\n".join(lines)


if __name__ == "__main__":
    if len(sys.argv) == 4 and sys.argv[1] == "--child":
        child(sys.argv[2], sys.argv[3])
    else:
        main()
