"""The deploy step's performance reference: built in the sandbox child on every validation row from the
answers it scored once, carried back in the Evaluation, and attached to the baseline it uploads; a
reference that cannot be built leaves the deploy as it was, saying why."""

from __future__ import annotations

import httpx
import numpy as np
import pandas as pd
import pytest
from deploy_helpers import write_config

from mlmon.core.artifacts import sha256_file
from mlmon.core.baseline import Baseline
from mlmon.deploy import load_config
from mlmon.deploy.baseline import StoredBaseline, fit_baseline, stored_baseline
from mlmon.deploy.config import HttpConfig
from mlmon.deploy.example import ExampleFiles
from mlmon.deploy.http import RetryingClient
from mlmon.deploy.load import Dataset
from mlmon.deploy.sandbox import Evaluation, _reference, evaluate_isolated
from mlmon.deploy.validate import Scored
from mlmon.performance import ClassificationMetrics, Reference, RegressionMetrics


def test_the_child_returns_the_reference_of_every_validation_row(trained: dict[str, ExampleFiles]) -> None:
    files = trained["forest"]
    cfg = load_config(write_config(files.artifact.parent / "reference.toml", files), environ={})
    evaluation = evaluate_isolated(cfg.model, cfg.data, sha256_file(files.artifact))
    assert evaluation.performance is not None and evaluation.performance_skipped == ""
    ref = Reference.from_bytes(evaluation.performance)
    m = ref.metrics()
    assert isinstance(m, ClassificationMetrics) and ref.calibration is not None
    assert m.rows == evaluation.validation_rows and ref.classes is not None and len(ref.classes) == 2
    # The deploy's binary metrics are the positive class's (classes_[1]).
    got = {"accuracy": m.accuracy, "precision": m.precision[1], "recall": m.recall[1], "f1": m.f1[1]}
    assert {k: round(v or 0.0, 6) for k, v in got.items()} == {k: evaluation.metrics[k] for k in got}


def _evaluation(task: str, performance: bytes | None, outputs: dict[str, list[object]]) -> Evaluation:
    return Evaluation(
        estimator="E",
        features=["x"],
        task=task,
        metrics={},
        importances={"x": 1.0},
        importances_from="none",
        params={},
        validation_rows=4,
        outputs=outputs,
        performance=performance,
    )


@pytest.mark.parametrize("with_outputs", [True, False])
def test_the_uploaded_baseline_carries_the_reference(with_outputs: bool) -> None:
    ref = Reference.of_classifier(["a", "b", "b", "a"], ["a", "b", "a", "a"], classes=["a", "b"])
    outputs: dict[str, list[object]] = {"prediction": ["a", "b", "a", "a"]} if with_outputs else {}
    training = Dataset(pd.DataFrame({"x": np.arange(20.0)}), np.zeros(20))
    fitted = fit_baseline(
        training,
        {"x": 1.0},
        _evaluation("classification", ref.to_bytes(), outputs),
        model="m",
        version="1",
        categorical=[],
    )
    assert fitted.outputs == (("prediction",) if with_outputs else ())
    back = Reference.from_baseline(Baseline.from_bytes(fitted.to_bytes()))
    assert back is not None and back.metrics() == ref.metrics()
    bare = fit_baseline(
        training,
        {"x": 1.0},
        _evaluation("classification", None, outputs),
        model="m",
        version="1",
        categorical=[],
    )
    assert bare.performance is None


def test_the_reference_of_a_regressor_and_the_ones_that_cannot_be_built() -> None:
    y = np.array([1.0, 2.0, 4.0])
    data, skipped = _reference("regression", None, y, Scored(np.array([1.5, 2.0, 3.0])))
    assert data is not None and skipped == ""
    m = Reference.from_bytes(data).metrics()
    assert isinstance(m, RegressionMetrics) and m.mae == pytest.approx(0.5)
    proba = np.array([[0.9, 0.1], [0.2, 0.8]])
    data, skipped = _reference("classification", [0, 1], np.array([0, 1]), Scored(np.array([0, 1]), proba))
    assert data is not None and Reference.from_bytes(data).calibration is not None
    # A validation label the model never saw: no reference, and the reason (the deploy goes on).
    data, skipped = _reference("classification", [0, 1], np.array([0, 2]), Scored(np.array([0, 1]), proba))
    assert data is None and "not among the classes" in skipped
    assert _reference("classification", None, y, Scored(y)) == (None, "the classifier has no classes_")


def _serving(stored: dict[str, bytes]) -> RetryingClient:
    """A client whose drift service holds the baselines ``stored`` (by model) and answers nothing else."""

    def answer(request: httpx.Request) -> httpx.Response:
        data = stored.get(request.url.path.split("/")[3])
        if data is None:
            return httpx.Response(404)
        return httpx.Response(200, content=data, headers={"x-baseline-sha256": "abc"})

    client = RetryingClient(HttpConfig(retries=0))
    client._client = httpx.Client(transport=httpx.MockTransport(answer))
    return client


def test_a_kept_baseline_says_whether_it_carries_a_reference() -> None:
    plain = Baseline.fit({"x": np.arange(20.0)})
    ref = Reference.of_regressor([1.0, 2.0], [1.0, 3.0])
    stored = {"old": plain.to_bytes(), "new": ref.attach(plain).to_bytes(), "bad": b"not a baseline"}
    with _serving(stored) as http:
        found = {m: stored_baseline(http, "http://drift", None, m, "1") for m in (*stored, "none")}
    assert found == {
        "old": StoredBaseline("abc", (), False),
        "new": StoredBaseline("abc", (), True),
        "bad": StoredBaseline("abc", (), False),
        "none": None,
    }
