"""Validate (metrics chosen from the estimator) and gates (floors, ceilings, regression against the
production version; each failure named with its margin)."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from sklearn import metrics as skm
from sklearn.cluster import KMeans
from sklearn.datasets import load_diabetes, load_iris
from sklearn.linear_model import LinearRegression, LogisticRegression

from mlmon.deploy import BadInputError, GateFailedError
from mlmon.deploy.config import DataConfig, GatesConfig, ModelConfig
from mlmon.deploy.example import ExampleFiles
from mlmon.deploy.gates import check_gates, evaluate_gates
from mlmon.deploy.load import Dataset, load_artifact, load_dataset
from mlmon.deploy.validate import task_of, validation_metrics


def _frame(loader: object) -> tuple[pd.DataFrame, pd.Series]:
    bunch = loader(as_frame=True)  # type: ignore[operator]
    return bunch.data, bunch.target


def test_binary_classifier_metrics_match_sklearn(trained: dict[str, ExampleFiles]) -> None:
    files = trained["forest"]
    artifact = load_artifact(ModelConfig(name="bc", artifact=str(files.artifact)), None)
    data = load_dataset(
        files.validation, DataConfig(training="", validation="", target="malignant"), artifact.model
    )
    task, got = validation_metrics(artifact.model, data)
    y, pred = data.target, artifact.model.predict(data.features)
    assert task == "classification"
    assert got["accuracy"] == pytest.approx(skm.accuracy_score(y, pred), abs=1e-6)
    assert got["recall"] == pytest.approx(skm.recall_score(y, pred), abs=1e-6)
    assert got["f1"] == pytest.approx(skm.f1_score(y, pred), abs=1e-6)
    proba = artifact.model.predict_proba(data.features)[:, 1]
    assert got["roc_auc"] == pytest.approx(skm.roc_auc_score(y, proba), abs=1e-6)
    assert got["roc_auc"] > 0.95


def test_multiclass_and_regression_metrics() -> None:
    x, y = _frame(load_iris)
    clf = LogisticRegression(max_iter=500).fit(x, y)
    task, got = validation_metrics(clf, Dataset(x, y))
    assert task == "classification" and set(got) == {"accuracy", "precision", "recall", "f1", "roc_auc"}
    x, y = _frame(load_diabetes)
    reg = LinearRegression().fit(x, y)
    task, got = validation_metrics(reg, Dataset(x, y))
    pred = reg.predict(x)
    assert task == "regression" and set(got) == {"rmse", "mae", "r2"}
    assert got["rmse"] == pytest.approx(math.sqrt(skm.mean_squared_error(y, pred)), rel=1e-6)
    assert got["r2"] == pytest.approx(skm.r2_score(y, pred), abs=1e-6)


def test_neither_classifier_nor_regressor_is_bad_input() -> None:
    with pytest.raises(BadInputError, match="KMeans"):
        task_of(KMeans(n_clusters=2, n_init=1).fit(np.arange(8.0).reshape(4, 2)))


def test_unscorable_validation_set_is_bad_input() -> None:
    x, y = _frame(load_iris)
    clf = LogisticRegression(max_iter=500).fit(x, y)
    bad = x.assign(**{"sepal length (cm)": ["text"] * len(x)})
    with pytest.raises(BadInputError, match="cannot score the validation set"):
        validation_metrics(clf, Dataset(bad, y))


def test_floors_ceilings_and_margins() -> None:
    cfg = GatesConfig(minimum={"accuracy": 0.9}, maximum={"rmse": 2.0})
    results = evaluate_gates(cfg, {"accuracy": 0.93, "rmse": 2.5}, None)
    by = {r.gate: r for r in results}
    assert by["minimum:accuracy"].passed and by["minimum:accuracy"].margin == pytest.approx(0.03)
    assert not by["maximum:rmse"].passed and by["maximum:rmse"].margin == pytest.approx(-0.5)
    with pytest.raises(GateFailedError, match=r"maximum:rmse = 2\.5 vs limit 2 \(missed by 0\.5\)") as info:
        check_gates(results)
    assert info.value.exit_code == 2 and "accuracy" not in str(info.value)


def test_regression_against_production_with_tolerance() -> None:
    cfg = GatesConfig(max_regression=0.01, tolerance={"roc_auc": 0.05})
    production = {"accuracy": 0.95, "roc_auc": 0.99, "mae": 1.0, "note": "text is ignored"}
    results = evaluate_gates(cfg, {"accuracy": 0.93, "roc_auc": 0.95, "mae": 1.005}, production)
    by = {r.gate: r for r in results}
    assert set(by) == {"regression:accuracy", "regression:roc_auc", "regression:mae"}
    assert not by["regression:accuracy"].passed and by["regression:accuracy"].margin == pytest.approx(-0.01)
    assert by["regression:roc_auc"].passed  # 0.04 drop within its own 0.05 tolerance
    assert by["regression:mae"].passed  # lower is better: 1.005 <= 1.0 + 0.01
    with pytest.raises(
        GateFailedError, match=r"regression:accuracy = 0\.93 vs limit 0\.94 \(missed by 0\.01\)"
    ):
        check_gates(results)
    assert all(r.passed for r in evaluate_gates(cfg, {"accuracy": 0.96}, production))


def test_gate_on_unknown_metric_is_bad_input() -> None:
    with pytest.raises(BadInputError, match=r"minimum\.rmse names metric 'rmse'.*accuracy"):
        evaluate_gates(GatesConfig(minimum={"rmse": 1.0}), {"accuracy": 0.9}, None)
