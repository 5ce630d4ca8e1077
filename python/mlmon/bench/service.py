"""The service step: runs the packaged load generator (``mlmon.bench.load``) and reads its Markdown
tables.

It runs as a child process of mlmon's interpreter with a timeout, so a hung server cannot stall the
suite; its output is parsed, not trusted to a fixed column order.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

__all__ = ["parse_markdown_tables", "run_load", "unavailable"]


def _number(cell: str) -> float | str:
    text = cell.strip().replace(",", "")
    try:
        return float(text)
    except ValueError:
        return cell.strip()


def parse_markdown_tables(text: str) -> list[list[dict[str, float | str]]]:
    """Every Markdown table in ``text`` as rows of ``{header: value}`` (numbers as floats)."""
    tables: list[list[dict[str, float | str]]] = []
    header: list[str] | None = None
    for line in [*text.splitlines(), ""]:
        cells = (
            [c.strip() for c in line.strip().strip("|").split("|")] if line.strip().startswith("|") else None
        )
        if cells is None:
            header = None
            continue
        if header is None:
            header = cells
            tables.append([])
        elif all(set(c) <= set("-: ") for c in cells):
            continue
        else:
            tables[-1].append(dict(zip(header, (_number(c) for c in cells), strict=False)))
    return [t for t in tables if t]


def _run(cmd: list[str], cwd: Path, timeout: float) -> str:
    label = " ".join(cmd[1:3])
    try:
        done = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, timeout=timeout, env=os.environ)
    except subprocess.TimeoutExpired as exc:
        raise RuntimeError(f"{label}: no result within {timeout:.0f} s") from exc
    if done.returncode != 0:
        lines = (done.stderr.strip() or done.stdout.strip() or f"exit status {done.returncode}").splitlines()
        raise RuntimeError(f"{label}: {lines[-1][:300]}")
    return done.stdout


def unavailable() -> str | None:
    """Why the service step cannot run here (the service extra is missing), or ``None``."""
    missing = [
        m for m in ("litestar", "uvicorn", "httpx", "prometheus_client") if not importlib.util.find_spec(m)
    ]
    if not missing:
        return None
    return (
        f'skipped: the service extra is not installed (no {", ".join(missing)}); pip install "mlmon[bench]"'
    )


def run_load(wrk_args: list[str], python_args: list[str], timeout: float) -> dict[str, Any]:
    """Runs the service load generator and returns its tables: ``mlmon.bench.load.wrk_bench`` (wrk
    client) when ``wrk`` is on the PATH, else ``mlmon.bench.load.service_load`` (Python client); the
    ``client`` entry says which, and why.

    Raises:
        RuntimeError: the service extra is not installed, or the generator failed (its last line).
    """
    reason = unavailable()
    if reason is not None:
        raise RuntimeError(reason)
    if shutil.which("wrk"):
        module, args, client = "wrk_bench", wrk_args, "wrk"
    else:
        module, args, client = "service_load", python_args, "Python httpx client (wrk is not on the PATH)"
    with tempfile.TemporaryDirectory(prefix="mlmon-bench-load-") as tmp:
        out = _run([sys.executable, "-m", f"mlmon.bench.load.{module}", *args], Path(tmp), timeout)
    return {
        "command": f"python -m mlmon.bench.load.{module} {' '.join(args)}".strip(),
        "client": client,
        "tables": parse_markdown_tables(out),
    }
