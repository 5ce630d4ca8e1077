"""Statistics and severity policy against hand-computed and scipy references."""

from __future__ import annotations

import math

import msgspec
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from scipy import stats as sps

import mlmon
from mlmon.core.drift import FeatureThresholds, chi2_ppf, classify, noise_floor, overall

EPS = 1e-4


def hand_psi(ref: np.ndarray, cur: np.ndarray, bins: int = 10) -> float:
    """PSI on numpy quantile edges with the engine's documented smoothing (floor at eps, renormalize)."""
    cuts = np.unique(np.quantile(ref, np.linspace(0, 1, bins + 1)[1:-1]))
    e = np.bincount(np.searchsorted(cuts, ref, side="right"), minlength=len(cuts) + 1) / len(ref)
    a = np.bincount(np.searchsorted(cuts, cur, side="right"), minlength=len(cuts) + 1) / len(cur)
    e, a = np.maximum(e, EPS), np.maximum(a, EPS)
    e, a = e / e.sum(), a / a.sum()
    return float(np.sum((a - e) * np.log(a / e)))


@given(st.floats(0.01, 0.99), st.integers(1, 2000))
def test_chi2_ppf_matches_scipy(q: float, dof: int) -> None:
    assert chi2_ppf(q, dof) == pytest.approx(sps.chi2.ppf(q, dof), rel=1e-9)


def test_chi2_ppf_rejects_bad_arguments() -> None:
    with pytest.raises(mlmon.InputError):
        chi2_ppf(1.0, 3)
    with pytest.raises(mlmon.InputError):
        chi2_ppf(0.5, 0)


def test_noise_floor_formula() -> None:
    assert noise_floor(1000, 4000, 10) == pytest.approx((1 / 1000 + 1 / 4000) * sps.chi2.ppf(0.95, 9))
    assert math.isinf(noise_floor(0, 10, 10))


def test_psi_matches_hand_computation() -> None:
    rng = np.random.default_rng(1)
    ref, cur = rng.normal(size=5000), rng.normal(0.3, 1.2, size=3000)
    assert mlmon.psi(ref, cur) == pytest.approx(hand_psi(ref, cur), rel=1e-9)
    assert mlmon.psi(ref, cur, bins=4) == pytest.approx(hand_psi(ref, cur, 4), rel=1e-9)


@given(st.integers(0, 2**32 - 1), st.floats(-1, 1), st.integers(2, 20))
def test_psi_property_matches_hand(seed: int, shift: float, bins: int) -> None:
    rng = np.random.default_rng(seed)
    ref, cur = rng.normal(size=400), rng.normal(shift, 1, size=300)
    assert mlmon.psi(ref, cur, bins=bins) == pytest.approx(hand_psi(ref, cur, bins), rel=1e-9, abs=1e-12)


def test_psi_empty_bin_is_finite() -> None:
    ref = np.arange(1000.0)
    assert math.isfinite(mlmon.psi(ref, np.full(100, 5.0)))


def test_chi_square_matches_scipy_contingency() -> None:
    rng = np.random.default_rng(2)
    ref = rng.choice(["a", "b", "c", "d"], 3000, p=[0.4, 0.3, 0.2, 0.1])
    cur = rng.choice(["a", "b", "c", "d"], 2000, p=[0.35, 0.3, 0.2, 0.15])
    res = mlmon.chi_square(ref, cur)
    table = [[np.sum(ref == c) for c in "abcd"], [np.sum(cur == c) for c in "abcd"]]
    stat, p, dof, _ = sps.chi2_contingency(table, correction=False)
    assert (res.statistic, res.dof) == (pytest.approx(stat, rel=1e-9), dof)
    assert res.p_value == pytest.approx(p, rel=1e-6)


def test_chi_square_with_novel_category_is_finite() -> None:
    res = mlmon.chi_square(["a"] * 100 + ["b"] * 100, ["a"] * 90 + ["b"] * 90 + ["z"] * 20)
    assert math.isfinite(res.statistic)
    assert res.p_value < 0.01


@pytest.mark.parametrize(
    ("score", "floor", "n", "expected"),
    [
        (0.1, 0.01, 1000, "ok"),
        (0.25, 0.01, 1000, "warning"),
        (0.6, 0.01, 1000, "critical"),
        (0.6, 0.01, 99, "insufficient_data"),
        (0.6, 0.3, 1000, "insufficient_data"),
        (0.2, 0.2, 1000, "ok"),  # at the threshold but not above the noise floor
        (0.5, 0.19, 1000, "critical"),
    ],
)
def test_classify_policy(score: float, floor: float, n: int, expected: str) -> None:
    assert classify(score, floor, n, FeatureThresholds(0.2, 0.5), 100) == expected


def test_thresholds_validate_and_override() -> None:
    with pytest.raises(mlmon.InputError):
        mlmon.Thresholds(warning=0.6, critical=0.5)
    th = mlmon.Thresholds(features={"age": mlmon.FeatureThresholds(0.05, 0.1)})
    assert th.for_feature("age").warning == 0.05
    assert th.for_feature("other").warning == 0.2


def _fd(name: str, score: float, severity: str) -> mlmon.FeatureDrift:
    return mlmon.FeatureDrift(
        name=name, kind="numerical", method="psi", score=score, severity=severity, noise_floor=0.01,  # type: ignore[arg-type]
        significant=True,
    )  # fmt: skip


def test_overall_weighting_and_worst() -> None:
    feats = {"a": _fd("a", 0.4, "warning"), "b": _fd("b", 0.0, "ok"), "c": _fd("c", 0.1, "insufficient_data")}
    score, share, worst = overall(feats, {})
    assert score == pytest.approx(0.5 / 3)
    assert share == pytest.approx(1 / 3)
    assert worst == "warning"
    score, _, _ = overall(feats, {"a": 3.0, "b": 1.0})
    assert score == pytest.approx(0.3)


def test_report_json_roundtrip() -> None:
    rng = np.random.default_rng(3)
    base = mlmon.Baseline.fit({"x": rng.normal(size=2000), "c": rng.choice(["p", "q"], 2000)})
    mon = mlmon.Monitor(base)
    cats = rng.choice(["p", "q", "r"], 2000)
    mon.update({"x": rng.normal(1, 1, size=2000), "c": cats})
    report = mon.report()
    back = mlmon.DriftReport.from_json(report.to_json())
    assert back == report
    assert msgspec.msgpack.decode(report.to_msgpack(), type=mlmon.DriftReport) == report
    assert report.features["x"].severity == "critical"
    assert report.features["c"].unseen_rate == pytest.approx(np.mean(cats == "r"))
    assert report.features["c"].top_unseen == [("r", int(np.sum(cats == "r")))]
