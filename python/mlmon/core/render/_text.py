"""The sentences every renderer shares: the headline, what drives severity, and per-feature notes.

One wording for the table, Markdown, CSV and HTML, so that each says the same thing about how a verdict
was reached.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from mlmon.core.drift import DriftReport, FeatureDrift

__all__ = ["display_name", "feature_notes", "headline", "score_legend", "severity_legend"]


def headline(report: DriftReport) -> str:
    """``critical · 3 of 10 features drifted · mean PSI 0.412 · 53,940 rows (reference 43,152)``, and
    ``· prediction drift warning`` when the baseline records the model's outputs."""
    n = len(report.inputs())
    weighting = ", importance-weighted" if report.score_weighting == "importance" else ""
    prediction = f" · prediction drift {report.prediction_severity}" if report.outputs() else ""
    return (
        f"{report.severity} · {report.drifted_count} of {n} feature{'s' if n != 1 else ''} drifted"
        f"{prediction} · mean PSI {report.score:.3f}{weighting} · {report.current_rows:,} rows "
        f"(reference {report.reference_rows:,})"
    )


def display_name(f: FeatureDrift) -> str:
    """The column's name, marked when it is one of the model's outputs."""
    return f"{f.name} (model output)" if f.role == "output" else f.name


def severity_legend(report: DriftReport) -> str:
    """Which score drives severity, and what the test beside it is for."""
    t = report.thresholds
    return (
        f"severity: PSI against warning {t.warning:g} / critical {t.critical:g}, counted only above the "
        f"noise floor, for numerical and categorical features alike; p: pooled chi-square test, shown "
        f"beside it for information (* p < {t.significance:g}), never the verdict"
    )


def score_legend(report: DriftReport) -> str:
    """What the overall score is."""
    how = (
        "weighted by the baseline's feature importance"
        if report.score_weighting == "importance"
        else "every feature weighing the same"
    )
    return f"overall: the worst feature severity; mean PSI is the features' mean score, {how}"


def feature_notes(f: FeatureDrift) -> list[str]:
    """What a reader needs beyond the numbers: why there is no verdict, quality findings, typing hints."""
    notes: list[str] = []
    if f.severity == "insufficient_data" and f.reason:
        notes.append(f.reason)
    notes.extend(f.quality_issues)
    if f.typing_hint:
        notes.append(f.typing_hint)
    return notes
