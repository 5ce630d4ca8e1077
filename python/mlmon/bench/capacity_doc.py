"""The text of ``docs/capacity-planning.md``, generated from a results file and its derived figures.

Every number in it comes from the results; the prose only says what they mean and which assumptions the
worked example makes. Missing figures (a step that failed or did not run) are said to be missing.
"""

from __future__ import annotations

from typing import Any

from mlmon.bench import capacity as cap
from mlmon.bench.report import SHARED_NOTE, _machine, agreement_table, curve_fits, peer_table, verdict_table
from mlmon.bench.tables import fmt_bytes, fmt_s, md_table

__all__ = ["render"]

POLICIES = {
    "default (raw 2 days, then daily rows)": cap.Policy(),
    "tight (raw 1 hour, then hourly rows)": cap.Policy(compact_after_h=1, granularity_h=1),
}


def _g(d: dict[str, Any], key: str, fmt: str = "{:,.0f}") -> str:
    value = d.get(key)
    return "(not measured)" if value is None else fmt.format(value)


def _client(results: dict[str, Any]) -> str:
    command = str((results.get("service") or {}).get("command", ""))
    return "wrk, `" + command + "`" if "wrk_bench" in command else "Python httpx, `" + command + "`"


def _ingest(d: dict[str, Any], results: dict[str, Any]) -> str:
    text = [
        "## Ingestion per core",
        "One service worker is one process on one core. Two figures bound what it ingests:",
        "* **In-process** (the service's decode + fold of a msgpack body into window counts, no HTTP, "
        "no commit; "
        f"1,000-row x 25-feature batches, one thread): **{_g(d, 'inprocess_rows_per_s_core')} rows/s per "
        "core** "
        f"({_g(d, 'inprocess_values_per_s_core')} values/s). The batch curve's line fit gives "
        "the cost "
        f"model: {fmt_s(d.get('inprocess_request_fixed_s'))} per request plus "
        f"{_g(d, 'inprocess_value_s', '{:.3g}')} s per value (row x feature).",
        "* **Through HTTP** (the load generator, one worker, msgpack-binary bodies, SQLite, a 2xx only "
        "after the "
        f"commit; the client ({_client(results)}) ran on the same 2 cores, so this is a lower bound): "
        f"**{_g(d, 'service_rows_per_s_worker')} rows/s per worker** at p99 "
        f"{_g(d, 'service_p99_ms', '{} ms')}. "
        f"The difference, {fmt_s(d.get('service_overhead_s'))} per request, is HTTP, decoding and the "
        "group commit.",
        "Size with the HTTP figure and scale by features: the per-value cost grows with rows x features, the "
        "per-request cost does not, so larger batches are cheaper per row (see the batch curve). These "
        "figures are for numerical columns sent as raw float64; string categoricals cost more per value "
        "(hashing each string: see the kernels table of the run), and JSON or msgpack lists cost more to "
        "decode (see the service table).",
    ]
    return "\n\n".join(text)


def _memory(d: dict[str, Any], results: dict[str, Any]) -> str:
    rows = [
        [
            m["kind"] + (f", {m['categories']} categories" if m.get("categories") else ", 10 bins"),
            f"{m['rss_per_model_feature_kib']:.2f} KiB",
            f"{m['window_profile_bytes_per_feature']:,.0f} B",
            f"{m['baseline_bytes_per_feature']:,.0f} B",
            f"{m['snapshot_bytes_per_feature']:,.0f} B",
        ]
        for m in results.get("memory") or []
    ]
    return "\n\n".join(
        [
            "## Memory per model per feature",
            "Measured in a fresh process: the resident memory added by N monitors (each a baseline "
            "decoded from its "
            "bytes plus an open window after one batch) divided by N x features; and the codec sizes (what a "
            "window partial, a baseline and a snapshot weigh on the wire and in the store). A worker's "
            "interpreter "
            f"with the service imported starts at {_g(d, 'process_base_mib', '{:.0f} MiB')}.",
            md_table(
                ["feature kind", "RSS per model per feature", "window profile", "baseline", "snapshot"], rows
            ),
            "Categorical features cost in proportion to their categories (the counts and the category "
            "strings); "
            "numerical ones are a fixed handful of bins.",
        ]
    )


def _store(d: dict[str, Any], results: dict[str, Any]) -> str:
    rows = [
        [
            str(s["features"]),
            fmt_bytes(s["profile_bytes"]),
            b,
            fmt_bytes(s[b].get("bytes_per_partial")),
            fmt_bytes(s[b].get("bytes_per_batch_id")),
        ]
        for s in results.get("store") or []
        for b in ("sqlite", "postgres")
        if "error" not in s.get(b, {"error": 1})
    ]
    growth = []
    for backend in ("sqlite", "postgres"):
        if f"{backend}_partial_fit" not in d:
            continue
        for window in (60, 3600):
            for bps in (0.0, 1.0):
                g = cap.store_bytes_per_day(d, backend, 100, bps, window, cap.Policy())
                growth.append(
                    [
                        backend,
                        f"{window // 60} min",
                        f"{bps:g}/s" if bps else "1 per window",
                        f"{g['raw_rows_per_day']:,.0f}",
                        fmt_bytes(g["written_bytes_per_day"]),
                        fmt_bytes(g["history_bytes"] / 90),
                        fmt_bytes(g["steady_state_bytes"]),
                    ]
                )
    return "\n\n".join(
        [
            "## Store growth",
            "Bytes on disk per window-partial row and per remembered batch id, written through the store API "
            "(SQLite: the file after a WAL checkpoint; PostgreSQL: `pg_total_relation_size`, which "
            "includes TOAST, "
            "where PostgreSQL compresses the profiles). Profiles mix 4 numerical (10 bins) to 1 categorical "
            "(50 categories) feature.",
            md_table(["features", "profile bytes", "backend", "per partial row", "per batch id"], rows),
            "Per model with 100 features, under the default retention (partials compacted after 2 days "
            "into one row a day, batch ids kept 7 days) and 90 days of compacted history (mlmon's retention "
            "pass compacts but does not delete history; how long to keep it is the operator's choice). "
            "Light traffic is one batch per window; at one batch a second each batch is its own row "
            "(group commits carry many models' batches but write one row per model and window):",
            md_table(
                [
                    "backend",
                    "window",
                    "batches",
                    "rows/day",
                    "written/day",
                    "history/day",
                    "steady state (90 days)",
                ],
                growth,
            ),
        ]
    )


def _example(d: dict[str, Any]) -> str:
    ex = cap.Example()
    w = cap.worked_example(d, ex, POLICIES)
    lines = [
        "## Worked example: 50 models x 100 features x 5,000 rows/s",
        f"Read as {ex.models} models, each with {ex.features} features (1 in 5 categorical, 100 "
        "categories) and "
        f"a peak of {ex.rows_per_s:,.0f} rows/s per model in {ex.batch_rows:,}-row batches: "
        f"{ex.models * ex.rows_per_s:,.0f} rows/s, {ex.models * ex.rows_per_s * ex.features / 1e6:,.0f} "
        "million "
        f"values/s, {ex.models * ex.rows_per_s / ex.batch_rows:,.0f} requests/s. Target CPU utilization "
        f"{ex.utilization:.0%} at peak, {ex.cores_per_pod} workers (cores) per pod, at least "
        f"{ex.min_pods} pods.",
    ]
    if "pods" in w:
        lines.append(
            f"* **CPU**: {fmt_s(w['seconds_per_batch'])} of one core per 1,000 x 100 batch "
            f"({w['overhead_from']} "
            f"overhead per request + per-value cost x 100,000 values) -> {w['busy_cores']:.2f} busy cores at "
            f"peak -> {w['cores']} core(s) at {cap.Example().utilization:.0%} -> **{w['pods']} pods of "
            f"{w['workers_per_pod']} workers ({w['pods'] * w['workers_per_pod']} cores)**."
        )
    if "pod_mib" in w:
        lines.append(
            f"* **Memory**: every worker holds all {ex.models * ex.features:,} model-features: "
            f"{w['state_mib_per_worker']:.1f} MiB of state + the interpreter + a 64 MiB in-flight budget = "
            f"{w['worker_mib']:.0f} MiB per worker, **{w['pod_mib']:.0f} MiB per pod** (request that; "
            "limit 2x)."
        )
    for name, g in (w.get("postgres") or {}).items():
        lines.append(
            f"* **PostgreSQL, {name}**: {g['raw_rows_per_day']:,.0f} partial rows/day written "
            f"({fmt_bytes(g['written_bytes_per_day'])}/day with batch ids, "
            f"{fmt_bytes(g['written_bytes_per_day'] / 86_400)}/s before WAL); steady state "
            f"{fmt_bytes(g['raw_bytes'])} raw + {fmt_bytes(g['batch_id_bytes'])} batch ids + "
            f"{fmt_bytes(g['history_bytes'])} of 90-day history = **{fmt_bytes(g['steady_state_bytes'])}**."
        )
    lines.append(
        "The raw partials dominate: a row per batch per model is cheap to write but adds up at 5 batches/s. "
        "Compacting after an hour (`RetentionPolicy(compact_after=timedelta(hours=1), "
        "granularity=timedelta(hours=1))`) "
        "keeps the database small; larger batches (10,000 rows) cut rows and CPU overhead tenfold."
    )
    return "\n\n".join(lines)


def render(results: dict[str, Any], derived: dict[str, Any], image_dir: str = "img") -> str:
    """The whole document."""
    curves = [
        f"![{n} scaling]({image_dir}/bench-{n}.png)"
        for n, c in (results.get("curves") or {}).items()
        if len(c.get("points") or []) >= 2
    ]
    head = [
        "# Capacity planning",
        f"<!-- generated by `mlmon bench --{results['mode']}` (python/mlmon/bench/capacity_doc.py); do "
        "not edit: "
        "rerun the command -->",
        f"Figures measured {results['started_at']} by `mlmon bench --{results['mode']}` on "
        f"{_machine(results)}. "
        f"{SHARED_NOTE} `mlmon bench --{results['mode']}` reproduces every figure here on your machine "
        '(`pip install "mlmon[bench]"`; in a source checkout `make bench`, which keeps the raw results in '
        "`benches/results/`).",
    ]
    body = [
        _ingest(derived, results),
        _memory(derived, results),
        _store(derived, results),
        _example(derived),
        "## Scaling curves and their cost model",
        "Each curve varies one dimension of the whole in-process job (fit the baseline, update with the "
        "current "
        "set, report) or, for batch size, of the service's ingest path, and fits time and peak extra memory "
        "with a least-squares line: fixed cost + cost per unit. The points span decades, so the fit "
        "minimizes relative residuals (weights 1/y; plain least squares where a value is 0); R² uses the "
        "same weights, and near 1 means the line is a good model. On a shared machine one disturbed point "
        "lowers R² a lot: read the plots with the table.",
        curve_fits(results),
        *curves,
        f"## Against other tools ({(results.get('peers') or {}).get('rows', 0):,} rows x 25 features per "
        "set)",
        "Each in its own virtualenv, one run each, same data; peak extra memory excludes the input frames.",
        peer_table(results),
        agreement_table(results),
        verdict_table(results),
    ]
    return "\n\n".join(head + body) + "\n"
