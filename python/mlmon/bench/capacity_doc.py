"""The text of ``docs/capacity-planning.md``, generated from a results file and its derived figures.

Every number in it comes from the results; the prose only says what they mean and which assumptions the
worked example makes. Missing figures (a step that failed or did not run) are said to be missing.
"""

from __future__ import annotations

from typing import Any

from mlmon.bench import capacity as cap
from mlmon.bench._sections import SHARED_NOTE, agreement_table, curve_fits, machine, peer_table, verdict_table
from mlmon.bench.tables import fmt_bytes, fmt_s, md_table

__all__ = ["render"]

POLICIES = {
    "default (windows kept 2 days, then daily rows)": cap.Policy(),
    "hourly history (windows kept 1 hour, then hourly rows)": cap.Policy(compact_after_h=1, granularity_h=1),
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
            fmt_bytes(s[b].get("bytes_per_aggregate")),
            fmt_bytes(s[b].get("bytes_per_producer")),
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
            for bps in (0.0, 1.0, 5.0):
                load = cap.StoreLoad(features=100, batches_per_s=bps, window_s=window)
                g = cap.store_bytes_per_day(d, backend, load, cap.Policy())
                growth.append(
                    [
                        backend,
                        f"{window // 60} min",
                        f"{bps:g}/s" if bps else "1 per window",
                        f"{g['delta_rows_per_day']:,.0f}",
                        fmt_bytes(g["written_bytes_per_day"]),
                        f"{g['write_amplification']:.2f}",
                        f"{g['aggregate_rows']:,.0f}",
                        fmt_bytes(g["steady_state_bytes"]),
                    ]
                )
    sizes: list[dict[str, Any]] = results.get("store") or []
    aggregate = sizes[0].get("aggregate_batches") if sizes else None
    return "\n\n".join(
        [
            "## Store growth",
            "Ingest appends one delta row per model version and window per group commit; every "
            "`MLMON_COMPACT_INTERVAL_SECONDS` (default 5 s) each worker folds a window's deltas into its one "
            "aggregate row. Bytes on disk per row, written through the store API (SQLite: the file after a "
            "WAL checkpoint; PostgreSQL: `pg_total_relation_size`, which includes TOAST, where PostgreSQL "
            "compresses the profiles, and the indexes): a delta (one 1,000-row batch's profile), a window's "
            f"aggregate (the profile after {aggregate or '(not measured)'} batches), a producer's "
            "exactly-once state (one row per client process: `DriftClient` sends a producer id and sequence) "
            "and a remembered batch id (only for clients that send a `batch_id` alone). Profiles mix 4 "
            "numerical (10 bins) to 1 categorical (50 categories) feature.",
            md_table(
                [
                    "features",
                    "profile bytes",
                    "backend",
                    "per delta",
                    "per aggregate",
                    "per producer",
                    "per batch id",
                ],
                rows,
            ),
            "Per model with 100 features and 8 producers, under the default retention (windows kept 2 days, "
            "then one row a day; batch ids 7 days; idle producers 7 days), compaction every 5 s and 90 days "
            "of compacted history (mlmon's retention pass compacts but does not delete history; how long to "
            "keep it is the operator's choice). Light traffic is one batch per window; above that each batch "
            "is taken as its own group commit for its model (the upper bound: a commit carries many models' "
            "batches but writes one delta per model and window). The steady state is the aggregates, the "
            "deltas of one compaction interval, the deleted rows awaiting autovacuum (60 s, PostgreSQL) and "
            "the producer rows: it grows with windows and producers, not with batches. The write "
            "amplification is bytes written (delta inserts + aggregate rewrites, one per compaction pass "
            "that found deltas, + history rows) per byte of deltas, before WAL:",
            md_table(
                [
                    "backend",
                    "window",
                    "batches",
                    "delta rows/day",
                    "written/day",
                    "write amplification",
                    "aggregate rows",
                    "steady state (90 days)",
                ],
                growth,
            ),
        ]
    )


def _writes(d: dict[str, Any], results: dict[str, Any]) -> str:
    rows = []
    for r in results.get("ingest") or []:
        if "error" in r:
            rows.append([r["backend"], r["keys"], r["error"], "", "", "", "", ""])
            continue
        rows.append(
            [
                r["backend"],
                "producer id + sequence" if r["keys"] == "producer" else "batch id",
                str(r["group"]),
                f"{r['batches_s']:,.0f}",
                fmt_s(r["commit_median_s"]),
                f"{r['merge_share']:.0%}",
                f"{r['delta_rows']} -> {r['rows_after_compaction']} in {fmt_s(r['compact_s'])}",
                str(r["commits"]),
            ]
        )
    return "\n\n".join(
        [
            "## Store write rate",
            "`Store.ingest` alone (no HTTP), as the service's group committer calls it: each call commits "
            "a group of 1,000-row batches of one model, 25 features each (20 numerical, 5 categorical), all "
            "in one window, in one transaction that admits each batch (exactly-once), merges the group into "
            "one delta row and writes it (PostgreSQL: `COPY`). Batches/s are from the median commit; the "
            "merge share is the same group's merge timed in-process against that median (the rest is the "
            "database: admission, the insert and the durable commit: PostgreSQL with `fsync` on, SQLite "
            "with `synchronous=FULL`). The last column is one compaction pass over the deltas the run left.",
            md_table(
                [
                    "backend",
                    "exactly-once key",
                    "batches per commit",
                    "batches/s",
                    "median commit",
                    "merging",
                    "compaction pass",
                    "commits timed",
                ],
                rows,
            ),
            "Merging decodes every batch's profile and adds its counts; it scales with batches x features, "
            "so a faster merge (the engine's) raises the rate by up to the merge share. Batch-id keys add "
            "the insert of every id (one multi-row statement per 500) and a row per batch kept 7 days; "
            "producer keys lock and update one row per producer.",
            _compaction(results),
        ]
    )


def _compaction(results: dict[str, Any]) -> str:
    rows = [
        [
            r["backend"],
            f"{r['batches']:,} x {r['rows_per_batch']:,} rows x {r['features']}",
            f"{r['senders']} / {r['workers']}",
            f"{r['batches_s']:,.0f}",
            fmt_s(r["compact_interval_s"]),
            f"{r['max_rows']:,}",
            f"{r['max_interval_batches']:,}",
            f"{r['rows_at_end']:,}",
            f"{r['rows_after_compaction']:,} after {fmt_s(r['seconds_to_one_row'])}",
            f"{r['counted_rows']:,}" if r.get("counted_rows") is not None else "",
        ]
        if "error" not in r
        else [r["backend"], r["error"], "", "", "", "", "", "", "", ""]
        for r in results.get("compaction") or []
    ]
    if not rows:
        return "Through the service: (not measured)."
    return "\n\n".join(
        [
            "Through the service (its own process, loopback, msgpack-binary bodies, each sender thread a "
            "producer, day-long windows so every batch lands in one window, the compactor at the interval "
            "shown): the window's rows, sampled every quarter interval, against the most batches "
            "acknowledged within one interval (the bound is one aggregate plus those, plus the requests in "
            "flight); the client ran on the same cores as the service.",
            md_table(
                [
                    "backend",
                    "batches",
                    "senders / workers",
                    "batches/s",
                    "compaction interval",
                    "most rows in the window",
                    "most batches in one interval",
                    "rows at the last ack",
                    "rows after compaction",
                    "rows counted",
                ],
                rows,
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
        f"values/s, {ex.models * ex.rows_per_s / ex.batch_rows:,.0f} requests/s from "
        f"{ex.producers_per_model} client processes per model, hourly windows. Target CPU utilization "
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
            f"* **PostgreSQL, {name}**: {g['delta_rows_per_day']:,.0f} delta rows/day written, "
            f"{fmt_bytes(g['written_bytes_per_day'])}/day "
            f"({fmt_bytes(g['written_bytes_per_day'] / 86_400)}/s before WAL; write amplification "
            f"{g['write_amplification']:.2f}: {fmt_bytes(g['delta_bytes_per_day'])} of deltas + "
            f"{fmt_bytes(g['rewrite_bytes_per_day'])} of aggregate rewrites a day); steady state "
            f"{fmt_bytes(g['aggregate_bytes'])} of aggregates ({g['aggregate_rows']:,.0f} rows) + "
            f"{fmt_bytes(g['inflight_bytes'])} of deltas in flight ({g['inflight_rows']:,.0f} rows) + "
            f"{fmt_bytes(g['dead_bytes'])} deleted awaiting autovacuum + "
            f"{fmt_bytes(g['producer_bytes'])} of producer state + {fmt_bytes(g['batch_id_bytes'])} of batch "
            f"ids = **{fmt_bytes(g['steady_state_bytes'])}**."
        )
    rate = d.get("postgres_producer_ingest_batches_s")
    peak = ex.models * ex.rows_per_s / ex.batch_rows
    if rate is not None:
        lines.append(
            f"* **Write rate**: {peak:,.0f} batches/s at peak; the store alone took "
            f"{rate:,.0f} batches/s of 25-feature deltas on PostgreSQL in 256-batch group commits "
            f"({d.get('postgres_producer_merge_share', 0):.0%} of it merging; see the store write rate)."
        )
    lines.append(
        "The store no longer grows with batches: a window is one aggregate row once compacted, a producer "
        "one row, and only clients without a producer id leave batch ids. The bytes written still follow "
        "the batches (a delta row per batch when each commit carries one batch of a model): larger batches "
        "or more of a model's batches per commit cut them, and a tighter retention (`RetentionPolicy("
        "compact_after=timedelta(hours=1), granularity=timedelta(hours=1))`) only trades window rows for "
        "history rows."
    )
    return "\n\n".join(lines)


def _provenance(results: dict[str, Any]) -> str:
    """When, how and where the figures were measured (a store run over a full one: both)."""
    run = f"{results['started_at']} by `mlmon bench --{results['mode']}` on {machine(results)}"
    base = results.get("base")
    if not base:
        return f"Figures measured {run}."
    return (
        f"Figures of the store ({', '.join(base['replaced'])}) measured {run}; the others "
        f"{base['started_at']} by `mlmon bench --{base['mode']}` on {machine(base)} "
        f"(`{base['file']}`)."
    )


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
        _provenance(results),
        f"{SHARED_NOTE} `mlmon bench --{(results.get('base') or results)['mode']}` reproduces every figure "
        f"here on your machine{' (`--store` only the store figures)' if results.get('base') else ''} "
        '(`pip install "mlmon[bench]"`; in a source checkout `make bench`, which keeps the raw results in '
        "`benches/results/`).",
    ]
    body = [
        _ingest(derived, results),
        _memory(derived, results),
        _store(derived, results),
        _writes(derived, results),
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
