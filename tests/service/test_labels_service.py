"""The service's label loop: outputs and request ids in with the features, labels in later (before or
after their predictions, retried, duplicated, conflicting), performance out per window, realized and
estimated, equal to scikit-learn on the same rows; every bad input a 4xx that says why."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from litestar.testing import TestClient
from prometheus_client import CollectorRegistry
from service_helpers import MSGPACK, make_settings, mp
from sklearn.metrics import accuracy_score, log_loss

import mlmon
from mlmon.performance import Reference
from mlmon.service import create_app

CLASSES = ["no", "yes"]


def _scores(rng: np.random.Generator, n: int) -> np.ndarray:
    return rng.beta(2, 2, n)


@pytest.fixture(scope="module")
def labelled_baseline() -> mlmon.Baseline:
    """Features, the model's outputs, and its reference performance on 4,000 validation rows."""
    rng = np.random.default_rng(0)
    n = 4000
    p = _scores(rng, n)
    y = np.where(rng.random(n) < p, "yes", "no")
    pred = np.where(p >= 0.5, "yes", "no")
    base = mlmon.Baseline.fit({"age": rng.normal(40, 9, n), "plan": rng.choice(["a", "b"], n)})
    outputs = mlmon.output_columns(pred, np.column_stack([1 - p, p]), CLASSES)
    with_outputs = base.with_outputs(outputs, categorical=["prediction"])
    ref = Reference.of_classifier(y, pred, np.column_stack([1 - p, p]), classes=CLASSES, bins=20)
    return ref.attach(with_outputs)


def _batch(
    seed: int, n: int, ids: list[str | None] | None, *, key: str | None = None, spread: float = 2.0
) -> dict[str, Any]:
    rng = np.random.default_rng(seed)
    p = rng.beta(spread, spread, n)
    cols = {
        "age": {"dtype": "<f8", "data": rng.normal(40, 9, n).tobytes()},
        "plan": rng.choice(["a", "b"], n).tolist(),
        "prediction": np.where(p >= 0.5, "yes", "no").tolist(),
        "proba_no": {"dtype": "<f8", "data": (1 - p).tobytes()},
        "proba_yes": {"dtype": "<f8", "data": p.tobytes()},
    }
    body: dict[str, Any] = {"batch_id": key or f"b{seed}", "columns": cols}
    if ids is not None:
        body["request_ids"] = ids
    return body


def _truth(seed: int, n: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The batch's probabilities, predictions and (drawn) true labels."""
    rng = np.random.default_rng(seed)
    p = _scores(rng, n)
    rng.normal(40, 9, n), rng.choice(["a", "b"], n)  # keep the generator in step with _batch
    truth = np.where(np.random.default_rng(seed + 1000).random(n) < p, "yes", "no")
    return p, np.where(p >= 0.5, "yes", "no"), truth


@pytest.fixture
def svc(tmp_path: Path, labelled_baseline: mlmon.Baseline) -> Iterator[TestClient[Any]]:
    app = create_app(make_settings(tmp_path, window_seconds=86400), CollectorRegistry())
    with TestClient(app) as c:
        put = c.put("/v1/models/churn/versions/v1/baseline", content=labelled_baseline.to_bytes())
        assert put.status_code == 200, put.text
        yield c


def _labels(c: TestClient[Any], ids: list[str], labels: list[Any], **extra: Any) -> Any:
    return c.post(
        "/v1/models/churn/labels",
        content=mp({"request_ids": ids, "labels": labels, **extra}),
        headers=MSGPACK,
    )


def test_labels_join_predictions_and_performance_matches_sklearn(svc: TestClient[Any]) -> None:
    n = 300
    ids = [f"r{i}" for i in range(n)]
    r = svc.post("/v1/models/churn/ingest", content=mp(_batch(1, n, ids)), headers=MSGPACK)
    assert r.status_code == 200, r.text
    assert r.json()["kept"] == n
    p, pred, truth = _truth(1, n)
    got = _labels(svc, ids, truth.tolist())
    assert got.status_code == 200, got.text
    assert got.json() | {"model": "churn"} == {
        "model": "churn",
        "rows": n,
        "matched": n,
        "duplicates": 0,
        "conflicts": 0,
        "pending": 0,
        "not_sampled": 0,
    }
    again = _labels(svc, ids, truth.tolist()).json()
    assert (again["matched"], again["duplicates"]) == (0, n)
    perf = svc.get("/v1/models/churn/performance").json()
    [window] = perf["windows"]
    assert (window["labelled"], window["estimated"]) == (n, n)
    realized = window["realized"]
    assert realized["accuracy"] == pytest.approx(accuracy_score(truth, pred), rel=1e-12)
    want = log_loss(truth, np.column_stack([1 - p, p]), labels=CLASSES)
    assert realized["log_loss"] == pytest.approx(want, rel=1e-9)
    assert 0.5 < window["estimate"]["accuracy"] < 0.95
    assert perf["total"]["realized"]["accuracy"] == realized["accuracy"]
    assert perf["reference"]["accuracy"] > 0.5
    assert perf["labels"]["labelled"] == n


def test_a_label_may_come_before_its_prediction(svc: TestClient[Any]) -> None:
    early = _labels(svc, ["late-1", "late-2"], ["yes", "no"]).json()
    assert (early["pending"], early["matched"]) == (2, 0)
    assert svc.get("/v1/models/churn/performance").json()["labels"]["pending"] == 2
    ids: list[str | None] = [None] * 10
    ids[3], ids[7] = "late-1", "late-2"
    assert (
        svc.post("/v1/models/churn/ingest", content=mp(_batch(2, 10, ids)), headers=MSGPACK).status_code
        == 200
    )
    perf = svc.get("/v1/models/churn/performance").json()
    assert perf["windows"][0]["labelled"] == 2
    assert perf["labels"] == {
        "waiting": 0,
        "labelled": 2,
        "pending": 0,
        "expired_predictions": 0,
        "expired_labels": 0,
    }


def test_integer_looking_labels_and_conflicts(svc: TestClient[Any]) -> None:
    ids = ["a", "b"]
    assert (
        svc.post("/v1/models/churn/ingest", content=mp(_batch(3, 2, ids)), headers=MSGPACK).status_code == 200
    )
    first = _labels(svc, ids, ["yes", "no"]).json()
    second = _labels(svc, ids, ["no", "no"]).json()
    assert first["matched"] == 2
    assert (second["duplicates"], second["conflicts"]) == (1, 1)


@pytest.mark.parametrize(
    ("payload", "status", "words"),
    [
        ({"request_ids": ["a"], "labels": ["maybe"]}, 422, "'maybe' is not a class"),
        ({"request_ids": ["a", "b"], "labels": ["yes"]}, 422, "request_ids has 2 values, labels has 1"),
        ({"request_ids": [], "labels": []}, 422, "no labels"),
        ({"request_ids": [""], "labels": ["yes"]}, 422, "request_ids"),
        ({"request_ids": ["a"], "labels": ["yes"], "extra": 1}, 422, "extra"),
        ({"request_ids": ["a"], "labels": [["yes"]]}, 422, "labels"),
    ],
)
def test_bad_label_batches_are_4xx_naming_the_problem(
    svc: TestClient[Any], payload: dict[str, Any], status: int, words: str
) -> None:
    r = svc.post("/v1/models/churn/labels", content=mp(payload), headers=MSGPACK)
    assert r.status_code == status, r.text
    assert words in r.json()["detail"]


def test_malformed_and_unknown(svc: TestClient[Any], baseline: mlmon.Baseline) -> None:
    bad = svc.post("/v1/models/churn/labels", content=b"\xc1\xc1", headers=MSGPACK)
    assert bad.status_code == 400
    assert _labels(svc, ["a"], ["yes"], version="v9").status_code == 404
    assert svc.put("/v1/models/plain/versions/v1/baseline", content=baseline.to_bytes()).status_code == 200
    plain = {"batch_id": "p1", "columns": {"age": [30.0, 40.0]}, "request_ids": ["a", "b"]}
    ingested = svc.post("/v1/models/plain/ingest", content=mp(plain), headers=MSGPACK)
    assert ingested.status_code == 200 and ingested.json()["kept"] == 0  # nothing to count labels against
    r = svc.post(
        "/v1/models/plain/labels", content=mp({"request_ids": ["a"], "labels": [1]}), headers=MSGPACK
    )
    assert r.status_code == 422 and "no reference performance" in r.json()["detail"]
    assert svc.get("/v1/models/plain/performance").status_code == 422


def test_request_ids_of_another_length_are_a_422(svc: TestClient[Any]) -> None:
    r = svc.post("/v1/models/churn/ingest", content=mp(_batch(4, 5, ["x"] * 4)), headers=MSGPACK)
    assert r.status_code == 422 and "request_ids has 4 values" in r.json()["detail"]
    assert svc.get("/v1/models/churn/performance").json()["windows"] == []


def test_the_label_sample_is_the_same_at_ingest_and_at_label_time(
    tmp_path: Path, labelled_baseline: mlmon.Baseline
) -> None:
    app = create_app(make_settings(tmp_path, window_seconds=86400, label_sample=0.5), CollectorRegistry())
    n = 400
    ids = [f"s{i}" for i in range(n)]
    with TestClient(app) as c:
        assert (
            c.put("/v1/models/churn/versions/v1/baseline", content=labelled_baseline.to_bytes()).status_code
            == 200
        )
        assert (
            c.post("/v1/models/churn/ingest", content=mp(_batch(5, n, ids)), headers=MSGPACK).status_code
            == 200
        )
        got = _labels(c, ids, ["yes"] * n).json()
        assert got["matched"] + got["not_sampled"] == n
        assert got["pending"] == 0  # every sampled id found its prediction
        assert 120 < got["matched"] < 280
        perf = c.get("/v1/models/churn/performance").json()
        assert perf["windows"][0]["estimated"] == n  # the estimate covers every row, sampled or not
        metrics = c.get("/metrics").text
        assert 'mlmon_labels_total{model="churn",outcome="not_sampled"}' in metrics


def test_a_drop_alerts_early_from_the_estimate_and_late_from_the_labels(
    tmp_path: Path, labelled_baseline: mlmon.Baseline
) -> None:
    settings = make_settings(tmp_path, window_seconds=86400, alert_window="current")
    app = create_app(settings, CollectorRegistry())
    n = 500
    ids = [f"d{i}" for i in range(n)]
    with TestClient(app) as c:
        assert (
            c.put("/v1/models/churn/versions/v1/baseline", content=labelled_baseline.to_bytes()).status_code
            == 200
        )
        # Scores crowd around 0.5: the model is unsure, so the estimate falls before any label comes.
        unsure = _batch(9, n, ids, spread=40.0)
        assert c.post("/v1/models/churn/ingest", content=mp(unsure), headers=MSGPACK).status_code == 200
        with c.portal() as portal:
            raised = portal.call(app.state.alerts.check)
        early = [(a.feature, a.severity) for a in raised if ":" in (a.feature or "")]
        assert early == [("estimated:accuracy", "critical")]
        assert 'source="estimated"' in c.get("/metrics").text
        # Then the labels: every prediction was wrong.
        preds = unsure["columns"]["prediction"]
        wrong = ["no" if v == "yes" else "yes" for v in preds]
        assert _labels(c, ids, wrong).json()["matched"] == n
        with c.portal() as portal:
            late = [(a.feature, a.severity, a.score) for a in portal.call(app.state.alerts.check)]
        assert ("performance:accuracy", "critical", 0.0) in late
        metrics = c.get("/metrics").text
        assert (
            'mlmon_model_performance{metric="accuracy",model="churn",source="realized",version="v1"} 0.0'
            in metrics
        )
        assert 'source="reference"' in metrics


def test_drop_severity_reads_points_for_accuracy_and_shares_for_rmse(tmp_path: Path) -> None:
    from mlmon.service.labels.watch import severity_of

    s = make_settings(tmp_path)
    assert severity_of(s, "accuracy", 0.92, 0.90) is None
    assert severity_of(s, "accuracy", 0.92, 0.86) == "warning"
    assert severity_of(s, "accuracy", 0.92, 0.80) == "critical"
    assert severity_of(s, "accuracy", 0.92, 0.95) is None  # better is never an alert
    assert severity_of(s, "rmse", 2.0, 2.3) is None  # 15 %: under the 20 % warning share
    assert severity_of(s, "rmse", 2.0, 2.5) == "warning"
    assert severity_of(s, "rmse", 2.0, 3.2) == "critical"
    strict = make_settings(tmp_path, performance_warning_drop=None, performance_warning_relative=0.01)
    assert severity_of(strict, "accuracy", 0.92, 0.91) == "warning"


def test_a_regression_model_joins_numbers_and_reports_its_errors(tmp_path: Path) -> None:
    from sklearn.metrics import mean_absolute_error, mean_squared_error, r2_score

    rng = np.random.default_rng(4)
    n = 2000
    x = rng.normal(0, 1, n)
    y = 3 * x + rng.normal(0, 0.5, n)
    pred = 3 * x
    base = mlmon.Baseline.fit({"x": x}).with_outputs({"prediction": pred})
    base = Reference.of_regressor(y, pred).attach(base)
    app = create_app(make_settings(tmp_path, window_seconds=86400), CollectorRegistry())
    live_x = rng.normal(0.5, 1, 300)
    live_pred = 3 * live_x
    truth = 3 * live_x + rng.normal(0, 2.0, 300)  # the world got noisier
    ids = [f"q{i}" for i in range(300)]
    cols = {"x": {"dtype": "<f8", "data": live_x.tobytes()}, "prediction": live_pred.tolist()}
    with TestClient(app) as c:
        assert c.put("/v1/models/price/versions/v1/baseline", content=base.to_bytes()).status_code == 200
        body = {"batch_id": "r1", "columns": cols, "request_ids": ids}
        assert c.post("/v1/models/price/ingest", content=mp(body), headers=MSGPACK).status_code == 200
        r = c.post(
            "/v1/models/price/labels",
            content=mp({"request_ids": ids, "labels": truth.tolist()}),
            headers=MSGPACK,
        )
        assert r.json()["matched"] == 300, r.text
        bad = c.post(
            "/v1/models/price/labels",
            content=mp({"request_ids": ["q1"], "labels": ["high"]}),
            headers=MSGPACK,
        )
        assert bad.status_code == 422 and "not a finite number" in bad.json()["detail"]
        perf = c.get("/v1/models/price/performance").json()
    assert perf["task"] == "regression" and perf["total"]["estimate"] is None
    got = perf["total"]["realized"]
    assert got["mae"] == pytest.approx(mean_absolute_error(truth, live_pred), rel=1e-9)
    assert got["rmse"] == pytest.approx(mean_squared_error(truth, live_pred) ** 0.5, rel=1e-9)
    assert got["r2"] == pytest.approx(r2_score(truth, live_pred), rel=1e-9)
    assert got["rmse"] > 2 * perf["reference"]["rmse"]


def test_label_bodies_count_against_the_in_flight_budget(svc: TestClient[Any]) -> None:
    svc.app.state.worker.budget.close()  # what a draining worker does
    r = _labels(svc, ["a"], ["yes"])
    assert r.status_code in (429, 503) and "shutting down" in r.json()["detail"]
