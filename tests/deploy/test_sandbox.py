"""The model is deserialized only in a child process whose environment holds no secret: even an
artifact the digest vouches for, and that runs code while it loads, sees no token or database URL."""

from __future__ import annotations

import io
import os
import pickle
from pathlib import Path

import pytest
from deploy_helpers import write_config

from mlmon.core.artifacts import sha256_file
from mlmon.deploy import Secrets, load_config, run_deploy
from mlmon.deploy.example import ExampleFiles
from mlmon.deploy.sandbox import child_env, evaluate_isolated


class _DumpEnv:
    """Unpickling this runs a shell command that writes the environment to a file."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def __reduce__(self) -> tuple[object, tuple[str]]:
        return (os.system, (f"env > '{self.path}'",))


def test_child_env_keeps_only_the_allow_list() -> None:
    env = {
        "PATH": "/usr/bin",
        "HOME": "/root",
        "MLMON_DATABASE_URL": "postgresql://u:p@h/db",
        "MLMON_ADMIN_TOKEN": "t",
        "AWS_SECRET_ACCESS_KEY": "k",
        "GITHUB_TOKEN": "g",
        "DATABASE_URL": "x",
    }
    assert child_env(env) == {"PATH": "/usr/bin", "HOME": "/root"}


def test_evaluation_in_the_child_matches_the_model(trained: dict[str, ExampleFiles]) -> None:
    files = trained["forest"]
    cfg = load_config(write_config(files.artifact.parent / "sandbox.toml", files), environ={})
    evaluation = evaluate_isolated(cfg.model, cfg.data, sha256_file(files.artifact))
    assert evaluation.estimator == "RandomForestClassifier" and evaluation.task == "classification"
    assert evaluation.features[:2] == ["mean_radius", "mean_texture"] and evaluation.validation_rows == 171
    assert evaluation.metrics["roc_auc"] > 0.95 and evaluation.importances_from == "feature_importances_"


def test_code_in_a_vouched_artifact_runs_without_secrets(
    tmp_path: Path, trained: dict[str, ExampleFiles], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MLMON_ADMIN_TOKEN", "admin-secret-in-env")
    monkeypatch.setenv("MLMON_DATABASE_URL", "postgresql://u:db-password-in-env@127.0.0.1/x")
    dumped = tmp_path / "env.txt"
    artifact = tmp_path / "model.pkl"
    artifact.write_bytes(pickle.dumps(_DumpEnv(dumped)))
    cfg = write_config(tmp_path / "d.toml", trained["forest"], model={"artifact": str(artifact)})
    out = io.StringIO()
    result = run_deploy(
        load_config(cfg, environ={}),
        Secrets(database_url=f"sqlite:///{tmp_path / 'm.db'}"),
        sha256=sha256_file(artifact),
        stream=out,
    )
    assert (result.exit_code, result.failed_step) == (4, "load")
    assert "holds a int, which has no predict()" in (result.error or "")
    seen = dumped.read_text()  # the payload did run, in the child
    assert "PATH=" in seen
    assert "MLMON_" not in seen and "secret-in-env" not in seen and "password-in-env" not in seen
