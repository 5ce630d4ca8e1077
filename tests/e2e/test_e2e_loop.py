"""The whole loop against real processes on loopback and a real PostgreSQL: deploy through the gates,
a gate failure that leaves the registry unchanged, a tampered artifact refused before loading, clean
traffic with no alert, drifted traffic raising a warning and then a critical alert at a webhook started
here, drift rows in the store, drift gauges on /metrics, and a second deploy archiving the first."""

from __future__ import annotations

import io
import re
import time
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import httpx
import joblib
import numpy as np
import pandas as pd
import pytest
import skops.io as sio
from deploy_helpers import write_config
from sklearn.preprocessing import FunctionTransformer

import mlmon
from mlmon.core.artifacts import sha256_file
from mlmon.demo.processes import WebhookReceiver
from mlmon.demo.stack import Stack, start_stack, wait_rows
from mlmon.demo.traffic import clean_rows, drifted_rows, send_rows
from mlmon.deploy import DeployResult, load_config, run_deploy
from mlmon.deploy.example import TARGET, ExampleFiles
from mlmon.store import open_store
from shared_helpers import Payload, rewrite_skops_schema

pytestmark = [pytest.mark.e2e, pytest.mark.postgres]

MODEL = "e2e"
INTERVAL = 0.3  # seconds between the service's alert evaluations


@pytest.fixture(scope="module")
def receiver() -> Iterator[WebhookReceiver]:
    with WebhookReceiver() as r:
        yield r


@pytest.fixture(scope="module")
def stack(
    e2e_pg_server: Any, tmp_path_factory: pytest.TempPathFactory, receiver: WebhookReceiver
) -> Iterator[Stack]:
    url = e2e_pg_server.create_database("mlmon_e2e")
    work = tmp_path_factory.mktemp("e2e-stack")
    started = start_stack(
        work, database_url=url, model=MODEL, webhook_url=receiver.url, alert_interval=INTERVAL
    )
    yield started
    started.stop()


def _deploy(stack: Stack, tmp: Path, files: ExampleFiles, **kw: Any) -> DeployResult:
    services = {"drift_url": stack.drift.url, "serving_url": stack.serving.url}
    cfg = load_config(write_config(tmp / "deploy.toml", files, name=MODEL, services=services), environ={})
    return run_deploy(cfg, stack.secrets(None), stream=io.StringIO(), **kw)


def _versions(stack: Stack) -> dict[str, str]:
    with open_store(stack.database_url) as store:
        return {v.version: v.stage for v in store.list_versions(MODEL)}


@pytest.fixture(scope="module")
def first(
    stack: Stack, e2e_trained: dict[str, ExampleFiles], tmp_path_factory: pytest.TempPathFactory
) -> DeployResult:
    result = _deploy(stack, tmp_path_factory.mktemp("first"), e2e_trained["forest"])
    assert (result.status, result.exit_code) == ("deployed", 0), result.error
    return result


def _alerts(receiver: WebhookReceiver) -> list[dict[str, Any]]:
    return [a for a in receiver.received() if isinstance(a, dict) and "severity" in a]


def _wait_alert(receiver: WebhookReceiver, severity: str, timeout: float = 30) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = [a for a in _alerts(receiver) if a["severity"] == severity]
        if found:
            return found[0]
        time.sleep(0.05)
    pytest.fail(f"no {severity} alert within {timeout} s; received {_alerts(receiver)}")


def test_deploy_passes_the_gates(stack: Stack, first: DeployResult) -> None:
    assert _versions(stack) == {first.version: "production"}
    assert all(g.passed for g in first.gates) and {g.gate for g in first.gates} >= {"minimum:accuracy"}
    assert httpx.get(f"{stack.serving.url}/version").json()["sha256"] == first.sha256
    # The baseline records the model's outputs on the validation set beside the training features.
    with open_store(stack.database_url) as store:
        _, data = store.get_baseline(MODEL, first.version)
    baseline = mlmon.Baseline.from_bytes(data)
    assert baseline.outputs == ("prediction", "proba_0", "proba_1")
    assert baseline.features["prediction"].kind == "categorical" and "mean_radius" in baseline.inputs


def test_gate_failure_leaves_the_registry_unchanged(
    stack: Stack, first: DeployResult, e2e_trained: dict[str, ExampleFiles], tmp_path: Path
) -> None:
    before = _versions(stack)
    result = _deploy(stack, tmp_path, e2e_trained["dummy"])
    assert (result.exit_code, result.failed_step) == (2, "gates")
    assert re.search(r"minimum:accuracy = 0\.\d+ vs limit 0\.85 \(missed by 0\.\d+\)", result.error or "")
    assert _versions(stack) == before
    assert httpx.get(f"{stack.serving.url}/version").json()["sha256"] == first.sha256


def _skops_naming(tmp: Path, module: str, name: str) -> Path:
    """A skops file whose function object claims to be ``module.name`` (what an attacker would write)."""
    data = sio.dumps(FunctionTransformer(func=np.log1p))
    path = tmp / "model.skops"
    path.write_bytes(
        rewrite_skops_schema(
            data,
            (b'"__module__": "numpy"', f'"__module__": "{module}"'.encode(), -1),
            (b'"__class__": "log1p"', f'"__class__": "{name}"'.encode(), -1),
        )
    )
    return path


VARIANTS = ["byte-flipped", "wrong-sha256", "no-sha256", "operator.call", "builtins.eval"]
REASONS = {
    "byte-flipped": "sha256 mismatch",
    "wrong-sha256": "sha256 mismatch",
    "no-sha256": "can run arbitrary code",
}


@pytest.mark.parametrize("variant", VARIANTS)
def test_tampered_artifact_refused_before_loading(
    stack: Stack, first: DeployResult, e2e_trained: dict[str, ExampleFiles], tmp_path: Path, variant: str
) -> None:
    honest = e2e_trained["forest"]
    model = sio.load(honest.artifact, trusted=sio.get_untrusted_types(file=honest.artifact))
    joblib.dump(model, tmp_path / "honest.joblib")
    approved: str | None = sha256_file(tmp_path / "honest.joblib")
    sentinel = tmp_path / "pwned"
    if variant == "byte-flipped":
        artifact = tmp_path / "model.joblib"
        data = bytearray((tmp_path / "honest.joblib").read_bytes())
        data[len(data) // 2] ^= 0x01
        artifact.write_bytes(bytes(data))
    elif variant in ("wrong-sha256", "no-sha256"):
        artifact = tmp_path / "model.joblib"
        joblib.dump(Payload(sentinel), artifact)
        approved = approved if variant == "wrong-sha256" else None
    else:
        artifact = _skops_naming(tmp_path, *variant.split("."))
        approved = None
    files = ExampleFiles(tmp_path)
    files.artifact = artifact
    files.training, files.validation = honest.training, honest.validation
    before = _versions(stack)
    live = httpx.get(f"{stack.serving.url}/version").json()
    result = _deploy(stack, tmp_path, files, sha256=approved)
    assert (result.exit_code, result.failed_step) == (4, "load")
    expected = REASONS.get(variant, f"outside the trusted list.*{variant}")
    assert re.search(expected, result.error or ""), result.error
    assert not sentinel.exists()
    assert _versions(stack) == before
    assert httpx.get(f"{stack.serving.url}/version").json() == live  # the old model is still served


def _held_out(files: ExampleFiles) -> pd.DataFrame:
    # Traffic from rows the model never saw, as production's are (its outputs on training rows are
    # overconfident against the baseline's, fitted on the validation set).
    return pd.read_parquet(files.validation).drop(columns=[TARGET])


def test_clean_then_drifted_traffic(
    stack: Stack, first: DeployResult, receiver: WebhookReceiver, e2e_trained: dict[str, ExampleFiles]
) -> None:
    held_out = _held_out(e2e_trained["forest"])
    with httpx.Client(timeout=30) as client:
        sent = send_rows(client, stack.serving.url, clean_rows(held_out, 1500, seed=11))
        report = wait_rows(client, stack, sent)
        assert report["severity"] == "ok"
        time.sleep(INTERVAL * 6)  # several evaluations of the window
        assert _alerts(receiver) == []
        # drift in small steps until a feature is at warning, then wait for its alert before going on
        for step in range(40):
            sent += send_rows(client, stack.serving.url, drifted_rows(held_out, 100, seed=100 + step))
            report = wait_rows(client, stack, sent)
            inputs = [f for f in report["features"].values() if f["role"] == "input"]
            severities = {f["severity"] for f in inputs}
            assert "critical" not in severities, f"jumped to critical at step {step}"
            if "warning" in severities:
                break
        else:
            pytest.fail("drift never reached warning")
        warning = _wait_alert(receiver, "warning")
        assert warning["model"] == MODEL and warning["version"] == first.version
        assert not [a for a in _alerts(receiver) if a["severity"] == "critical"]
        sent += send_rows(client, stack.serving.url, drifted_rows(held_out, 4000, seed=999))
        report = wait_rows(client, stack, sent)
        assert report["severity"] == "critical"
        # The model's outputs came with every row: the shifted inputs move its predictions too.
        outputs = {n: f for n, f in report["features"].items() if f["role"] == "output"}
        assert sorted(outputs) == ["prediction", "proba_0", "proba_1"]
        assert all(f["count"] == report["current_rows"] for f in outputs.values())
        assert report["prediction_severity"] in ("warning", "critical")
        critical = _wait_alert(receiver, "critical")
    alerts = _alerts(receiver)
    assert alerts.index(warning) < alerts.index(critical)
    drivers = {
        "mean_radius",
        "mean_perimeter",
        "mean_area",
        "mean_texture",
        "prediction",
        "proba_0",
        "proba_1",
    }
    assert critical["feature"] in drivers
    listed = httpx.get(f"{stack.drift.url}/v1/alerts", params={"model": MODEL}).json()
    assert {"warning", "critical"} <= {a["severity"] for a in listed}
    _drift_rows_and_gauges(stack, first)


def _drift_rows_and_gauges(stack: Stack, first: DeployResult) -> None:
    """The service stored and exported each evaluation of the traffic above (checked in the same test:
    a separate one depended on running after it, on the same worker)."""
    now = datetime.now(timezone.utc)
    with open_store(stack.database_url) as store:
        rows = store.drift_history(MODEL, "mean_radius", now - timedelta(days=2), now + timedelta(days=2))
    assert rows and {r.version for r in rows} == {first.version}
    assert rows[-1].severity == "critical" and (rows[-1].score or 0) >= 0.5
    text = httpx.get(f"{stack.drift.url}/metrics").text
    gauge = re.search(
        r'^mlmon_feature_drift_score\{(?=[^}]*feature="mean_radius")(?=[^}]*model="e2e")[^}]*\} (\S+)$',
        text,
        re.MULTILINE,
    )
    assert gauge is not None, text[:2000]
    assert float(gauge.group(1)) >= 0.5


def test_second_deploy_archives_the_first(
    stack: Stack, first: DeployResult, e2e_trained: dict[str, ExampleFiles], tmp_path: Path
) -> None:
    result = _deploy(stack, tmp_path, e2e_trained["forest2"])
    assert (result.status, result.archived) == ("deployed", first.version), result.error
    assert _versions(stack) == {first.version: "archived", result.version: "production"}
    assert httpx.get(f"{stack.serving.url}/version").json()["sha256"] == result.sha256
    with httpx.Client(timeout=30) as client:  # the new version's traffic reaches the drift service
        rows = clean_rows(_held_out(e2e_trained["forest"]), 200, seed=5)
        scored = send_rows(client, stack.serving.url, rows)
        report = wait_rows(client, stack, scored, version=result.version)
    assert report["version"] == result.version
