"""``mlmon drift BASELINE 'data/*.parquet' --by 1d``: the history branch of the drift command."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

import msgspec
from rich.console import Console
from rich.table import Table

from mlmon.batch._profile import profile
from mlmon.batch.history import DriftHistory
from mlmon.core._compat import require
from mlmon.core.baseline import Baseline
from mlmon.core.drift import SEVERITY_ORDER, Thresholds
from mlmon.exceptions import InputError

__all__ = ["run", "table"]

_STYLE = {"ok": "green", "insufficient_data": "yellow", "warning": "dark_orange", "critical": "bold red"}


def table(history: DriftHistory) -> Table:
    """One line per period: rows, severity, score and the drifted features."""
    out = Table(title=f"drift per {history.by}", title_justify="left")
    for name, justify in (
        ("period", "left"),
        ("rows", "right"),
        ("severity", "left"),
        ("score", "right"),
        ("drifted", "left"),
    ):
        out.add_column(name, justify=justify)  # type: ignore[arg-type]
    for r in history:
        start = "–" if r.window_start is None else f"{r.window_start:%Y-%m-%d %H:%M}"
        drifted = ", ".join(f.name for f in r.drifted()[:4]) or "–"
        sev = f"[{_STYLE[r.severity]}]{r.severity.replace('_', ' ')}[/]"
        out.add_row(start, f"{r.current_rows:,}", sev, f"{r.score:.3f}", drifted)
    return out


def _write_table(history: DriftHistory, path: str) -> None:
    arrow: Any = history.to_arrow()
    if path.endswith(".parquet"):
        pq = require("pyarrow.parquet", "arrow")

        pq.write_table(arrow, path)
    elif path.endswith(".csv"):
        pacsv = require("pyarrow.csv", "arrow")

        pacsv.write_csv(arrow, path)
    else:
        raise InputError(f"--table {path}: expected a .parquet or .csv file name")


def run(args: argparse.Namespace, baseline: Baseline, thresholds: Thresholds) -> int:
    """Profiles ``args.current`` per period, writes the outputs and returns the exit code."""
    if args.table and not (args.table.endswith((".parquet", ".csv"))):
        raise InputError(f"--table {args.table}: expected a .parquet or .csv file name")
    history = profile(
        args.current,
        baseline,
        by=args.by,
        timestamp=args.timestamp,
        thresholds=thresholds,
        progress=None if not args.quiet else False,
    )
    if args.json:
        Path(args.json).write_bytes(msgspec.json.encode(history.reports))
    if args.html:
        history.to_html(args.html)
    if args.table:
        _write_table(history, args.table)
    if not args.quiet:
        console = Console()
        console.print(table(history))
        if history.skipped_rows:
            console.print(f"[yellow]{history.skipped_rows:,} rows without a timestamp were left out[/]")
    worst = max((r.severity for r in history), key=SEVERITY_ORDER.__getitem__, default="ok")
    if args.fail_on == "never":
        return 0
    return 1 if SEVERITY_ORDER[worst] >= SEVERITY_ORDER[args.fail_on] else 0
