"""Overload: beyond the in-flight byte budget the service answers 429 with Retry-After before reading
the body; beyond ``max_queue`` batches waiting for a commit, 429 too; and the counts equal the sum of the
acknowledged batches."""

from __future__ import annotations

import asyncio
import signal
import sqlite3
from pathlib import Path

import httpx
import pytest
from litestar.testing import TestClient
from prometheus_client import CollectorRegistry
from service_helpers import MSGPACK, body, make_settings, mp, start_service

import mlmon
from mlmon.service import create_app

URL = "/v1/models/churn/ingest"


def test_byte_budget_answers_429_with_retry_after_and_counts_stay_exact(
    tmp_path: Path, baseline: mlmon.Baseline
) -> None:
    small = [mp(body(f"s{i}", 10 + i, seed=i)) for i in range(5)]
    large = [mp(body(f"l{i}", 500 + i, seed=i)) for i in range(5)]
    budget = 4 * max(len(b) for b in small) + 1000
    assert all(len(b) > budget for b in large)
    app = create_app(make_settings(tmp_path, inflight_bytes=budget), CollectorRegistry())
    with TestClient(app) as client:
        assert (
            client.put("/v1/models/churn/versions/v1/baseline", content=baseline.to_bytes()).status_code
            == 200
        )
        acked = 0
        # another request holds most of the budget: only bodies that fit the rest are read
        with app.state.worker.budget.reserve(budget - 2 * max(len(b) for b in small)):
            for b in large:
                r = client.post(URL, content=b, headers=MSGPACK)
                assert r.status_code == 429, r.text
                assert int(r.headers["retry-after"]) >= 1
            for b in small:
                r = client.post(URL, content=b, headers=MSGPACK)
                assert r.status_code == 200, r.text
                acked += r.json()["rows"]
        report = client.get("/v1/models/churn/drift").json()
        assert int(report["current_rows"]) == acked == sum(10 + i for i in range(5))
        assert int(report["features"]["age"]["count"]) == acked
        # the budget is released and the refused batches were never counted: now accepted, not duplicate
        for b in large:
            assert client.post(URL, content=b, headers=MSGPACK).json()["status"] == "accepted"
        assert int(client.get("/v1/models/churn/drift").json()["current_rows"]) == acked + sum(
            500 + i for i in range(5)
        )


async def _rejected(http: httpx.AsyncClient) -> float:
    text = (await http.get("/metrics")).text
    line = next(
        (x for x in text.splitlines() if x.startswith('mlmon_batches_rejected_total{reason="overloaded"}')),
        "",
    )
    return float(line.split()[-1]) if line else 0.0


@pytest.mark.e2e
def test_commit_queue_full_answers_429_and_counts_stay_exact(
    tmp_path: Path, baseline: mlmon.Baseline
) -> None:
    # The test holds SQLite's write lock, so the worker's first group commit waits in the store and the
    # next batches queue; beyond max_queue=2 they are refused. Then the lock goes and the queue commits.
    db = tmp_path / "svc.db"
    proc, url = start_service(f"sqlite:///{db}", tmp_path / "server.log", MLMON_MAX_QUEUE="2")
    try:
        assert httpx.put(
            f"{url}/v1/models/churn/versions/v1/baseline", content=baseline.to_bytes()
        ).is_success
        bodies = [mp(body(f"q{i}", 20 + i, seed=i)) for i in range(12)]
        lock = sqlite3.connect(db, isolation_level=None)
        lock.execute("BEGIN IMMEDIATE")

        async def post_all() -> list[httpx.Response]:
            async with httpx.AsyncClient(base_url=url, timeout=30) as http:
                first = asyncio.create_task(http.post(URL, content=bodies[0], headers=MSGPACK))
                await asyncio.sleep(0.5)  # its commit now waits for the lock
                rest = [http.post(URL, content=b, headers=MSGPACK) for b in bodies[1:]]
                done = asyncio.gather(*rest)
                # Release once the queue is full and every other batch was refused (bounded wait).
                for _ in range(200):
                    if await _rejected(http) >= len(rest) - 2:
                        break
                    await asyncio.sleep(0.05)
                lock.execute("ROLLBACK")
                return [await first, *await done]

        responses = asyncio.run(post_all())
        lock.close()
        statuses = [r.status_code for r in responses]
        assert set(statuses) == {200, 429}, statuses
        assert all(int(r.headers["retry-after"]) >= 1 for r in responses if r.status_code == 429)
        acked = sum(r.json()["rows"] for r in responses if r.status_code == 200)
        assert httpx.get(f"{url}/v1/models/churn/drift").json()["current_rows"] == acked

        async def rejected() -> float:
            async with httpx.AsyncClient(base_url=url) as http:
                return await _rejected(http)

        assert asyncio.run(rejected()) == statuses.count(429)
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=30)
