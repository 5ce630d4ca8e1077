"""``mlmon deploy`` through the real command: exit codes 0 (deployed, then no-op), 2, 3 and 4, one JSON
line per step plus a summary, and no secret from the environment in any output."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from deploy_helpers import write_config

from mlmon.demo.processes import free_port
from mlmon.demo.stack import Stack
from mlmon.deploy.example import ExampleFiles

pytestmark = pytest.mark.e2e


def _mlmon_deploy(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("MLMON_")}
    return subprocess.run(
        [sys.executable, "-m", "mlmon.cli", "deploy", *args],
        env={**clean, **env},
        capture_output=True,
        text=True,
        timeout=240,
    )


def _env(stack: Stack) -> dict[str, str]:
    return {
        "MLMON_DATABASE_URL": stack.database_url,
        "MLMON_ADMIN_TOKEN": stack.admin_token,
        "MLMON_SERVING_ADMIN_TOKEN": stack.serving_token,
    }


@pytest.mark.slow  # make test-slow: over 15 s on 2 busy cores
def test_exit_codes_and_secrets(tmp_path: Path, trained: dict[str, ExampleFiles], stack: Stack) -> None:
    env = _env(stack)
    services = {"drift_url": stack.drift.url, "serving_url": stack.serving.url}
    good = write_config(tmp_path / "good.toml", trained["forest"], name="cli", services=services)
    done = _mlmon_deploy("--config", str(good), "--version", "7", env=env)
    assert done.returncode == 0, done.stderr
    lines = [json.loads(line) for line in done.stdout.splitlines()]
    assert [line["step"] for line in lines if line["event"] == "step"] == [
        "load", "preflight", "validate", "gates", "register", "baseline", "push", "promote", "notify",
    ]  # fmt: skip
    assert lines[-1]["event"] == "summary" and lines[-1]["version"] == "7"
    assert "cli 7 is in production" in done.stderr
    again = _mlmon_deploy("--config", str(good), "--version", "7", env=env)
    assert again.returncode == 0 and "nothing to do" in again.stderr

    gate = write_config(tmp_path / "gate.toml", trained["dummy"], name="cli", services=services)
    failed = _mlmon_deploy("--config", str(gate), env=env)
    assert failed.returncode == 2 and "FAILED at gates (exit 2)" in failed.stderr

    other = write_config(tmp_path / "other.toml", trained["forest2"], name="cli", services=services)
    conflict = _mlmon_deploy("--config", str(other), "--version", "7", env=env)
    assert conflict.returncode == 4 and "registered with another artifact" in conflict.stderr

    dead = write_config(
        tmp_path / "dead.toml",
        trained["forest2"],
        name="cli",
        services={"drift_url": f"http://127.0.0.1:{free_port()}"},
    )
    infra = _mlmon_deploy("--config", str(dead), env=env)
    assert infra.returncode == 3 and "FAILED at baseline (exit 3)" in infra.stderr

    missing = _mlmon_deploy("--config", str(tmp_path / "nope.toml"), env=env)
    assert missing.returncode == 4 and "no such deploy config" in missing.stderr

    for run in (done, again, failed, conflict, infra, missing):
        for secret in (stack.admin_token, stack.serving_token):
            assert secret not in run.stdout + run.stderr
