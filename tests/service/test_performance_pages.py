"""The model's performance on the HTML pages: the dashboard shows the realized and estimated sparklines,
the reference and the label join's counts of a labelled model (and nothing new for a model without a
reference); the report page's "Model performance" section shows the same numbers as ``GET
/performance``; class names are escaped everywhere."""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from litestar.testing import TestClient
from prometheus_client import CollectorRegistry
from service_helpers import MSGPACK, make_settings, mp

import mlmon
from mlmon.performance import Reference
from mlmon.service import create_app
from mlmon.service.labels.html import insert_section, sparkline

CLASSES = ["no", "yes"]


def _classifier(classes: list[str], seed: int = 0) -> mlmon.Baseline:
    rng = np.random.default_rng(seed)
    n = 3000
    p = rng.beta(2, 2, n)
    y = np.where(rng.random(n) < p, classes[1], classes[0])
    pred = np.where(p >= 0.5, classes[1], classes[0])
    proba = np.column_stack([1 - p, p])
    base = mlmon.Baseline.fit({"age": rng.normal(40, 9, n), "plan": rng.choice(["a", "b"], n)})
    # Class names outside the name rule cannot name proba_ columns: the baseline keeps the prediction only.
    plain = all(re.fullmatch(r"[a-z]+", c) for c in classes)
    outputs = mlmon.output_columns(pred, proba if plain else None, classes)
    ref = Reference.of_classifier(y, pred, proba, classes=classes, bins=20)
    return ref.attach(base.with_outputs(outputs, categorical=["prediction"]))


def _batch(seed: int, n: int, ids: list[str], classes: list[str] = CLASSES) -> dict[str, Any]:
    rng = np.random.default_rng(seed)
    p = rng.beta(2, 2, n)
    cols: dict[str, Any] = {
        "age": {"dtype": "<f8", "data": rng.normal(40, 9, n).tobytes()},
        "plan": rng.choice(["a", "b"], n).tolist(),
        "prediction": np.where(p >= 0.5, classes[1], classes[0]).tolist(),
    }
    if classes == CLASSES:
        cols["proba_no"] = {"dtype": "<f8", "data": (1 - p).tobytes()}
        cols["proba_yes"] = {"dtype": "<f8", "data": p.tobytes()}
    return {"batch_id": f"b{seed}", "columns": cols, "request_ids": ids}


@pytest.fixture
def svc(tmp_path: Path, baseline: mlmon.Baseline) -> Iterator[TestClient[Any]]:
    """churn/v1 with a reference, 300 predictions of which 200 are labelled (a third of them wrong),
    and one label waiting for a prediction; plain/v1 without a reference."""
    app = create_app(make_settings(tmp_path, window_seconds=86400), CollectorRegistry())
    with TestClient(app) as c:
        put = c.put("/v1/models/churn/versions/v1/baseline", content=_classifier(CLASSES).to_bytes())
        assert put.status_code == 200, put.text
        assert c.put("/v1/models/plain/versions/v1/baseline", content=baseline.to_bytes()).status_code == 200
        ids = [f"r{i}" for i in range(300)]
        batch = _batch(1, 300, ids)
        assert c.post("/v1/models/churn/ingest", content=mp(batch), headers=MSGPACK).status_code == 200
        preds = batch["columns"]["prediction"][:200]
        truth = [p if i % 3 else ("no" if p == "yes" else "yes") for i, p in enumerate(preds)]
        body = {"request_ids": [*ids[:200], "later"], "labels": [*truth, "yes"]}
        got = c.post("/v1/models/churn/labels", content=mp(body), headers=MSGPACK).json()
        assert (got["matched"], got["pending"]) == (200, 1)
        yield c


def _values(html: str, label: str) -> list[float]:
    """The exact values (``data-value``) of the table row that starts with ``label``."""
    row = re.search(rf"<tr><td[^>]*>{re.escape(label)}</td>(.*?)</tr>", html)
    assert row is not None, label
    return [float(v) for v in re.findall(r'data-value="([^"]+)"', row.group(1))]


def test_dashboard_shows_performance_sparklines_and_label_counts(svc: TestClient[Any]) -> None:
    page = svc.get("/").text
    perf = svc.get("/v1/models/churn/performance", params={"window": _week(svc)}).json()
    churn, plain = page.split("<h2>churn</h2>")[1].split("<h2>plain</h2>")
    assert 'aria-label="realized accuracy"' in churn and 'aria-label="estimated accuracy"' in churn
    assert churn.count("<polyline") == 2  # no drift result is stored yet: only the two metrics draw
    realized, ref = _values(churn, "accuracy (realized)")
    assert realized == perf["total"]["realized"]["accuracy"]
    assert ref == perf["reference"]["accuracy"]
    assert _values(churn, "accuracy (estimated)")[0] == perf["total"]["estimate"]["accuracy"]
    assert "waiting 100 · labelled 200 · pending 1 · expired 0 predictions, 0 labels" in churn
    assert "classifier of no, yes" in churn
    # A model without a reference shows what it showed before: drift only.
    assert "model performance" not in plain and "labels:" not in plain


def _week(svc: TestClient[Any]) -> str:
    """The dashboard's range as a ``window`` parameter (the last 7 days to the end of the open one)."""
    from datetime import datetime, timedelta, timezone

    end = datetime.now(timezone.utc) + timedelta(seconds=86400)
    return f"{(end - timedelta(days=7)).isoformat()}/{end.isoformat()}"


def test_report_has_the_performance_section_with_the_json_numbers(svc: TestClient[Any]) -> None:
    html = svc.get("/v1/models/churn/report.html").text
    perf = svc.get("/v1/models/churn/performance").json()
    assert html.index("<h2>Features</h2>") < html.index("<h2>Model performance</h2>")
    assert html.index("<h2>Model performance</h2>") < html.index("<h2>Distributions</h2>")
    section = html.split('<section id="performance">')[1].split("</section>")[0]
    total, ref = perf["total"], perf["reference"]
    assert _values(section, "accuracy")[:2] == [total["realized"]["accuracy"], ref["accuracy"]]
    assert _values(section, "macro F1")[:2] == [total["realized"]["macro_f1"], ref["macro_f1"]]
    auc = total["realized"]["macro_roc_auc"]
    assert _values(section, "ROC AUC")[0] == auc["value"]
    assert f"± {auc['bound']:.3f} from the score bins" in section
    assert _values(section, "log loss")[:2] == [total["realized"]["log_loss"], ref["log_loss"]]
    assert _values(section, "Brier score")[:2] == [total["realized"]["brier"], ref["brier"]]
    assert "Estimated (CBPE) vs realized" in section
    for name in ("precision", "recall", "F1"):
        assert _values(section, name)[0] == total["estimate"][name.lower()]
    assert "200 labelled" in section and "300 rows" in section
    [window] = perf["windows"]
    assert f"{window['labelled']:,}" in section.split("<h3>Per window</h3>")[1]
    assert "1 labels pending without a prediction" in section


def test_report_of_a_model_without_reference_is_unchanged(svc: TestClient[Any]) -> None:
    html = svc.get("/v1/models/plain/report.html").text
    assert "Model performance" not in html and "<title>mlmon drift report" in html


def test_class_names_are_escaped(tmp_path: Path) -> None:
    classes = ["no", "<b>yes&</b>"]
    app = create_app(make_settings(tmp_path, window_seconds=86400), CollectorRegistry())
    with TestClient(app) as c:
        put = c.put("/v1/models/odd/versions/v1/baseline", content=_classifier(classes).to_bytes())
        assert put.status_code == 200, put.text
        ids = [f"q{i}" for i in range(50)]
        assert c.post(
            "/v1/models/odd/ingest", content=mp(_batch(2, 50, ids, classes)), headers=MSGPACK
        ).is_success
        labels = {"request_ids": ids, "labels": [classes[i % 2] for i in range(50)]}
        assert c.post("/v1/models/odd/labels", content=mp(labels), headers=MSGPACK).json()["matched"] == 50
        for page in (c.get("/").text, c.get("/v1/models/odd/report.html").text):
            assert "classifier of no, &lt;b&gt;yes&amp;&lt;/b&gt;" in page
            assert "<b>yes" not in page


def test_sparkline_and_insert_section() -> None:
    chart = sparkline([0.8, None, 0.7], 0.9, ["#0a0", "#000", "#a00"], 'a "label" <x>')
    assert chart.count("<circle") == 2 and "stroke-dasharray" in chart
    assert 'aria-label="a &quot;label&quot; &lt;x&gt;"' in chart
    assert sparkline([None], None, ["#000"], "x").endswith('aria-label="no data"></svg>')
    page = "<html><body><h2>Features</h2><h2>Distributions</h2></body></html>"
    assert insert_section(page, "<p>S</p>").index("<p>S</p>") < page.index("<h2>Distributions</h2>") + 8
    assert insert_section("<body></body>", "X") == "<body>X</body>"


def test_a_regression_model_shows_rmse_and_its_metrics(tmp_path: Path) -> None:
    rng = np.random.default_rng(4)
    n = 2000
    x = rng.normal(0, 1, n)
    target = 3 * x + rng.normal(0, 1, n)
    base = mlmon.Baseline.fit({"x": x}).with_outputs(mlmon.output_columns(3 * x))
    reg = Reference.of_regressor(target, 3 * x).attach(base)
    app = create_app(make_settings(tmp_path, window_seconds=86400), CollectorRegistry())
    with TestClient(app) as c:
        assert c.put("/v1/models/price/versions/v1/baseline", content=reg.to_bytes()).status_code == 200
        xs = rng.normal(0, 1, 200)
        ids = [f"p{i}" for i in range(200)]
        cols = {"x": xs.tolist(), "prediction": (3 * xs).tolist()}
        batch = {"batch_id": "r1", "columns": cols, "request_ids": ids}
        assert c.post("/v1/models/price/ingest", content=mp(batch), headers=MSGPACK).is_success
        truth = (3 * xs + rng.normal(0, 2, 200)).tolist()  # twice the reference's noise
        body = {"request_ids": ids, "labels": truth}
        assert c.post("/v1/models/price/labels", content=mp(body), headers=MSGPACK).json()["matched"] == 200
        perf = c.get("/v1/models/price/performance").json()
        dash = c.get("/").text
        html = c.get("/v1/models/price/report.html").text
    assert 'aria-label="realized RMSE"' in dash and "estimated" not in dash.split("<h2>price</h2>")[1]
    assert _values(dash, "RMSE (realized)") == [perf["total"]["realized"]["rmse"], perf["reference"]["rmse"]]
    assert "regression model" in dash
    section = html.split('<section id="performance">')[1]
    for label, key in (("MAE", "mae"), ("RMSE", "rmse"), ("R²", "r2")):
        assert _values(section, label)[:2] == [perf["total"]["realized"][key], perf["reference"][key]]
    assert _values(section, "bias (mean prediction − target)")[0] == perf["total"]["realized"]["bias"]
    assert "Estimated (CBPE)" not in section and "realized RMSE" in section
    assert 'class="badge" style="background:#cf222e">critical' in section  # RMSE about doubled


def test_damaged_counts_cost_the_performance_block_only(svc: TestClient[Any], tmp_path: Path) -> None:
    with sqlite3.connect(tmp_path / "mlmon.db") as db:
        db.execute("UPDATE window_performance SET counts = ?", (b"not counts",))
    assert svc.get("/v1/models/churn/performance").status_code == 422  # a CodecError
    page = svc.get("/")
    assert page.status_code == 200 and "this version's performance cannot be shown" in page.text
    assert "<h2>plain</h2>" in page.text
    report = svc.get("/v1/models/churn/report.html")
    assert report.status_code == 200
    assert "<h2>Model performance</h2><p class='issues'>cannot be shown:" in report.text
    assert "<h2>Distributions</h2>" in report.text
