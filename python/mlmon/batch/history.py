"""DriftHistory: one drift report per period, as a list and as a table (Arrow, pandas, polars)."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from mlmon.batch._history_html import render_history
from mlmon.core._compat import require
from mlmon.core.drift import DriftReport

__all__ = ["COLUMNS", "DriftHistory"]

COLUMNS = (
    "period_start",
    "period_end",
    "rows",
    "feature",
    "kind",
    "method",
    "score",
    "severity",
    "noise_floor",
    "p_value",
    "js_distance",
    "count",
    "missing_rate",
    "out_of_range_rate",
    "unseen_rate",
    "drifted",
    "overall_score",
    "overall_severity",
)
"""The table's columns: one row per period and feature."""


@dataclass(frozen=True)
class DriftHistory:
    """Drift of every feature in every period of historical data, oldest period first.

    Attributes:
        reports: One :class:`mlmon.DriftReport` per period with rows (periods without rows are absent).
        by: The period spec (``"1d"``).
        skipped_rows: Rows left out because their timestamp was missing.

    Example:
        >>> history = mlmon.batch.profile("data/*.parquet", baseline, by="1d")  # doctest: +SKIP
        >>> table = history.to_pandas()  # doctest: +SKIP
        >>> table.pivot(index="period_start", columns="feature", values="score")  # doctest: +SKIP
    """

    reports: list[DriftReport]
    by: str
    skipped_rows: int = 0
    _rows: list[dict[str, Any]] = field(default_factory=list, repr=False, compare=False)

    def __len__(self) -> int:
        return len(self.reports)

    def __iter__(self) -> Iterator[DriftReport]:
        return iter(self.reports)

    def __getitem__(self, i: int) -> DriftReport:
        return self.reports[i]

    @property
    def rows(self) -> int:
        """Rows counted over every period."""
        return sum(r.current_rows for r in self.reports)

    def records(self) -> list[dict[str, Any]]:
        """The table as a list of dicts (one per period and feature), in :data:`COLUMNS` order."""
        if self._rows:
            return self._rows
        out = self._rows
        for r in self.reports:
            for f in r.features.values():
                out.append(
                    {
                        "period_start": r.window_start,
                        "period_end": r.window_end,
                        "rows": r.current_rows,
                        "feature": f.name,
                        "kind": f.kind,
                        "method": f.method,
                        "score": f.score,
                        "severity": f.severity,
                        "noise_floor": f.noise_floor,
                        "p_value": f.p_value,
                        "js_distance": f.js_distance,
                        "count": f.count,
                        "missing_rate": f.missing_rate,
                        "out_of_range_rate": f.out_of_range_rate,
                        "unseen_rate": f.unseen_rate,
                        "drifted": f.drifted,
                        "overall_score": r.score,
                        "overall_severity": r.severity,
                    }
                )
        return out

    def to_arrow(self) -> Any:
        """A ``pyarrow.Table`` with :data:`COLUMNS` (timestamps in UTC)."""
        pa = require("pyarrow", "arrow")

        schema = pa.schema(
            [
                ("period_start", pa.timestamp("us", tz="UTC")),
                ("period_end", pa.timestamp("us", tz="UTC")),
                ("rows", pa.int64()),
                ("feature", pa.string()),
                ("kind", pa.string()),
                ("method", pa.string()),
                ("score", pa.float64()),
                ("severity", pa.string()),
                ("noise_floor", pa.float64()),
                ("p_value", pa.float64()),
                ("js_distance", pa.float64()),
                ("count", pa.int64()),
                ("missing_rate", pa.float64()),
                ("out_of_range_rate", pa.float64()),
                ("unseen_rate", pa.float64()),
                ("drifted", pa.bool_()),
                ("overall_score", pa.float64()),
                ("overall_severity", pa.string()),
            ]
        )
        return pa.Table.from_pylist(self.records(), schema=schema)

    def to_pandas(self) -> Any:
        """A ``pandas.DataFrame`` with :data:`COLUMNS`."""
        return self.to_arrow().to_pandas()

    def to_polars(self) -> Any:
        """A ``polars.DataFrame`` with :data:`COLUMNS`."""
        pl = require("polars", "polars")

        return pl.from_arrow(self.to_arrow())

    def scores(self, feature: str) -> list[tuple[Any, float, str]]:
        """``(period_start, score, severity)`` of one feature per period.

        Raises:
            KeyError: no such feature.
        """
        if self.reports and feature not in self.reports[0].features:
            raise KeyError(f"no feature {feature!r} in the history")
        return [
            (r.window_start, r.features[feature].score, r.features[feature].severity) for r in self.reports
        ]

    def to_html(self, path: str | None = None, *, title: str | None = None) -> str:
        """A self-contained HTML page: drift over time per feature (inline SVG, no script), then the
        latest period's report. Written to ``path`` if given.

        Returns:
            The HTML text.
        """
        html = render_history(self, title=title)
        if path is not None:
            with open(path, "w", encoding="utf-8") as fh:
                fh.write(html)
        return html


def history(reports: Sequence[DriftReport], by: str, skipped_rows: int = 0) -> DriftHistory:
    """A :class:`DriftHistory` of reports sorted by period start."""
    ordered = sorted(reports, key=lambda r: (r.window_start is None, r.window_start))
    return DriftHistory(list(ordered), by, skipped_rows)
