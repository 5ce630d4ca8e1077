"""``mlmon demo`` as a user runs it: the whole loop in a child process, what it prints, and that it
leaves no process (and no temporary directory) behind, with and without ``--keep-running``."""

from __future__ import annotations

import os
import queue
import re
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
import psutil
import pytest

pytestmark = pytest.mark.e2e


def _env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MLMON_")}
    env["PYTHONUNBUFFERED"] = "1"
    return env


def _pids(output: str) -> list[int]:
    found = re.search(r"drift service pid (\d+), production API pid (\d+)", output)
    assert found is not None, output[-3000:]
    return [int(found.group(1)), int(found.group(2))]


def _gone(pids: list[int], timeout: float = 5.0) -> bool:
    deadline = time.monotonic() + timeout
    while any(psutil.pid_exists(p) for p in pids) and time.monotonic() < deadline:
        time.sleep(0.05)
    return not any(psutil.pid_exists(p) for p in pids)


def test_demo_runs_the_whole_loop_and_leaves_nothing_behind(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "mlmon.demo", "--out", str(tmp_path / "out")],
        env=_env(),
        capture_output=True,
        text=True,
        timeout=240,
        cwd=tmp_path,
    )
    out = done.stdout
    assert done.returncode == 0, out[-3000:] + done.stderr[-3000:]
    assert "mlmon deploy: deployed breast-cancer sha-" in out
    assert re.search(r"Clean traffic: 2,000 rows through /predict, severity ok", out)
    assert "alerts after clean traffic: none" in out
    # The model's quality: the estimate falls before any label, the realized accuracy once they come.
    assert re.search(r"alert: (warning|critical) estimated:accuracy 0\.\d{3} \(label-free, early\)", out), (
        out[-3000:]
    )
    assert re.search(r"Labels arrive late: [\d,]+ sent, ([\d,]+) joined, 0 pending", out)
    assert re.search(r"alert: (warning|critical) performance:accuracy 0\.\d{3} \(realized, late\)", out)
    assert out.index("(label-free, early)") < out.index("Labels arrive late") < out.index("(realized, late)")
    assert re.search(r"Drift critical", out) and "mean_radius" in out
    assert re.search(r"│ critical +│ mean_\w+ +│ \d\.\d{3} │ sha-", out), out[-3000:]
    for label in ("drift service (dashboard):", "HTML report:", "metrics:", "production API:"):
        assert label in out
    assert (tmp_path / "out" / "drift.html").read_text().count("mean_radius") >= 1
    assert '"step":"promote","status":"ok"' in (tmp_path / "out" / "deploy.jsonl").read_text()
    assert _gone(_pids(out)), "a demo process outlived the demo"
    workdir = re.search(r"(/\S*mlmon-demo-\w+)/artifacts/model\.skops", out)
    assert workdir is not None and not Path(workdir.group(1)).exists()
    assert "services stopped" in out


def _reader(proc: subprocess.Popen[str], lines: queue.Queue[str]) -> None:
    assert proc.stdout is not None
    for line in proc.stdout:
        lines.put(line)


@pytest.mark.slow  # make test-slow: over 15 s on 2 busy cores
def test_keep_running_serves_until_interrupted(tmp_path: Path) -> None:
    proc = subprocess.Popen(
        [sys.executable, "-m", "mlmon.demo", "--keep-running", "--out", str(tmp_path / "out")],
        env=_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        cwd=tmp_path,
    )
    lines: queue.Queue[str] = queue.Queue()
    reader = threading.Thread(target=_reader, args=(proc, lines), daemon=True)
    reader.start()
    seen = ""
    try:
        deadline = time.monotonic() + 240
        while "press Ctrl-C" not in seen:
            assert time.monotonic() < deadline and proc.poll() is None, seen[-3000:]
            try:
                seen += lines.get(timeout=1)
            except queue.Empty:
                continue
        version_url = re.search(r"production API: +(http://127\.0\.0\.1:\d+/version)", seen)
        dashboard = re.search(r"drift service \(dashboard\): (http://127\.0\.0\.1:\d+/)", seen)
        assert version_url and dashboard, seen[-3000:]
        time.sleep(1.0)  # still up a while later
        assert httpx.get(version_url.group(1), timeout=10).json()["model"] == "breast-cancer"
        assert httpx.get(dashboard.group(1), timeout=10).status_code == 200
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=60) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        reader.join(timeout=10)
        assert proc.stdout is not None
        proc.stdout.close()
    while not lines.empty():
        seen += lines.get()
    assert "services stopped" in seen
    assert _gone(_pids(seen))
