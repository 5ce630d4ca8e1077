"""Two service processes on one PostgreSQL database count exactly like one (exactly once across
replicas). With ``MLMON_REQUIRE_POSTGRES=1`` a server that cannot start fails the test instead of
skipping it."""

from __future__ import annotations

import signal
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest
from service_helpers import MSGPACK, body, mp, start_service

import mlmon
from shared_helpers import start_postgres

pytestmark = [pytest.mark.e2e, pytest.mark.postgres]


@pytest.fixture
def pg_url() -> Iterator[str]:
    """An empty database on a throwaway PostgreSQL server."""
    server = start_postgres()
    try:
        yield str(server.create_database("mlmon_replicas"))
    finally:
        server.cleanup()


def test_two_processes_sharing_postgres_count_exactly_once(
    pg_url: str, tmp_path: Path, baseline: mlmon.Baseline
) -> None:
    log = tmp_path / "server.log"
    a, url_a = start_service(pg_url, log)
    try:
        b, url_b = start_service(pg_url, log)
    except BaseException:
        a.kill()
        a.wait()
        raise
    try:
        put = httpx.put(f"{url_a}/v1/models/churn/versions/v1/baseline", content=baseline.to_bytes())
        assert put.status_code == 200, put.text
        bodies = [mp(body(f"r{i}", 100 + i, seed=i)) for i in range(20)]
        # disjoint halves to each replica, then every batch again to the other replica
        sends = [(url_a if i % 2 else url_b, d) for i, d in enumerate(bodies)]
        sends += [(url_b if i % 2 else url_a, d) for i, d in enumerate(bodies)]

        def send(target: tuple[str, bytes]) -> str:
            r = httpx.post(
                f"{target[0]}/v1/models/churn/ingest", content=target[1], headers=MSGPACK, timeout=30
            )
            assert r.status_code == 200, r.text
            return str(r.json()["status"])

        with ThreadPoolExecutor(4) as pool:
            first = list(pool.map(send, sends[:20]))
            again = list(pool.map(send, sends[20:]))
        assert first.count("accepted") == 20
        assert again.count("duplicate") == 20
        expected = sum(100 + i for i in range(20))
        for url in (url_a, url_b):
            report = httpx.get(f"{url}/v1/models/churn/drift").json()
            assert report["current_rows"] == expected
            assert report["features"]["age"]["count"] == expected
            assert report["features"]["plan"]["count"] == expected
        assert (
            httpx.get(f"{url_a}/v1/models/churn/drift").json()["features"]
            == httpx.get(f"{url_b}/v1/models/churn/drift").json()["features"]
        )
    finally:
        for proc in (a, b):
            proc.send_signal(signal.SIGTERM)
        for proc in (a, b):
            proc.wait(timeout=30)
