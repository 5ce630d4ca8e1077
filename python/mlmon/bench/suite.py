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
import numpy as np

from mlmon.bench import agreement, compaction, ingest, kernels, labels, measure, peers, service, storage
from mlmon.bench.fit import line_fit
from mlmon.bench.modes import STEPS, Mode
from mlmon.bench.workloads.curves import INGEST_FEATURES
from mlmon.bench.workloads.pipeline import DRIFTED
from mlmon.core import _native

__all__ = ["CURVE_UNITS", "Paths", "host_info", "overlay", "run_suite"]

# Share of the budget per step (the rest is slack for start-up and reports).
_SHARES = {
    "kernels": 0.18,
    "curves": 0.22,
    "memory": 0.04,
    "store": 0.06,
    "ingest": 0.04,
    "compaction": 0.06,
    "labels": 0.04,
    "service": 0.18,
    "peers": 0.18,
}
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
        "mlmon": _native.__version__,
        "simd": getattr(_native, "SIMD", None),
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


def _backends(mode: Mode) -> list[str]:
    return ["sqlite", "postgres"] if mode.postgres else ["sqlite"]


def _ingest(mode: Mode, budget: float) -> list[dict[str, Any]]:
    """Store-only group commits per backend and exactly-once key; a backend that cannot run is a row
    with the reason."""
    out: list[dict[str, Any]] = []
    keys_tried: tuple[ingest.Keys, ...] = ("producer", "batch_id")
    cases = [(b, k) for b in _backends(mode) for k in keys_tried]
    for backend, keys in cases:
        try:
            out.append(
                ingest.store_ingest(
                    backend, commits=mode.ingest_commits, keys=keys, budget_s=budget / len(cases)
                )
            )
        except Exception as exc:  # reported in the results, never hidden
            out.append({"backend": backend, "keys": keys, "error": f"{type(exc).__name__}: {exc}"[:300]})
    return out


def _compaction(mode: Mode) -> list[dict[str, Any]]:
    """The service-level compaction measurement per backend (a backend that cannot run: the reason)."""
    out: list[dict[str, Any]] = []
    for backend in _backends(mode):
        try:
            out.append(
                compaction.service_compaction(
                    backend, batches=mode.compaction_batches, interval=mode.compaction_interval_s
                )
            )
        except Exception as exc:  # reported in the results, never hidden
            out.append({"backend": backend, "error": f"{type(exc).__name__}: {exc}"[:300]})
    return out


def _measure(
    mode: Mode, paths: Paths, installer: peers.Installer, deadline: float, log: Callable[[str], None]
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Runs the mode's steps in order; returns ``(figures per step, step records)``."""

    def budget(step: str) -> float:
        return mode.budget_s * _SHARES[step]

    jobs: dict[str, tuple[str, Callable[[], Any]]] = {
        "kernels": (
            "in-process kernels: " + ", ".join(mode.kernel_sizes),
            lambda: kernels.run_kernels(
                mode.kernel_sizes,
                mode.kernel_rounds,
                mode.kernel_max_time,
                mode.kernel_warmup,
                budget("kernels") * 2,
            ),
        ),
        "curves": ("scaling curves", lambda: _curves(mode, budget("curves"))),
        "memory": ("memory per model", lambda: _memory(mode, budget("memory") * 3 + 30)),
        "store": (
            "store growth",
            lambda: [storage.store_growth(f, mode.store_rows, mode.postgres) for f in (25, 100)],
        ),
        "ingest": ("store-only ingest (group commits)", lambda: _ingest(mode, budget("ingest"))),
        "compaction": (
            f"{mode.compaction_batches:,} batches into one window through the service",
            lambda: _compaction(mode),
        ),
        "labels": (
            "model outputs and labels: outputs stage, commits, label join, bytes per model",
            lambda: labels.run_labels(mode.labels, _backends(mode), budget("labels")),
        ),
        "service": (
            "service load",
            lambda: service.run_load(list(mode.wrk_args), list(mode.load_args or []), budget("service") * 2),
        ),
        "peers": ("peers", lambda: _peers(mode, paths, installer, deadline)),
    }
    figures: dict[str, Any] = {}
    steps: dict[str, Any] = {}
    for name in STEPS:
        skip = _skip(mode, name)
        if skip is not None:
            log(f"{name}: {skip}")
            steps[name] = {"status": skip}
            continue
        label, job = jobs[name]
        log(label)
        figures[name] = _step(steps, name, job)
    return figures, steps


def _skip(mode: Mode, step: str) -> str | None:
    """Why ``step`` does not run in ``mode`` (``None``: it runs)."""
    if mode.steps is not None and step not in mode.steps:
        return f"not run in {mode.name} mode"
    if step == "service":
        return f"skipped in {mode.name} mode" if mode.load_args is None else service.unavailable()
    if step == "compaction":
        return service.unavailable()
    return None


def run_suite(mode: Mode, paths: Paths, log: Callable[[str], None] = print) -> dict[str, Any]:
    """Runs every step of ``mode`` and returns the results (see ``write_results`` for the files)."""
    started, t0 = datetime.now(timezone.utc), time.monotonic()
    runs_peers = _skip(mode, "peers") is None
    chosen = tuple(p for p in peers.PEERS if runs_peers and (mode.peers is None or p.name in mode.peers))
    installer = peers.Installer(paths.cache / "venvs", chosen)
    log(
        f"mlmon bench --{mode.name}: budget {mode.budget_s:.0f} s; peers: "
        + (", ".join(f"{k} {v}" for k, v in installer.state.items()) or "none")
    )
    results: dict[str, Any] = {
        "schema": 1,
        "mode": mode.name,
        "budget_s": mode.budget_s,
        "started_at": started.isoformat(timespec="seconds"),
        "host": host_info(),
    }
    figures, results["steps"] = _measure(mode, paths, installer, t0 + mode.budget_s, log)
    results.update(figures)
    pending = [name for name, state in installer.state.items() if state == "installing"]
    if pending:
        log(f"still installing in the background: {', '.join(pending)} (the next run uses them)")
    results["finished_at"] = datetime.now(timezone.utc).isoformat(timespec="seconds")
    results["duration_s"] = round(time.monotonic() - t0, 1)
    results["host"]["loadavg_end"] = [round(x, 2) for x in os.getloadavg()]
    return results


def overlay(base: dict[str, Any], run: dict[str, Any], base_name: str) -> dict[str, Any]:
    """``run``'s figures laid over ``base`` (a full run's results): the steps ``run`` measured replace
    base's, the others are kept and ``base`` records where they came from. The result is ``run``'s
    (its mode, start and host), so its files do not overwrite the base's."""
    merged = {k: v for k, v in base.items() if k in STEPS}
    measured = [name for name, s in run["steps"].items() if not s["status"].startswith("not run in")]
    merged.update({name: run.get(name) for name in measured})
    steps = dict(base.get("steps") or {})
    steps.update({name: run["steps"][name] for name in measured})
    meta = {k: v for k, v in run.items() if k not in STEPS}
    base_meta = {k: base.get(k) for k in ("mode", "started_at", "host", "duration_s")}
    return {**meta, **merged, "steps": steps, "base": {**base_meta, "file": base_name, "replaced": measured}}


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
