"""S4 tampered model artifacts and S5 secrets, end to end through the real ``mlmon deploy`` command into a
live stack (drift service and production API on loopback, SQLite): after a good deploy, every tampered
artifact exits 4 naming the reason, the payload that would create a sentinel file never runs, the
registry and the served model stay as they were, and no token from the environment is printed.

The unit-level matrix (each format and loader) is in tests/deploy/ and tests/serving/; this is the whole
path an attacker with write access to the artifact store would take."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import joblib
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "deploy"))

from deploy_helpers import write_config
from rel_results import record

from mlmon.demo.stack import Stack, start_stack
from mlmon.deploy.example import ExampleFiles, train_example
from mlmon.store import open_store
from shared_helpers import Payload, rewrite_skops_schema

# About 3 minutes on 2 shared cores (each deploy trains nothing but loads, validates and gates): slow.
pytestmark = [pytest.mark.e2e, pytest.mark.slow]


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory) -> ExampleFiles:
    return train_example(tmp_path_factory.mktemp("s4-trained"), kind="forest", seed=0)


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    work = tmp_path_factory.mktemp("s4-stack")
    started = start_stack(work, database_url=f"sqlite:///{work / 'mlmon.db'}", model="bc", webhook_url=None)
    yield started
    started.stop()


def _deploy(stack: Stack, config: Path, *args: str) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("MLMON_")}
    env = {**clean, "MLMON_DATABASE_URL": stack.database_url, "MLMON_ADMIN_TOKEN": stack.admin_token,
           "MLMON_SERVING_ADMIN_TOKEN": stack.serving_token}  # fmt: skip
    cmd = [sys.executable, "-m", "mlmon.cli", "deploy", "--config", str(config), *args]
    return subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=240)


def _skops_with(data: bytes, module: str, cls: str) -> bytes:
    """A skops file whose first object claims another type (what an attacker would write)."""
    return rewrite_skops_schema(
        data,
        (b'"__module__": "sklearn', f'"__module__": "{module}'.encode(), 1),
        (b'"__class__": "', f'"__class__": "{cls}", "x": "'.encode(), 1),
    )


def test_tampered_artifacts_never_run_and_change_nothing(tmp_path: Path, trained: ExampleFiles,
                                                         stack: Stack) -> None:  # fmt: skip
    started = time.monotonic()
    services = {"drift_url": stack.drift.url, "serving_url": stack.serving.url}
    good = write_config(tmp_path / "good.toml", trained, services=services)
    first = _deploy(stack, good, "--version", "1")
    assert first.returncode == 0, first.stderr[-2000:]
    approved = hashlib.sha256(trained.artifact.read_bytes()).hexdigest()
    served = httpx.get(f"{stack.serving.url}/version", timeout=10).json()
    with open_store(stack.database_url) as store:
        registry = [(v.version, v.stage) for v in store.list_versions("bc")]

    sentinel = tmp_path / "pwned"
    evil = tmp_path / "evil.joblib"
    joblib.dump(Payload(sentinel), evil)
    flipped = tmp_path / "flipped.skops"
    data = bytearray(trained.artifact.read_bytes())
    data[len(data) // 2] ^= 1
    flipped.write_bytes(bytes(data))
    runs: list[subprocess.CompletedProcess[str]] = []
    cases = [
        (evil, ("--sha256", approved), "sha256 mismatch"),  # the reviewed digest, another file
        (evil, (), "arbitrary code"),  # pickle family without a pinned digest
        (flipped, ("--sha256", approved), "sha256 mismatch"),  # one byte flipped
        (trained.artifact, ("--sha256", "0" * 64), "sha256 mismatch"),  # wrong digest
    ]
    for module, cls in (("operator", "call"), ("builtins", "eval")):
        path = tmp_path / f"{cls}.skops"
        path.write_bytes(_skops_with(trained.artifact.read_bytes(), module, cls))
        cases.append((path, (), "trusted"))
    for i, (artifact, args, reason) in enumerate(cases):
        cfg = write_config(
            tmp_path / f"bad{i}.toml", trained, services=services, model={"artifact": str(artifact)}
        )
        done = _deploy(stack, cfg, "--version", str(10 + i), *args)
        runs.append(done)
        assert done.returncode == 4, (artifact.name, done.returncode, done.stderr[-1500:])
        assert reason in done.stdout + done.stderr, (artifact.name, done.stderr[-1500:])
    assert not sentinel.exists()
    with open_store(stack.database_url) as store:
        assert [(v.version, v.stage) for v in store.list_versions("bc")] == registry
    assert httpx.get(f"{stack.serving.url}/version", timeout=10).json() == served
    # The production API itself: joblib is refused (skops only unless the operator vouches for files),
    # even with the admin token and the file's own digest; a wrong digest is refused before any
    # deserializer; the old model stays.
    headers = {"authorization": f"Bearer {stack.serving_token}", "x-model-sha256": approved,
               "x-model-format": "joblib", "x-model-version": "99", "x-model-name": "bc"}  # fmt: skip
    own = {**headers, "x-model-sha256": hashlib.sha256(evil.read_bytes()).hexdigest()}
    r = httpx.put(f"{stack.serving.url}/admin/model", content=evil.read_bytes(), headers=own, timeout=30)
    assert r.status_code == 403 and r.json()["reason"] == "untrusted_artifact", r.text
    headers["x-model-format"] = "skops"
    r = httpx.put(f"{stack.serving.url}/admin/model", content=evil.read_bytes(), headers=headers, timeout=30)
    assert r.status_code == 422 and r.json()["expected"] == approved, r.text
    assert not sentinel.exists()
    assert httpx.get(f"{stack.serving.url}/version", timeout=10).json() == served
    for run in [first, *runs]:  # S5: secrets come from the environment and are never printed
        for secret in (stack.admin_token, stack.serving_token, stack.ingest_token):
            assert secret not in run.stdout + run.stderr
    record("S4 tampered artifacts", load=f"{len(runs) + 1} mlmon deploy runs + 2 PUT /admin/model",
           faults="joblib payload (reviewed digest / no digest / its own digest), one byte flipped, wrong "
           "digest, skops operator.call and builtins.eval", sent=len(runs) + 3, acked=1, lost=0,
           duplicates=0, five_xx=0, peak_rss_mib=None, seconds=time.monotonic() - started)  # fmt: skip
