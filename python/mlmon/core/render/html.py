"""Self-contained HTML drift report: inline CSS and SVG, no scripts, no network.

Summary first (overall severity, score, drifted share, schema drift), then the model's outputs
(prediction drift) when the baseline records them, then a table of every input feature, worst first,
then one card per column with reference and current distributions drawn as overlaid bars.
Drifted features' cards are open, the others collapsed, which keeps a 200-feature page short and light.
"""

from __future__ import annotations

from html import escape
from typing import TYPE_CHECKING

from mlmon.core.render._text import score_legend, severity_legend
from mlmon.core.render.style import CSS, badge

if TYPE_CHECKING:
    from mlmon.core.drift import DriftReport, FeatureDrift

__all__ = ["render_html"]

_REF, _CUR = "#8c959f", "#0969da"


def _num(x: float | None, fmt: str = ".3f") -> str:
    return "–" if x is None else format(x, fmt)


def _bars(f: FeatureDrift, width: int = 560, height: int = 170) -> str:
    """Overlaid bars: reference as a wide grey bar, current as a narrower blue bar on top."""
    n = max(len(f.labels), 1)
    top, plot_h = 8, height - 48
    peak = max([*f.reference_shares, *f.current_shares, 1e-9])
    slot = (width - 10) / n
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" role="img" '
        f'aria-label="distribution of {escape(f.name)}">'
    ]
    parts.append(f'<line x1="5" y1="{top + plot_h}" x2="{width - 5}" y2="{top + plot_h}" stroke="#d0d7de"/>')
    rotate = n > 8
    for i, (label, r, c) in enumerate(zip(f.labels, f.reference_shares, f.current_shares, strict=False)):
        x = 5 + i * slot
        rh, ch = plot_h * r / peak, plot_h * c / peak
        tip = escape(f"{label}: reference {r:.1%}, current {c:.1%}")
        parts.append(
            f'<g><title>{tip}</title><rect x="{x + slot * 0.08:.1f}" y="{top + plot_h - rh:.1f}" '
            f'width="{slot * 0.84:.1f}" height="{rh:.1f}" fill="{_REF}" fill-opacity="0.45"/>'
            f'<rect x="{x + slot * 0.28:.1f}" y="{top + plot_h - ch:.1f}" width="{slot * 0.44:.1f}" '
            f'height="{ch:.1f}" fill="{_CUR}" fill-opacity="0.85"/></g>'
        )
        short = escape(label if len(label) <= 14 else label[:13] + "…")
        lx, ly = x + slot / 2, top + plot_h + 12
        transform = f' transform="rotate(-30 {lx:.1f} {ly:.1f})"' if rotate else ""
        anchor = "end" if rotate else "middle"
        parts.append(
            f'<text x="{lx:.1f}" y="{ly:.1f}" font-size="10" text-anchor="{anchor}" '
            f'fill="#656d76"{transform}>{short}</text>'
        )
    parts.append("</svg>")
    return "".join(parts)


def _facts(f: FeatureDrift) -> str:
    rows = [
        ("typed as", f.typing or f.kind),
        ("verdict", f.reason or f.severity),
        ("PSI (drives severity)", _num(f.score)),
        ("noise floor", _num(f.noise_floor)),
        ("thresholds", f"{f.warning_threshold:g} / {f.critical_threshold:g}"),
        ("chi-square test", f"{_num(f.chi2, '.1f')} (dof {f.dof if f.dof is not None else '–'})"),
        ("p-value (not the verdict)", _num(f.p_value, ".3g") + (" *" if f.significant else "")),
        ("JS distance", _num(f.js_distance)),
        ("count", f"{f.count:,} (ref {f.reference_count:,})"),
        ("missing", f"{f.missing_rate:.2%} (ref {f.reference_missing_rate:.2%})"),
        ("invalid", f"{f.invalid_rate:.2%}"),
    ]
    if f.out_of_range_rate is not None:
        rows.append(("out of range", f"{f.out_of_range_rate:.2%}"))
    if f.unseen_rate is not None:
        rows.append(("unseen", f"{f.unseen_rate:.2%}"))
        if f.top_unseen:
            rows.append(("top unseen", ", ".join(f"{v} ({c:,})" for v, c in f.top_unseen[:3])))
    body = "".join(f"<dt>{escape(k)}</dt><dd>{escape(v)}</dd>" for k, v in rows)
    return f"<dl>{body}</dl>"


def _card(f: FeatureDrift) -> str:
    is_open = " open" if f.drifted or f.quality_severity != "ok" else ""
    notes = [*f.quality_issues, *([f.typing_hint] if f.typing_hint else [])]
    issues = "".join(f'<p class="issues">{escape(i)}</p>' for i in notes)
    return (
        f'<details id="f-{escape(f.name)}"{is_open}><summary>{escape(f.name)} {badge(f.severity)} '
        f'<span class="muted">{escape(f.typing or f.kind)} · {escape(f.reason)}</span></summary>'
        f'<div class="card"><div>{_bars(f)}<div class="legend muted"><span style="background:{_REF}"></span>'
        f'reference<span style="background:{_CUR}"></span>current</div></div>{_facts(f)}</div>'
        f"{issues}</details>"
    )


def _row(f: FeatureDrift) -> str:
    return (
        f'<tr><td class="l"><a href="#f-{escape(f.name)}">{escape(f.name)}</a></td>'
        f'<td class="l">{escape(f.typing or f.kind)}</td>'
        f'<td class="l">{badge(f.severity)}</td><td class="l">{escape(f.reason)}</td>'
        f"<td>{f.score:.3f}</td><td>{_num(f.noise_floor)}</td>"
        f"<td>{_num(f.p_value, '.3g')}{' *' if f.significant else ''}</td><td>{f.missing_rate:.1%}</td>"
        f'<td class="l">{badge(f.quality_severity)}</td></tr>'
    )


def _summary(report: DriftReport) -> str:
    drifted = report.drifted()
    names = ", ".join(escape(f.name) for f in drifted[:10]) or "none"
    inputs = [f for f in drifted if f.role == "input"]
    window = ""
    if report.window_start is not None and report.window_end is not None:
        window = f"{report.window_start:%Y-%m-%d %H:%M} – {report.window_end:%Y-%m-%d %H:%M} UTC · "
    tiles = [
        ("overall", badge(report.severity)),
        (
            "mean PSI" + (" (by importance)" if report.score_weighting == "importance" else ""),
            f"{report.score:.3f}",
        ),
        ("drifted features", f"{len(inputs)} of {len(report.inputs())} ({report.drifted_share:.0%})"),
        ("rows", f"{report.current_rows:,} <span class='muted'>vs {report.reference_rows:,}</span>"),
        ("data quality", badge(report.quality_severity)),
    ]
    if report.outputs():
        tiles.insert(1, ("prediction drift", badge(report.prediction_severity)))
    html = "".join(f'<div class="tile">{k}<b>{v}</b></div>' for k, v in tiles)
    schema = ""
    if report.missing_columns or report.unexpected_columns:
        schema = (
            f'<p class="issues">missing columns: {escape(", ".join(report.missing_columns) or "none")} · '
            f"unexpected columns: {escape(', '.join(report.unexpected_columns) or 'none')}</p>"
        )
    return (
        f'<div class="summary">{html}</div><p>Drifted: <b>{names}</b></p>{schema}'
        f'<p class="muted">{window}rows {report.row_start:,}–{report.row_end:,} · '
        f"mlmon {escape(report.mlmon_version)}</p>"
        f'<p class="muted">{escape(severity_legend(report))}. {escape(score_legend(report))}.</p>'
    )


def render_html(report: DriftReport) -> str:
    """The report as one self-contained HTML page.

    Args:
        report: The report.

    Returns:
        HTML text with inline CSS and SVG; no scripts and no external resources.
    """
    ranked = report.ranked()
    model = " ".join(x for x in (report.model, report.version and f"v{report.version}") if x) or "model"
    outputs = [f for f in ranked if f.role == "output"]
    return (
        '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width,initial-scale=1">'
        f"<title>mlmon drift report: {escape(model)}</title><style>{CSS}</style></head><body>"
        f"<h1>Drift report: {escape(model)} {badge(report.severity)}</h1>{_summary(report)}"
        f"{_table('Prediction drift', 'output', outputs) if outputs else ''}"
        f"{_table('Features', 'feature', [f for f in ranked if f.role == 'input'])}"
        f"<h2>Distributions</h2>{''.join(_card(f) for f in ranked)}</body></html>"
    )


def _table(title: str, first: str, rows: list[FeatureDrift]) -> str:
    names = [first, "typed as", "severity", "why", "PSI", "noise floor", "p (χ²)", "missing", "quality"]
    head = "".join(f'<th class="{"l" if i < 4 or i == 8 else ""}">{h}</th>' for i, h in enumerate(names))
    body = "".join(_row(f) for f in rows)
    return f"<h2>{title}</h2><table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"
