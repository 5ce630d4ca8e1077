"""Entry point of a measurement child: ``python -m mlmon.bench._child TASK PARAMS_JSON``.

Runs in a fresh interpreter (started by :func:`mlmon.bench.measure.run_child`) so that each curve's peak
memory is its own, and prints one JSON line. Tasks: ``curve`` (one scaling curve, point by point, within
a time budget), ``memory`` (resident memory and codec bytes per model per feature) and ``kernels`` (one
suite of :mod:`mlmon.bench.kernels`).
"""

from __future__ import annotations

import gc
import json
import sys
import time
from collections.abc import Callable
from typing import Any

from mlmon.bench import kernels
from mlmon.bench.measure import best_of, peak_extra_mib, rss_mib
from mlmon.bench.workloads import curves as w
from mlmon.core.baseline import Baseline
from mlmon.core.monitor import Monitor

Job = Callable[[], object]


def _prepare(curve: str, x: int, params: dict[str, Any]) -> tuple[Job, int]:
    """The job of one curve point and how many times one call of it is repeated inside the timing."""
    if curve == "rows":
        ref, cur = w.numeric_sets(x, params["features"])
        return (lambda: w.whole_job(ref, cur)), 1
    if curve == "features":
        ref, cur = w.numeric_sets(params["rows"], x)
        return (lambda: w.whole_job(ref, cur)), 1
    if curve == "categories":
        ref, cur = w.categorical_sets(params["rows"], x)
        return (lambda: w.whole_job(ref, cur, max_categories=max(x, 10))), 1
    if curve == "batch":
        ref, _ = w.numeric_sets(5_000, w.INGEST_FEATURES)
        entry = w.service_entry(Baseline.fit(ref))
        body = w.service_body(w.numeric_sets(x, w.INGEST_FEATURES, seed=1)[0])
        calls = max(1, min(200, 20_000 // x))  # small batches: time a loop, report per batch
        return (lambda: [w.service_ingest(entry, body) for _ in range(calls)]), calls
    raise SystemExit(f"unknown curve {curve!r}")


def curve(params: dict[str, Any]) -> dict[str, Any]:
    """Measures the points in order; stops before a point the budget cannot hold (cost ~ linear in x)."""
    name, budget, repeat = params["curve"], float(params["budget_s"]), int(params["repeat"])
    started = time.perf_counter()
    points: list[dict[str, float]] = []
    skipped: list[int] = []
    last: tuple[int, float] | None = None
    for x in params["points"]:
        elapsed = time.perf_counter() - started
        # Always 2 points (a line needs them); then skip a point when the last one's whole cost (data,
        # peak run, repeats), scaled to this one, would overrun the budget.
        if last is not None and len(points) >= 2:
            scale = x / last[0] if params.get("cost_grows", True) else 1.0
            guess = last[1] * scale * 1.2
            if elapsed + guess > budget:
                skipped.append(x)
                continue
        t0 = time.perf_counter()
        job, calls = _prepare(name, x, params)
        peak = peak_extra_mib(job)
        seconds = best_of(job, repeat=repeat, warmup=0) / calls
        points.append({"x": x, "seconds": seconds, "peak_extra_mib": round(peak, 3)})
        last = (x, time.perf_counter() - t0)
        del job
        gc.collect()
    return {"curve": name, "points": points, "skipped_over_budget": skipped}


def memory(params: dict[str, Any]) -> dict[str, Any]:
    """Resident memory of ``models`` monitors of ``features`` features each, and the codec sizes."""
    try:  # the base figure is a service worker's interpreter, when the service extra is there
        import mlmon.service.app  # noqa: F401

        with_service = True
    except Exception:  # without it the figure is the library's interpreter, and says so
        with_service = False
    base = rss_mib()
    models, features, kind = int(params["models"]), int(params["features"]), params["kind"]
    categories = int(params.get("categories", 100))
    if kind == "numerical":
        ref, _ = w.numeric_sets(5_000, features)
    else:
        ref = {
            f"c{j}": w.categorical_sets(5 * categories, categories, seed=j)[0]["cat"] for j in range(features)
        }
    baseline = Baseline.fit(ref, max_categories=max(categories, 10))
    batch = {name: col[:1000] for name, col in ref.items()}
    blob = baseline.to_bytes()
    gc.collect()
    before = rss_mib()
    kept = []
    for _ in range(models):
        monitor = Monitor(Baseline.from_bytes(blob), window="1h")
        monitor.update(batch)
        kept.append(monitor)
    gc.collect()
    per_model_mib = (rss_mib() - before) / models
    return {
        "kind": kind,
        "features": features,
        "categories": categories if kind == "categorical" else None,
        "models": models,
        "rss_base_mib": base,
        "rss_base_includes_service": with_service,
        "rss_per_model_mib": per_model_mib,
        "rss_per_model_feature_kib": per_model_mib * 1024 / features,
        "baseline_bytes_per_feature": len(blob) / features,
        "window_profile_bytes_per_feature": len(w.window_profile(baseline, batch)) / features,
        "snapshot_bytes_per_feature": len(kept[0].snapshot()) / features,
    }


def kernel_suite(params: dict[str, Any]) -> dict[str, Any]:
    """Times one kernels suite (``suite``, ``size``, ``min_rounds``, ``max_time``, ``warmup``,
    ``budget_s``)."""
    suite = params["suite"]
    if suite not in kernels.SUITES:
        raise SystemExit(f"unknown kernels suite {suite!r}; expected one of {sorted(kernels.SUITES)}")
    return kernels.run_suite(
        suite,
        int(params["size"]),
        int(params["min_rounds"]),
        float(params["max_time"]),
        int(params["warmup"]),
        float(params.get("budget_s", float("inf"))),
    )


def main() -> None:
    """Reads the task and its parameters from argv, prints the JSON answer."""
    task, params = sys.argv[1], json.loads(sys.argv[2])
    tasks: dict[str, Callable[[dict[str, Any]], dict[str, Any]]] = {
        "curve": curve,
        "memory": memory,
        "kernels": kernel_suite,
    }
    if task not in tasks:
        raise SystemExit(f"unknown task {task!r}; expected one of {sorted(tasks)}")
    print(json.dumps(tasks[task](params)))


if __name__ == "__main__":
    main()
