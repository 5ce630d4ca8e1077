"""Model outputs and delayed labels (issue 19): what they cost the ingest write path, the store and the
service's memory, each set against the same work without them, measured in the same run.

* **Outputs stage** (in-process, no HTTP): a 1,000-row batch of 25 features + ``prediction`` +
  ``proba_0``/``proba_1`` with 1,000 request ids, msgpack-binary as ``DriftClient`` sends it: the
  envelope decode and ``decode_and_count`` alone vs the same + ``OutputSpec.extract`` (the rows kept
  for the label join and the CBPE counts), timed alternately; the median of each and the ratio. Beside
  them, the 25 features alone on a model without outputs.
* **Commit**: ``Store.ingest`` of a group of 16 such batches with their 1,000 kept predictions and
  estimate each vs the same group without (see :mod:`mlmon.bench.labels_store`).
* **Label join**: ``Store.join_labels`` of 1,000-label batches matching kept predictions, a retry of one
  (all duplicates), and 1,000 labels without a prediction (the pending path).
* **Memory per model**: bytes on disk per kept prediction, the size of a window's realized and estimate
  counts, and the Python heap of a ``BaselineEntry`` with outputs + reference vs one without.

A step of every mode (``mlmon bench --store`` runs it with the other store steps); alone:
``python -m mlmon.bench.labels [--tiny] [--backend sqlite] [--budget SECONDS]`` prints its JSON.
"""

from __future__ import annotations

import argparse
import gc
import json
import statistics
import time
import tracemalloc
from collections.abc import Callable
from typing import Any

from mlmon.bench import labels_store
from mlmon.bench.modes import MODES, LabelSizes
from mlmon.bench.workloads.labels import (
    FEATURES,
    ROWS,
    batch_columns,
    client_body,
    labelled_baseline,
    labels_of,
    plain_baseline,
)
from mlmon.service.ingest.count import decode_and_count
from mlmon.service.ingest.decode import BaselineEntry, decode_envelope
from mlmon.service.ingest.outputs import OutputSpec, counter_of

__all__ = ["entry_memory", "outputs_stage", "run_labels"]

# The service's defaults (MLMON_MAX_ROWS, MLMON_MAX_CATEGORIES).
_MAX_ROWS, _MAX_CATEGORIES = 1_000_000, 100_000


def _entry(data: bytes, model: str = "m") -> BaselineEntry:
    return BaselineEntry.build(model, "v1", "0" * 64, data, _MAX_ROWS, _MAX_CATEGORIES)


def _alternate(jobs: dict[str, Callable[[], Any]], runs: int, budget_s: float) -> dict[str, float]:
    """The median seconds of each job, run in turn (a busy moment slows them all), after a warm-up."""
    for job in jobs.values():
        job()
    times: dict[str, list[float]] = {name: [] for name in jobs}
    deadline = time.monotonic() + budget_s
    for _ in range(runs):
        for name, job in jobs.items():
            t0 = time.perf_counter()
            job()
            times[name].append(time.perf_counter() - t0)
        if time.monotonic() > deadline:
            break
    return {name: statistics.median(ts) for name, ts in times.items()}


def outputs_stage(runs: int, budget_s: float) -> tuple[dict[str, Any], labels_store.Template, OutputSpec]:
    """The outputs stage's cost per batch (in-process, no HTTP); also returns the batch as the write
    path leaves it and the version's spec, for the store figures."""
    entry, plain = _entry(labelled_baseline().to_bytes()), _entry(plain_baseline().to_bytes())
    spec = entry.outputs
    assert spec is not None  # the baseline carries its reference
    cols = batch_columns(1)
    body = client_body(cols, [f"req-{i:06d}" for i in range(ROWS)])
    features = client_body({k: v for k, v in cols.items() if k.startswith("f")}, None)

    def count() -> Any:
        envelope = decode_envelope(body, "msgpack")
        return envelope, decode_and_count(entry, envelope, "msgpack", _MAX_ROWS)

    def count_and_extract() -> Any:
        envelope, folded = count()
        return spec.extract(envelope.columns, "msgpack", folded.rows, envelope.request_ids, 1.0)

    def features_only() -> Any:
        return decode_and_count(plain, decode_envelope(features, "msgpack"), "msgpack", _MAX_ROWS)

    medians = _alternate(
        {"count": count, "count_extract": count_and_extract, "features_only": features_only}, runs, budget_s
    )
    envelope, folded = count()
    kept, estimate = spec.extract(envelope.columns, "msgpack", folded.rows, envelope.request_ids, 1.0)
    figures = {
        "where": "in-process, no HTTP",
        "rows": ROWS,
        "features": FEATURES,
        "body_bytes": len(body),
        "features_only_body_bytes": len(features),
        "kept_predictions": len(kept),
        "count_s": medians["count"],
        "count_extract_s": medians["count_extract"],
        "extract_s": medians["count_extract"] - medians["count"],
        "features_only_s": medians["features_only"],
        "ratio": medians["count_extract"] / medians["count"],
    }
    template = labels_store.Template(folded.profile, folded.rows, estimate, kept, labels_of(1))
    return figures, template, spec


def _traced(build: Callable[[], list[BaselineEntry]]) -> int:
    """Bytes of Python heap the objects ``build`` returns hold (tracemalloc, while they are alive)."""
    gc.collect()
    tracemalloc.start()
    try:
        kept = build()
        current, _ = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    del kept
    return current


def entry_memory(entries: int) -> dict[str, Any]:
    """Python heap per ``BaselineEntry`` of 25 features, with outputs + reference vs without, over
    building ``entries`` of each. The engine's reader allocates outside Python's heap: not counted."""
    with_outputs, plain = labelled_baseline().to_bytes(), plain_baseline().to_bytes()

    def build(data: bytes) -> Callable[[], list[BaselineEntry]]:
        return lambda: [_entry(data, f"m{i}") for i in range(entries)]

    per = {
        name: _traced(build(data)) / entries for name, data in (("plain", plain), ("outputs", with_outputs))
    }
    return {
        "entries": entries,
        "features": FEATURES,
        "measured": "Python heap (tracemalloc); the engine's Rust-side reader not included",
        "plain_entry_bytes": per["plain"],
        "outputs_entry_bytes": per["outputs"],
        "ratio": per["outputs"] / per["plain"],
        "plain_baseline_bytes": len(plain),
        "outputs_baseline_bytes": len(with_outputs),
    }


def _backend(
    backend: str, template: labels_store.Template, spec: OutputSpec, sizes: LabelSizes, budget_s: float
) -> dict[str, Any]:
    """The store figures of one backend, each bounded by a third of ``budget_s``."""
    counter = counter_of({"v1": spec})
    with labels_store.databases(backend) as url:
        return {
            "backend": backend,
            "commit": labels_store.commit_cost(url, template, counter, sizes.commits, budget_s / 3),
            "join": labels_store.join_cost(url, template, counter, sizes.joins, budget_s / 3),
            "disk": labels_store.disk_cost(
                url, backend, template, counter, sizes.disk_predictions, budget_s / 3
            ),
        }


def run_labels(sizes: LabelSizes, backends: list[str], budget_s: float) -> dict[str, Any]:
    """Every figure of the step: the outputs stage, then per backend the commit, the label join and
    the bytes on disk, then the memory of the baseline entries. A backend that cannot run here (no
    PostgreSQL) is a row with the reason."""
    share = budget_s / (2 + 3 * len(backends))  # the stage and the memory, three store figures each
    stage, template, spec = outputs_stage(sizes.stage_runs, share)
    stores: list[dict[str, Any]] = []
    for backend in backends:
        try:
            stores.append(_backend(backend, template, spec, sizes, 3 * share))
        except Exception as exc:  # reported in the results, never hidden
            stores.append({"backend": backend, "error": f"skipped: {type(exc).__name__}: {exc}"[:300]})
    return {"stage": stage, "stores": stores, "memory": entry_memory(sizes.entries)}


def main(argv: list[str] | None = None) -> int:
    """Runs the step alone and prints its figures as JSON."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--backend", action="append", choices=["sqlite", "postgres"], default=None)
    parser.add_argument("--budget", type=float, default=120.0, help="seconds (default 120)")
    parser.add_argument("--tiny", action="store_true", help="the tiny mode's sizes (seconds)")
    args = parser.parse_args(argv)
    sizes = MODES["tiny" if args.tiny else "full"].labels
    print(json.dumps(run_labels(sizes, args.backend or ["sqlite", "postgres"], args.budget), indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
