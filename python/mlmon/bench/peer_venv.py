"""Makes one peer's virtualenv: ``python -m mlmon.bench.peer_venv VENV TIMEOUT REQUIREMENT...``.

Started by :class:`mlmon.bench.peers.Installer` as a child process that outlives the suite: a first
``mlmon bench --quick`` ends before a slow install does, and the next run then finds the virtualenv
ready (its marker file) instead of starting again. While it runs, ``<venv>.installing`` holds its pid,
so a second run waits for it rather than clearing the same directory; when it fails, the error line
goes to ``<venv>.install-error``.
"""

from __future__ import annotations

# Not in mlmon.bench.peers: running it with -m must not import the package that imports it first.
import os
import subprocess
import sys
from pathlib import Path

__all__ = ["MARKER", "error_file", "lock_file", "main"]

MARKER = ".mlmon-bench-ok"


def lock_file(venv: Path) -> Path:
    """Holds the pid of the install in progress."""
    return venv.with_name(venv.name + ".installing")


def error_file(venv: Path) -> Path:
    """Holds the last install's error line."""
    return venv.with_name(venv.name + ".install-error")


def _error_line(text: str) -> str:
    lines = [ln.strip() for ln in text.splitlines() if ln.strip()]
    errors = [ln for ln in lines if ln.startswith("ERROR") or ln.startswith("Error")]
    return (errors or lines or ["no output"])[-1][:300]


def install(venv: Path, timeout: float, requirements: list[str]) -> str | None:
    """Makes the virtualenv and installs ``requirements``; ``None`` when it worked, else the error line."""
    steps = [
        [sys.executable, "-m", "venv", "--clear", str(venv)],
        [str(venv / "bin" / "pip"), "install", "--quiet", *requirements],
    ]
    for cmd in steps:
        try:
            done = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
        except subprocess.TimeoutExpired:
            return f"no result within {timeout:.0f} s"
        except OSError as exc:
            return f"{type(exc).__name__}: {exc}"
        if done.returncode != 0:
            return _error_line(done.stderr + done.stdout)
    (venv / MARKER).write_text(" ".join(requirements) + "\n")
    return None


def main(argv: list[str] | None = None) -> int:
    """Runs one install under its lock file; exit status 0 when the virtualenv is ready."""
    args = sys.argv[1:] if argv is None else argv
    venv, timeout, requirements = Path(args[0]), float(args[1]), args[2:]
    try:
        venv.parent.mkdir(parents=True, exist_ok=True)
        lock_file(venv).write_text(str(os.getpid()))
        error_file(venv).unlink(missing_ok=True)
    except OSError as exc:
        print(f"{type(exc).__name__}: {exc}", file=sys.stderr)
        return 1
    try:
        error = install(venv, timeout, requirements)
        if error is not None:
            error_file(venv).write_text(error + "\n")
        return 0 if error is None else 1
    finally:
        lock_file(venv).unlink(missing_ok=True)


if __name__ == "__main__":
    raise SystemExit(main())
