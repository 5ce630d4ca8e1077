"""The real server: ``python -m mlmon.service`` with 2 workers on a free loopback port, exact counts and
idempotent retries across workers, merged metrics, refusal to start unauthenticated on a public host."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest
from service_helpers import ADMIN, MSGPACK, TOKEN_A, body, mp

import mlmon

pytestmark = pytest.mark.e2e


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MLMON_", "PROMETHEUS_"))}
    env.update(extra)
    return env


@pytest.fixture
def server(tmp_path: Path) -> Iterator[str]:
    """A 2-worker service with auth on; yields its base URL, then stops it with SIGTERM."""
    port = _free_port()
    env = _env(
        MLMON_ADMIN_TOKEN=ADMIN, MLMON_INGEST_TOKENS=f"churn={TOKEN_A}", MLMON_ALERT_INTERVAL_SECONDS="0"
    )
    cmd = [sys.executable, "-m", "mlmon.service", "--port", str(port), "--workers", "2",
           "--database-url", f"sqlite:///{tmp_path / 'svc.db'}"]  # fmt: skip
    log = tmp_path / "server.log"
    with log.open("wb") as sink:
        proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=sink)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{url}/healthz", timeout=1).status_code == 200:
                break
        except httpx.TransportError:
            time.sleep(0.1)
    else:
        proc.kill()
        pytest.fail(f"server did not start: {log.read_text()[-2000:]}")
    yield url
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=30) == 0


def test_two_workers_count_exactly_once(server: str, baseline: mlmon.Baseline) -> None:
    admin = {"authorization": f"Bearer {ADMIN}"}
    ingest = {**MSGPACK, "authorization": f"Bearer {TOKEN_A}"}
    put = httpx.put(
        f"{server}/v1/models/churn/versions/v1/baseline", content=baseline.to_bytes(), headers=admin
    )
    assert put.status_code == 200, put.text
    bodies = [mp(body(f"batch-{i}", 200, seed=i)) for i in range(40)]

    def send(data: bytes) -> str:
        # New connections each time, so sends spread over both workers.
        r = httpx.post(f"{server}/v1/models/churn/ingest", content=data, headers=ingest, timeout=30)
        assert r.status_code == 200, r.text
        return str(r.json()["status"])

    with ThreadPoolExecutor(8) as pool:
        first = list(pool.map(send, bodies))
        retries = list(pool.map(send, bodies))
    assert first.count("accepted") == 40
    assert retries.count("duplicate") == 40
    report = httpx.get(f"{server}/v1/models/churn/drift", headers=admin).json()
    assert report["current_rows"] == 40 * 200
    assert report["features"]["plan"]["count"] == 40 * 200
    metrics = httpx.get(f"{server}/metrics").text
    rows = [line for line in metrics.splitlines() if line.startswith("mlmon_rows_ingested_total{")]
    assert sum(float(line.rsplit(" ", 1)[1]) for line in rows) == 40 * 200
    denied = httpx.post(f"{server}/v1/models/churn/ingest", content=bodies[0], headers=MSGPACK)
    assert denied.status_code == 401


def test_refuses_public_host_without_auth(tmp_path: Path) -> None:
    cmd = [sys.executable, "-m", "mlmon.service", "--host", "0.0.0.0", "--port", str(_free_port()),
           "--database-url", f"sqlite:///{tmp_path / 'x.db'}"]  # fmt: skip
    done = subprocess.run(cmd, env=_env(), capture_output=True, text=True, timeout=60)
    assert done.returncode == 2
    assert "--insecure" in done.stderr
