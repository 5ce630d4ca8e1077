"""What a report says about its verdicts (issue 17 items 2, 3 and 5): the score behind each severity,
the overall score, how each feature was typed; in the report, the table, Markdown, CSV and HTML."""

from __future__ import annotations

import csv
import io

import numpy as np
import pytest
from rich.console import Console

import mlmon
from mlmon.core.drift import FeatureThresholds, explain

CUTS = ["Fair", "Good", "Very Good", "Premium", "Ideal"]


def render(table: object, width: int) -> str:
    console = Console(width=width, record=True, color_system=None)
    console.print(table)
    return console.export_text()


@pytest.fixture(scope="module")
def report() -> mlmon.DriftReport:
    """A categorical shift that is hugely significant yet under the PSI warning threshold, a numerical
    feature that drifts, an integer feature with three values, and an all-missing feature."""
    rng = np.random.default_rng(17)
    n = 20_000
    ref = {
        "carat": rng.gamma(2.0, 0.4, n),
        "cut": rng.choice(CUTS, n, p=[0.03, 0.09, 0.22, 0.26, 0.40]),
        "grade": rng.integers(0, 3, n),
        "depth": rng.normal(61.7, 1.4, n),
    }
    cur = {
        "carat": rng.gamma(2.0, 0.4, n) * 2.5,
        "cut": rng.choice(CUTS, n, p=[0.10, 0.15, 0.25, 0.25, 0.25]),
        "grade": rng.integers(0, 3, n),
        "depth": np.full(n, np.nan),
    }
    monitor = mlmon.Monitor(mlmon.Baseline.fit(ref, model="diamonds", version="1"))
    monitor.update(cur)
    return monitor.report()


def test_categorical_verdict_says_psi_drives_severity(report: mlmon.DriftReport) -> None:
    cut = report.features["cut"]
    assert cut.significant and cut.p_value is not None and cut.p_value < 1e-100
    assert cut.severity == "ok" and cut.score < 0.2
    assert (cut.method, cut.test) == ("psi", "chi_square")
    assert cut.reason == f"PSI {cut.score:.3f} < warning 0.2"
    carat = report.features["carat"]
    assert carat.method == "psi" and carat.severity == "critical"
    assert carat.reason.startswith(f"PSI {carat.score:.3f} >= critical 0.5 (noise floor ")


@pytest.mark.parametrize(
    ("score", "floor", "n", "expected"),
    [
        (0.6, 0.01, 99, "99 values, fewer than min_count 100"),
        (0.6, 0.3, 1000, "noise floor 0.3 above warning 0.2: too few values for a verdict"),
        (0.2, 0.2, 1000, "PSI 0.200 within the noise floor 0.2"),
        (0.3, 0.01, 1000, "PSI 0.300 >= warning 0.2 (noise floor 0.01)"),
        (0.1, 0.01, 1000, "PSI 0.100 < warning 0.2"),
    ],
)
def test_explain_matches_each_branch_of_the_policy(score: float, floor: float, n: int, expected: str) -> None:
    assert explain(score, floor, n, FeatureThresholds(0.2, 0.5), 100) == expected


def test_all_missing_says_all_missing(report: mlmon.DriftReport) -> None:
    depth = report.features["depth"]
    assert depth.severity == "insufficient_data"
    assert depth.reason == "all 20,000 values missing"


def test_overall_score_is_defined(report: mlmon.DriftReport) -> None:
    scores = [f.score for f in report.features.values()]
    assert report.score == pytest.approx(float(np.mean(scores)))
    assert report.score_weighting == "equal"
    assert report.drifted_count == 1 and report.drifted_share == 0.25
    weighted = mlmon.Baseline.fit(
        {"a": np.arange(500.0), "b": np.arange(500.0)}, feature_importance={"a": 1.0}
    )
    mon = mlmon.Monitor(weighted)
    mon.update({"a": np.arange(500.0) + 300, "b": np.arange(500.0)})
    r = mon.report()
    assert r.score_weighting == "importance" and r.score == r.features["a"].score


def test_typing_is_reported_per_feature(report: mlmon.DriftReport) -> None:
    assert report.features["carat"].typing == "numerical (float64)"
    assert report.features["cut"].typing == "categorical (string)"
    grade = report.features["grade"]
    assert grade.typing == "numerical (int64)"
    assert grade.typing_hint is not None and "categorical=['grade', ...]" in grade.typing_hint
    assert report.features["carat"].typing_hint is None
    declared = mlmon.Baseline.fit({"grade": np.arange(300) % 3}, categorical=["grade"])
    mon = mlmon.Monitor(declared)
    mon.update({"grade": np.arange(300) % 3})
    f = mon.report().features["grade"]
    assert (f.typing, f.typing_hint) == ("categorical (int64, declared)", None)


def test_table_headline_legend_and_notes(report: mlmon.DriftReport) -> None:
    text = render(report.to_table(), 200)
    assert "Drift critical · 1 of 4 features drifted · mean PSI" in text
    assert "severity: PSI against warning 0.2 / critical 0.5" in text
    assert "pooled chi-square test" in text and "never the verdict" in text
    assert "mean PSI is the features' mean score, every feature weighing the same" in text
    assert "depth: all 20,000 values missing" in text
    assert "grade: integer feature binned into 3 of 10 bins" in text
    assert "categorical (string)" in text and "typed as" in text


def test_markdown_csv_and_html_say_the_same(report: mlmon.DriftReport) -> None:
    md = report.to_markdown()
    assert md.startswith("## Drift report: diamonds v1")
    assert "| cut | categorical (string) | ok |" in md
    assert "all 20,000 values missing" in md and "never the verdict" in md
    rows = list(csv.DictReader(io.StringIO(report.to_csv())))
    assert [r["feature"] for r in rows] == [f.name for f in report.ranked()]
    cut = next(r for r in rows if r["feature"] == "cut")
    assert (cut["method"], cut["test"], cut["significant"]) == ("psi", "chi_square", "True")
    assert float(cut["score"]) == report.features["cut"].score  # full precision
    html = report.to_html()
    assert "PSI (drives severity)" in html and "p-value (not the verdict)" in html
    assert "categorical (string)" in html and "all 20,000 values missing" in html
    assert "every feature weighing the same" in html
