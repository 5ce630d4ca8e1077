"""The deploy pipeline step by step and per exit code, against a real drift service and production API
(processes on loopback, SQLite): success, no-op, archive on the next deploy, gate failure (2),
infrastructure failure with rollback (3), bad input (4), and the rollback of a pushed model."""

from __future__ import annotations

import io
import json
import shutil
from pathlib import Path
from typing import Any

import httpx
import joblib
import pytest
from deploy_helpers import write_config

from mlmon.core.artifacts import sha256_file
from mlmon.core.baseline import Baseline
from mlmon.demo.processes import WebhookReceiver, free_port
from mlmon.demo.stack import Stack
from mlmon.deploy import DeployResult, Secrets, load_config, run_deploy
from mlmon.deploy.events import EventLog
from mlmon.deploy.example import ExampleFiles
from mlmon.deploy.pipeline import _Run
from mlmon.performance import Reference
from mlmon.store import NotFoundError, open_store

pytestmark = pytest.mark.e2e


class _Payload:
    """Unpickling this creates a file: a tampered artifact's payload."""

    def __init__(self, path: str) -> None:
        self.path = path

    def __reduce__(self) -> tuple[object, tuple[str, str]]:
        return (open, (self.path, "w"))


def _deploy(cfg_path: Path, secrets: Secrets, **kw: Any) -> tuple[DeployResult, list[dict[str, Any]]]:
    out = io.StringIO()
    result = run_deploy(load_config(cfg_path, environ={}), secrets, stream=out, **kw)
    return result, [json.loads(line) for line in out.getvalue().splitlines()]


def _services(stack: Stack) -> dict[str, str]:
    return {"drift_url": stack.drift.url, "serving_url": stack.serving.url}


def _texts(receiver: WebhookReceiver) -> list[str]:
    return [m["text"] for m in receiver.received() if isinstance(m, dict) and "text" in m]


def test_dry_run_checks_gates_and_changes_nothing(tmp_path: Path, trained: dict[str, ExampleFiles]) -> None:
    url = f"sqlite:///{tmp_path / 'm.db'}"
    cfg = write_config(tmp_path / "d.toml", trained["forest"], services={"serving_url": "http://127.0.0.1:9"})
    result, lines = _deploy(cfg, Secrets(database_url=url), dry_run=True)
    assert (result.status, result.exit_code) == ("dry-run", 0)
    assert [s.step for s in result.steps] == ["load", "preflight", "validate", "gates"]
    plan = next(line for line in lines if line["event"] == "plan")
    assert plan["push"] == "to http://127.0.0.1:9" and plan["register"].startswith("bc sha-")
    assert lines[-1]["event"] == "summary" and lines[-1]["status"] == "dry-run"
    with open_store(url) as store:
        assert store.list_models() == []


def test_dry_run_without_a_registry_makes_no_database(
    tmp_path: Path, trained: dict[str, ExampleFiles], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)  # the embedded default would be ./mlmon.db
    monkeypatch.delenv("MLMON_DATABASE_URL", raising=False)
    cfg = write_config(tmp_path / "d.toml", trained["forest"])
    result, lines = _deploy(cfg, Secrets(), dry_run=True)
    assert (result.status, result.exit_code) == ("dry-run", 0)
    preflight = next(line for line in lines if line.get("step") == "preflight")
    assert preflight["registry"].startswith("none configured")
    assert list(tmp_path.glob("*.db*")) == []


def test_gate_failure_exits_2_and_registers_nothing(
    tmp_path: Path, trained: dict[str, ExampleFiles], receiver: WebhookReceiver
) -> None:
    url = f"sqlite:///{tmp_path / 'm.db'}"
    cfg = write_config(tmp_path / "d.toml", trained["dummy"], name="gated")
    result, lines = _deploy(cfg, Secrets(database_url=url, webhook_url=receiver.url))
    assert (result.status, result.exit_code, result.failed_step) == ("failed", 2, "gates")
    assert "minimum:accuracy" in (result.error or "") and "missed by" in (result.error or "")
    assert "minimum:roc_auc = 0.5 vs limit 0.9 (missed by 0.4)" in (result.error or "")
    failed = next(line for line in lines if line.get("status") == "failed")
    assert failed["step"] == "gates" and failed["exit_code"] == 2
    with open_store(url) as store, pytest.raises(NotFoundError):
        store.list_versions("gated")
    assert any("gated" in t and "failed at step gates" in t for t in _texts(receiver))


def test_tampered_artifact_is_refused_before_loading(
    tmp_path: Path, trained: dict[str, ExampleFiles]
) -> None:
    url = f"sqlite:///{tmp_path / 'm.db'}"
    files = trained["forest"]
    approved = sha256_file(files.artifact)
    tampered = tmp_path / "model.skops"
    shutil.copy(files.artifact, tampered)
    with tampered.open("ab") as fh:
        fh.write(b"\0")
    cfg = write_config(tmp_path / "d.toml", files, model={"artifact": str(tampered)})
    result, _ = _deploy(cfg, Secrets(database_url=url), sha256=approved)
    assert (result.exit_code, result.failed_step) == (4, "load")
    assert "sha256 mismatch" in (result.error or "")
    # a joblib file whose unpickling would create a file: refused with the approved digest and without one
    sentinel = tmp_path / "pwned"
    evil = tmp_path / "model.joblib"
    joblib.dump(_Payload(str(sentinel)), evil)
    cfg = write_config(tmp_path / "e.toml", files, model={"artifact": str(evil)})
    for sha, message in ((approved, "sha256 mismatch"), (None, "can run arbitrary code")):
        result, _ = _deploy(cfg, Secrets(database_url=url), sha256=sha)
        assert (result.exit_code, result.failed_step) == (4, "load")
        assert message in (result.error or "")
    assert not sentinel.exists()
    with open_store(url) as store:
        assert store.list_models() == []


def test_bad_data_is_exit_4(tmp_path: Path, trained: dict[str, ExampleFiles]) -> None:
    import pandas as pd

    files = trained["forest"]
    frame = pd.read_parquet(files.validation).drop(columns=["mean_area"])
    broken = tmp_path / "validation.csv"
    frame.to_csv(broken, index=False)
    cfg = write_config(tmp_path / "d.toml", files, data={"validation": str(broken)})
    result, _ = _deploy(cfg, Secrets(database_url=f"sqlite:///{tmp_path / 'm.db'}"))
    assert (result.exit_code, result.failed_step) == (4, "load")
    assert "lacks the model's features: mean_area" in (result.error or "")
    cfg = write_config(tmp_path / "e.toml", files, data={"target": "label"})
    result, _ = _deploy(cfg, Secrets(database_url=f"sqlite:///{tmp_path / 'm.db'}"))
    assert "has no target column 'label'" in (result.error or "") and result.exit_code == 4


def test_unreachable_database_is_exit_3_without_leaking_the_password(
    tmp_path: Path, trained: dict[str, ExampleFiles]
) -> None:
    secret_url = f"postgresql://mlmon:hunter2-secret@127.0.0.1:{free_port()}/mlmon?connect_timeout=2"
    cfg = write_config(tmp_path / "d.toml", trained["forest"])
    out = io.StringIO()
    result = run_deploy(load_config(cfg, environ={}), Secrets(database_url=secret_url), stream=out)
    assert (result.exit_code, result.failed_step) == (3, "preflight")
    assert "hunter2" not in out.getvalue() and "hunter2" not in (result.error or "")


def test_infrastructure_failure_after_registration_rolls_back(
    tmp_path: Path, trained: dict[str, ExampleFiles], receiver: WebhookReceiver
) -> None:
    url = f"sqlite:///{tmp_path / 'm.db'}"
    dead = f"http://127.0.0.1:{free_port()}"
    cfg = write_config(tmp_path / "d.toml", trained["forest"], name="rb", services={"drift_url": dead})
    result, lines = _deploy(cfg, Secrets(database_url=url, webhook_url=receiver.url))
    assert (result.exit_code, result.failed_step) == (3, "baseline")
    assert result.rolled_back == ["stage staging -> none"]
    with open_store(url) as store:
        (version,) = store.list_versions("rb")
    assert version.stage == "none" and version.artifact_sha256 == result.sha256
    assert [line["step"] for line in lines if line["event"] == "step"][-2:] == ["rollback", "notify"]
    rolled = "Rolled back: stage staging -> none"
    assert any("failed at step baseline" in t and rolled in t for t in _texts(receiver))


@pytest.mark.slow  # make test-slow: over 15 s on 2 busy cores
def test_deploy_noop_and_archive(
    tmp_path: Path,
    trained: dict[str, ExampleFiles],
    stack: Stack,
    receiver: WebhookReceiver,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("GITHUB_SHA", "0123456789abcdef0123456789abcdef01234567")
    secrets = stack.secrets(receiver.url)
    first = write_config(tmp_path / "a.toml", trained["forest"], services=_services(stack))
    result, _ = _deploy(first, secrets)
    assert (result.status, result.exit_code) == ("deployed", 0), result.error
    assert [s.status for s in result.steps] == ["ok"] * 9
    live = httpx.get(f"{stack.serving.url}/version").json()
    assert live["sha256"] == result.sha256 and live["version"] == result.version
    with open_store(stack.database_url) as store:
        v1 = store.get_version("bc", result.version or "")
    assert v1.stage == "production" and v1.git_sha == "0123456789abcdef0123456789abcdef01234567"
    assert v1.metrics == result.metrics and v1.params["estimator"].endswith("RandomForestClassifier")
    assert sum(v1.feature_importances.values()) == pytest.approx(1, abs=1e-4)
    assert v1.feature_schema["features"][0]["name"] == "mean_radius"
    baseline = httpx.get(f"{stack.drift.url}/v1/models/bc/versions/{v1.version}/baseline")
    assert baseline.status_code == 200
    assert any(t.startswith(":white_check_mark:") and v1.version in t for t in _texts(receiver))

    again, lines = _deploy(first, secrets)
    assert (again.status, again.exit_code, again.version) == ("noop", 0, v1.version)
    assert any(line["event"] == "noop" and "nothing to do" in line["message"] for line in lines)

    second = write_config(tmp_path / "b.toml", trained["forest2"], services=_services(stack))
    result2, _ = _deploy(second, secrets)
    assert (result2.status, result2.archived) == ("deployed", v1.version), result2.error
    with open_store(stack.database_url) as store:
        stages = {v.version: v.stage for v in store.list_versions("bc")}
    assert stages == {v1.version: "archived", result2.version: "production"}
    assert httpx.get(f"{stack.serving.url}/version").json()["sha256"] == result2.sha256


# Slow tier (15 s: two deploys); make test keeps the rollback after a failed baseline upload.
@pytest.mark.slow
def test_rollback_pushes_the_previous_model_back(
    tmp_path: Path, trained: dict[str, ExampleFiles], stack: Stack
) -> None:
    secrets = stack.secrets(None)
    first = write_config(tmp_path / "a.toml", trained["forest"], name="rp", services=_services(stack))
    result, _ = _deploy(first, secrets)
    assert result.exit_code == 0, result.error
    # a later run that pushed and then failed: its undo puts the previous model back on the API
    path = write_config(tmp_path / "b.toml", trained["logistic"], name="rp", services=_services(stack))
    cfg = load_config(path)
    run = _Run(cfg, secrets, EventLog(secrets.redact, io.StringIO()))
    try:
        run.open_store(dry_run=False)
        artifact, _, _ = run.load(None)[0]
        run.push(artifact)
        assert httpx.get(f"{stack.serving.url}/version").json()["sha256"] == artifact.sha256
        run.rollback()
    finally:
        run.close()
    assert run.result.rolled_back == [f"production API back to {result.version}"]
    assert httpx.get(f"{stack.serving.url}/version").json()["sha256"] == result.sha256


def test_pushing_with_a_wrong_token_is_infrastructure(
    tmp_path: Path, trained: dict[str, ExampleFiles], stack: Stack
) -> None:
    secrets = Secrets(
        database_url=stack.database_url, admin_token=stack.admin_token, serving_token="wrong-token"
    )
    cfg = write_config(tmp_path / "a.toml", trained["logistic"], name="tok", services=_services(stack))
    before = httpx.get(f"{stack.serving.url}/version").json()
    result, lines = _deploy(cfg, secrets)
    assert (result.exit_code, result.failed_step) == (3, "push")
    assert "MLMON_SERVING_ADMIN_TOKEN" in (result.error or "")
    assert "wrong-token" not in json.dumps(lines)
    assert httpx.get(f"{stack.serving.url}/version").json() == before
    with open_store(stack.database_url) as store:
        assert store.get_version("tok", result.version or "").stage == "none"
    # The baseline was uploaded before the push failed: it carries the model's performance reference.
    uploaded = httpx.get(f"{stack.drift.url}/v1/models/tok/versions/{result.version}/baseline")
    baseline_step = next(line for line in lines if line.get("step") == "baseline")
    assert baseline_step["performance"] is True
    reference = Reference.from_baseline(Baseline.from_bytes(uploaded.content))
    assert reference is not None and reference.calibration is not None and reference.task == "classification"
