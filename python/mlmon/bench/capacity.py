"""The capacity model: sizing figures derived from one results file, and the worked example.

Everything here is arithmetic on measured figures (no constants standing in for measurements), so the
report's numbers change when the machine's do. The assumptions are explicit parameters:

* CPU: a worker (one process, one core) spends, per ingest request, a fixed overhead (HTTP, decoding,
  the group commit: the service's measured time per 1,000 x 25 batch minus the in-process fold of the
  same batch) plus the in-process cost per value (the batch curve's slope, per row / 25 features).
* Memory: every worker holds every model version's baseline and open window (any worker can receive
  any model), plus its in-flight body budget.
* Store (issue 16): each group commit appends one delta row per model version and window it touched;
  every ``compact_interval_s`` the compactor folds a window's deltas into its one aggregate row. So the
  store holds one aggregate per model version per window for ``compact_after_h`` hours, then one per
  ``granularity`` of history, plus the deltas that arrived since the last pass, one row per producer (a
  client process) and remembered batch ids only for the batches of clients without a producer id.
  Deleted rows wait for (auto)vacuum (PostgreSQL) before their space is reused: ``vacuum_s`` of deleted
  rows are counted as dead space. At a few batches per second per model each batch is in practice its
  own commit for its model (the upper bound used here).
"""

from __future__ import annotations

import math
from typing import Any

import msgspec

from mlmon.bench.fit import LineFit, line_fit

__all__ = ["Example", "Policy", "StoreLoad", "derive", "store_bytes_per_day", "worked_example"]

INGEST_FEATURES = 25
INFLIGHT_MIB = 64  # the service's default per-worker budget of bodies in flight (MLMON_INFLIGHT_BYTES)


class Policy(msgspec.Struct, frozen=True, kw_only=True):
    """Retention: ``compact_after_h`` hours of windows, then one row per ``granularity_h``; batch ids for
    ``batch_ids_days``; compacted history for ``retention_days``; a compaction pass every
    ``compact_interval_s`` (``MLMON_COMPACT_INTERVAL_SECONDS``); deleted rows reclaimed after
    ``vacuum_s`` (PostgreSQL's ``autovacuum_naptime`` is 60 s)."""

    compact_after_h: float = 48
    granularity_h: float = 24
    batch_ids_days: float = 7
    retention_days: float = 90
    compact_interval_s: float = 5
    vacuum_s: float = 60


class StoreLoad(msgspec.Struct, frozen=True, kw_only=True):
    """The traffic of one model version: ``batches_per_s`` (0: one batch per window), in windows of
    ``window_s`` seconds, from ``producers`` client processes, ``keyed_share`` of the batches without a
    producer id (remembered by batch id), ``batches_per_commit`` of this model in each group commit."""

    features: int = 100
    batches_per_s: float = 0.0
    window_s: float = 3600
    producers: int = 8
    keyed_share: float = 0.0
    batches_per_commit: float = 1.0


class Example(msgspec.Struct, frozen=True, kw_only=True):
    """The deployment to size (rows per second are per model, at peak)."""

    models: int = 50
    features: int = 100
    rows_per_s: float = 5_000
    batch_rows: int = 1_000
    utilization: float = 0.5
    cores_per_pod: int = 2
    min_pods: int = 2
    categorical_share: float = 0.2
    producers_per_model: int = 8


def _fit(d: dict[str, Any]) -> LineFit:
    return msgspec.convert(d, LineFit)


def _service_row(results: dict[str, Any]) -> dict[str, Any] | None:
    for table in (results.get("service") or {}).get("tables", []):
        for row in table:
            # mlmon itself (the wrk table also has reference servers), one worker, binary bodies.
            server = str(row.get("server", "mlmon-uvicorn"))
            if (
                server == "mlmon-uvicorn"
                and row.get("workers") == 1
                and row.get("body") == "msgpack-binary"
                and "rows/s" in row
            ):
                return dict(row)
    return None


def derive(results: dict[str, Any]) -> dict[str, Any]:
    """The per-core, per-feature and per-row figures of the capacity report."""
    out: dict[str, Any] = {}
    batch = (results.get("curves") or {}).get("batch", {})
    if batch.get("fit_time"):
        fit = _fit(batch["fit_time"])
        per_batch = fit.predict(1000)
        out["inprocess_rows_per_s_core"] = 1000 / per_batch
        out["inprocess_values_per_s_core"] = 1000 * INGEST_FEATURES / per_batch
        out["inprocess_batch_s"] = per_batch
        out["inprocess_request_fixed_s"] = fit.fixed
        out["inprocess_value_s"] = fit.per_unit / INGEST_FEATURES
    service = _service_row(results)
    if service is not None:
        out["service_rows_per_s_worker"] = float(service["rows/s"])
        out["service_p99_ms"] = service.get("p99 ms")
        if "inprocess_batch_s" in out:
            out["service_overhead_s"] = max(
                0.0, 1000 / out["service_rows_per_s_worker"] - out["inprocess_batch_s"]
            )
    for m in results.get("memory") or []:
        out[f"memory_{m['kind']}_kib_per_model_feature"] = m["rss_per_model_feature_kib"]
        out[f"profile_{m['kind']}_bytes_per_feature"] = m["window_profile_bytes_per_feature"]
        out["process_base_mib"] = m.get("rss_base_mib", out.get("process_base_mib"))
    for backend in ("sqlite", "postgres"):
        sizes = [
            (s["features"], s[backend])
            for s in results.get("store") or []
            if "error" not in s.get(backend, {"error": 1})
        ]
        if len(sizes) >= 2:
            out[f"{backend}_partial_fit"] = msgspec.to_builtins(
                line_fit([f for f, _ in sizes], [v["bytes_per_partial"] for _, v in sizes])
            )
            out[f"{backend}_batch_id_bytes"] = _mean(v.get("bytes_per_batch_id") for _, v in sizes)
            out[f"{backend}_producer_bytes"] = _mean(v.get("bytes_per_producer") for _, v in sizes)
            aggregates = [(f, v["bytes_per_aggregate"]) for f, v in sizes if "bytes_per_aggregate" in v]
            if len(aggregates) >= 2:
                out[f"{backend}_aggregate_fit"] = msgspec.to_builtins(
                    line_fit([f for f, _ in aggregates], [b for _, b in aggregates])
                )
    ingest = [r for r in results.get("ingest") or [] if "error" not in r]
    for r in ingest:
        out[f"{r['backend']}_{r['keys']}_ingest_batches_s"] = r["batches_s"]
        out[f"{r['backend']}_{r['keys']}_merge_share"] = r["merge_share"]
    return out


def _mean(values: Any) -> float | None:
    """The mean of the measured values (a figure missing from an older results file: ``None``); a
    negative per-row growth (page-granular sizes of few rows) counts as 0."""
    got = [max(0.0, float(v)) for v in values if v is not None]
    return sum(got) / len(got) if got else None


def store_bytes_per_day(
    derived: dict[str, Any], backend: str, load: StoreLoad, policy: Policy
) -> dict[str, float]:
    """Store size of one model version: rows and bytes written per day, the steady state under
    ``policy``, and the write amplification.

    The state is bounded by windows and producers, not by batches: aggregates (one per window for
    ``compact_after_h``, then one per ``granularity_h`` for ``retention_days``), the deltas of one
    compaction interval, the deleted rows awaiting vacuum, one row per producer, and batch ids only for
    ``keyed_share`` of the batches. Written bytes are the delta inserts plus the aggregate rewrites (a
    pass rewrites the aggregate of each window that got deltas since the last one) plus the daily
    history rows; the write amplification is written bytes per byte of deltas. mlmon's retention pass
    compacts history but does not delete it: ``retention_days`` is how long the operator keeps it.

    Raises:
        KeyError: the results lack the backend's row sizes.
    """
    delta = _fit(derived[f"{backend}_partial_fit"]).predict(load.features)
    aggregate_fit = derived.get(f"{backend}_aggregate_fit")
    aggregate = _fit(aggregate_fit).predict(load.features) if aggregate_fit else delta
    batch_id = derived[f"{backend}_batch_id_bytes"] or 0.0
    producer = derived.get(f"{backend}_producer_bytes") or 0.0
    batches_s = max(load.batches_per_s, 1 / load.window_s)
    deltas_s = batches_s / max(1.0, load.batches_per_commit)
    # A pass rewrites a window's aggregate only when the window has two rows or more: at most once per
    # interval, and never for a window that got a single delta.
    per_window = max(1.0, deltas_s * load.window_s)
    passes_s = min(load.window_s / policy.compact_interval_s, per_window - 1) / load.window_s
    history_rows_day = 24 / policy.granularity_h
    delta_day = deltas_s * 86_400 * delta
    rewrite_day = passes_s * 86_400 * aggregate + history_rows_day * aggregate
    ids_day = batches_s * 86_400 * load.keyed_share * batch_id
    windows = policy.compact_after_h * 3600 / load.window_s
    aggregates = (windows + history_rows_day * policy.retention_days) * aggregate
    inflight = deltas_s * policy.compact_interval_s * delta
    dead = (deltas_s * delta + passes_s * aggregate) * policy.vacuum_s if backend == "postgres" else 0.0
    producers = load.producers * producer
    ids = batches_s * 86_400 * load.keyed_share * policy.batch_ids_days * batch_id
    return {
        "bytes_per_delta": delta,
        "bytes_per_aggregate": aggregate,
        "bytes_per_producer": producer,
        "delta_rows_per_day": deltas_s * 86_400,
        "delta_bytes_per_day": delta_day,
        "rewrite_bytes_per_day": rewrite_day,
        "written_bytes_per_day": delta_day + rewrite_day + ids_day,
        "write_amplification": (delta_day + rewrite_day) / delta_day,
        "aggregate_rows": windows + history_rows_day * policy.retention_days,
        "aggregate_bytes": aggregates,
        "inflight_rows": deltas_s * policy.compact_interval_s,
        "inflight_bytes": inflight,
        "dead_bytes": dead,
        "producer_bytes": producers,
        "batch_id_bytes": ids,
        "steady_state_bytes": aggregates + inflight + dead + producers + ids,
    }


def worked_example(
    derived: dict[str, Any], ex: Example, policies: dict[str, Policy], window_s: float = 3600
) -> dict[str, Any]:
    """Pods, cores, memory and PostgreSQL size for ``ex`` (``None`` entries where a figure is missing)."""
    out: dict[str, Any] = {"example": msgspec.to_builtins(ex)}
    batches_s_model = ex.rows_per_s / ex.batch_rows
    batches_s = batches_s_model * ex.models
    overhead = derived.get("service_overhead_s", derived.get("inprocess_request_fixed_s"))
    if overhead is not None and "inprocess_value_s" in derived:
        per_batch = overhead + derived["inprocess_value_s"] * ex.batch_rows * ex.features
        cpu = batches_s * per_batch
        cores = max(1, math.ceil(cpu / ex.utilization))
        pods = max(ex.min_pods, math.ceil(cores / ex.cores_per_pod))
        out.update(
            seconds_per_batch=per_batch,
            busy_cores=cpu,
            cores=cores,
            pods=pods,
            workers_per_pod=ex.cores_per_pod,
            overhead_from="service" if "service_overhead_s" in derived else "in-process",
        )
    num = derived.get("memory_numerical_kib_per_model_feature")
    cat = derived.get("memory_categorical_kib_per_model_feature")
    base = derived.get("process_base_mib")
    if num is not None and cat is not None and base is not None:
        per_feature = (1 - ex.categorical_share) * num + ex.categorical_share * cat
        state = ex.models * ex.features * per_feature / 1024
        worker = base + state + INFLIGHT_MIB
        out.update(state_mib_per_worker=state, worker_mib=worker, pod_mib=worker * ex.cores_per_pod)
    if "postgres_partial_fit" in derived:
        load = StoreLoad(
            features=ex.features,
            batches_per_s=batches_s_model,
            window_s=window_s,
            producers=ex.producers_per_model,
        )
        out["postgres"] = {
            name: {
                k: v if k.startswith("bytes_per") or k == "write_amplification" else v * ex.models
                for k, v in store_bytes_per_day(derived, "postgres", load, policy).items()
            }
            for name, policy in policies.items()
        }
    return out
