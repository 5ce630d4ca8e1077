"""Self-contained HTML page of a drift history: per feature, the score over time as an inline SVG line
chart (thresholds dashed, points colored by severity, a tooltip per point), then a table of periods.
No scripts, no network, like the single-report page whose styles it shares.
"""

from __future__ import annotations

from html import escape
from typing import TYPE_CHECKING

from mlmon.core.drift import SEVERITY_ORDER
from mlmon.core.render.style import COLORS, CSS, badge

if TYPE_CHECKING:
    from mlmon.batch.history import DriftHistory
    from mlmon.core.drift import DriftReport

__all__ = ["render_history"]

_W, _H, _PAD_L, _PAD_B, _PAD_T = 640, 180, 44, 26, 10


def _period(r: DriftReport) -> str:
    return "–" if r.window_start is None else f"{r.window_start:%Y-%m-%d %H:%M}"


def _chart(history: DriftHistory, name: str) -> str:
    """Score of ``name`` per period, with the warning and critical thresholds."""
    reports = history.reports
    feats = [r.features[name] for r in reports]
    warn, crit = feats[0].warning_threshold, feats[0].critical_threshold
    peak = max([*(f.score for f in feats), crit * 1.15, 1e-9])
    plot_w, plot_h = _W - _PAD_L - 10, _H - _PAD_T - _PAD_B
    step = plot_w / max(len(feats) - 1, 1)

    def x(i: int) -> float:
        return _PAD_L + (i * step if len(feats) > 1 else plot_w / 2)

    def y(v: float) -> float:
        return _PAD_T + plot_h * (1 - min(v, peak) / peak)

    base = _PAD_T + plot_h
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{_W}" height="{_H}" role="img" '
        f'aria-label="drift of {escape(name)} over time">',
        f'<line x1="{_PAD_L}" y1="{base}" x2="{_W - 10}" y2="{base}" stroke="#d0d7de"/>',
    ]
    for level, value in (("warning", warn), ("critical", crit)):
        out.append(
            f'<line x1="{_PAD_L}" y1="{y(value):.1f}" x2="{_W - 10}" y2="{y(value):.1f}" '
            f'stroke="{COLORS[level]}" stroke-dasharray="4 3" stroke-opacity="0.7"/>'
            f'<text x="{_PAD_L - 4}" y="{y(value) + 3:.1f}" font-size="10" text-anchor="end" '
            f'fill="{COLORS[level]}">{value:g}</text>'
        )
    points = " ".join(f"{x(i):.1f},{y(f.score):.1f}" for i, f in enumerate(feats))
    out.append(f'<polyline points="{points}" fill="none" stroke="#0969da" stroke-width="1.5"/>')
    for i, (r, f) in enumerate(zip(reports, feats, strict=True)):
        tip = escape(f"{_period(r)}: PSI {f.score:.3f}, {f.severity.replace('_', ' ')}, {f.count:,} values")
        out.append(
            f'<circle cx="{x(i):.1f}" cy="{y(f.score):.1f}" r="3" fill="{COLORS[f.severity]}">'
            f"<title>{tip}</title></circle>"
        )
    last = len(feats) - 1
    for i in sorted({0, last, *range(0, len(feats), max(1, len(feats) // 6))}):
        anchor = "start" if i == 0 and last else "end" if i == last and last else "middle"
        out.append(
            f'<text x="{x(i):.1f}" y="{_H - 8}" font-size="10" text-anchor="{anchor}" fill="#656d76">'
            f"{escape(_period(reports[i])[:10])}</text>"
        )
    out.append(f'<text x="4" y="{_PAD_T + 8}" font-size="10" fill="#656d76">PSI</text>')
    out.append("</svg>")
    return "".join(out)


def _feature(history: DriftHistory, name: str) -> str:
    feats = [r.features[name] for r in history.reports]
    worst = max((f.severity for f in feats), key=SEVERITY_ORDER.__getitem__)
    drifted = sum(f.drifted for f in feats)
    is_open = " open" if drifted else ""
    return (
        f'<details id="f-{escape(name)}"{is_open}><summary>{escape(name)} {badge(worst)} '
        f'<span class="muted">{escape(feats[0].kind)} · max PSI {max(f.score for f in feats):.3f} · '
        f"drifted in {drifted} of {len(feats)} periods</span></summary>{_chart(history, name)}</details>"
    )


def _periods(history: DriftHistory) -> str:
    rows = "".join(
        f'<tr><td class="l">{escape(_period(r))}</td><td>{r.current_rows:,}</td>'
        f'<td class="l">{badge(r.severity)}</td><td>{r.score:.3f}</td>'
        f'<td class="l">{escape(", ".join(f.name for f in r.drifted()[:5]) or "–")}</td></tr>'
        for r in history.reports
    )
    head = (
        '<th class="l">period</th><th>rows</th><th class="l">severity</th><th>score</th>'
        '<th class="l">drifted</th>'
    )
    return f"<table><thead><tr>{head}</tr></thead><tbody>{rows}</tbody></table>"


def render_history(history: DriftHistory, *, title: str | None = None) -> str:
    """The history as one self-contained HTML page.

    Args:
        history: The per-period reports.
        title: Page title (default: the model and version).

    Returns:
        HTML text with inline CSS and SVG; no scripts and no external resources.
    """
    reports = history.reports
    first = reports[0] if reports else None
    version = (
        first and first.version and (first.version if first.version.startswith("v") else f"v{first.version}")
    )
    model = first and " ".join(x for x in (first.model, version) if x)
    heading = title or f"Drift over time: {model or 'model'}"
    if not reports:
        body = "<p>No rows with a timestamp: nothing to show.</p>"
    else:
        names = list(reports[0].features)
        names.sort(key=lambda n: -max(r.features[n].score for r in reports))
        worst = max((r.severity for r in reports), key=SEVERITY_ORDER.__getitem__)
        tiles = [
            ("periods", f"{len(reports)} × {escape(history.by)}"),
            ("rows", f"{history.rows:,}"),
            ("worst period", badge(worst)),
            ("periods drifted", f"{sum(r.severity in ('warning', 'critical') for r in reports)}"),
        ]
        skipped = (
            f'<p class="issues">{history.skipped_rows:,} rows without a timestamp were left out</p>'
            if history.skipped_rows
            else ""
        )
        body = (
            '<div class="summary">'
            + "".join(f'<div class="tile">{k}<b>{v}</b></div>' for k, v in tiles)
            + f'</div>{skipped}<p class="muted">{escape(_period(reports[0]))} – '
            f"{escape(_period(reports[-1]))} "
            "UTC · PSI per period, dashed lines at the warning and critical thresholds; hover a point for "
            f"details.</p><h2>Features</h2>{''.join(_feature(history, n) for n in names)}"
            f"<h2>Periods</h2>{_periods(history)}"
        )
    return (
        '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width,initial-scale=1">'
        f"<title>{escape(heading)}</title><style>{CSS}</style></head><body>"
        f"<h1>{escape(heading)}</h1>{body}</body></html>"
    )
