"""R13 the client while the server is down: ``DriftClient`` records 10,000 rows/s through an outage (5 s
by default, ``MLMON_CLIENT_OUTAGE_SECONDS``): its buffer never holds more than its cap, it drops exactly
the excess (oldest first) and counts it, and after the restart every row it reports as sent is counted by
the service exactly once (batches keep their ids across retries). The small-scale matrix, with
``Retry-After``, is in tests/client/test_retry.py."""

from __future__ import annotations

import os
import signal
import sqlite3
import time
from pathlib import Path

import httpx
import numpy as np
import psutil
import pytest
from harness import reported_rows
from rel_results import record
from service_helpers import free_port, start_service

import mlmon
from mlmon.client import DriftClient

pytestmark = pytest.mark.e2e

RATE = 10_000  # rows per second
CAP = 20_000
BATCH = 1_000


def _columns(rng: np.random.Generator, n: int) -> dict[str, object]:
    return {"age": rng.normal(45, 9, n), "plan": rng.choice(["a", "b", "c"], n).tolist()}


@pytest.mark.slow  # make test-slow: over 15 s on 2 busy cores
def test_outage_keeps_memory_capped_and_counts_drops_exactly(
    tmp_path: Path, baseline: mlmon.Baseline
) -> None:
    outage = float(os.environ.get("MLMON_CLIENT_OUTAGE_SECONDS", "5"))
    started = time.monotonic()
    db, log, port = tmp_path / "r13.db", tmp_path / "server.log", free_port()
    proc, url = start_service(f"sqlite:///{db}", log, port=port, MLMON_WINDOW_SECONDS="86400")
    rng = np.random.default_rng(13)
    me = psutil.Process()
    client = DriftClient(
        url, "churn", version="v1", batch_rows=BATCH, max_buffer_rows=CAP, flush_interval=0.1
    )
    try:
        assert httpx.put(
            f"{url}/v1/models/churn/versions/v1/baseline", content=baseline.to_bytes()
        ).is_success
        client.record_batch(_columns(rng, 2 * BATCH))
        assert client.flush(timeout=30) and client.sent == 2 * BATCH
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=30)
        # One batch is taken by the sender and retried against the closed port...
        client.record_batch(_columns(rng, BATCH))
        deadline = time.monotonic() + 20
        while not (client.retries >= 1 and client.buffered == 0) and time.monotonic() < deadline:
            time.sleep(0.01)
        assert client.retries >= 1 and client.buffered == 0
        # ...while the application goes on recording 10,000 rows/s.
        rss_before, peak_buffer, recorded = me.memory_info().rss, 0, 0
        end = time.monotonic() + outage
        while time.monotonic() < end:
            tick = time.monotonic()
            client.record_batch(_columns(rng, RATE // 10))
            recorded += RATE // 10
            peak_buffer = max(peak_buffer, client.buffered)
            time.sleep(max(0.0, 0.1 - (time.monotonic() - tick)))
        rss_growth = me.memory_info().rss - rss_before
        assert peak_buffer <= CAP
        assert client.dropped == recorded - CAP, (client.dropped, recorded)
        proc, url = start_service(f"sqlite:///{db}", log, port=port, MLMON_WINDOW_SECONDS="86400")
        assert client.flush(timeout=120)
        total = 3 * BATCH + recorded
        assert client.sent + client.dropped == total and client.rejected == 0
        assert reported_rows(url) == client.sent == total - client.dropped
        # Every batch counted once under the sequence it was first sent with: one producer row, no batch ids.
        with sqlite3.connect(db) as conn:
            (producers, high, ids) = conn.execute(
                "SELECT COUNT(*), MAX(high_seq), (SELECT COUNT(*) FROM ingested_batches)"
                " FROM producer_sequences"
            ).fetchone()
        batches = high + 1
        assert producers == 1 and ids == 0 and batches * BATCH == client.sent
    finally:
        client.close()
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=30)
    record("R13 client outage", load=f"{RATE:,} rows/s recorded through a {outage:.0f} s outage",
           faults=f"server stopped; buffer cap {CAP:,} rows", sent=total // BATCH, acked=batches, lost=0,
           duplicates=0, five_xx=0, peak_rss_mib=None, seconds=time.monotonic() - started,
           dropped_rows=client.dropped, peak_buffer_rows=peak_buffer,
           client_rss_growth_mib=round(rss_growth / 2**20, 1))  # fmt: skip
