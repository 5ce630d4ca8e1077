"""kill -9 of the service right after an acknowledgement: after a restart on the same SQLite file every
acknowledged batch is counted, and a retry of the last one is a duplicate."""

from __future__ import annotations

import os
import signal
from pathlib import Path

import httpx
import pytest
from service_helpers import MSGPACK, body, mp, start_service

import mlmon

pytestmark = pytest.mark.e2e


def test_kill_9_right_after_ack_loses_no_batch(tmp_path: Path, baseline: mlmon.Baseline) -> None:
    db, log = tmp_path / "svc.db", tmp_path / "server.log"
    proc, url = start_service(f"sqlite:///{db}", log)
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
    proc, url = start_service(f"sqlite:///{db}", log)
    try:
        report = httpx.get(f"{url}/v1/models/churn/drift").json()
        assert report["current_rows"] == acked == sum(100 + i for i in range(10))
        retry = httpx.post(f"{url}/v1/models/churn/ingest", content=bodies[-1], headers=MSGPACK, timeout=30)
        assert retry.status_code == 200 and retry.json()["status"] == "duplicate", retry.text
        assert httpx.get(f"{url}/v1/models/churn/drift").json()["current_rows"] == acked
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=30)
