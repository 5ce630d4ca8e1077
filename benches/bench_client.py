"""pytest-benchmark suite for ``mlmon.client``: the latency ``DriftClient.record`` adds to a request.

Each round records 1,000 rows of 10 features, so the per-call figure is the round time / 1,000; a plain
``list.append`` of the same rows in the same run is the floor. The client sends to a real drift service
process on loopback while it is timed, so the sender thread's work (encoding, HTTP) competes for the GIL
as it would in a production API. ``make test`` runs each benchmark once as a plain test, which also checks
that every recorded row was sent or counted as dropped. Figures go in benches/README.md.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pytest

import mlmon
from mlmon.client import DriftClient

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests" / "service"))
from service_helpers import start_service  # the drift service as a process, as the tests start it

Bench = Any
CALLS = 1000
FEATURES = [f"f{i}" for i in range(10)]


@pytest.fixture(scope="module")
def drift_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A drift service with a 10-feature baseline for model ``bench`` v1."""
    tmp = tmp_path_factory.mktemp("bench-client")
    proc, url = start_service(
        f"sqlite:///{tmp / 'mlmon.db'}", tmp / "server.log", MLMON_WINDOW_SECONDS="86400"
    )
    rng = np.random.default_rng(0)
    baseline = mlmon.Baseline.fit({name: rng.normal(0, 1, 2000) for name in FEATURES})
    put = httpx.put(f"{url}/v1/models/bench/versions/v1/baseline", content=baseline.to_bytes())
    assert put.status_code == 200, put.text
    yield url
    proc.terminate()
    proc.wait(timeout=30)


@pytest.fixture(scope="module")
def rows() -> list[dict[str, float]]:
    """1,000 rows of 10 float features, as a request handler would have them."""
    values = np.random.default_rng(1).normal(0, 1, (CALLS, len(FEATURES))).tolist()
    return [dict(zip(FEATURES, r, strict=True)) for r in values]


def test_list_append_floor(benchmark: Bench, rows: list[dict[str, float]]) -> None:
    """The floor: appending the same rows to a list (no lock, no copy)."""
    sink: list[dict[str, float]] = []

    def run() -> None:
        append = sink.append
        for row in rows:
            append(row)
        sink.clear()

    benchmark.pedantic(run, rounds=200, iterations=1, warmup_rounds=5)


def test_record(benchmark: Bench, rows: list[dict[str, float]], drift_url: str) -> None:
    """``DriftClient.record`` while the sender thread ships batches of 1,000 to a real service."""
    client = DriftClient(drift_url, "bench", version="v1", max_buffer_rows=1_000_000, registry=None)
    rounds = 0

    def run() -> None:
        nonlocal rounds
        record = client.record
        for row in rows:
            record(row)
        rounds += 1

    try:
        benchmark.pedantic(run, rounds=200, iterations=1, warmup_rounds=5)
        assert client.flush(timeout=120)
    finally:
        client.close()
    assert client.sent + client.dropped == rounds * CALLS and client.rejected == 0


def test_record_sender_idle(benchmark: Bench, rows: list[dict[str, float]], drift_url: str) -> None:
    """``DriftClient.record`` alone: no batch fills during the run (huge batch size and interval), so the
    sender thread never competes for the GIL; ``close()`` then sends everything."""
    client = DriftClient(drift_url, "bench", version="v1", batch_rows=500_000, max_buffer_rows=500_000,
                         flush_interval=3600, close_timeout=60)  # fmt: skip
    rounds = 0

    def run() -> None:
        nonlocal rounds
        record = client.record
        for row in rows:
            record(row)
        rounds += 1

    benchmark.pedantic(run, rounds=200, iterations=1, warmup_rounds=5)
    client.close()
    assert client.sent + client.dropped == rounds * CALLS and client.rejected == 0
