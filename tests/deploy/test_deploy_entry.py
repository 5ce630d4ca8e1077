"""The CI entry ``deploy/deploy.sh`` with the example config and training pipeline as shipped: trains,
then ``mlmon deploy --dry-run`` passes the example gates (run from a copy, so the tree stays clean)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


# Slow tier (13 s); make test runs the same train + dry-run commands from the README (test_docs).
@pytest.mark.slow
def test_ci_entry_trains_and_dry_runs(tmp_path: Path) -> None:
    copy = tmp_path / "deploy"
    copy.mkdir()
    for name in ("deploy.sh", "train.py", "deploy.toml"):
        shutil.copy2(ROOT / "deploy" / name, copy / name)
    env = {k: v for k, v in os.environ.items() if not k.startswith("MLMON_")}
    env["PYTHON"] = sys.executable
    done = subprocess.run(
        ["sh", str(copy / "deploy.sh"), "--dry-run"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=240,
    )
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    assert (copy / "artifacts" / "model.skops").exists()
    events = [json.loads(line) for line in done.stdout.splitlines() if line.startswith("{")]
    summary = events[-1]
    assert summary["event"] == "summary" and summary["status"] == "dry-run"
    assert summary["model"] == "breast-cancer" and summary["metrics"]["roc_auc"] > 0.9
    assert {g["gate"] for g in summary["gates"]} == {"minimum:accuracy", "minimum:recall", "minimum:roc_auc"}
    assert "gates passed; nothing was changed" in done.stderr
    assert not list(tmp_path.glob("*.db"))
