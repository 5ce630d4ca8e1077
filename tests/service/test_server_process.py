"""The real server: ``python -m mlmon.service`` with 2 workers on a free loopback port, exact counts and
idempotent retries across workers, merged metrics, refusal to start unauthenticated on a public host."""

from __future__ import annotations

import signal
import subprocess
import sys
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest
from service_helpers import ADMIN, MSGPACK, TOKEN_A, body, free_port, mp, service_env, start_service

import mlmon

pytestmark = pytest.mark.e2e


@pytest.fixture
def server(tmp_path: Path) -> Iterator[str]:
    """A 2-worker service with auth on; yields its base URL, then stops it with SIGTERM."""
    proc, url = start_service(
        f"sqlite:///{tmp_path / 'svc.db'}",
        tmp_path / "server.log",
        workers=2,
        MLMON_ADMIN_TOKEN=ADMIN,
        MLMON_INGEST_TOKENS=f"churn={TOKEN_A}",
    )
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
    cmd = [sys.executable, "-m", "mlmon.service", "--host", "0.0.0.0", "--port", str(free_port()),
           "--database-url", f"sqlite:///{tmp_path / 'x.db'}"]  # fmt: skip
    done = subprocess.run(cmd, env=service_env(), capture_output=True, text=True, timeout=60)
    assert done.returncode == 2
    assert "--insecure" in done.stderr
