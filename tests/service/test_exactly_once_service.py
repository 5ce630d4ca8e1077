"""The service's exactly-once keys and window compaction (issue 16): producer sequences in the ingest
body (retries are duplicates, a sequence beyond the window is a 409 that says why, a half key is a 400),
deltas compacted into one row per window while reads stay exact, and two replicas on one PostgreSQL,
each compacting, with kill -9 of either under load: every acknowledged batch counted exactly once."""

from __future__ import annotations

import random
import signal
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from litestar.testing import TestClient
from prometheus_client import CollectorRegistry
from service_helpers import MSGPACK, body, make_settings, mp, start_service, wait_for

import mlmon
from mlmon.service.app import create_app
from mlmon.store import SEQUENCE_WINDOW, open_store
from shared_helpers import start_postgres

URL = "/v1/models/churn/ingest"
# Compacting often, with day windows (a test straddling an hour boundary still fills one window).
_REPLICA = {"MLMON_COMPACT_INTERVAL_SECONDS": "0.2", "MLMON_WINDOW_SECONDS": "86400"}


def _seq(producer: str, sequence: int, rows: int = 100, seed: int = 1) -> bytes:
    payload = body("unused", rows, seed=seed, producer_id=producer, sequence=sequence)
    del payload["batch_id"]
    return mp(payload)


def _partial_rows(database_url: str) -> int:
    with open_store(database_url) as store:
        row = store._run(lambda tx: tx.one("SELECT COUNT(*) FROM window_partials"), write=False)  # type: ignore[attr-defined]
    return int(row[0])


@pytest.fixture
def compacting(tmp_path: Path, baseline: mlmon.Baseline) -> Iterator[tuple[TestClient[Any], str]]:
    """An in-process service that compacts every 0.1 s, with the churn baseline uploaded."""
    # Day windows: a test that straddles an hour boundary still fills one window.
    settings = make_settings(tmp_path, compact_interval_seconds=0.1, window_seconds=86400)
    with TestClient(create_app(settings, CollectorRegistry())) as client:
        put = client.put("/v1/models/churn/versions/v1/baseline", content=baseline.to_bytes())
        assert put.status_code == 200, put.text
        yield client, settings.database_url


def test_producer_retries_are_duplicates_and_gaps_are_409(client: TestClient[Any]) -> None:
    first = client.post(URL, content=_seq("p1", 0), headers=MSGPACK)
    assert first.status_code == 200 and first.json()["status"] == "accepted", first.text
    assert first.json()["producer_id"] == "p1" and first.json()["sequence"] == 0
    assert client.post(URL, content=_seq("p1", 0), headers=MSGPACK).json()["status"] == "duplicate"
    assert client.post(URL, content=_seq("p2", 0), headers=MSGPACK).json()["status"] == "accepted"
    gap = client.post(URL, content=_seq("p1", SEQUENCE_WINDOW + 1), headers=MSGPACK)
    assert gap.status_code == 409 and "producer 'p1'" in gap.json()["detail"], gap.text
    assert client.get("/v1/models/churn/drift").json()["current_rows"] == 200


@pytest.mark.parametrize(
    ("extra", "reason"),
    [({"producer_id": "p"}, "go together"), ({"sequence": 3}, "go together"), ({}, "needs a key")],
)
def test_a_half_or_missing_key_is_a_400(client: TestClient[Any], extra: dict[str, Any], reason: str) -> None:
    payload = body("x", 10, **extra)
    del payload["batch_id"]
    r = client.post(URL, content=mp(payload), headers=MSGPACK)
    assert r.status_code == 400 and reason in r.json()["detail"], r.text


def test_window_converges_to_one_row_and_reads_stay_exact(compacting: tuple[TestClient[Any], str]) -> None:
    client, database_url = compacting
    for i in range(40):
        r = client.post(URL, content=_seq("p", i, rows=10 + i, seed=i), headers=MSGPACK)
        assert r.status_code == 200, r.text
        assert client.get("/v1/models/churn/drift").json()["current_rows"] == sum(
            10 + j for j in range(i + 1)
        )
    assert wait_for(lambda: _partial_rows(database_url) == 1, seconds=20)
    assert client.get("/v1/models/churn/drift").json()["current_rows"] == sum(10 + j for j in range(40))
    metrics = client.get("/metrics").text
    assert "mlmon_window_rows_compacted_total" in metrics


def _replicas(db_url: str, log: Path) -> list[tuple[subprocess.Popen[bytes], str]]:
    started = []
    try:
        for _ in range(2):
            started.append(start_service(db_url, log, **_REPLICA))
    except BaseException:
        for proc, _ in started:
            proc.kill()
        raise
    return started


# Both backends in make test-slow (20 s each); make test keeps test_replicas' two PostgreSQL replicas
# counting exactly once and test_crash's kill -9 after the acknowledgement, the two halves of this one.
@pytest.mark.slow
@pytest.mark.parametrize(
    "backend",
    [pytest.param("sqlite"), pytest.param("postgres", marks=pytest.mark.postgres)],
)
def test_replicas_killed_under_load_count_every_acknowledged_batch_once(
    tmp_path: Path, baseline: mlmon.Baseline, backend: str
) -> None:
    server = start_postgres() if backend == "postgres" else None
    replicas: list[tuple[subprocess.Popen[bytes], str]] = []
    try:
        db_url = (
            str(server.create_database("mlmon_exactly_once"))
            if server is not None
            else f"sqlite:///{tmp_path / 'shared.db'}"
        )
        log = tmp_path / "server.log"
        replicas = _replicas(db_url, log)
        urls = [url for _, url in replicas]
        put = httpx.put(f"{urls[0]}/v1/models/churn/versions/v1/baseline", content=baseline.to_bytes())
        assert put.status_code == 200, put.text
        acked: dict[tuple[str, int], int] = {}
        lock = threading.Lock()
        rng = random.Random(0)

        def produce(producer: str, count: int) -> None:
            for seq in range(count):
                rows = 20 + seq % 7
                data = _seq(producer, seq, rows=rows, seed=seq)
                deadline = time.monotonic() + 60
                while time.monotonic() < deadline:  # retry the same bytes on either replica until acked
                    target = urls[(seq + len(producer)) % 2] if rng.random() < 0.8 else urls[seq % 2]
                    try:
                        r = httpx.post(f"{target}{URL}", content=data, headers=MSGPACK, timeout=5)
                    except httpx.TransportError:
                        time.sleep(0.05)
                        continue
                    if r.status_code == 200:
                        with lock:
                            acked[(producer, seq)] = rows
                        break
                    assert r.status_code in (429, 503), r.text
                    time.sleep(0.05)

        senders = [threading.Thread(target=produce, args=(f"prod{i}", 60)) for i in range(3)]
        for t in senders:
            t.start()
        for _ in range(2):  # kill -9 one replica at random, restart it on its port
            time.sleep(rng.uniform(0.5, 1.5))
            victim = rng.randrange(2)
            proc, url = replicas[victim]
            proc.send_signal(signal.SIGKILL)
            proc.wait(timeout=30)
            port = int(url.rsplit(":", 1)[1])
            replicas[victim] = start_service(db_url, log, port=port, **_REPLICA)
        for t in senders:
            t.join(timeout=180)
        assert len(acked) == 180
        expected = sum(acked.values())
        for _, url in replicas:
            assert httpx.get(f"{url}/v1/models/churn/drift").json()["current_rows"] == expected
        assert wait_for(lambda: _partial_rows(db_url) == 1, seconds=20)
        assert httpx.get(f"{urls[1]}/v1/models/churn/drift").json()["current_rows"] == expected
    finally:
        for proc, _ in replicas:
            proc.send_signal(signal.SIGTERM)
            proc.wait(timeout=30)
        if server is not None:
            server.cleanup()
