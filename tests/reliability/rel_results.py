"""The results file of a reliability run and the table in docs/reliability.md made from it.

Each scenario appends one JSON line to the file named by ``MLMON_RELIABILITY_RESULTS`` (nothing is
written when it is unset, as in the default test run). ``python tests/reliability/rel_results.py FILE DOC``
replaces the table between the markers in ``DOC`` with the rows of ``FILE``.
"""

from __future__ import annotations

import json
import os
import platform
import sys
import time
from pathlib import Path
from typing import Any

__all__ = ["record", "render_table"]

START = "<!-- reliability-table:start -->"
END = "<!-- reliability-table:end -->"
_COLUMNS = [
    ("scenario", "Scenario"), ("load", "Load"), ("faults", "Faults"), ("sent", "Batches sent"),
    ("acked", "Acked"), ("lost", "Lost"), ("duplicates", "Duplicates"), ("five_xx", "5xx seen"),
    ("peak_rss_mib", "Peak RSS (MiB, one process)"), ("seconds", "Time (s)"),
]  # fmt: skip


def record(scenario: str, *, load: str, faults: str, sent: int, acked: int, lost: int, duplicates: int,
           five_xx: int, peak_rss_mib: float | None, seconds: float, **extra: Any) -> None:  # fmt: skip
    """Appends a scenario's figures to the results file (if ``MLMON_RELIABILITY_RESULTS`` is set)."""
    path = os.environ.get("MLMON_RELIABILITY_RESULTS")
    if not path:
        return
    row = {
        "scenario": scenario, "load": load, "faults": faults, "sent": sent, "acked": acked, "lost": lost,
        "duplicates": duplicates, "five_xx": five_xx,
        "peak_rss_mib": None if peak_rss_mib is None else round(peak_rss_mib, 1),
        "seconds": round(seconds, 1), "at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), **extra,
    }  # fmt: skip
    with open(path, "a", encoding="utf-8") as f:
        f.write(json.dumps(row) + "\n")


def _cell(value: Any) -> str:
    if value is None:
        return "–"
    if isinstance(value, int):
        return f"{value:,}"
    return str(value).replace("|", "\\|")


def render_table(rows: list[dict[str, Any]]) -> str:
    """The markdown table of ``rows`` (the last row of each scenario wins), sorted by scenario."""
    latest = {r["scenario"]: r for r in rows}
    lines = [
        "| " + " | ".join(title for _, title in _COLUMNS) + " |",
        "|" + "---|" * len(_COLUMNS),
    ]
    for name in sorted(latest, key=lambda s: (s[0], int("".join(c for c in s[1:3] if c.isdigit()) or 0))):
        lines.append("| " + " | ".join(_cell(latest[name].get(key)) for key, _ in _COLUMNS) + " |")
    when = max(r["at"] for r in rows)
    machine = f"{platform.system()} {platform.machine()}, {os.cpu_count()} cores (shared with other jobs)"
    return f"Last run: {when} on {machine}.\n\n" + "\n".join(lines)


def main(argv: list[str]) -> int:
    """``results.py RESULTS_FILE DOC``: rewrites the table in ``DOC``."""
    results, doc = Path(argv[0]), Path(argv[1])
    rows = [json.loads(line) for line in results.read_text().splitlines() if line.strip()]
    if not rows:
        print(f"{results}: no results", file=sys.stderr)
        return 1
    text = doc.read_text()
    head, _, rest = text.partition(START)
    _, _, tail = rest.partition(END)
    doc.write_text(f"{head}{START}\n{render_table(rows)}\n{END}{tail}")
    print(f"{doc}: table of {len({r['scenario'] for r in rows})} scenarios from {results}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
