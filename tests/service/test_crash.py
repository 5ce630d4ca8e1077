"""kill -9 of the service right after an acknowledgement: after a restart on the same SQLite file every
acknowledged batch is counted, and a retry of the last one is a duplicate."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from service_helpers import MSGPACK, body, mp

import mlmon

pytestmark = pytest.mark.e2e


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _start(db: Path, log: Path) -> tuple[subprocess.Popen[bytes], str]:
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MLMON_", "PROMETHEUS_"))}
    env["MLMON_ALERT_INTERVAL_SECONDS"] = "0"
    cmd = [sys.executable, "-m", "mlmon.service", "--port", str(port), "--database-url", f"sqlite:///{db}"]
    with log.open("ab") as sink:
        proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=sink)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{url}/healthz", timeout=1).status_code == 200:
                return proc, url
        except httpx.TransportError:
            time.sleep(0.1)
    proc.kill()
    pytest.fail(f"server did not start: {log.read_text()[-2000:]}")


def test_kill_9_right_after_ack_loses_no_batch(tmp_path: Path, baseline: mlmon.Baseline) -> None:
    db, log = tmp_path / "svc.db", tmp_path / "server.log"
    proc, url = _start(db, log)
    try:
        put = httpx.put(f"{url}/v1/models/churn/versions/v1/baseline", content=baseline.to_bytes())
        assert put.status_code == 200, put.text
        bodies = [mp(body(f"k{i}", 100 + i, seed=i)) for i in range(10)]
        acked = 0
        for data in bodies:
            r = httpx.post(f"{url}/v1/models/churn/ingest", content=data, headers=MSGPACK, timeout=30)
            assert r.status_code == 200, r.text
            acked += r.json()["rows"]
        os.kill(proc.pid, signal.SIGKILL)  # right after the last 2xx, no graceful stop
        proc.wait(timeout=10)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    proc, url = _start(db, log)
    try:
        report = httpx.get(f"{url}/v1/models/churn/drift").json()
        assert report["current_rows"] == acked == sum(100 + i for i in range(10))
        retry = httpx.post(f"{url}/v1/models/churn/ingest", content=bodies[-1], headers=MSGPACK, timeout=30)
        assert retry.status_code == 200 and retry.json()["status"] == "duplicate", retry.text
        assert httpx.get(f"{url}/v1/models/churn/drift").json()["current_rows"] == acked
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=30)
