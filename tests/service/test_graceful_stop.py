"""SIGTERM: the service stops being ready at once, commits every acknowledged batch and exits 0.

Uvicorn closes the listening socket on SIGTERM, so after the signal ``/readyz`` is refused rather than
answered with 503 (see the report: a pre-stop drain window with a 503 readiness is still to do)."""

from __future__ import annotations

import signal
import time
from pathlib import Path

import httpx
import pytest
from service_helpers import MSGPACK, body, mp, start_service

import mlmon

pytestmark = pytest.mark.e2e


def _ready(url: str) -> bool:
    try:
        return httpx.get(f"{url}/readyz", timeout=1).status_code == 200
    except httpx.TransportError:
        return False


def test_sigterm_unready_promptly_commits_acked_and_exits_0(tmp_path: Path, baseline: mlmon.Baseline) -> None:
    db, log = tmp_path / "svc.db", tmp_path / "server.log"
    proc, url = start_service(f"sqlite:///{db}", log)
    try:
        put = httpx.put(f"{url}/v1/models/churn/versions/v1/baseline", content=baseline.to_bytes())
        assert put.status_code == 200, put.text
        assert _ready(url)
        acked = 0
        for i in range(10):
            r = httpx.post(
                f"{url}/v1/models/churn/ingest", content=mp(body(f"g{i}", 50 + i)), headers=MSGPACK
            )
            assert r.status_code == 200, r.text
            acked += r.json()["rows"]
        signalled = time.monotonic()
        proc.send_signal(signal.SIGTERM)
        while _ready(url):
            assert time.monotonic() - signalled < 1.0, "still ready 1 s after SIGTERM"
            time.sleep(0.01)
        assert proc.wait(timeout=10) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    proc, url = start_service(f"sqlite:///{db}", log)
    try:
        assert httpx.get(f"{url}/v1/models/churn/drift").json()["current_rows"] == acked
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=30)
