"""R1 soak and R2 overload on PostgreSQL with 2 service processes x 2 workers (slow: ``make
test-reliability``). Lengths come from ``MLMON_SOAK_SECONDS`` (default 600) and
``MLMON_OVERLOAD_SECONDS`` (default 60), so a scaled run says so in the results file.

R1: paced at half the capacity measured just before, 1,000-row msgpack-binary batches: counts exact,
no non-2xx, RSS per process under 300 MiB and flat (growth from 20 % to 100 % of the run ≤ 5 %), open
files, PostgreSQL connections and Prometheus multiprocess files flat.
R2: 32 connections unthrottled: only 200/429/503, each 429/503 with Retry-After, RSS within the
byte budget, p99 of accepted requests recorded, recovery within 5 s, counts exact.
"""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path

import httpx
import numpy as np
import psutil
import pytest
from harness import Cluster, RssSampler, check_store, reported_rows
from loadgen import LoadGen, Truth, iter_batches
from rel_results import record
from service_helpers import MSGPACK, body, mp

import mlmon

pytestmark = [pytest.mark.e2e, pytest.mark.postgres, pytest.mark.slow]

MIB = 2**20
ROWS = 1000


def _capacity(cluster: Cluster, seconds: float = 10) -> tuple[float, Truth]:
    """Acknowledged batches per second, unthrottled over 8 connections, with that run's truth."""
    gen = LoadGen(cluster.urls, concurrency=8)
    gen.run(iter_batches("cap-", 10**6, rows=(ROWS, ROWS), seed=1), seconds, retry=False, grace=0)
    gen.close()
    return len(gen.truth.acked) / seconds, gen.truth


def _pg_connections(pg_url: str) -> int:
    import psycopg

    dbname = pg_url.rsplit("/", 1)[1]
    with psycopg.connect(pg_url, autocommit=True) as conn:
        row = conn.execute("SELECT count(*) FROM pg_stat_activity WHERE datname = %s", (dbname,)).fetchone()
    return int(row[0]) - 1 if row else 0


def _fds(cluster: Cluster) -> int:
    total = 0
    for p in cluster.procs:
        root = psutil.Process(p.pid)
        total += sum(q.num_fds() for q in [root, *root.children(recursive=True)])
    return total


class Pacer:
    """Spaces sends ``1 / rate`` seconds apart across threads."""

    def __init__(self, rate: float) -> None:
        self.interval = 1.0 / rate
        self.next = time.monotonic()
        self.lock = threading.Lock()

    def __call__(self) -> None:
        with self.lock:
            self.next = max(self.next + self.interval, time.monotonic())
            wait = self.next - time.monotonic()
        if wait > 0:
            time.sleep(wait)


def test_r1_soak(pg_url: str, tmp_path: Path, baseline: mlmon.Baseline) -> None:
    seconds = float(os.environ.get("MLMON_SOAK_SECONDS", "600"))
    t0 = time.monotonic()
    prom = tmp_path / "prom"
    prom.mkdir()
    with Cluster(
        pg_url, tmp_path / "server.log", settings={"PROMETHEUS_MULTIPROC_DIR": str(prom)}
    ) as cluster:
        cluster.upload_baseline(baseline)
        capacity, probe = _capacity(cluster)
        rate = max(1.0, capacity / 2)
        gen = LoadGen(cluster.urls, concurrency=8)
        flat: list[tuple[int, int, int]] = []
        with RssSampler([p.pid for p in cluster.procs]) as rss:
            thread = threading.Thread(
                target=gen.run, daemon=True,
                args=(iter_batches("r1-", 10**7, rows=(ROWS, ROWS), seed=2), seconds),
                kwargs={"between": Pacer(rate), "grace": 30},
            )  # fmt: skip
            thread.start()
            while thread.is_alive():
                flat.append((_fds(cluster), _pg_connections(pg_url), len(os.listdir(prom))))
                thread.join(timeout=max(1.0, seconds / 10))
        gen.close()
        truth = gen.truth
        assert set(truth.statuses) == {200} and len(truth.acked) > 10, truth.statuses
        truth.sent.update(probe.sent)  # the capacity probe's batches are in the store too
        truth.acked.update(probe.acked)
        check = check_store(pg_url, truth)
        check.assert_exact()
        assert reported_rows(cluster.urls[0]) == check.stored_rows
    per_pid = _series(rss.samples)
    growth = max(_growth(series) for series in per_pid.values())
    assert rss.peak_mib <= 300, rss.peak_mib
    assert growth <= 0.05, growth
    # Open files move with the connection pools (up to 8 PostgreSQL connections per worker) and the
    # client's connections; a leak is a trend: the second half never tops the first by more than that.
    half = len(flat) // 2
    assert max(f[0] for f in flat[half:]) <= max(f[0] for f in flat[:half]) + 16, flat
    assert max(f[1] for f in flat[1:]) <= 2 * 2 * 8 + 2, flat  # the pool's bound per worker
    assert len({f[2] for f in flat[1:]}) == 1, flat  # files per worker and metric type, never per request
    p99 = float(np.percentile(truth.latencies, 99)) * 1000 if truth.latencies else None
    record("R1 soak", load=f"{seconds:.0f} s at {rate:.0f} batches/s (half of measured capacity), "
           f"{ROWS:,}-row msgpack-binary batches", faults="none", sent=len(truth.sent),
           acked=len(truth.acked),
           lost=check.lost, duplicates=check.duplicate_rows, five_xx=truth.five_xx, peak_rss_mib=rss.peak_mib,
           seconds=time.monotonic() - t0, rss_growth=round(growth, 4), p99_ms=p99,
           fds_pg_prom=[flat[1] if len(flat) > 1 else None, flat[-1]])  # fmt: skip


def _series(samples: list[dict[int, int]]) -> dict[int, list[int]]:
    out: dict[int, list[int]] = {}
    for s in samples:
        for pid, value in s.items():
            out.setdefault(pid, []).append(value)
    return out


def _growth(series: list[int]) -> float:
    # From the first fifth of the run (warm) to the end, as min 2 to min 10 of a 10-minute run.
    if len(series) < 10:
        return 0.0
    start = series[len(series) // 5]
    return (max(series[len(series) // 5 :]) - start) / start


def test_r2_overload(pg_url: str, tmp_path: Path, baseline: mlmon.Baseline) -> None:
    seconds = float(os.environ.get("MLMON_OVERLOAD_SECONDS", "60"))
    t0 = time.monotonic()
    with Cluster(pg_url, tmp_path / "server.log") as cluster:
        cluster.upload_baseline(baseline)
        before = RssSampler([p.pid for p in cluster.procs]).sample()
        gen = LoadGen(cluster.urls, concurrency=32, timeout=30)
        with RssSampler([p.pid for p in cluster.procs]) as rss:
            gen.run(iter_batches("r2-", 10**7, rows=(ROWS, 4 * ROWS), seed=3), seconds, retry=False, grace=0)
        gen.close()
        stopped = time.monotonic()
        r = httpx.post(f"{cluster.urls[0]}/v1/models/churn/ingest", content=mp(body("r2-after", 10)),
                       headers=MSGPACK, timeout=10)  # fmt: skip
        recovery = time.monotonic() - stopped
        truth = gen.truth
        assert r.status_code == 200 and recovery <= 5, (r.status_code, recovery)
        truth.sent["r2-after"] = truth.acked["r2-after"] = 10
        assert set(truth.statuses) <= {200, 429, 503} and truth.statuses[200] > 0, truth.statuses
        assert truth.retry_after_missing == 0 and truth.transport_errors == 0
        check = check_store(pg_url, truth)
        check.assert_exact()
    budget = 64 * MIB
    growth = max(rss.per_pid_peak()[pid] - before[pid] for pid in before)
    assert growth <= 2 * budget, growth / MIB
    p99 = float(np.percentile(truth.latencies, 99)) * 1000
    assert p99 < 5000  # generous: the 250 ms figure of the contract is recorded, not asserted here
    record("R2 overload", load=f"{seconds:.0f} s unthrottled, 32 connections, 1,000-4,000-row batches",
           faults="overload", sent=len(truth.sent), acked=len(truth.acked), lost=check.lost,
           duplicates=check.duplicate_rows, five_xx=truth.five_xx, peak_rss_mib=rss.peak_mib,
           seconds=time.monotonic() - t0, statuses=dict(truth.statuses), p99_accepted_ms=round(p99, 1),
           recovery_s=round(recovery, 2), rss_growth_mib=round(growth / MIB, 1))  # fmt: skip
