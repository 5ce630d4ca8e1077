"""Markdown from a results file: the run's summary (beside the JSON) and ``docs/capacity-planning.md``.

``python -m mlmon.bench.report RESULTS.json [--docs DIR]`` regenerates both from a stored results file
without measuring anything (``mlmon bench --report-only RESULTS.json`` does the same).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from mlmon.bench import capacity as cap
from mlmon.bench._sections import (
    SHARED_NOTE,
    agreement_table,
    curve_fits,
    curve_points,
    machine,
    peer_table,
    verdict_table,
)
from mlmon.bench.capacity_doc import render as render_capacity
from mlmon.bench.plots import plot_curves
from mlmon.bench.tables import fmt_bytes, fmt_s, md_table, num

__all__ = ["capacity_markdown", "main", "summary_markdown"]

_INGEST_KEYS = (
    "backend",
    "keys",
    "group",
    "batches_s",
    "commit_median_s",
    "merge_share",
    "delta_rows",
    "compact_s",
    "rows_after_compaction",
    "commits",
    "error",
)
_COMPACTION_KEYS = (
    "backend",
    "batches",
    "rows_per_batch",
    "workers",
    "batches_s",
    "compact_interval_s",
    "max_rows",
    "max_interval_batches",
    "rows_at_end",
    "rows_after_compaction",
    "seconds_to_one_row",
    "counted_rows",
    "error",
)


def records(rows: list[dict[str, Any]] | None, keys: tuple[str, ...]) -> str:
    """A list of flat result records as a table of ``keys`` (columns no record has are left out)."""
    if not rows:
        return "(not measured)"
    present = [k for k in keys if any(k in r for r in rows)]
    cells = [
        [num(round(r[k], 4)) if isinstance(r.get(k), float) else str(r.get(k, "")) for k in present]
        for r in rows
    ]
    return md_table(present, cells)


def _steps(results: dict[str, Any]) -> str:
    rows = [[name, s["status"], fmt_s(s.get("seconds"))] for name, s in results["steps"].items()]
    return md_table(["step", "status", "wall time"], rows)


def _kernels(results: dict[str, Any]) -> str:
    kernels = results.get("kernels") or {}
    rows = [
        # "file": results written when the kernels were pytest-benchmark files (before the suites).
        [
            k.get("suite", k.get("file", "")),
            k["name"],
            k.get("group") or "",
            fmt_s(k["min_s"]),
            fmt_s(k["median_s"]),
            f"{k['ops']:,.1f}",
        ]
        for k in kernels.get("benchmarks", [])
    ]
    table = md_table(["suite", "benchmark", "group", "min", "median", "ops/s"], rows) if rows else "(none)"
    failed = [f"* `{name}`: {error}" for name, error in (kernels.get("failed") or {}).items()]
    return "\n\n".join([table, *(["Without figures:\n\n" + "\n".join(failed)] if failed else [])])


def _service(results: dict[str, Any]) -> str:
    svc = results.get("service")
    if not svc:
        return f"(not run: {results['steps'].get('service', {}).get('status', 'no service step')})"
    parts = [f"`{svc['command']}`"]
    for table in svc["tables"]:
        headers = list(table[0])
        parts.append(md_table(headers, [[num(r.get(h, "")) for h in headers] for r in table]))
    return "\n\n".join(parts)


_COMMIT_HEADERS = (
    "backend",
    "drift counts only",
    "+ 1,000 kept predictions and estimate each",
    "cost ratio",
    "commits",
)
_JOIN_HEADERS = ("backend", "matching kept predictions", "retry (all duplicates)", "no prediction (pending)")
_DISK_HEADERS = (
    "backend",
    "per kept prediction",
    "predictions measured",
    "window realized counts",
    "window estimate counts",
)


def _ratio(value: float | None) -> str:
    return "" if value is None else f"{value:,.2f}x"


def _labels_stage(stage: dict[str, Any]) -> str:
    rows = [
        ["envelope decode + `decode_and_count`", fmt_s(stage["count_s"]), ""],
        [
            f"the same + `OutputSpec.extract` ({stage['kept_predictions']:,} request ids)",
            fmt_s(stage["count_extract_s"]),
            _ratio(stage["ratio"]),
        ],
        ["of which `OutputSpec.extract`", fmt_s(stage["extract_s"]), ""],
        ["the 25 features alone, a model without outputs", fmt_s(stage["features_only_s"]), ""],
    ]
    head = (
        f"Outputs stage per batch ({stage['where']}; {stage['rows']:,} rows x {stage['features']} features "
        f"+ prediction + 2 probabilities, msgpack-binary, {fmt_bytes(stage['body_bytes'])}), median:"
    )
    return head + "\n\n" + md_table(["work", "median", "ratio to the first row"], rows)


def _labels_stores(stores: list[dict[str, Any]]) -> str:
    commits, joins, disk = [], [], []
    for s in stores:
        if "error" in s:
            commits.append([s["backend"], s["error"], "", "", ""])
            continue
        c, j, d = s["commit"], s["join"], s["disk"]
        commits.append(
            [
                s["backend"],
                num(round(c["plain_batches_s"], 1)),
                num(round(c["outputs_batches_s"], 1)),
                _ratio(c["cost_ratio"]),
                str(c["commits"]),
            ]
        )
        labels_s = (j["matched_labels_s"], j["retry_labels_s"], j["pending_labels_s"])
        joins.append([s["backend"], *(num(float(round(x))) for x in labels_s)])
        disk.append(
            [
                s["backend"],
                fmt_bytes(d["bytes_per_prediction"]),
                f"{d['predictions']:,}",
                fmt_bytes(j["realized_bytes"]),
                fmt_bytes(j["estimate_bytes"]),
            ]
        )
    group = next((s["commit"]["group"] for s in stores if "commit" in s), 16)
    return "\n\n".join(
        [
            f"Group commits (`Store.ingest`, {group} batches of 1,000 rows), batches/s (median commit):",
            md_table(_COMMIT_HEADERS, commits),
            "Label join (`Store.join_labels`, 1,000 labels a call), labels/s (median call):",
            md_table(_JOIN_HEADERS, joins),
            "On disk per model (a window's counts: the merged blobs' length):",
            md_table(_DISK_HEADERS, disk),
        ]
    )


def _labels(results: dict[str, Any]) -> str:
    """The outputs-and-labels step's figures (``mlmon.bench.labels``)."""
    figures = results.get("labels")
    if not figures:
        return f"(not measured: {results['steps'].get('labels', {}).get('status', 'no labels step')})"
    mem = figures["memory"]
    rows = [
        ["25 features", fmt_bytes(mem["plain_entry_bytes"]), fmt_bytes(mem["plain_baseline_bytes"])],
        [
            "25 features + outputs + reference",
            fmt_bytes(mem["outputs_entry_bytes"]),
            fmt_bytes(mem["outputs_baseline_bytes"]),
        ],
    ]
    note = (
        f"Memory of a model's baseline entry: {mem['measured']}, {mem['entries']} entries built each; "
        f"ratio {_ratio(mem['ratio'])}:"
    )
    return "\n\n".join(
        [
            _labels_stage(figures["stage"]),
            _labels_stores(figures["stores"]),
            note,
            md_table(["baseline entry", "Python heap each", "baseline bytes"], rows),
        ]
    )


def summary_markdown(results: dict[str, Any]) -> str:
    """The run's summary: every figure of the results file as tables."""
    mem = [
        [
            m["kind"] + (f" ({m['categories']} categories)" if m.get("categories") else ""),
            str(m["models"]),
            str(m["features"]),
            f"{m['rss_per_model_feature_kib']:.2f}",
            f"{m['window_profile_bytes_per_feature']:.0f}",
            f"{m['baseline_bytes_per_feature']:.0f}",
        ]
        for m in results.get("memory") or []
    ]
    store = [
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
        if b in s and "error" not in s[b]
    ]
    return (
        "\n\n".join(
            [
                f"# mlmon bench --{results['mode']}: {results['started_at']}",
                f"Machine: {machine(results)}. {SHARED_NOTE} Duration {fmt_s(results['duration_s'])} "
                f"(budget {results['budget_s']:.0f} s, peer installs excluded).",
                "## Steps",
                _steps(results),
                "## In-process kernels",
                _kernels(results),
                "## Scaling curves: cost model (least-squares line)",
                curve_fits(results),
                curve_points(results),
                "## Memory per model per feature",
                md_table(
                    [
                        "features",
                        "models",
                        "features each",
                        "RSS KiB per model per feature",
                        "window profile bytes",
                        "baseline bytes",
                    ],
                    mem,
                ),
                "## Store growth",
                md_table(
                    [
                        "features",
                        "profile",
                        "backend",
                        "per delta",
                        "per aggregate",
                        "per producer",
                        "per batch id",
                    ],
                    store,
                ),
                "## Store-only ingest (group commits)",
                records(results.get("ingest"), _INGEST_KEYS),
                "## Compaction through the service",
                records(results.get("compaction"), _COMPACTION_KEYS),
                "## Model outputs and labels",
                _labels(results),
                "## Service load",
                _service(results),
                f"## Peers ({(results.get('peers') or {}).get('rows', 0):,} rows x 25 features per set)",
                peer_table(results),
                "Scores compared where the methods coincide:",
                agreement_table(results),
                "Drift verdicts (13 of 25 features drifted):",
                verdict_table(results),
            ]
        )
        + "\n"
    )


def capacity_markdown(results: dict[str, Any], image_dir: str = "img") -> str:
    """``docs/capacity-planning.md``: prose and tables from the results (see ``capacity_doc``)."""
    return render_capacity(results, cap.derive(results), image_dir)


def main(argv: list[str] | None = None) -> int:
    """Regenerates the summary and the capacity report from a results JSON."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("results", type=Path)
    parser.add_argument("--docs", type=Path, default=None, help="write capacity-planning.md and img/ here")
    args = parser.parse_args(argv)
    write_reports(json.loads(args.results.read_text()), args.results, args.docs)
    return 0


def write_reports(results: dict[str, Any], json_path: Path, docs: Path | None) -> list[Path]:
    """Writes the summary beside ``json_path`` and the plots: with ``docs``, into ``docs/img`` beside the
    capacity report; without, into ``<stem>-plots/`` beside the summary. No matplotlib: no plots (said)."""

    written = [json_path.with_suffix(".md")]
    written[0].write_text(summary_markdown(results))
    images = docs / "img" if docs is not None else json_path.with_name(json_path.stem + "-plots")
    try:
        written += plot_curves(
            results.get("curves") or {}, images, f"{results['mode']}, {results['started_at'][:10]}"
        )
    except ImportError as exc:
        print(f"no plots: {exc} (pip install matplotlib)")
    if docs is not None:
        docs.mkdir(parents=True, exist_ok=True)
        (docs / "capacity-planning.md").write_text(capacity_markdown(results))
        written.append(docs / "capacity-planning.md")
    return written


if __name__ == "__main__":
    raise SystemExit(main())
