"""Data-quality checks and their severity rules."""

from __future__ import annotations

import numpy as np
import pytest

import mlmon
from mlmon.core.quality import QualityThresholds, assess

LIMITS = QualityThresholds()


def check(**rates: float | None) -> tuple[str, list[str]]:
    base: dict[str, float | None] = {
        "missing_rate": 0.0, "reference_missing_rate": 0.0, "invalid_rate": 0.0, "out_of_range_rate": 0.0,
        "unseen_rate": None,
    }  # fmt: skip
    base.update(rates)
    return assess(**base, limits=LIMITS)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("rates", "expected"),
    [
        ({}, "ok"),
        ({"missing_rate": 0.12, "reference_missing_rate": 0.10}, "ok"),
        ({"missing_rate": 0.16, "reference_missing_rate": 0.10}, "warning"),
        ({"missing_rate": 0.35, "reference_missing_rate": 0.10}, "critical"),
        ({"missing_rate": 0.0, "reference_missing_rate": 0.5}, "ok"),
        ({"invalid_rate": 0.001}, "warning"),
        ({"invalid_rate": 0.02}, "critical"),
        ({"out_of_range_rate": 0.06}, "warning"),
        ({"out_of_range_rate": 0.3}, "critical"),
        ({"out_of_range_rate": None, "unseen_rate": 0.005}, "ok"),
        ({"out_of_range_rate": None, "unseen_rate": 0.05}, "warning"),
        ({"out_of_range_rate": None, "unseen_rate": 0.5}, "critical"),
    ],
)
def test_levels(rates: dict[str, float], expected: str) -> None:
    severity, issues = check(**rates)
    assert severity == expected
    assert bool(issues) == (expected != "ok")


def test_thresholds_validate() -> None:
    with pytest.raises(mlmon.InputError):
        QualityThresholds(unseen_warning=0.5, unseen_critical=0.1)


def test_quality_in_report() -> None:
    rng = np.random.default_rng(0)
    base = mlmon.Baseline.fit({"x": rng.uniform(0, 1, 5000), "c": rng.choice(["a", "b"], 5000)})
    mon = mlmon.Monitor(base, quality=QualityThresholds(out_of_range_warning=0.01, out_of_range_critical=0.5))
    x = rng.uniform(0, 1, 1000)
    x[:100] = 5.0
    x[100:400] = np.nan
    c = rng.choice(np.array(["a", "b", "zz"], dtype=object), 1000, p=[0.45, 0.45, 0.1])
    mon.update({"x": x, "c": c})
    report = mon.report()
    fx, fc = report.features["x"], report.features["c"]
    assert fx.out_of_range_rate == pytest.approx(0.1)
    assert fx.missing_rate == pytest.approx(0.3)
    assert fx.quality_severity == "critical"  # missing rose by 30 points
    assert any("outside the reference range" in i for i in fx.quality_issues)
    assert fc.unseen_rate == pytest.approx(np.mean(c == "zz"))
    assert fc.quality_severity == "critical"
    assert report.quality_severity == "critical"
