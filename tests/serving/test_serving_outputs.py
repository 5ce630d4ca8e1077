"""The production API sends the model's outputs with the features when the deploy announces that the
version's baseline records them (``X-Model-Outputs``), and only then: prediction drift reaches the drift
service, and a baseline without outputs never sees a column it does not know."""

from __future__ import annotations

import subprocess
import time
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pandas as pd
import pytest
from service_helpers import start_service
from serving_helpers import ADMIN, deploy_headers, put_model, start_serving

import mlmon

pytestmark = pytest.mark.e2e
AUTH = {"authorization": "Bearer drift-admin"}


def _report(url: str, version: str) -> dict[str, Any]:
    r = httpx.get(f"{url}/v1/models/credit/drift", params={"version": version}, headers=AUTH)
    return r.json() if r.status_code == 200 else {}


def _wait_rows(url: str, version: str, rows: int) -> dict[str, Any]:
    deadline = time.monotonic() + 30
    report: dict[str, Any] = {}
    while time.monotonic() < deadline:
        report = _report(url, version)
        if report.get("current_rows") == rows:
            return report
        time.sleep(0.2)
    raise AssertionError(f"{version}: {report.get('current_rows')} rows counted, not {rows}")


def test_outputs_reach_the_drift_service_only_where_the_baseline_records_them(
    tmp_path: Path, models: dict[str, Any], artifacts: dict[str, bytes], rows: list[dict[str, float]]
) -> None:
    rng = np.random.default_rng(3)  # the serving models' training distribution (conftest.training_frame)
    x = pd.DataFrame({"age": rng.normal(40, 9, 3000), "income": rng.normal(50, 12, 3000)})
    inputs = mlmon.Baseline.fit(x)
    with_outputs = inputs.with_outputs(mlmon.model_outputs(models["v1"], x), categorical=["prediction"])
    assert with_outputs.outputs == ("prediction", "proba_0", "proba_1")
    drift, drift_url = start_service(
        f"sqlite:///{tmp_path / 'drift.db'}",
        tmp_path / "drift.log",
        MLMON_WINDOW_SECONDS="86400",
        MLMON_INGEST_TOKENS="credit=tok-credit",
        MLMON_ADMIN_TOKEN="drift-admin",
    )
    api: subprocess.Popen[bytes] | None = None
    try:
        for version, baseline in (("v1", with_outputs), ("v2", inputs)):
            put = httpx.put(
                f"{drift_url}/v1/models/credit/versions/{version}/baseline",
                content=baseline.to_bytes(),
                headers=AUTH,
            )
            assert put.status_code == 200, put.text
        api, url = start_serving(
            tmp_path / "api.log",
            MLMON_SERVING_ADMIN_TOKEN=ADMIN,
            MLMON_DRIFT_URL=drift_url,
            MLMON_DRIFT_TOKEN="tok-credit",
        )
        announced = '["prediction", "proba_0", "proba_1"]'
        data = artifacts["v1"]
        headers = {**deploy_headers(data, "v1"), "X-Model-Outputs": announced}
        assert httpx.put(f"{url}/admin/model", content=data, headers=headers, timeout=60).status_code == 200
        answers = []
        for start in range(0, 200, 50):
            r = httpx.post(f"{url}/predict", json={"rows": rows[start : start + 50]})
            assert r.status_code == 200
            answers += r.json()["predictions"]
        report = _wait_rows(drift_url, "v1", 200)
        features = report["features"]
        assert {n: features[n]["role"] for n in ("prediction", "proba_1", "age")} == {
            "prediction": "output",
            "proba_1": "output",
            "age": "input",
        }
        assert features["prediction"]["count"] == features["proba_0"]["count"] == 200
        assert features["prediction"]["missing_rate"] == 0.0 and report["unexpected_columns"] == []
        # The counted predictions are the ones the API answered.
        shares = dict(
            zip(features["prediction"]["labels"], features["prediction"]["current_shares"], strict=True)
        )
        assert shares.get("1", 0.0) == pytest.approx(np.mean(np.asarray(answers) == 1))
        # A version deployed without the header records its inputs only (its baseline has no output).
        assert put_model(url, artifacts["v2"], "v2").status_code == 200
        assert httpx.post(f"{url}/predict", json={"rows": rows[:30]}).status_code == 200
        plain = _wait_rows(drift_url, "v2", 30)
        assert sorted(plain["features"]) == ["age", "income"] and plain["unexpected_columns"] == []
    finally:
        for proc in (api, drift):
            if proc is not None:
                proc.terminate()
                proc.wait(timeout=30)


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        ("prediction", "must be a JSON list of column names"),
        ('["prediction", "prediction"]', "at most 64 distinct names"),
        ("[" + ", ".join(f'"p{i}"' for i in range(65)) + "]", "at most 64 distinct names"),
        ('[""]', "each name must have 1 to 256 characters"),
        ("[1, 2]", "must be a JSON list of column names"),
    ],
)
def test_a_bad_outputs_header_is_a_422_that_says_why(
    tmp_path: Path, artifacts: dict[str, bytes], value: str, reason: str, serving_api: str
) -> None:
    data = artifacts["v1"]
    headers = {**deploy_headers(data, "v1"), "X-Model-Outputs": value}
    r = httpx.put(f"{serving_api}/admin/model", content=data, headers=headers, timeout=60)
    assert r.status_code == 422 and reason in r.text, r.text


@pytest.fixture(scope="module")
def serving_api(tmp_path_factory: pytest.TempPathFactory) -> Any:
    api, url = start_serving(tmp_path_factory.mktemp("api") / "api.log", MLMON_SERVING_ADMIN_TOKEN=ADMIN)
    yield url
    api.terminate()
    api.wait(timeout=30)
