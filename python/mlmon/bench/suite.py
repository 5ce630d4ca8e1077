"""Runs the whole suite in one go and writes the results JSON, the Markdown summary, the plots and the
capacity report.

Steps run one after another (so they do not disturb each other's timings), each bounded by its share of
the mode's budget; peer virtualenvs install in the background from the start. A step that fails is
recorded with its error and the suite goes on.
"""

from __future__ import annotations

import json
import os
import platform
import socket
import time
from collections.abc import Callable
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import msgspec

from mlmon.bench import agreement, kernels, measure, peers, service, storage
from mlmon.bench.fit import line_fit
from mlmon.bench.modes import Mode
from mlmon.bench.workloads.curves import INGEST_FEATURES
from mlmon.bench.workloads.pipeline import DRIFTED

__all__ = ["CURVE_UNITS", "Paths", "host_info", "run_suite"]

# Share of the budget per step (the rest is slack for start-up and reports).
_SHARES = {"kernels": 0.2, "curves": 0.25, "memory": 0.04, "store": 0.06, "service": 0.15, "peers": 0.28}
CURVE_UNITS = {
    "rows": "rows per set",
    "features": "features",
    "categories": "categories",
    "batch": "rows per batch",
}


class Paths(msgspec.Struct, frozen=True, kw_only=True):
    """Where the suite writes: the results JSON and summary, the capacity report and plots (``None``:
    no report), and the peers' virtualenvs (``cache``, also the peer jobs' working directory)."""

    results: Path
    docs: Path | None
    cache: Path


def host_info() -> dict[str, Any]:
    """The machine: host, CPU model, cores, memory, kernel and library versions, load average."""
    import numpy as np

    from mlmon import _engine

    cpu = next(
        (
            ln.split(":", 1)[1].strip()
            for ln in Path("/proc/cpuinfo").read_text().splitlines()
            if ln.startswith("model name")
        ),
        platform.processor(),
    )
    mem_kib = next(
        int(ln.split()[1])
        for ln in Path("/proc/meminfo").read_text().splitlines()
        if ln.startswith("MemTotal")
    )
    return {
        "host": socket.gethostname(),
        "cpu": cpu,
        "cores": os.cpu_count(),
        "memory_gib": round(mem_kib / 2**20, 1),
        "kernel": platform.release(),
        "machine": platform.machine(),
        "python": platform.python_version(),
        "numpy": np.__version__,
        "mlmon": _engine.__version__,
        "simd": getattr(_engine, "SIMD", None),
        "loadavg": [round(x, 2) for x in os.getloadavg()],
    }


def _curves(mode: Mode, budget: float) -> dict[str, Any]:
    out: dict[str, Any] = {}
    share = budget / len(mode.curves)
    for name, points in mode.curves.items():
        params = {
            "curve": name,
            "points": points,
            "repeat": mode.repeat,
            "budget_s": share,
            "features": 10,
            "rows": mode.curve_rows.get(name, 0),
            "cost_grows": name != "batch",
        }
        try:
            curve = measure.run_child("curve", params, timeout=share * 2 + 60)
        except RuntimeError as exc:
            out[name] = {"error": str(exc)}
            continue
        pts = curve["points"]
        fixed = {"rows": {"features": 10}, "batch": {"features": INGEST_FEATURES}}
        curve.update(
            unit=CURVE_UNITS[name], fixed=fixed.get(name, {"rows per set": mode.curve_rows.get(name)})
        )
        if len(pts) >= 2:
            curve["fit_time"] = msgspec.to_builtins(
                line_fit([p["x"] for p in pts], [p["seconds"] for p in pts])
            )
            curve["fit_memory"] = msgspec.to_builtins(
                line_fit([p["x"] for p in pts], [p["peak_extra_mib"] for p in pts])
            )
        out[name] = curve
    return out


def _memory(mode: Mode, budget: float) -> list[dict[str, Any]]:
    specs = [
        {"kind": "numerical", "features": 100},
        {"kind": "categorical", "features": 20, "categories": 100},
    ]
    return [measure.run_child("memory", {**s, "models": mode.memory_models}, timeout=budget) for s in specs]


def _peers(mode: Mode, paths: Paths, installer: peers.Installer, deadline: float) -> dict[str, Any]:
    results: dict[str, dict[str, Any]] = {}
    chosen = [p for p in peers.PEERS if mode.peers is None or p.name in mode.peers]
    for peer in chosen:
        state = installer.wait(peer.name, deadline - 60)
        if state != "ready":
            results[peer.name] = {"name": peer.name, "status": state}
            continue
        remaining = deadline - time.monotonic()
        if remaining < 10:
            results[peer.name] = {"name": peer.name, "status": "not run: the time budget was used up"}
            continue
        paths.cache.mkdir(parents=True, exist_ok=True)
        results[peer.name] = peers.run_peer(
            peer, installer.python(peer), mode.peer_rows, remaining, paths.cache
        )
    return {
        "rows": mode.peer_rows,
        "results": results,
        "agreement": agreement.agreement(results),
        "verdicts": agreement.verdicts(results, set(DRIFTED)),
    }


def _step(record: dict[str, Any], name: str, fn: Callable[[], Any]) -> Any:
    started = time.monotonic()
    try:
        value = fn()
        record[name] = {"status": "ok", "seconds": round(time.monotonic() - started, 1)}
        return value
    except Exception as exc:  # one failed step must not lose the others' figures
        record[name] = {
            "status": f"failed: {type(exc).__name__}: {exc}"[:400],
            "seconds": round(time.monotonic() - started, 1),
        }
        return None


def run_suite(mode: Mode, paths: Paths, log: Callable[[str], None] = print) -> dict[str, Any]:
    """Runs every step of ``mode`` and returns the results (see ``write_results`` for the files)."""
    started, t0 = datetime.now(timezone.utc), time.monotonic()
    chosen = tuple(p for p in peers.PEERS if mode.peers is None or p.name in mode.peers)
    installer = peers.Installer(paths.cache / "venvs", chosen)
    log(
        f"mlmon bench --{mode.name}: budget {mode.budget_s:.0f} s; peers: "
        + ", ".join(f"{k} {v}" for k, v in installer.state.items())
    )
    steps: dict[str, Any] = {}
    results: dict[str, Any] = {
        "schema": 1,
        "mode": mode.name,
        "budget_s": mode.budget_s,
        "started_at": started.isoformat(timespec="seconds"),
        "host": host_info(),
        "steps": steps,
    }

    def budget(step: str) -> float:
        return mode.budget_s * _SHARES[step]

    log("in-process kernels: " + ", ".join(mode.kernel_sizes))
    results["kernels"] = _step(
        steps,
        "kernels",
        lambda: kernels.run_kernels(
            mode.kernel_sizes,
            mode.kernel_rounds,
            mode.kernel_max_time,
            mode.kernel_warmup,
            budget("kernels") * 2,
        ),
    )
    log("scaling curves")
    results["curves"] = _step(steps, "curves", lambda: _curves(mode, budget("curves")))
    log("memory per model")
    results["memory"] = _step(steps, "memory", lambda: _memory(mode, budget("memory") * 3 + 30))
    log("store growth")
    results["store"] = _step(
        steps, "store", lambda: [storage.store_growth(f, mode.store_rows, mode.postgres) for f in (25, 100)]
    )
    skip_service = f"skipped in {mode.name} mode" if mode.load_args is None else service.unavailable()
    if skip_service is None:
        log("service load")
        results["service"] = _step(
            steps,
            "service",
            lambda: service.run_load(list(mode.wrk_args), list(mode.load_args or []), budget("service") * 2),
        )
    else:
        log(f"service load: {skip_service}")
        steps["service"] = {"status": skip_service}
    log("peers")
    deadline = t0 + mode.budget_s
    results["peers"] = _step(steps, "peers", lambda: _peers(mode, paths, installer, deadline))
    pending = [name for name, state in installer.state.items() if state == "installing"]
    if pending:
        log(f"still installing in the background: {', '.join(pending)} (the next run uses them)")
    results["finished_at"] = datetime.now(timezone.utc).isoformat(timespec="seconds")
    results["duration_s"] = round(time.monotonic() - t0, 1)
    results["host"]["loadavg_end"] = [round(x, 2) for x in os.getloadavg()]
    return results


def results_stem(results: dict[str, Any]) -> str:
    """``<date>-<host>`` (plus the mode unless it is ``full``) for the results files."""
    date = results["started_at"][:10]
    host = "".join(c if c.isalnum() or c in "-_" else "-" for c in results["host"]["host"])
    return f"{date}-{host}" if results["mode"] == "full" else f"{date}-{host}-{results['mode']}"


def write_json(results: dict[str, Any], directory: Path) -> Path:
    """Writes the results JSON and returns its path."""
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"{results_stem(results)}.json"
    path.write_text(json.dumps(results, indent=1, default=str) + "\n")
    return path
