"""The capacity model: sizing figures derived from one results file, and the worked example.

Everything here is arithmetic on measured figures (no constants standing in for measurements), so the
report's numbers change when the machine's do. The assumptions are explicit parameters:

* CPU: a worker (one process, one core) spends, per ingest request, a fixed overhead (HTTP, decoding,
  the group commit: the service's measured time per 1,000 x 25 batch minus the in-process fold of the
  same batch) plus the in-process cost per value (the batch curve's slope, per row / 25 features).
* Memory: every worker holds every model version's baseline and open window (any worker can receive
  any model), plus its in-flight body budget.
* Store: each group commit writes one partial row per model and window it touched; at a few batches per
  second per model each batch is in practice its own row (an upper bound), remembered batch ids are
  kept ``batch_ids_for`` days, and a retention pass compacts partials older than ``compact_after`` into
  one row per ``granularity``.
"""

from __future__ import annotations

import math
from typing import Any

import msgspec

from mlmon.bench.fit import LineFit, line_fit

__all__ = ["Example", "Policy", "derive", "store_bytes_per_day", "worked_example"]

INGEST_FEATURES = 25
INFLIGHT_MIB = 64  # the service's default per-worker budget of bodies in flight (MLMON_INFLIGHT_BYTES)


class Policy(msgspec.Struct, frozen=True, kw_only=True):
    """Retention: ``compact_after_h`` hours raw, then one row per ``granularity_h``; batch ids for
    ``batch_ids_days``; compacted history for ``retention_days``."""

    compact_after_h: float = 48
    granularity_h: float = 24
    batch_ids_days: float = 7
    retention_days: float = 90


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
            out[f"{backend}_batch_id_bytes"] = sum(v["bytes_per_batch_id"] for _, v in sizes) / len(sizes)
    return out


def store_bytes_per_day(
    derived: dict[str, Any],
    backend: str,
    features: int,
    batches_per_s: float,
    window_s: float,
    policy: Policy,
) -> dict[str, float]:
    """Store size of one model: rows written per day and the steady-state bytes under ``policy``.

    A model is assumed to send at least one batch per window (``batches_per_s`` 0 means that light
    traffic); each batch is one partial row and one batch-id row. mlmon's retention pass compacts and
    expires batch ids but does not delete compacted history: ``retention_days`` is how long the operator
    keeps it.
    """
    partial = _fit(derived[f"{backend}_partial_fit"]).predict(features)
    batch_id = derived[f"{backend}_batch_id_bytes"]
    batches_day = max(batches_per_s * 86_400, 86_400 / window_s)
    compacted_rows_day = 24 / policy.granularity_h
    raw_bytes = batches_day * partial * policy.compact_after_h / 24
    ids_bytes = batches_day * batch_id * policy.batch_ids_days
    history = compacted_rows_day * partial * policy.retention_days
    return {
        "bytes_per_partial": partial,
        "raw_rows_per_day": batches_day,
        "written_bytes_per_day": batches_day * (partial + batch_id),
        "raw_bytes": raw_bytes,
        "batch_id_bytes": ids_bytes,
        "history_bytes": history,
        "steady_state_bytes": raw_bytes + ids_bytes + history,
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
        out["postgres"] = {
            name: {
                k: v * ex.models if k.endswith("bytes") or k.endswith("per_day") else v
                for k, v in store_bytes_per_day(
                    derived, "postgres", ex.features, batches_s_model, window_s, policy
                ).items()
            }
            for name, policy in policies.items()
        }
    return out
