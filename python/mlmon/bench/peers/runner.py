"""Makes the peers' virtualenvs and runs their jobs.

The virtualenvs live under the cache directory (``~/.cache/mlmon-bench/venvs/<peer>``), are made by
the benchmark with ``python -m venv`` and ``pip install`` from PyPI, and are never dependencies of
mlmon. Installs start first, in the background, while the rest of the suite runs, and finish even
when the suite ends first (the next run uses them). A peer whose install fails is reported with pip's
error line. mlmon and the numpy/scipy implementation run with mlmon's own
interpreter. Every job runs in a fresh process (``jobs/*_job.py``, by file path); its peak memory is the
job's VmHWM above the resident size before it started (the input frames excluded), and the process's
whole resident peak during the job (VmHWM, input included).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import msgspec

from mlmon.bench import peer_venv
from mlmon.bench.measure import CHILD_ENV

__all__ = ["JOBS_DIR", "PEERS", "Installer", "PeerSpec", "run_peer"]

JOBS_DIR = Path(__file__).resolve().parent / "jobs"
"""The job scripts, shipped in the package (run by path: the peers' virtualenvs have no mlmon)."""

_QUIET_ENV = {"DO_NOT_TRACK": "1", "WHYLOGS_NO_ANALYTICS": "True", "PYTHONWARNINGS": "ignore"}


class PeerSpec(msgspec.Struct, frozen=True):
    """One tool of the comparison: its job script and what its virtualenv needs (empty: mlmon's own)."""

    name: str
    script: str
    requirements: tuple[str, ...] = ()


PEERS = (
    PeerSpec("mlmon", "mlmon_job.py"),
    PeerSpec("numpy/scipy", "numpy_job.py"),
    # pandas<3: Evidently 0.7 and NannyML import pandas internals that pandas 3 removed.
    PeerSpec("evidently", "evidently_job.py", ("evidently", "pandas<3", "numpy", "scipy")),
    PeerSpec("nannyml", "nannyml_job.py", ("nannyml", "statsmodels", "pandas<3", "numpy", "scipy")),
    PeerSpec("alibi-detect", "alibi_job.py", ("alibi-detect", "numpy", "scipy", "pandas<3")),
    PeerSpec("whylogs", "whylogs_job.py", ("whylogs[viz]", "numpy", "scipy", "pandas<3")),
)


def _error_line(text: str) -> str:
    lines = [ln.strip() for ln in text.splitlines() if ln.strip()]
    errors = [ln for ln in lines if ln.startswith("ERROR")]
    return (errors or lines or ["no output"])[-1][:300]


class Installer:
    """Makes the peers' virtualenvs in the background; :meth:`wait` gives each one's state.

    Each install is a child process (``python -m mlmon.bench.peer_venv``) that outlives the suite,
    so an install a first run has no time to wait for is ready for the next run. A virtualenv whose
    marker file lists the same requirements is reused as it is; one an earlier run is still installing
    is waited for, not started again.
    """

    def __init__(self, root: Path, peers: tuple[PeerSpec, ...] = PEERS, timeout: float = 900) -> None:
        """Starts the installs that are needed (returns at once)."""
        self.root, self.timeout = root, timeout
        self.state: dict[str, str] = {}
        self._threads: dict[str, threading.Thread] = {}
        for peer in peers:
            if not peer.requirements or self._marker(peer) == " ".join(peer.requirements):
                self.state[peer.name] = "ready"
                continue
            self.state[peer.name] = "installing"
            thread = threading.Thread(target=self._install, args=(peer,), daemon=True)
            thread.start()
            self._threads[peer.name] = thread

    def venv(self, peer: PeerSpec) -> Path:
        """The peer's virtualenv directory."""
        return self.root / peer.name.replace("/", "-")

    def python(self, peer: PeerSpec) -> str:
        """The interpreter a peer's job runs with."""
        return sys.executable if not peer.requirements else str(self.venv(peer) / "bin" / "python")

    def _marker(self, peer: PeerSpec) -> str | None:
        path = self.venv(peer) / peer_venv.MARKER
        try:
            return path.read_text().strip() if path.is_file() else None
        except OSError:
            return None

    def _install(self, peer: PeerSpec) -> None:
        venv, stderr = self.venv(peer), ""
        earlier = _running_install(venv)
        if earlier is not None:  # an earlier run's install: wait for it to end (it cannot be reaped here)
            while _running_install(venv) == earlier:
                time.sleep(0.5)
        else:
            cmd = [sys.executable, "-m", "mlmon.bench.peer_venv", str(venv), str(self.timeout)]
            try:
                proc = subprocess.Popen(
                    [*cmd, *peer.requirements],
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.PIPE,
                    text=True,
                )
            except OSError as exc:
                self.state[peer.name] = f"install failed: {type(exc).__name__}: {exc}"[:300]
                return
            _, stderr = proc.communicate()
        if self._marker(peer) == " ".join(peer.requirements):
            self.state[peer.name] = "ready"
            return
        error = peer_venv.error_file(venv)
        if error.is_file():
            reason = error.read_text().strip()
        elif stderr.strip():
            reason = _error_line(stderr)
        else:
            reason = "it ended without a virtualenv"
        self.state[peer.name] = f"install failed: {reason}"

    def wait(self, name: str, deadline: float) -> str:
        """The peer's state once its install ends or at ``deadline`` (``time.monotonic()``)."""
        thread = self._threads.get(name)
        if thread is not None:
            thread.join(max(0.0, deadline - time.monotonic()))
            if thread.is_alive():
                return "still installing (in the background: the next run uses it)"
        return self.state[name]


def _running_install(venv: Path) -> int | None:
    """The pid of an install of ``venv`` in progress, or ``None``."""
    try:
        pid = int(peer_venv.lock_file(venv).read_text().strip())
        os.kill(pid, 0)
    except (OSError, ValueError):
        return None
    return pid


def _normalize_evidently(out: dict[str, Any]) -> dict[str, Any]:
    """evidently_job.py prints its own schema (it predates the harness): map it to the harness's."""
    scores: dict[str, dict[str, Any]] = {}
    for name, values in out.get("evidently_values", {}).items():
        if "psi" in values:
            scores[name] = {"psi_equal_width": values["psi"], "drift": values["psi"] >= 0.1}
        else:
            p = values["chisquare_p_value"]
            scores[name] = {"chi2gof_p": p, "drift": p < 0.05}
    return {
        "tool": "evidently",
        "version": out["evidently"],
        "rows": out["rows"],
        "seconds": out["seconds"],
        "peak_extra_mib": out["peak_extra_mib"],
        "peak_rss_mib": out.get("peak_rss_mib"),
        "pandas": out["pandas"],
        "scores": scores,
    }


def _command(peer: PeerSpec, python: str, script: Path, rows: int) -> list[str]:
    cmd = [python, str(script), "--rows", str(rows)]
    if peer.name == "evidently":
        cmd += ["--columns", "all", "--no-reference-psi", "--warmup"]
    return cmd


def run_peer(peer: PeerSpec, python: str, rows: int, timeout: float, cwd: Path) -> dict[str, Any]:
    """Runs one peer job in a fresh process (working directory ``cwd``) and returns its normalized
    result (``status`` ``ok`` or why not, with the last error line)."""
    cmd = _command(peer, python, JOBS_DIR / peer.script, rows)
    env = {**os.environ, **CHILD_ENV, **_QUIET_ENV}
    if peer.requirements:  # a peer's own interpreter sees its own packages only (mlmon's keeps its path)
        env.pop("PYTHONPATH", None)
    started = time.monotonic()
    try:
        proc = subprocess.Popen(
            cmd, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )
    except OSError as exc:
        return {"name": peer.name, "status": f"run failed: {type(exc).__name__}: {exc}"[:300], "rows": rows}
    with proc:
        try:
            stdout, stderr = proc.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.communicate()
            return {"name": peer.name, "status": f"timed out after {timeout:.0f} s", "rows": rows}
    wall = time.monotonic() - started
    if proc.returncode != 0 or not stdout.strip():
        return {"name": peer.name, "status": f"run failed: {_error_line(stderr)}", "rows": rows}
    try:
        out: dict[str, Any] = json.loads(stdout.strip().splitlines()[-1])
    except ValueError:
        return {"name": peer.name, "status": f"run failed: not a JSON line: {stdout[-200:]!r}", "rows": rows}
    if peer.name == "evidently":
        out = _normalize_evidently(out)
    out.update(name=peer.name, status="ok", process_seconds=wall)
    return out
