"""R7 crash after acknowledgement and R9 graceful stop, under load on PostgreSQL.

R7: random ``kill -9`` of a worker (uvicorn's supervisor starts a new one) or of a whole service process
(a new one takes its place) while the load generator retries with the same batches: every acknowledged
batch is stored exactly once. The default run does 6 kills; the slow one 100.
R9: SIGTERM to one of two processes at 20 batches/s: it turns unready within a second, exits 0 within
10 s, and every 2xx is stored.
"""

from __future__ import annotations

import os
import random
import signal
import threading
import time
from pathlib import Path
from typing import Any

import httpx
import psutil
import pytest
from harness import Cluster, RssSampler, check_store, kill_tree, reported_rows
from loadgen import LoadGen, iter_batches, make_batches
from rel_results import record

import mlmon

pytestmark = [pytest.mark.e2e, pytest.mark.postgres]


def _kill_one(cluster: Cluster, gen: LoadGen, rng: random.Random, prom: Path) -> str:
    live = [p for p in cluster.procs if p.poll() is None]
    proc = rng.choice(live)
    workers = psutil.Process(proc.pid).children()
    if workers and rng.random() < 0.7:
        os.kill(rng.choice(workers).pid, signal.SIGKILL)  # the supervisor replaces it
        return "worker"
    index = cluster.procs.index(proc)
    kill_tree(proc.pid)
    proc.wait(timeout=10)
    cluster.settings["PROMETHEUS_MULTIPROC_DIR"] = str(_fresh(prom))
    url = cluster.start_one()
    with gen.truth.lock:
        gen.urls[gen.urls.index(cluster.urls[index])] = url
    return "process"


def _fresh(root: Path) -> Path:
    path = root / f"prom-{time.monotonic_ns()}"
    path.mkdir(parents=True)
    return path


def _run_kills(pg_url: str, tmp_path: Path, baseline: mlmon.Baseline, kills: int, name: str) -> None:
    t0 = time.monotonic()
    rng = random.Random(kills)
    prom = tmp_path / "prom"
    cluster = Cluster(
        pg_url, tmp_path / "server.log", settings={"PROMETHEUS_MULTIPROC_DIR": str(_fresh(prom))}
    )
    with cluster:
        cluster.upload_baseline(baseline)
        gen = LoadGen(cluster.urls, concurrency=6, timeout=20)
        batches = iter_batches(f"r7k{kills}-", 1_000_000, rows=(5, 30), seed=kills)
        stop = threading.Event()
        kinds: list[str] = []

        def load() -> None:
            gen.run(batches, 3600, between=lambda: time.sleep(0.02), grace=60, stop=stop)

        with RssSampler([p.pid for p in cluster.procs]) as rss:
            thread = threading.Thread(target=load, daemon=True)
            thread.start()
            time.sleep(1)
            for _ in range(kills):
                kinds.append(_kill_one(cluster, gen, rng, prom))
                time.sleep(rng.uniform(0.3, 1.5))
            stop.set()  # no new batches; retries of sent ones go on
            _stop_sending(gen, thread)
        truth = gen.truth
        check = check_store(pg_url, truth)
        check.assert_exact()
        assert set(truth.statuses) <= {200, 503}, truth.statuses
        assert truth.acked and set(truth.acked) == set(truth.sent), "a batch was never acknowledged"
        assert reported_rows(cluster.urls[-1]) == check.stored_rows
    record(name, load="paced, 6 connections, 2 processes x 2 workers",
           faults=f"{kills} x kill -9 ({kinds.count('worker')} workers, {kinds.count('process')} processes)",
           sent=len(truth.sent), acked=len(truth.acked), lost=check.lost, duplicates=check.duplicate_rows,
           five_xx=truth.five_xx, peak_rss_mib=rss.peak_mib, seconds=time.monotonic() - t0,
           statuses=dict(truth.statuses), transport_errors=truth.transport_errors)  # fmt: skip


def _stop_sending(gen: LoadGen, thread: threading.Thread) -> None:
    # The generator's run() stops taking new batches once its deadline passed; wait for its retries.
    thread.join(timeout=120)
    assert not thread.is_alive(), "the load generator did not finish"
    gen.close()


@pytest.mark.slow  # make test-slow: over 15 s on 2 busy cores
def test_r7_kill_9_after_ack(pg_url: str, tmp_path: Path, baseline: mlmon.Baseline) -> None:
    _run_kills(pg_url, tmp_path, baseline, 6, "R7 kill -9")


@pytest.mark.slow
def test_r7_hundred_kills(pg_url: str, tmp_path: Path, baseline: mlmon.Baseline) -> None:
    _run_kills(pg_url, tmp_path, baseline, 100, "R7 100 x kill -9")


@pytest.mark.slow  # make test-slow: over 15 s on 2 busy cores
def test_r9_graceful_stop_under_load(pg_url: str, tmp_path: Path, baseline: mlmon.Baseline) -> None:
    t0 = time.monotonic()
    with Cluster(pg_url, tmp_path / "server.log") as cluster:
        cluster.upload_baseline(baseline)
        gen = LoadGen(cluster.urls, concurrency=2, timeout=20)
        batches = make_batches("r9-", 120, rows=(5, 30), seed=9)  # 20 batches/s for 6 s
        stopped: dict[str, Any] = {}

        def load() -> None:
            gen.run(batches, 30, between=lambda: time.sleep(0.1), grace=30)

        with RssSampler([p.pid for p in cluster.procs]) as rss:
            thread = threading.Thread(target=load, daemon=True)
            thread.start()
            time.sleep(2)
            victim, url = cluster.procs[0], cluster.urls[0]
            signalled = time.monotonic()
            victim.send_signal(signal.SIGTERM)
            while True:
                try:
                    if httpx.get(f"{url}/readyz", timeout=1).status_code == 503:
                        break
                except httpx.TransportError:
                    break  # no longer accepting: unready too
                assert time.monotonic() - signalled < 1.0, "still ready 1 s after SIGTERM"
                time.sleep(0.005)
            stopped["unready_s"] = time.monotonic() - signalled
            assert victim.wait(timeout=10) == 0
            stopped["exit_s"] = time.monotonic() - signalled
            _stop_sending(gen, thread)
        truth = gen.truth
        assert len(truth.acked) == len(batches) and truth.statuses.get(500, 0) == 0, truth.statuses
        check = check_store(pg_url, truth)
        check.assert_exact()
    record("R9 graceful stop", load="20 batches/s, 2 connections, 2 processes x 2 workers",
           faults=f"SIGTERM to one process: unready after {stopped['unready_s'] * 1000:.0f} ms, "
           f"exit 0 after {stopped['exit_s']:.1f} s", sent=len(truth.sent), acked=len(truth.acked),
           lost=check.lost, duplicates=check.duplicate_rows, five_xx=truth.five_xx, peak_rss_mib=rss.peak_mib,
           seconds=time.monotonic() - t0)  # fmt: skip
