"""SIGTERM (RELIABILITY R9): ``/readyz`` answers 503 at once while the worker keeps serving for the drain
window, batches acknowledged before and during the window are all committed, and the process exits 0
within 10 s. With one worker and with two (the supervisor forwards the signal to each worker at once)."""

from __future__ import annotations

import signal
import time
from pathlib import Path

import httpx
import pytest
from service_helpers import MSGPACK, body, mp, start_service

import mlmon

pytestmark = pytest.mark.e2e

_DRAIN = 3.0


def _post(url: str, batch_id: str, rows: int) -> httpx.Response:
    return httpx.post(f"{url}/v1/models/churn/ingest", content=mp(body(batch_id, rows)), headers=MSGPACK)


@pytest.mark.parametrize("workers", [1, 2])
def test_sigterm_drains_unready_then_commits_acked_and_exits_0(
    tmp_path: Path, baseline: mlmon.Baseline, workers: int
) -> None:
    db, log = tmp_path / "svc.db", tmp_path / "server.log"
    proc, url = start_service(f"sqlite:///{db}", log, workers=workers, MLMON_DRAIN_SECONDS=str(_DRAIN))
    try:
        put = httpx.put(f"{url}/v1/models/churn/versions/v1/baseline", content=baseline.to_bytes())
        assert put.status_code == 200, put.text
        assert httpx.get(f"{url}/readyz").status_code == 200
        acked = 0
        for i in range(10):
            r = _post(url, f"g{i}", 50 + i)
            assert r.status_code == 200, r.text
            acked += r.json()["rows"]
        signalled = time.monotonic()
        proc.send_signal(signal.SIGTERM)
        # Unready is an answer (503), not a refused connection: the socket stays open for the window.
        while (ready := httpx.get(f"{url}/readyz", timeout=1)).status_code == 200:
            assert time.monotonic() - signalled < 1.0, "still ready 1 s after SIGTERM"
            time.sleep(0.005)
        assert ready.status_code == 503 and ready.json() == {"status": "draining"}
        # With two workers, poll until both have seen the signal; every readyz must then be 503.
        time.sleep(0.2)
        assert {httpx.get(f"{url}/readyz").status_code for _ in range(6)} == {503}
        # Still serving during the window: traffic that arrives before the balancer reacts is counted.
        r = _post(url, "during-drain", 77)
        assert r.status_code == 200, r.text
        acked += r.json()["rows"]
        assert time.monotonic() - signalled < _DRAIN, "the drain window ended before the test could post"
        assert proc.wait(timeout=10) == 0
        assert time.monotonic() - signalled >= _DRAIN
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
