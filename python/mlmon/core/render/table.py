"""Terminal table of a DriftReport (rich), worst features first, laid out for the width it gets.

Cells hold short values only and never truncate: long findings (why there is no verdict, quality
issues, typing hints) are numbered notes under the table, and a terminal too narrow for every column
gets a compact layout (kind abbreviated, no noise floor or JS column) instead of cut-off cells.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from rich import box
from rich.console import Console, ConsoleOptions, RenderResult
from rich.table import Table
from rich.text import Text

from mlmon.core.render._text import display_name, feature_notes, headline, score_legend, severity_legend

if TYPE_CHECKING:
    from mlmon.core.drift import DriftReport, FeatureDrift

__all__ = ["SEVERITY_STYLE", "FittingTable", "render_table"]

SEVERITY_STYLE = {
    "ok": "green",
    "insufficient_data": "yellow",
    "warning": "dark_orange",
    "critical": "bold red",
}

_WIDE = [
    "feature",
    "typed as",
    "severity",
    "PSI",
    "noise floor",
    "p (χ²)",
    "JS",
    "missing",
    "quality",
    "note",
]
_NARROW = ["feature", "kind", "severity", "PSI", "p (χ²)", "missing", "quality"]
_LEFT = {"feature", "typed as", "kind", "severity", "quality"}
_FEATURE_MIN = 8
_FOLD_TO = 12


def _num(x: float | None, fmt: str = ".3f") -> str:
    return "-" if x is None else format(x, fmt)


def _cells(f: FeatureDrift, note: str, narrow: bool) -> dict[str, str | Text]:
    p = _num(f.p_value, ".2g" if narrow else ".3g") + ("*" if f.significant else "")
    quality = f.quality_severity + (f" [{note}]" if narrow and note else "")
    return {
        "feature": display_name(f),
        "typed as": f.typing or f.kind,
        "kind": "num" if f.kind == "numerical" else "cat",
        "severity": Text(f.severity, style=SEVERITY_STYLE[f.severity]),
        "PSI": _num(f.score),
        "noise floor": _num(f.noise_floor),
        "p (χ²)": p,
        "JS": _num(f.js_distance),
        "missing": f"{f.missing_rate:.1%}",
        "quality": Text(quality, style=SEVERITY_STYLE[f.quality_severity]),
        "note": note,
    }


def _stacked(f: FeatureDrift, note: str) -> Text:
    """Every value of a row as one wrappable line, for terminals too narrow for columns."""
    cells = _cells(f, note, narrow=True)
    return Text.assemble(
        f"{cells['kind']} · ",
        cells["severity"],
        f" · PSI {cells['PSI']} · p {cells['p (χ²)']} · missing ",
        f"{cells['missing']} · quality ",
        cells["quality"],
    )


class FittingTable(Table):
    """A Table that, printed narrower than it needs, prints the next layout that fits instead (the last
    one whatever the width), so ``rich.print(report.to_table())`` never cuts a cell."""

    fallbacks: tuple[Table, ...] = ()
    spare: int = 0
    """Columns a long feature name may give up by folding before a layout counts as too wide."""

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        for i, table in enumerate((self, *self.fallbacks)):
            if i == len(self.fallbacks) or _natural_width(table) - self.spare <= options.max_width:
                if table is self:
                    yield from super().__rich_console__(console, options)
                else:
                    yield table
                return


def _build(report: DriftReport, limit: int | None, layout: str) -> FittingTable:
    sev = report.severity
    text = headline(report)
    title = Text.assemble("Drift ", (sev, SEVERITY_STYLE[sev]), text[len(sev) :])
    narrow = layout != "wide"
    columns = {"wide": _WIDE, "narrow": _NARROW, "stacked": ["feature", "result"]}[layout]
    table = FittingTable(title=title, title_justify="left", caption_justify="left")
    if narrow:
        table.box, table.show_edge, table.pad_edge = box.SIMPLE_HEAD, False, False
        table.collapse_padding = True
    for header in columns:
        left = header in _LEFT
        # The feature name (and a stacked row) may fold onto more lines; numbers and verdicts never wrap.
        wraps = header in ("feature", "result")
        table.add_column(
            header,
            justify="left" if left or wraps else "right",
            no_wrap=not wraps,
            overflow="fold",
            min_width=_FEATURE_MIN if header == "feature" else None,
        )
    ranked = report.ranked()
    notes: list[str] = []
    for f in ranked[:limit]:
        found = feature_notes(f)
        note = ""
        if found:
            notes.append(f"[{len(notes) + 1}] {f.name}: {'; '.join(found)}")
            note = str(len(notes))
        cells: dict[str, str | Text] = {**_cells(f, note, narrow), "result": _stacked(f, note)}
        table.add_row(*(cells[c] for c in columns))
    lines = [*notes]
    if limit is not None and len(ranked) > limit:
        lines.append(f"{len(ranked) - limit} more features not shown")
    lines += [severity_legend(report), score_legend(report)]
    table.caption = "\n".join(lines)
    return table


def _natural_width(table: Table) -> int:
    return Console(width=100_000).measure(table).maximum


def render_table(report: DriftReport, limit: int | None = None, width: int | None = None) -> Table:
    """A rich Table with one row per feature, sorted by severity then score.

    Args:
        report: The report.
        limit: Show at most this many features (the worst ones).
        width: Columns available: below what every column needs, the compact layout; below what
            that needs, one wrapped line of values per feature. ``None``: chosen when printed, from
            the console's width.

    Returns:
        The table, with its notes and legend as the caption; print it with ``rich.print`` or
        ``Console().print``.
    """
    # A long feature name may fold down to _FOLD_TO columns before a layout counts as too wide.
    longest = max([len("feature"), *(len(f.name) for f in report.ranked()[:limit])])
    spare = longest - min(longest, _FOLD_TO)
    tables = [_build(report, limit, layout) for layout in ("wide", "narrow", "stacked")]
    if width is not None:
        return next((t for t in tables[:2] if _natural_width(t) - spare <= width), tables[2])
    wide = tables[0]
    wide.fallbacks, wide.spare = (tables[1], tables[2]), spare
    return wide
