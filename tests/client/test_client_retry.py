"""Failures: the real service stopped and restarted (the client keeps buffering, drops exactly the oldest
excess, and delivers the rest after the restart), scripted 503/429 answers (the same producer sequence and
bytes on every retry, ``Retry-After`` honoured), final 4xx, and the flush at interpreter exit."""

from __future__ import annotations

import subprocess
import sys
import textwrap
import time
from pathlib import Path

import httpx
import pytest
from client_helpers import StubIngest, rows_counted, stop, wait_for
from prometheus_client import CollectorRegistry
from service_helpers import free_port, service_env, start_service

import mlmon
from mlmon.client import DriftClient, backoff, retry_after

pytestmark = pytest.mark.e2e


def _put_baseline(url: str, model: str, baseline: mlmon.Baseline) -> None:
    put = httpx.put(f"{url}/v1/models/{model}/versions/v1/baseline", content=baseline.to_bytes())
    assert put.status_code == 200, put.text


def test_outage_drops_exactly_the_oldest_excess_and_delivers_the_rest(
    tmp_path: Path, baseline: mlmon.Baseline
) -> None:
    db, log, port = f"sqlite:///{tmp_path / 'svc.db'}", tmp_path / "server.log", free_port()
    proc, url = start_service(db, log, port=port, MLMON_WINDOW_SECONDS="86400")
    registry = CollectorRegistry()
    client = DriftClient(url, "churn", version="v1", batch_rows=10, max_buffer_rows=50, flush_interval=0.05,
                         registry=registry)  # fmt: skip
    try:
        _put_baseline(url, "churn", baseline)
        for i in range(10):
            client.record({"age": float(i), "plan": "a"})
        assert wait_for(lambda: client.sent == 10)
        stop(proc)
        # one batch is taken by the sender and retried against the dead port...
        for i in range(10):
            client.record({"age": float(i), "plan": "b"})
        assert wait_for(lambda: client.retries >= 1 and client.buffered == 0)
        # ...while 190 more rows arrive: the queue keeps the newest 50, the oldest 140 are dropped
        for i in range(190):
            client.record({"age": float(i), "plan": "c"})
        assert client.dropped == 140 and client.buffered == 50
        dropped = registry.get_sample_value(
            "mlmon_client_rows_total", {"model": "churn", "outcome": "dropped"}
        )
        assert dropped == 140
        proc, url = start_service(db, log, port=port, MLMON_WINDOW_SECONDS="86400")
        assert client.flush(timeout=60)
        assert client.sent == rows_counted(url, "churn") == 10 + 10 + 50
        assert client.sent + client.dropped == 210 and client.rejected == 0
    finally:
        client.close()
        stop(proc)


# Slow tier (13 s of steady load); make test keeps the outage that drops exactly the oldest excess.
@pytest.mark.slow
def test_outage_under_steady_load_stays_within_the_cap(tmp_path: Path, baseline: mlmon.Baseline) -> None:
    """R13, scaled down: the service is down for 4 s while the app records about 10,000 rows/s; the
    buffer never holds more than its cap and every recorded row is either counted once or dropped."""
    db, log, port = f"sqlite:///{tmp_path / 'svc.db'}", tmp_path / "server.log", free_port()
    proc, url = start_service(db, log, port=port, MLMON_WINDOW_SECONDS="86400")
    client = DriftClient(url, "churn", version="v1", batch_rows=500, max_buffer_rows=5000, flush_interval=0.1)
    recorded, peak = 0, 0
    try:
        _put_baseline(url, "churn", baseline)
        for phase in ("up", "down", "up"):
            if phase == "down":
                stop(proc)
            elif recorded:
                proc, url = start_service(db, log, port=port, MLMON_WINDOW_SECONDS="86400")
            end = time.monotonic() + (4 if phase == "down" else 1)
            while time.monotonic() < end and recorded < 200_000:
                for _ in range(100):
                    client.record({"age": float(recorded % 90), "plan": "abc"[recorded % 3]})
                    recorded += 1
                peak = max(peak, client.buffered)
                time.sleep(0.01)  # about 10,000 rows/s
        assert client.flush(timeout=60)
        assert peak <= 5000 + 500  # the cap plus the open rows
        assert client.dropped > 0 and client.rejected == 0
        assert client.sent + client.dropped == recorded
        assert rows_counted(url, "churn") == client.sent
    finally:
        client.close()
        stop(proc)


def test_retries_keep_the_producer_sequence_and_honour_retry_after() -> None:
    script = [(503, {"Retry-After": "1"}), (429, {"Retry-After": "1"}), (408, {}), (200, {})]
    with StubIngest(script) as stub:
        client = DriftClient(stub.url, "churn", batch_rows=5, flush_interval=60)
        for i in range(5):
            client.record({"age": float(i)})
        assert client.flush(timeout=30)
        client.close()
    ids = {batch_id for batch_id, _, _ in stub.requests}
    bodies = {body for _, body, _ in stub.requests}
    assert len(stub.requests) == 4 and len(ids) == 1 and len(bodies) == 1
    times = [t for _, _, t in stub.requests]
    # Retry-After: 1 is honoured twice; the 408 (a request cut by the deadline) is retried after jittered
    # backoff (no header)
    assert times[1] - times[0] >= 0.95 and times[2] - times[1] >= 0.95
    assert client.sent == 5 and client.retries == 3 and client.dropped == 0


@pytest.mark.parametrize("status", [400, 401, 403, 404, 409, 413, 415, 422])
def test_other_4xx_are_final(status: int) -> None:
    with StubIngest([(status, {})]) as stub:
        client = DriftClient(stub.url, "churn", batch_rows=5, flush_interval=60)
        for i in range(10):
            client.record({"age": float(i)})
        assert client.flush(timeout=30)
        client.close()
    assert len(stub.requests) == 2  # two batches, each sent once
    assert client.rejected == 10 and client.retries == 0 and client.sent == 0


def test_close_deadline_counts_unsent_rows_as_dropped() -> None:
    with StubIngest([(503, {"Retry-After": "30"})]) as stub:
        client = DriftClient(stub.url, "churn", batch_rows=5, flush_interval=60)
        for i in range(12):
            client.record({"age": float(i)})
        client.close(timeout=0.5)
    assert client.dropped == 12 and client.sent == 0


def test_token_from_environment_and_wrong_token_refused(
    tmp_path: Path, baseline: mlmon.Baseline, monkeypatch: pytest.MonkeyPatch
) -> None:
    proc, url = start_service(
        f"sqlite:///{tmp_path / 'svc.db'}", tmp_path / "server.log", MLMON_ADMIN_TOKEN="adm",
        MLMON_INGEST_TOKENS="churn=tok-churn", MLMON_WINDOW_SECONDS="86400",
    )  # fmt: skip
    try:
        put = httpx.put(f"{url}/v1/models/churn/versions/v1/baseline", content=baseline.to_bytes(),
                        headers={"authorization": "Bearer adm"})  # fmt: skip
        assert put.status_code == 200, put.text
        monkeypatch.setenv("MLMON_INGEST_TOKEN", "tok-churn")
        with DriftClient(url, "churn", version="v1") as good:
            good.record({"age": 1.0, "plan": "a"})
        with DriftClient(url, "churn", version="v1", token="wrong") as bad:
            bad.record({"age": 1.0, "plan": "a"})
        assert good.sent == 1 and bad.rejected == 1 and bad.retries == 0
        drift = httpx.get(f"{url}/v1/models/churn/drift", headers={"authorization": "Bearer adm"})
        assert int(drift.json()["current_rows"]) == 1
        assert "tok-churn" not in repr(good) and "tok-churn" not in log_text(tmp_path)
    finally:
        stop(proc)


def log_text(tmp_path: Path) -> str:
    return (tmp_path / "server.log").read_text(errors="replace")


@pytest.mark.parametrize("flavour", ["sync", "async"])
def test_rows_are_sent_at_interpreter_exit(service: str, model: str, flavour: str) -> None:
    program = {
        "sync": """
            from mlmon.client import DriftClient
            client = DriftClient(URL, MODEL, version="v1", flush_interval=60)
            for i in range(25):
                client.record({"age": float(i), "plan": "a"})
        """,
        "async": """
            import asyncio
            from mlmon.client import AsyncDriftClient
            async def main():
                client = AsyncDriftClient(URL, MODEL, version="v1", flush_interval=60)
                for i in range(25):
                    client.record({"age": float(i), "plan": "a"})
            asyncio.run(main())
        """,
    }[flavour]
    code = f"URL, MODEL = {service!r}, {model!r}\n" + textwrap.dedent(program)  # never closed: atexit sends
    done = subprocess.run([sys.executable, "-c", code], env=service_env(), capture_output=True, timeout=60)
    assert done.returncode == 0, done.stderr.decode()
    assert rows_counted(service, model) == 25


def test_retry_after_and_backoff() -> None:
    assert retry_after("3") == 3.0 and retry_after("1000", cap=60) == 60
    assert retry_after(None) is None and retry_after("soon") is None
    assert retry_after("Wed, 21 Oct 2015 07:28:00 GMT") == 0.0  # a date in the past: retry now
    for attempt in range(12):
        step = min(10.0, 0.1 * 2**attempt)
        assert all(step / 2 <= backoff(attempt) <= step for _ in range(50))
