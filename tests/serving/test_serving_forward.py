"""The production API forwards every scored row to a real drift service through DriftClient, under the
live model's name and version; and ``mlmon serve-model`` refuses a public address without a token."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pytest
from service_helpers import service_env, start_service
from serving_helpers import ADMIN, metric, put_model, start_serving

import mlmon

pytestmark = pytest.mark.e2e


def _stop(proc: subprocess.Popen[bytes]) -> None:
    proc.terminate()
    proc.wait(timeout=30)


def _rows_counted(url: str, version: str) -> int:
    r = httpx.get(
        f"{url}/v1/models/credit/drift",
        params={"version": version},
        headers={"authorization": "Bearer drift-admin"},
    )
    return int(r.json()["current_rows"]) if r.status_code == 200 else -1


def test_scored_features_reach_the_drift_service(
    tmp_path: Path, artifacts: dict[str, bytes], rows: list[dict[str, float]]
) -> None:
    rng = np.random.default_rng(1)
    baseline = mlmon.Baseline.fit({"age": rng.normal(40, 9, 3000), "income": rng.normal(50, 12, 3000)})
    drift, drift_url = start_service(
        f"sqlite:///{tmp_path / 'drift.db'}",
        tmp_path / "drift.log",
        MLMON_WINDOW_SECONDS="86400",
        MLMON_INGEST_TOKENS="credit=tok-credit",
        MLMON_ADMIN_TOKEN="drift-admin",
    )
    auth = {"authorization": "Bearer drift-admin"}
    api = None
    try:
        for version in ("v1", "v2"):
            put = httpx.put(
                f"{drift_url}/v1/models/credit/versions/{version}/baseline",
                content=baseline.to_bytes(),
                headers=auth,
            )
            assert put.status_code == 200, put.text
        api, url = start_serving(
            tmp_path / "api.log",
            MLMON_SERVING_ADMIN_TOKEN=ADMIN,
            MLMON_DRIFT_URL=drift_url,
            MLMON_DRIFT_TOKEN="tok-credit",
        )
        assert put_model(url, artifacts["v1"], "v1").status_code == 200
        for start in range(0, 200, 40):
            assert httpx.post(f"{url}/predict", json={"rows": rows[start : start + 40]}).status_code == 200
        columns = {"age": [1.0, 2.0, 3.0], "income": [4.0, 5.0, 6.0]}
        assert httpx.post(f"{url}/predict", json={"columns": columns}).status_code == 200
        assert put_model(url, artifacts["v2"], "v2").status_code == 200
        assert httpx.post(f"{url}/predict", json={"rows": rows[:17]}).status_code == 200
        deadline = time.monotonic() + 30
        counted: dict[str, Any] = {}
        while time.monotonic() < deadline:
            counted = {v: _rows_counted(drift_url, v) for v in ("v1", "v2")}
            if counted == {"v1": 203, "v2": 17}:
                break
            time.sleep(0.2)
        assert counted == {"v1": 203, "v2": 17}
        assert metric(url, "mlmon_serving_predicted_rows_total", model="credit", version="v1") == 203
        assert metric(url, "mlmon_client_rows_total", model="credit", outcome="sent") == 220
        assert metric(url, "mlmon_client_rows_total", model="credit", outcome="dropped") == 0
        assert metric(url, "mlmon_serving_deploys_total", outcome="live") == 2
    finally:
        if api is not None:
            _stop(api)
        _stop(drift)


def test_public_address_needs_an_admin_token() -> None:
    cmd = [sys.executable, "-m", "mlmon.cli", "serve-model", "--host", "0.0.0.0", "--port", "1"]
    done = subprocess.run(cmd, env=service_env(), capture_output=True, timeout=60)
    assert done.returncode == 2
    assert b"MLMON_SERVING_ADMIN_TOKEN" in done.stderr


def test_rows_buffered_at_shutdown_are_sent(
    tmp_path: Path, artifacts: dict[str, bytes], rows: list[dict[str, float]]
) -> None:
    rng = np.random.default_rng(2)
    baseline = mlmon.Baseline.fit({"age": rng.normal(40, 9, 3000), "income": rng.normal(50, 12, 3000)})
    drift, drift_url = start_service(
        f"sqlite:///{tmp_path / 'drift.db'}", tmp_path / "drift.log", MLMON_WINDOW_SECONDS="86400"
    )
    try:
        put = httpx.put(f"{drift_url}/v1/models/credit/versions/v1/baseline", content=baseline.to_bytes())
        assert put.status_code == 200, put.text
        # an hour-long flush interval: only the shutdown flush can send these rows
        api, url = start_serving(
            tmp_path / "api.log",
            MLMON_SERVING_ADMIN_TOKEN=ADMIN,
            MLMON_DRIFT_URL=drift_url,
            MLMON_SERVING_DRIFT_FLUSH_INTERVAL="3600",
        )
        try:
            assert put_model(url, artifacts["v1"], "v1").status_code == 200
            assert httpx.post(f"{url}/predict", json={"rows": rows[:30]}).status_code == 200
            assert metric(url, "mlmon_client_rows_total", model="credit", outcome="sent") == 0
        finally:
            _stop(api)
        assert api.returncode == 0
        r = httpx.get(f"{drift_url}/v1/models/credit/drift", params={"version": "v1"})
        assert int(r.json()["current_rows"]) == 30
    finally:
        _stop(drift)
