"""S8 slow clients and S9 category bomb, the issue 17 probes, on a real 1-process x 2-worker service.

S8: 50 connections trickle their request headers a byte every 0.2 s (before the fix the issue's probe
held them open for 15 s, and for ever) while a legitimate sender ingests a batch every 0.2 s: every
slow connection gets a 408 and is closed once the header deadline (2 s here) passes, every legitimate
batch sent meanwhile is acknowledged, none is a 5xx. S9: three batches of
1,000,000 distinct strings against the default ``MLMON_MAX_CATEGORIES`` (100,000) are 422s naming the
column, nothing is counted, and the worker's memory returns to within 30 MiB of where it started.
"""

from __future__ import annotations

import threading
import time
from pathlib import Path

import httpx
import psutil
import pytest
from harness import Cluster, RssSampler, reported_rows
from rel_results import record
from service_helpers import MSGPACK, body, connect, mp, trickle, wait_for

import mlmon

pytestmark = pytest.mark.e2e

SLOW = 50
HEADER_TIMEOUT = 2.0


def test_slow_clients_hold_no_worker(tmp_path: Path, baseline: mlmon.Baseline) -> None:
    started = time.monotonic()
    settings = {"MLMON_HEADER_TIMEOUT_SECONDS": str(HEADER_TIMEOUT)}
    with Cluster(
        f"sqlite:///{tmp_path / 's8.db'}", tmp_path / "server.log", processes=1, settings=settings
    ) as cluster:
        url = cluster.urls[0]
        cluster.upload_baseline(baseline)
        statuses: list[int] = []
        done = threading.Event()

        def legit() -> None:
            with httpx.Client(timeout=30) as c:
                for i in range(75):  # 15 s at one batch per 0.2 s, bounded in count
                    if done.is_set():
                        break
                    r = c.post(
                        f"{url}/v1/models/churn/ingest", content=mp(body(f"s8-{i}", 20)), headers=MSGPACK
                    )
                    statuses.append(r.status_code)
                    time.sleep(0.2)

        request = b"GET /healthz HTTP/1.1\r\nHost: x\r\n" + b"X-Slow: 1\r\n" * 200
        socks = [connect(url) for _ in range(SLOW)]
        sender = threading.Thread(target=legit, daemon=True)
        with RssSampler([p.pid for p in cluster.procs]) as rss:
            sender.start()
            try:
                replies, seconds = trickle(socks, [request[i : i + 1] for i in range(len(request))])
            finally:
                for sock in socks:
                    sock.close()
            done.set()
            sender.join(timeout=60)
        assert len(replies) == SLOW, f"{SLOW - len(replies)} slow connections were never closed"
        assert all(r.startswith(b"HTTP/1.1 408") for r in replies.values())
        assert statuses and set(statuses) == {200}, statuses
        assert reported_rows(url, "churn") == 20 * len(statuses)
    record("S8 slow clients", load=f"{SLOW} connections trickling headers (a byte / 0.2 s) + 1 sender",
           faults=f"slowloris; header deadline {HEADER_TIMEOUT:g} s, 1 process x 2 workers",
           sent=len(statuses), acked=statuses.count(200), lost=0, duplicates=0,
           five_xx=sum(s >= 500 for s in statuses), peak_rss_mib=rss.peak_mib,
           seconds=time.monotonic() - started,
           slow_closed=len(replies), last_closed_after_s=round(seconds, 1))  # fmt: skip


def test_a_category_bomb_is_refused_and_memory_returns(tmp_path: Path, baseline: mlmon.Baseline) -> None:
    started = time.monotonic()
    with Cluster(
        f"sqlite:///{tmp_path / 's9.db'}", tmp_path / "server.log", processes=1, workers=1
    ) as cluster:
        url = cluster.urls[0]
        cluster.upload_baseline(baseline)
        warm = mp(body("warm", 50))
        assert httpx.post(f"{url}/v1/models/churn/ingest", content=warm, headers=MSGPACK).status_code == 200
        worker = psutil.Process(cluster.procs[0].pid)
        before = worker.memory_info().rss
        bomb = mp({"batch_id": "bomb", "columns": {"plan": [f"s{i:07d}" for i in range(1_000_000)]}})
        statuses = []
        with RssSampler([worker.pid]) as rss:
            for _ in range(3):
                r = httpx.post(f"{url}/v1/models/churn/ingest", content=bomb, headers=MSGPACK, timeout=120)
                statuses.append(r.status_code)
                assert r.status_code == 422 and "'plan'" in r.json()["detail"], r.text
            returned = wait_for(lambda: worker.memory_info().rss - before < 30 * 2**20, seconds=20)
        after = (worker.memory_info().rss - before) / 2**20
        assert returned, f"RSS still {after:.1f} MiB above its start"
        assert reported_rows(url, "churn") == 50
    record("S9 category bomb", load="3 batches of 1,000,000 distinct strings (8.6 MiB msgpack each)",
           faults="MLMON_MAX_CATEGORIES 100,000; 1 process x 1 worker", sent=3, acked=0, lost=0,
           duplicates=0, five_xx=sum(s >= 500 for s in statuses), peak_rss_mib=rss.peak_mib,
           seconds=time.monotonic() - started, rss_before_mib=round(before / 2**20, 1),
           rss_after_mib=round(before / 2**20 + after, 1))  # fmt: skip
