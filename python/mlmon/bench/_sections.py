"""The sections that both generated documents share: the machine line, curve fits, peer tables.

``mlmon.bench.report`` (the run's summary) and ``mlmon.bench.capacity_doc`` (capacity planning) both
quote them, so they live here, below both.
"""

from __future__ import annotations

from typing import Any

from mlmon.bench.tables import fmt_s, md_table

__all__ = [
    "SHARED_NOTE",
    "agreement_table",
    "curve_fits",
    "curve_points",
    "machine",
    "peer_table",
    "verdict_table",
]

SHARED_NOTE = (
    "The machine was shared with other agents' builds and tests during the run, so absolute "
    "times are noisy; ratios measured in the same run hold up better."
)


def machine(results: dict[str, Any]) -> str:
    """One line on the host of the run: CPU, memory, versions, load average at both ends."""
    h = results["host"]
    return (
        f"{h['host']}: {h['cpu']}, {h['cores']} cores, {h['memory_gib']} GiB, {h['machine']}, Linux "
        f"{h['kernel']}; Python {h['python']}, numpy {h['numpy']}, mlmon {h['mlmon']} (kernels: "
        f"{h.get('simd')}); load average {h['loadavg'][0]} at the start, "
        f"{h.get('loadavg_end', ['?'])[0]} at the end"
    )


def curve_fits(results: dict[str, Any]) -> str:
    """One row per curve: fixed cost, cost per unit, R^2, for time and memory."""
    rows = []
    for name, c in (results.get("curves") or {}).items():
        t, m = c.get("fit_time"), c.get("fit_memory")
        if not t or not m:
            rows.append([name, c.get("unit", ""), c.get("error", "too few points"), "", "", "", ""])
            continue
        span = f"{c['points'][0]['x']:,} .. {c['points'][-1]['x']:,}"
        rows.append(
            [
                name,
                f"{c['unit']} ({span})",
                fmt_s(t["fixed"]),
                f"{t['per_unit']:.3g} s",
                f"{t['r2']:.3f}",
                f"{m['fixed']:.2f} MiB + {m['per_unit'] * 1024:.3g} KiB",
                f"{m['r2']:.3f}",
            ]
        )
    return md_table(
        ["curve", "x", "time: fixed", "time per unit", "R²", "memory: fixed + per unit", "R²"], rows
    )


def curve_points(results: dict[str, Any]) -> str:
    """The measured points of each scaling curve, one table per curve."""
    parts = []
    for name, c in (results.get("curves") or {}).items():
        fixed = ", ".join(f"{k} {v:,}" for k, v in (c.get("fixed") or {}).items())
        rows = [
            [f"{p['x']:,}", fmt_s(p["seconds"]), f"{p['peak_extra_mib']:.2f}"] for p in c.get("points", [])
        ]
        skipped = c.get("skipped_over_budget") or []
        note = (
            f" Not measured (over the time budget): {', '.join(f'{x:,}' for x in skipped)}."
            if skipped
            else ""
        )
        parts.append(
            f"**{name}** ({fixed or 'see the unit'}).{note}\n\n"
            + md_table([c.get("unit", "x"), "time", "peak extra MiB"], rows)
        )
    return "\n\n".join(parts)


def peer_table(results: dict[str, Any]) -> str:
    """Time and memory of every peer, with the ratio to mlmon."""
    peers = (results.get("peers") or {}).get("results") or {}
    base = peers.get("mlmon", {})
    rows = []
    for name, p in peers.items():
        if p.get("status") != "ok":
            rows.append([name, "", p.get("status", "?"), "", "", "", ""])
            continue
        ratio = p["seconds"] / base["seconds"] if base.get("status") == "ok" and name != "mlmon" else None
        rows.append(
            [
                name,
                str(p.get("version", "")),
                fmt_s(p["seconds"]),
                f"{ratio:,.1f}x" if ratio else "",
                f"{p['peak_extra_mib']:,.0f}",
                f"{p['peak_rss_mib']:,.0f}" if p.get("peak_rss_mib") is not None else "",
                str(p.get("pandas", "")),
            ]
        )
    return md_table(
        ["tool", "version", "time", "time / mlmon's", "peak extra MiB", "peak RSS MiB", "pandas"], rows
    )


def agreement_table(results: dict[str, Any]) -> str:
    """Largest score difference per comparison where the methods coincide (and the one where not)."""
    rows = [
        [
            a["tool"],
            a["method"],
            f"{a['max_difference']:.2g} ({a['measure']})",
            a["worst_feature"],
            str(a["features"]),
        ]
        for a in (results.get("peers") or {}).get("agreement") or []
    ]
    return md_table(
        ["tool", "value compared with the numpy/scipy reference", "largest difference", "at", "features"],
        rows,
    )


def verdict_table(results: dict[str, Any]) -> str:
    """Each tool's own drift verdicts against the 13 features that drifted."""
    rows = [
        [
            v["tool"],
            str(v["judged"]),
            str(v["true_alarms"]),
            str(v["missed"]),
            str(v["false_alarms"]),
            ", ".join(v["false_alarm_features"][:6]) + (" ..." if len(v["false_alarm_features"]) > 6 else ""),
        ]
        for v in (results.get("peers") or {}).get("verdicts") or []
    ]
    return md_table(
        ["tool", "features judged", "drifted, flagged", "drifted, missed", "false alarms", "which"], rows
    )
