"""The model's outputs as monitored columns: a baseline records them beside the features, a report scores
them like any feature and shows their drift apart as prediction drift, without moving the inputs' summary."""

from __future__ import annotations

import doctest
import io
import json

import msgspec
import numpy as np
import pytest
from rich.console import Console
from sklearn.linear_model import LinearRegression, LogisticRegression

import mlmon
from mlmon.core import outputs
from mlmon.core._baseline_file import BaselineFile


def _data(rng: np.random.Generator, n: int, shift: float = 0.0, bias: float = 0.0) -> dict[str, np.ndarray]:
    x = rng.normal(shift, 1, n)
    # ``bias``: the model itself changed (a bad retrain, a broken feature pipeline upstream of it).
    score = 1 / (1 + np.exp(-(x + bias + rng.normal(0, 0.5, n))))
    return {
        "x": x,
        "plan": rng.choice(["a", "b", "c"], n),
        "score": score,
        "prediction": np.where(score > 0.5, "yes", "no").astype(object),
        "row_id": np.arange(n),
    }


@pytest.fixture(scope="module")
def baseline() -> mlmon.Baseline:
    return mlmon.Baseline.fit(
        _data(np.random.default_rng(0), 20_000),
        features=["x", "plan"],
        outputs=["prediction", "score"],
    )


def test_outputs_are_monitored_in_baseline_order_and_survive_the_file(
    baseline: mlmon.Baseline,
) -> None:
    assert list(baseline.features) == ["x", "plan", "prediction", "score"]
    assert baseline.outputs == ("prediction", "score") and baseline.inputs == ["x", "plan"]
    assert (
        baseline.features["prediction"].kind == "categorical"
        and baseline.features["score"].kind == "numerical"
    )
    again = mlmon.Baseline.from_bytes(baseline.to_bytes())
    assert again.outputs == baseline.outputs and again.fingerprint == baseline.fingerprint
    assert "outputs=2" in repr(baseline)


def test_a_file_written_before_outputs_existed_reads_with_none() -> None:
    plain = mlmon.Baseline.fit({"x": np.arange(100.0)})
    raw = msgspec.msgpack.decode(plain.to_bytes(), type=BaselineFile)
    assert raw.outputs == []
    assert mlmon.Baseline.from_bytes(plain.to_bytes()).outputs == ()


def test_bad_outputs_are_named() -> None:
    data = _data(np.random.default_rng(1), 100)
    with pytest.raises(mlmon.SchemaMismatchError, match="outputs not in the data: 'proba'"):
        mlmon.Baseline.fit(data, outputs=["proba"])
    with pytest.raises(mlmon.InputError, match="a list of column names"):
        mlmon.Baseline.fit(data, outputs="score")  # type: ignore[arg-type]
    fitted = mlmon.Baseline.fit(data, features=["x"])
    with pytest.raises(mlmon.SchemaMismatchError, match="outputs must name monitored columns"):
        mlmon.Baseline(fitted.features.values(), fitted.profiles, n_rows=fitted.n_rows, outputs=["score"])


def _report(baseline: mlmon.Baseline, **shift: float) -> mlmon.DriftReport:
    mon = mlmon.Monitor(baseline)
    mon.update(_data(np.random.default_rng(2), 20_000, **shift))
    return mon.report()


def test_prediction_drift_is_scored_apart_from_the_inputs_summary(baseline: mlmon.Baseline) -> None:
    calm = _report(baseline)
    assert calm.severity == calm.prediction_severity == "ok"
    # The model answers differently on the same inputs: only its outputs drift.
    flipped = _report(baseline, bias=2.0)
    assert [f.name for f in flipped.outputs()] == ["prediction", "score"]
    assert [f.role for f in flipped.inputs()] == ["input", "input"]
    assert flipped.prediction_severity == "critical" and flipped.severity == "critical"
    assert flipped.drifted_count == 0 and flipped.drifted_share == 0.0
    assert flipped.score == pytest.approx(np.mean([f.score for f in flipped.inputs()]), rel=1e-12)
    # The inputs drift and the outputs follow.
    moved = _report(baseline, shift=1.5)
    assert moved.drifted_count == 1 and moved.drifted_share == 0.5
    assert moved.features["x"].severity == "critical" and moved.prediction_severity == "critical"


def test_every_rendering_shows_the_outputs_apart(baseline: mlmon.Baseline) -> None:
    report = _report(baseline, bias=2.0)
    html = report.to_html()
    assert "Prediction drift" in html and html.index("Prediction drift") < html.index("<h2>Features")
    assert (
        "prediction drift critical" in report.to_markdown()
        and "prediction (model output)" in report.to_markdown()
    )
    rows = report.to_csv().splitlines()
    assert rows[0].endswith(",role") and sum(r.endswith(",output") for r in rows[1:]) == 2
    console = Console(file=io.StringIO(), width=200)
    console.print(report.to_table())
    assert "score (model output)" in console.file.getvalue()  # type: ignore[attr-defined]
    back = mlmon.DriftReport.from_json(report.to_json())
    assert (
        back.prediction_severity == "critical"
        and json.loads(report.to_json())["features"]["score"]["role"] == "output"
    )


def test_a_baseline_without_outputs_reports_as_before() -> None:
    plain = mlmon.Baseline.fit({"x": np.random.default_rng(3).normal(size=5000)})
    report = _report_plain(plain)
    assert report.outputs() == [] and report.prediction_severity == "ok"
    assert "prediction drift" not in report.to_markdown() and "Prediction drift" not in report.to_html()


def _report_plain(baseline: mlmon.Baseline) -> mlmon.DriftReport:
    mon = mlmon.Monitor(baseline)
    mon.update({"x": np.random.default_rng(4).normal(size=5000)})
    return mon.report()


def test_with_outputs_fits_them_apart_and_refuses_a_clash() -> None:
    rng = np.random.default_rng(5)
    inputs = mlmon.Baseline.fit({"x": rng.normal(size=1000)}, model="m", version="v")
    both = inputs.with_outputs({"prediction": rng.integers(0, 3, 400)}, categorical=["prediction"])
    assert both.outputs == ("prediction",) and both.inputs == ["x"] and both.n_rows == 1000
    assert both.features["prediction"].kind == "categorical" and (both.model, both.version) == ("m", "v")
    assert both.reference_counts("prediction").sum() == 400
    with pytest.raises(mlmon.SchemaMismatchError, match="named like features"):
        both.with_outputs({"x": np.arange(10.0)})


def test_output_columns_name_what_the_model_answered() -> None:
    x = np.random.default_rng(6).normal(size=(200, 2))
    y = (x[:, 0] > 0).astype(int)
    cls = mlmon.model_outputs(LogisticRegression().fit(x, y), x)
    assert sorted(cls) == ["prediction", "proba_0", "proba_1"]
    np.testing.assert_allclose(cls["proba_0"] + cls["proba_1"], 1.0)
    reg = mlmon.model_outputs(LinearRegression().fit(x, x[:, 0]), x)
    assert list(reg) == ["prediction"] and reg["prediction"].dtype == np.float64
    many = [f"c{i}" for i in range(outputs.MAX_PROBA_CLASSES + 1)]
    proba = np.full((2, len(many)), 1 / len(many))
    assert list(mlmon.output_columns(np.array(["c0", "c1"]), proba, many)) == ["prediction"]
    with pytest.raises(mlmon.InputError, match="expected shape"):
        mlmon.output_columns(np.array([0, 1]), np.ones((3, 2)), [0, 1])
    with pytest.raises(mlmon.InputError, match="one value per row"):
        mlmon.output_columns(np.ones((2, 2)))


def test_docstring_examples() -> None:
    assert doctest.testmod(outputs).failed == 0
