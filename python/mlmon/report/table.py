"""Terminal table of a DriftReport (rich), worst features first."""

from __future__ import annotations

from typing import TYPE_CHECKING

from rich.table import Table
from rich.text import Text

if TYPE_CHECKING:
    from mlmon.drift import DriftReport

__all__ = ["SEVERITY_STYLE", "render_table"]

SEVERITY_STYLE = {
    "ok": "green",
    "insufficient_data": "yellow",
    "warning": "dark_orange",
    "critical": "bold red",
}


def _num(x: float | None, fmt: str = ".3f") -> str:
    return "-" if x is None else format(x, fmt)


def render_table(report: DriftReport, limit: int | None = None) -> Table:
    """A rich Table with one row per feature, sorted by severity then score.

    Args:
        report: The report.
        limit: Show at most this many features (the worst ones).

    Returns:
        The table; print it with ``rich.print`` or ``Console().print``.
    """
    sev = report.severity
    title = Text.assemble(
        "Drift ",
        (sev, SEVERITY_STYLE[sev]),
        f"  score {report.score:.3f}  drifted {report.drifted_share:.0%}  rows {report.current_rows:,}",
    )
    table = Table(title=title, title_justify="left")
    for header, justify in [("feature", "left"), ("kind", "left"), ("severity", "left"), ("PSI", "right"),
                            ("noise floor", "right"), ("p-value", "right"), ("JS", "right"),
                            ("missing", "right"), ("quality", "left")]:  # fmt: skip
        table.add_column(header, justify=justify)  # type: ignore[arg-type]
    ranked = report.ranked()
    for f in ranked[:limit]:
        quality = "; ".join(f.quality_issues) if f.quality_issues else "ok"
        table.add_row(
            f.name, f.kind, Text(f.severity, style=SEVERITY_STYLE[f.severity]), _num(f.score),
            _num(f.noise_floor), _num(f.p_value, ".3g"), _num(f.js_distance), f"{f.missing_rate:.1%}",
            Text(quality, style=SEVERITY_STYLE[f.quality_severity]),
        )  # fmt: skip
    if limit is not None and len(ranked) > limit:
        table.caption = f"{len(ranked) - limit} more features not shown"
    return table
