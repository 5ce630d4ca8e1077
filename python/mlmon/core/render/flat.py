"""Plain-text renderings of a DriftReport: CSV (one row per feature, full precision) and Markdown.

For pipes, CI logs and pull-request comments: nothing is truncated or wrapped, whatever the width.
"""

from __future__ import annotations

import csv
import io
from typing import TYPE_CHECKING, Any

from mlmon.core.render._text import display_name, feature_notes, headline, score_legend, severity_legend

if TYPE_CHECKING:
    from mlmon.core.drift import DriftReport, FeatureDrift

__all__ = ["CSV_COLUMNS", "to_csv", "to_markdown"]

CSV_COLUMNS = (
    "feature",
    "kind",
    "typing",
    "severity",
    "reason",
    "method",
    "score",
    "noise_floor",
    "warning_threshold",
    "critical_threshold",
    "test",
    "chi2",
    "dof",
    "p_value",
    "significant",
    "js_distance",
    "count",
    "reference_count",
    "missing_rate",
    "reference_missing_rate",
    "invalid_rate",
    "out_of_range_rate",
    "unseen_rate",
    "top_unseen",
    "quality_severity",
    "quality_issues",
    "typing_hint",
    "role",
)
"""The CSV header: FeatureDrift's fields in this order (``feature`` is its ``name``)."""


def _csv_value(f: FeatureDrift, column: str) -> Any:
    if column == "feature":
        return f.name
    value = getattr(f, column)
    if column == "quality_issues":
        return "; ".join(value)
    if column == "top_unseen":
        return "; ".join(f"{v} ({c})" for v, c in value)
    return "" if value is None else value


def to_csv(report: DriftReport) -> str:
    """Every feature, worst first, one row each; floats at full precision, empty cells for ``None``."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    for f in report.ranked():
        writer.writerow([_csv_value(f, c) for c in CSV_COLUMNS])
    return out.getvalue()


def _md(text: str) -> str:
    return text.replace("\\", "\\\\").replace("|", "\\|").replace("\n", " ")


def _num(x: float | None, fmt: str = ".3f") -> str:
    return "-" if x is None else format(x, fmt)


def to_markdown(report: DriftReport) -> str:
    """A heading, the headline, one table row per feature (worst first) with its notes, and the legend."""
    model = " ".join(x for x in (report.model, report.version and f"v{report.version}") if x) or "model"
    lines = [f"## Drift report: {_md(model)}", "", f"**{_md(headline(report))}**", ""]
    if report.missing_columns:
        lines += [f"Missing columns: {_md(', '.join(report.missing_columns))}", ""]
    if report.unexpected_columns:
        lines += [f"Unexpected columns: {_md(', '.join(report.unexpected_columns))}", ""]
    header = [
        "feature",
        "typed as",
        "severity",
        "PSI",
        "noise floor",
        "p (χ²)",
        "JS",
        "missing",
        "quality",
        "notes",
    ]
    lines += ["| " + " | ".join(header) + " |", "|" + "|".join(["---"] * len(header)) + "|"]
    for f in report.ranked():
        row = [
            _md(display_name(f)),
            _md(f.typing or f.kind),
            f.severity,
            _num(f.score),
            _num(f.noise_floor),
            _num(f.p_value, ".3g") + ("\\*" if f.significant else ""),
            _num(f.js_distance),
            f"{f.missing_rate:.1%}",
            f.quality_severity,
            _md("; ".join(feature_notes(f))),
        ]
        lines.append("| " + " | ".join(row) + " |")
    lines += ["", _md(severity_legend(report)).replace("*", "\\*"), "", _md(score_legend(report)), ""]
    return "\n".join(lines)
