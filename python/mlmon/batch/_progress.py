"""A rich progress bar over rows, shown only on a terminal unless asked for."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

__all__ = ["rows_progress"]


@contextmanager
def rows_progress(label: str, total: int | None, show: bool | None) -> Iterator[Any]:
    """Yields ``advance(rows)``; draws a bar on stderr when ``show`` (default: stderr is a terminal)."""
    if show is None:
        show = sys.stderr.isatty()
    if not show:
        yield lambda _rows: None
        return
    bar = Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("rows"),
        TimeElapsedColumn(),
        transient=False,
    )
    with bar:
        task = bar.add_task(label, total=total)
        yield lambda rows: bar.advance(task, rows)
