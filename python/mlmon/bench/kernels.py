"""The in-process kernels step of ``mlmon bench``: each mlmon kernel beside the numpy/pandas way of doing
the same, timed with :func:`mlmon.bench.measure.timed_rounds` (no pytest needed).

The suites time the workloads of :mod:`mlmon.bench.workloads`, the same ones a checkout's
pytest-benchmark files (``benches/bench_*.py``) time, so the figures are comparable:

* ``pipeline``: the whole job (fit, update, report) from pandas, polars and pyarrow, and the hand-written
  numpy/pandas/scipy job; then the fit step alone, ``Baseline.fit`` beside its numpy/pandas half (edges,
  reference counts, ``value_counts``); the size is the rows per set.
* ``engine``: histograms, quantile edges, 2-D updates, codes, strings, PSI and chi-square; the size is
  the long columns' length.
* ``store``: SQLite write throughput (1 and 100 partials per commit) and the merge of a day of 1-minute
  partials; the size is the minutes merged.
* ``batch``: ``mlmon.batch.profile`` of a Parquet file against pandas + numpy; the size is its rows.
* ``monitor``: the public ``Monitor.update`` call on one batch (a dict with object strings, the 20 numeric
  columns alone, a pandas DataFrame, a pyarrow Table) beside numpy by hand; the size is the batch's rows
  (1,000 in issue 15's table). What users pay per batch, not what the engine costs.

Each suite runs in its own child process (``python -m mlmon.bench._child kernels``), so one that fails,
or lacks an optional library, loses only its own figures.
"""

from __future__ import annotations

import shutil
import statistics
import tempfile
import time
from collections.abc import Callable, Iterator
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np

import mlmon
from mlmon.bench import measure
from mlmon.core import _native as e
from mlmon.core._compat import require

__all__ = ["SUITES", "run_kernels", "run_suite"]

Job = Callable[[], object]
Case = tuple[str, str, Callable[[], Job]]  # (group, name, build the job: data set-up is not timed)


def _count(n: int) -> str:
    for unit, size in (("M", 1_000_000), ("k", 1_000)):
        if n >= size and n % size == 0:
            return f"{n // size}{unit}"
    return str(n)


def _call(fn: Callable[..., object], *args: Any) -> Job:
    return lambda: fn(*args)


def _pipeline(rows: int) -> Iterator[Case]:
    from mlmon.bench.workloads import pipeline as p

    ref, cur = p.make_columns(1, rows), p.make_columns(2, rows, drift=True)
    frames = (p.to_pandas(ref), p.to_pandas(cur))
    group = f"pipeline-{_count(rows)}x25"
    convert = {"pandas": p.to_pandas, "polars": p.to_polars, "arrow": p.to_arrow}
    for source, fn in convert.items():

        def build(fn: Callable[[Any], Any] = fn, source: str = source) -> Job:
            r, c = frames if source == "pandas" else (fn(ref), fn(cur))
            return lambda: p.mlmon_pipeline(r, c)

        yield group, f"mlmon_pipeline[{source}]", build
    yield group, "numpy_pipeline", lambda: lambda: p.numpy_pipeline(*frames)
    # The fit step alone (issue 15: most of the job), each way from the pandas reference.
    group = f"fit-{_count(rows)}x25"
    yield group, "mlmon_fit[pandas]", lambda: lambda: p.mlmon_fit(frames[0])
    yield group, "numpy_fit", lambda: lambda: p.numpy_fit(frames[0])


def _engine(n: int) -> Iterator[Case]:
    from mlmon.bench.workloads import engine as w

    x = w.column(n)
    edges = e.BinEdges.quantile(x, 10)
    full = np.concatenate([[-np.inf], edges.cuts, [np.inf]])
    group = f"histogram-{_count(n)}-f64"
    yield group, "mlmon_histogram", lambda: lambda: e.NumericHistogram(edges).update(x)
    yield (
        group,
        "numpy_searchsorted_bincount",
        lambda: lambda: np.bincount(np.searchsorted(edges.cuts, x, side="right"), minlength=10),
    )
    yield group, "numpy_histogram", lambda: lambda: np.histogram(x, full)
    group = f"histogram-{_count(n)}-f32-and-strided"
    yield (
        group,
        "mlmon_histogram_f32",
        lambda: _call(e.NumericHistogram(edges).update, x.astype(np.float32)),
    )
    yield group, "mlmon_histogram_strided", lambda: _call(e.NumericHistogram(edges).update, w.strided(n))
    nan = w.with_nan(x)
    probs = np.linspace(0, 1, 11)[1:-1]
    group = f"quantile-edges-{_count(n)}"
    yield group, "mlmon_quantile_edges", lambda: lambda: e.BinEdges.quantile(nan, 10)
    yield group, "numpy_nanquantile", lambda: lambda: np.nanquantile(nan, probs)
    yield from _engine_wide(n)
    codes, labels = w.codes(n)
    counts = e.CategoryCounts.fit_codes(codes[:100], labels)
    group = f"categorical-codes-{_count(n)}"
    yield group, "mlmon_codes", lambda: lambda: counts.update_codes(codes, labels)
    yield group, "numpy_bincount_codes", lambda: lambda: np.bincount(codes, minlength=50)
    yield from _engine_strings(n)
    pairs = w.stat_pairs()
    yield (
        "statistics-25x12",
        "mlmon_psi_chi_square",
        lambda: lambda: [(e.psi(a, b), e.chi_square_pooled(a, b)) for a, b in pairs],
    )


def _engine_wide(n: int) -> Iterator[Case]:
    from mlmon.bench.workloads import engine as w

    x, hs = w.wide(max(1_000, n // 10))
    group = f"update-2d-{_count(len(x))}x25"
    for order in ("C", "F"):
        arr = np.asarray(x, order=order)
        for threads in (1, 2):
            yield group, f"mlmon_update_2d[{order}-{threads}]", partial(_call, e.update_2d, hs, arr, threads)
    batch, cuts = x[:1000], [h.edges.cuts for h in hs]
    yield "small-batch-1000x25", "mlmon_small_batch", lambda: lambda: e.update_2d(hs, batch)
    yield (
        "small-batch-1000x25",
        "numpy_small_batch",
        lambda: (
            lambda: [
                np.bincount(np.searchsorted(c, batch[:, j], "right"), minlength=11)
                for j, c in enumerate(cuts)
            ]
        ),
    )


def _engine_strings(n: int) -> Iterator[Case]:
    pd = require("pandas", "pandas")

    from mlmon.bench.workloads import engine as w

    values = w.strings(max(10_000, n // 10))
    counts = e.CategoryCounts.fit(values[:10_000])
    group = f"strings-{_count(len(values))}-1000-categories"
    yield group, "mlmon_object_strings", lambda: lambda: counts.update(values)
    yield group, "pandas_value_counts", lambda: pd.Series(values).value_counts


def _store(minutes: int) -> Iterator[Case]:
    from mlmon.bench.workloads import store as w
    from mlmon.store import open_store

    blobs = w.profiles()
    tmp = Path(tempfile.mkdtemp(prefix="mlmon-bench-store-"))
    stores = []

    def opened(name: str) -> Any:
        store = open_store(f"sqlite:///{tmp / name}.db")
        store.register_version("m", "v1")
        stores.append(store)
        return store

    try:
        for group_size in (1, 100):

            def build(group_size: int = group_size) -> Job:
                store, minute = opened(f"write{group_size}"), iter(range(10**9))
                return lambda: store.write_partials(w.minute_partials(blobs, 1, next(minute), group_size))

            yield "store-write-partials-sqlite", f"write_partials[{group_size}]", build

        def merge() -> Job:
            store = opened("merge")
            store.write_partials(w.minute_partials(blobs, minutes))
            return lambda: store.merged_profile("m", "v1", w.T0, w.T0 + minutes * w.MINUTE)

        yield f"store-merge-{minutes}-minutes-sqlite", "merged_profile", merge
    finally:
        for store in stores:
            store.close()
        shutil.rmtree(tmp, ignore_errors=True)


def _batch(rows: int) -> Iterator[Case]:
    from mlmon.bench.workloads import batch as w

    tmp = Path(tempfile.mkdtemp(prefix="mlmon-bench-batch-"))
    try:
        path = w.write(tmp / "history.parquet", rows, step=100_000)
        ref = w.baseline(max(1_000, min(50_000, rows // 6)))
        group = f"batch-{_count(rows)}-rows-30-days"
        yield group, "mlmon_batch", lambda: lambda: w.mlmon_job(path, ref)
        yield group, "pandas_batch", lambda: lambda: w.pandas_job(path, ref)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def _monitor(rows: int) -> Iterator[Case]:
    pd = require("pandas", "pandas")

    from mlmon.bench.workloads import monitor_update as w

    batch = w.make(np.random.default_rng(1), rows)
    numeric = {name: batch[name] for name in w.NUMERIC}
    frame = pd.DataFrame(batch)
    full, numeric_only = w.baseline(), w.baseline(numeric_only=True)
    cases: dict[str, tuple[Any, Any, Any]] = {
        "dict": (full, batch, batch),
        "numeric": (numeric_only, numeric, numeric),
        "pandas": (full, frame, batch),
    }
    try:
        pa = require("pyarrow", "arrow")
    except ImportError:  # the arrow extra is not installed: no Arrow row
        pa = None
    table: Any = None if pa is None else pa.table(frame)
    if table is not None:
        cases["arrow"] = (full, table, batch)
    for label, (ref, data, arrays) in cases.items():
        group = f"monitor-update-{label}-{_count(rows)}"
        yield group, f"mlmon_monitor_update[{label}]", partial(_update_job, mlmon, ref, data)
        if label == "pandas":  # by hand from a frame: the columns out of pandas, then numpy
            yield (
                group,
                "numpy_by_hand[pandas]",
                lambda: lambda: w.by_hand(full, {name: frame[name].to_numpy() for name in frame.columns}),
            )
        elif label == "arrow":  # by hand from a table: the columns out of Arrow, then numpy
            yield (
                group,
                "numpy_by_hand[arrow]",
                lambda: lambda: w.by_hand(full, {c: table.column(c).to_numpy() for c in table.column_names}),
            )
        else:
            yield group, f"numpy_by_hand[{label}]", partial(_call, w.by_hand, ref, arrays)


def _update_job(mlmon: Any, ref: Any, data: Any) -> Job:
    monitor = mlmon.Monitor(ref)
    return lambda: monitor.update(data)


SUITES: dict[str, Callable[[int], Iterator[Case]]] = {
    "pipeline": _pipeline,
    "engine": _engine,
    "store": _store,
    "batch": _batch,
    "monitor": _monitor,
}


def run_suite(
    suite: str, size: int, min_rounds: int, max_time: float, warmup: int, budget_s: float = float("inf")
) -> dict[str, Any]:
    """Times every case of one suite in this process: ``benchmarks`` (min, median, ops/s, rounds of
    each) and ``failed`` (case -> error; a case whose library is missing fails alone). No case starts
    after ``budget_s`` seconds: the first one that does not is listed as not run, with the rest."""
    out: dict[str, Any] = {"benchmarks": [], "failed": {}}
    deadline = time.monotonic() + budget_s
    for group, name, build in SUITES[suite](size):
        if time.monotonic() > deadline:  # stop here: the later cases' inputs are not even built
            out["failed"][f"{suite}: {name} and the rest"] = "not run: the time budget was used up"
            break
        try:
            times = measure.timed_rounds(build(), min_rounds, max_time, warmup)
        except Exception as exc:  # reported in the results with the reason, never hidden
            out["failed"][f"{suite}: {name}"] = f"{type(exc).__name__}: {exc}"[:300]
            continue
        out["benchmarks"].append(
            {
                "suite": suite,
                "group": group,
                "name": name,
                "min_s": min(times),
                "median_s": statistics.median(times),
                "ops": len(times) / sum(times) if sum(times) > 0 else float("inf"),
                "rounds": len(times),
            }
        )
    return out


def run_kernels(
    sizes: dict[str, int], min_rounds: int, max_time: float, warmup: int, timeout: float
) -> dict[str, Any]:
    """Every suite of ``sizes`` (suite -> size), each in a child process within what is left of
    ``timeout``; a suite that fails or runs out of time is listed under ``failed`` with the reason."""
    deadline = time.monotonic() + timeout
    out: dict[str, Any] = {"suites": dict(sizes), "benchmarks": [], "failed": {}}
    for suite, size in sizes.items():
        remaining = deadline - time.monotonic()
        if remaining < 5:
            out["failed"][suite] = "not run: the time budget was used up"
            continue
        # The child stops starting cases at the budget; the margin lets the case in flight finish.
        params = {"suite": suite, "size": size, "min_rounds": min_rounds, "max_time": max_time}
        try:
            done = measure.run_child(
                "kernels", {**params, "warmup": warmup, "budget_s": remaining}, timeout=remaining + 60
            )
        except RuntimeError as exc:
            out["failed"][suite] = str(exc)
            continue
        out["benchmarks"] += done["benchmarks"]
        out["failed"].update(done["failed"])
    return out
