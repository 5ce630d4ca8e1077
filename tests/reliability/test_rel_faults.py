"""Database faults under load (RELIABILITY R3-R6), scaled to seconds: 2 service processes x 2 workers on
a throwaway PostgreSQL, a paced load generator that retries 429/5xx/network errors with the same batch,
and a fault in the middle. Every scenario ends with the store compared to the ground truth: nothing
acknowledged is lost, nothing is counted twice, and no 500 is ever answered (503 + Retry-After only)."""

from __future__ import annotations

import os
import signal
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import psutil
import pytest
from faultproxy import FaultProxy
from harness import Cluster, RssSampler, check_store, reported_rows
from loadgen import LoadGen, Truth, iter_batches
from rel_results import record
from service_helpers import MSGPACK, body, mp

import mlmon

pytestmark = [pytest.mark.e2e, pytest.mark.postgres]


def under_load(cluster: Cluster, fault: Callable[[], str], seconds: float, tag: str,
               rate_pause: float = 0.02) -> tuple[Truth, RssSampler, str]:  # fmt: skip
    """Runs paced load for ``seconds`` with ``fault`` called in this thread meanwhile; returns the
    truth once every sent batch is acknowledged or its retries ran out."""
    gen = LoadGen(cluster.urls, concurrency=6, timeout=20)
    batches = iter_batches(tag, 100_000, rows=(5, 30), seed=len(tag))
    done = threading.Event()

    def load() -> None:
        gen.run(batches, seconds, between=lambda: time.sleep(rate_pause), grace=40)
        done.set()

    with RssSampler([p.pid for p in cluster.procs]) as rss:
        thread = threading.Thread(target=load, daemon=True)
        thread.start()
        what = fault()
        thread.join(timeout=seconds + 90)
    gen.close()
    assert done.is_set(), "the load generator did not finish"
    return gen.truth, rss, what


def assert_contract(truth: Truth, url: str, check: Any) -> None:
    """No 500, every 5xx a 503 with Retry-After, every sent batch acknowledged, the store exact."""
    assert truth.statuses.get(500, 0) == 0, truth.statuses
    assert set(s for s in truth.statuses if s >= 500) <= {503}, truth.statuses
    assert truth.retry_after_missing == 0
    assert truth.acked, "nothing was acknowledged: the scenario proved nothing"
    assert set(truth.sent) == set(truth.acked), (
        f"{len(set(truth.sent) - set(truth.acked))} never acknowledged"
    )
    check.assert_exact()
    assert reported_rows(url) == check.stored_rows


def _record(name: str, truth: Truth, rss: RssSampler, check: Any, load: str, faults: str, t0: float) -> None:
    record(name, load=load, faults=faults, sent=len(truth.sent), acked=len(truth.acked), lost=check.lost,
           duplicates=check.duplicate_rows, five_xx=truth.five_xx, peak_rss_mib=rss.peak_mib,
           seconds=time.monotonic() - t0, statuses=dict(truth.statuses),
           transport_errors=truth.transport_errors)  # fmt: skip


def _wait_status(url: str, path: str, want: int, within: float) -> float:
    started = time.monotonic()
    while time.monotonic() - started < within:
        try:
            if httpx.get(f"{url}{path}", timeout=within).status_code == want:
                return time.monotonic() - started
        except httpx.TransportError:
            pass
        time.sleep(0.05)
    raise AssertionError(f"{path} did not answer {want} within {within} s")


@pytest.mark.slow  # make test-slow: over 15 s on 2 busy cores
def test_r3_postgres_crash_and_restart(own_pg: Any, tmp_path: Path, baseline: mlmon.Baseline) -> None:
    t0 = time.monotonic()
    url_db = own_pg.create_database("r3")
    with Cluster(url_db, tmp_path / "server.log") as cluster:
        cluster.upload_baseline(baseline)
        url = cluster.urls[0]
        probes: dict[str, float] = {}

        def crash() -> str:
            time.sleep(3)
            own_pg.stop("immediate")  # a crash: recovery replays the WAL at the next start
            probes["unready_after"] = _wait_status(url, "/readyz", 503, 2.0)
            for _ in range(20):
                assert httpx.get(f"{url}/healthz", timeout=2).status_code == 200
                time.sleep(0.1)
            own_pg.start()
            probes["ready_after_restart"] = _wait_status(url, "/readyz", 200, 5.0)
            return "pg_ctl stop -m immediate at 3 s, restart after 2 s"

        truth, rss, what = under_load(cluster, crash, 10, "r3-")
        check = check_store(url_db, truth)
        assert_contract(truth, url, check)
    _record("R3 DB crash", truth, rss, check, "paced, 6 connections, 2 processes x 2 workers", what, t0)


def _backends(server: Any, dbname: str) -> None:
    import psycopg

    with psycopg.connect(server.url, autocommit=True) as conn:
        conn.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
            " WHERE datname = %s AND pid <> pg_backend_pid()",
            (dbname,),
        )


@pytest.mark.slow  # make test-slow: over 15 s on 2 busy cores
def test_r4_backend_kills(pg_server: Any, pg_url: str, tmp_path: Path, baseline: mlmon.Baseline) -> None:
    t0 = time.monotonic()
    dbname = pg_url.rsplit("/", 1)[1]
    with Cluster(pg_url, tmp_path / "server.log") as cluster:
        cluster.upload_baseline(baseline)

        def kills() -> str:
            for _ in range(16):
                time.sleep(0.5)
                _backends(pg_server, dbname)
            return "pg_terminate_backend of every backend every 0.5 s for 8 s"

        truth, rss, what = under_load(cluster, kills, 10, "r4-")
        check = check_store(pg_url, truth)
        assert_contract(truth, cluster.urls[0], check)
    _record("R4 backend kills", truth, rss, check, "paced, 6 connections, 2 processes x 2 workers", what, t0)


def _freeze(server: Any, sig: int) -> None:
    pid = int((server.datadir / "postmaster.pid").read_text().split()[0])
    root = psutil.Process(pid)
    for p in [root, *root.children(recursive=True)]:
        os.kill(p.pid, sig)


@pytest.mark.slow  # make test-slow: over 15 s on 2 busy cores
def test_r5_hung_database(own_pg: Any, tmp_path: Path, baseline: mlmon.Baseline) -> None:
    t0 = time.monotonic()
    url_db = own_pg.create_database("r5")
    with Cluster(url_db, tmp_path / "server.log") as cluster:
        cluster.upload_baseline(baseline)
        url = cluster.urls[0]

        def hang() -> str:
            time.sleep(2)
            _freeze(own_pg, signal.SIGSTOP)
            try:
                stopped = time.monotonic()
                r = httpx.post(f"{url}/v1/models/churn/ingest", content=mp(body("r5-probe", 10)),
                               headers=MSGPACK, timeout=30)  # fmt: skip
                assert r.status_code == 503 and "retry-after" in r.headers, r.text
                assert time.monotonic() - stopped <= 5 + 2  # the commit timeout, plus scheduling slack
                assert httpx.get(f"{url}/healthz", timeout=2).status_code == 200
                time.sleep(max(0.0, 6 - (time.monotonic() - stopped)))
            finally:
                _freeze(own_pg, signal.SIGCONT)
            return "SIGSTOP postmaster and backends for 6 s"

        truth, rss, what = under_load(cluster, hang, 10, "r5-")
        # The probe got a 503; its commit may land later. Its retry is acknowledged and counted once.
        again = httpx.post(f"{url}/v1/models/churn/ingest", content=mp(body("r5-probe", 10)), headers=MSGPACK,
                           timeout=30)  # fmt: skip
        assert again.status_code == 200, again.text
        truth.sent["r5-probe"] = truth.acked["r5-probe"] = 10
        check = check_store(url_db, truth)
        assert_contract(truth, url, check)
        assert max(truth.error_latencies, default=0) <= 5 + 2 + 10  # 503 within the commit or pool timeout
    _record("R5 DB hang", truth, rss, check, "paced, 6 connections, 2 processes x 2 workers", what, t0)


def test_r6_ambiguous_commit(pg_server: Any, pg_url: str, tmp_path: Path, baseline: mlmon.Baseline) -> None:
    t0 = time.monotonic()
    with FaultProxy(pg_server.port) as proxy:
        via_proxy = pg_url.replace(f":{pg_server.port}/", f":{proxy.port}/") + "?sslmode=disable"
        with Cluster(via_proxy, tmp_path / "server.log", processes=1, workers=1) as cluster:
            cluster.upload_baseline(baseline)
            url = cluster.urls[0]
            # Warm the baseline cache and name the version, so the next COMMIT is the ingest's own.
            warm = httpx.post(
                f"{url}/v1/models/churn/ingest", content=mp(body("r6-warm", 7)), headers=MSGPACK
            )
            assert warm.status_code == 200, warm.text
            data = mp(body("r6-one", 33, version="v1"))
            proxy.cut_next_commits(1)
            first = httpx.post(f"{url}/v1/models/churn/ingest", content=data, headers=MSGPACK, timeout=30)
            assert proxy.stats["commits_cut"] == 1
            assert first.status_code == 503 and "retry-after" in first.headers, first.text
            retry = httpx.post(f"{url}/v1/models/churn/ingest", content=data, headers=MSGPACK, timeout=30)
            assert retry.status_code == 200 and retry.json()["status"] == "duplicate", retry.text
            assert reported_rows(url) == 33 + 7

            def cuts() -> str:
                for _ in range(5):
                    time.sleep(1)
                    proxy.cut_next_commits(1)
                return "proxy cuts the connection right after COMMIT, 6 times"

            truth, rss, what = under_load(cluster, cuts, 7, "r6-")
            truth.sent.update({"r6-one": 33, "r6-warm": 7})
            truth.acked.update({"r6-one": 33, "r6-warm": 7})
            check = check_store(pg_url, truth)
            assert_contract(truth, url, check)
            assert proxy.stats["commits_cut"] >= 5
    _record("R6 ambiguous commit", truth, rss, check, "paced, 6 connections, 1 process x 1 worker", what, t0)


def test_r5_cold_cache_read_on_a_hung_database_is_a_503(
    own_pg: Any, tmp_path: Path, baseline: mlmon.Baseline
) -> None:
    """The ingest path's own reads (a version's baseline not cached yet) are bounded like the commit."""
    url_db = own_pg.create_database("r5cold")
    with Cluster(url_db, tmp_path / "server.log", processes=1, workers=1) as cluster:
        cluster.upload_baseline(baseline, version="v1")
        cluster.upload_baseline(baseline, version="v2")  # never ingested into: not in the worker's cache
        url = cluster.urls[0]
        _freeze(own_pg, signal.SIGSTOP)
        try:
            stopped = time.monotonic()
            r = httpx.post(f"{url}/v1/models/churn/ingest", content=mp(body("cold", 10, version="v2")),
                           headers=MSGPACK, timeout=30)  # fmt: skip
            elapsed = time.monotonic() - stopped
        finally:
            _freeze(own_pg, signal.SIGCONT)
        assert r.status_code == 503 and "retry-after" in r.headers, r.text
        assert elapsed <= 5 + 2
        again = httpx.post(f"{url}/v1/models/churn/ingest", content=mp(body("cold", 10, version="v2")),
                           headers=MSGPACK, timeout=30)  # fmt: skip
        assert again.status_code == 200 and again.json()["status"] == "accepted", again.text
