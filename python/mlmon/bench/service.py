"""The service step: runs the repository's load generator (``benches/load/``) and reads its Markdown
table; and the in-process kernels step: pytest-benchmark over ``benches/bench_*.py``.

Both run as child processes of mlmon's interpreter with a timeout, so a hung server or benchmark cannot
stall the suite; their output is parsed, not trusted to a fixed column order.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

__all__ = ["parse_markdown_tables", "run_kernels", "run_load"]


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


def _run(
    cmd: list[str], cwd: Path, timeout: float, env: dict[str, str] | None = None, label: str = ""
) -> str:
    try:
        done = subprocess.run(
            cmd, cwd=cwd, capture_output=True, text=True, timeout=timeout, env={**os.environ, **(env or {})}
        )
    except subprocess.TimeoutExpired as exc:
        raise RuntimeError(f"{label or Path(cmd[1]).name}: no result within {timeout:.0f} s") from exc
    if done.returncode != 0:
        lines = (done.stderr.strip() or done.stdout.strip() or f"exit status {done.returncode}").splitlines()
        raise RuntimeError(f"{' '.join(cmd[1:3])}: {lines[-1][:300]}")
    return done.stdout


def run_load(benches: Path, wrk_args: list[str], python_args: list[str], timeout: float) -> dict[str, Any]:
    """Runs the service load generator and returns its tables: ``benches/load/wrk_bench.py`` (wrk
    client) when it and ``wrk`` are there, else ``benches/load/service_load.py`` (Python client)."""
    load = benches / "load"
    if (load / "wrk_bench.py").exists() and shutil.which("wrk"):
        script, args = load / "wrk_bench.py", wrk_args
    elif (load / "service_load.py").exists():
        script, args = load / "service_load.py", python_args
    else:
        raise RuntimeError(f"no load generator in {load}")
    # wrk_bench.py also rewrites its own committed results file; the suite's record is its own results
    # JSON, so that file is put back as it was.
    own = load / "results.json"
    kept = own.read_bytes() if own.exists() else None
    try:
        out = _run([sys.executable, str(script), *args], benches.parent, timeout)
    finally:
        if kept is not None:
            own.write_bytes(kept)
    return {
        "command": f"benches/load/{script.name} {' '.join(args)}".strip(),
        "tables": parse_markdown_tables(out),
    }


def kernel_files(benches: Path, files: list[str] | None) -> list[str]:
    """The pytest-benchmark files to run: ``files``, or every ``bench_*.py`` in ``benches``."""
    return files if files is not None else sorted(p.name for p in benches.glob("bench_*.py"))


def _kernel_file(
    benches: Path, name: str, args: list[str], rows: int, timeout: float
) -> list[dict[str, Any]]:
    with tempfile.TemporaryDirectory(prefix="mlmon-bench-") as tmp:
        report = Path(tmp) / "kernels.json"
        cmd = [sys.executable, "-m", "pytest", str(benches / name), "-q", "-p", "no:cacheprovider",
               "--benchmark-enable", "--benchmark-only", f"--benchmark-json={report}", *args]  # fmt: skip
        _run(cmd, benches.parent, timeout, env={"MLMON_BENCH_ROWS": str(rows)}, label=f"pytest {name}")
        data = json.loads(report.read_text())
    return [
        {"file": name, "name": b["name"], "group": b.get("group"), "min_s": b["stats"]["min"],
         "median_s": b["stats"]["median"], "ops": b["stats"]["ops"], "rounds": b["stats"]["rounds"],
         "extra": b.get("extra_info", {})}
        for b in data["benchmarks"]
    ]  # fmt: skip


def run_kernels(
    benches: Path, files: list[str] | None, args: list[str], rows: int, timeout: float
) -> dict[str, Any]:
    """pytest-benchmark, one process per file (a file that fails or times out loses only its own
    figures): ``benchmarks`` (min, median, ops of each) and ``failed`` (file -> error line)."""
    names = kernel_files(benches, files)
    deadline = time.monotonic() + timeout
    out: dict[str, Any] = {"files": names, "benchmarks": [], "failed": {}}
    for name in names:
        remaining = deadline - time.monotonic()
        if remaining < 5:
            out["failed"][name] = "not run: the time budget was used up"
            continue
        try:
            out["benchmarks"] += _kernel_file(benches, name, args, rows, remaining)
        except (RuntimeError, OSError, ValueError) as exc:
            out["failed"][name] = str(exc)
    return out
