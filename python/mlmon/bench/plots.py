"""PNG plots of the scaling curves: time and peak extra memory against the varied dimension, with the
fitted cost line drawn over the measured points."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from mlmon.core._compat import require

__all__ = ["plot_curves"]


def plot_curves(curves: dict[str, Any], directory: Path, stamp: str) -> list[Path]:
    """Writes ``bench-<curve>.png`` for every curve with points; returns the paths."""
    matplotlib = require("matplotlib", "bench")

    matplotlib.use("Agg")  # files only, no display
    plt = require("matplotlib.pyplot", "bench")

    directory.mkdir(parents=True, exist_ok=True)
    written = []
    for name, curve in curves.items():
        points = curve.get("points") or []
        if len(points) < 2:
            continue
        xs = np.array([p["x"] for p in points], dtype=float)
        fig, axes = plt.subplots(1, 2, figsize=(9, 3.4))
        for ax, key, fit_key, label in (
            (axes[0], "seconds", "fit_time", "time (s)"),
            (axes[1], "peak_extra_mib", "fit_memory", "peak extra memory (MiB)"),
        ):
            ys = np.array([p[key] for p in points], dtype=float)
            ax.plot(xs, ys, "o", label="measured")
            fit = curve.get(fit_key)
            if fit:
                grid = np.geomspace(xs.min(), xs.max(), 50)
                ax.plot(
                    grid,
                    fit["fixed"] + fit["per_unit"] * grid,
                    "-",
                    label=f"fit: {fit['fixed']:.3g} + {fit['per_unit']:.3g}·x (R²={fit['r2']:.3f})",
                )
            ax.set_xscale("log")
            if (ys > 0).all():
                ax.set_yscale("log")
            ax.set_xlabel(curve.get("unit", name))
            ax.set_ylabel(label)
            ax.grid(True, which="both", alpha=0.3)
            ax.legend(fontsize=7)
        fig.suptitle(f"mlmon: {name} scaling ({stamp})", fontsize=9)
        fig.tight_layout()
        path = directory / f"bench-{name}.png"
        fig.savefig(path, dpi=110)
        plt.close(fig)
        written.append(path)
    return written
