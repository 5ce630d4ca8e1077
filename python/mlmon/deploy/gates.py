"""Step 2b, gates: absolute floors and ceilings, and no regression beyond a tolerance against the
metrics the production version recorded. Every gate is evaluated, so a failure lists all misses."""

from __future__ import annotations

from collections.abc import Mapping

import msgspec

from mlmon.deploy.config import GatesConfig
from mlmon.deploy.errors import BadInputError, GateFailedError
from mlmon.deploy.validate import HIGHER_IS_BETTER, LOWER_IS_BETTER

__all__ = ["GateResult", "check_gates", "evaluate_gates"]


class GateResult(msgspec.Struct, frozen=True):
    """One gate: its name (``minimum:accuracy``, ``regression:roc_auc``), the value, the limit it was
    held to, whether it passed and the margin (positive: room left; negative: missed by that much)."""

    gate: str
    metric: str
    value: float
    limit: float
    passed: bool
    margin: float


def _gate(kind: str, metric: str, value: float, limit: float, higher_better: bool) -> GateResult:
    margin = value - limit if higher_better else limit - value
    return GateResult(f"{kind}:{metric}", metric, value, round(limit, 6), margin >= -1e-12, round(margin, 6))


def _metric(metrics: Mapping[str, float], name: str, where: str) -> float:
    if name not in metrics:
        raise BadInputError(
            f"gate {where} names metric {name!r}, which this model does not have "
            f"(it has {', '.join(sorted(metrics))})"
        )
    return metrics[name]


def evaluate_gates(
    cfg: GatesConfig, metrics: Mapping[str, float], production: Mapping[str, float] | None
) -> list[GateResult]:
    """Every gate's result.

    Args:
        cfg: The gates.
        metrics: The candidate's validation metrics.
        production: The production version's recorded metrics (``None``: no production version yet).

    Raises:
        BadInputError: a gate names a metric the candidate does not have.
    """
    results = [
        _gate("minimum", name, _metric(metrics, name, f"minimum.{name}"), floor, True)
        for name, floor in cfg.minimum.items()
    ]
    results += [
        _gate("maximum", name, _metric(metrics, name, f"maximum.{name}"), ceiling, False)
        for name, ceiling in cfg.maximum.items()
    ]
    for name, value in sorted(metrics.items()):
        previous = (production or {}).get(name)
        if not isinstance(previous, (int, float)) or isinstance(previous, bool):
            continue  # no production figure to compare with
        tolerance = cfg.tolerance.get(name, cfg.max_regression)
        if name in HIGHER_IS_BETTER:
            results.append(_gate("regression", name, value, previous - tolerance, True))
        elif name in LOWER_IS_BETTER:
            results.append(_gate("regression", name, value, previous + tolerance, False))
    return results


def check_gates(results: list[GateResult]) -> None:
    """Raises :class:`GateFailedError` naming every failed gate and by how much it was missed."""
    failed = [r for r in results if not r.passed]
    if failed:
        parts = [
            f"{r.gate} = {r.value:.6g} vs limit {r.limit:.6g} (missed by {-r.margin:.6g})" for r in failed
        ]
        raise GateFailedError("quality gate failed: " + "; ".join(parts))
