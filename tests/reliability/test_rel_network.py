"""Network faults between the service and PostgreSQL through the fault proxy: added latency, a black
hole (bytes held, no RST, as a silent network), resets of every connection, and a cut in the middle of a
query. Each answers 503 + Retry-After (never 500), recovers once healed, and the store equals the ground
truth (R6, the cut right after COMMIT, is in test_rel_faults.py)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from faultproxy import FaultProxy
from harness import Cluster, check_store, reported_rows
from loadgen import Batch, LoadGen, make_batches
from rel_results import record
from service_helpers import body, mp

import mlmon

pytestmark = [pytest.mark.e2e, pytest.mark.postgres]


@pytest.fixture
def proxied(pg_server: Any, pg_url: str, tmp_path: Path, baseline: mlmon.Baseline) -> Iterator[tuple]:
    with FaultProxy(pg_server.port) as proxy:
        via = pg_url.replace(f":{pg_server.port}/", f":{proxy.port}/") + "?sslmode=disable"
        with Cluster(via, tmp_path / "server.log", processes=1, workers=1) as cluster:
            cluster.upload_baseline(baseline)
            yield proxy, cluster, pg_url


def _send(gen: LoadGen, batches: list[Batch]) -> list[int | None]:
    return [gen.send_once(b) for b in batches]


@pytest.mark.slow  # make test-slow: over 15 s on 2 busy cores
def test_latency_blackhole_resets_and_cuts(proxied: tuple, baseline: mlmon.Baseline) -> None:
    proxy, cluster, pg_url = proxied
    started = time.monotonic()
    gen = LoadGen(cluster.urls, concurrency=1, timeout=30)
    batches = iter(make_batches("net-", 400, rows=(5, 30), seed=11))
    faults = []
    # Latency: slower, still acknowledged.
    proxy.faults.delay = 0.05
    assert set(_send(gen, [next(batches) for _ in range(5)])) == {200}
    proxy.heal()
    faults.append("50 ms per chunk")
    # Black hole: nothing forwarded, nothing refused. The commit timeout answers 503 within 5 s.
    proxy.faults.blackhole = True
    t = time.monotonic()
    held = next(batches)
    assert gen.send_once(held) == 503
    assert time.monotonic() - t <= 5 + 2
    proxy.heal()
    assert gen.send_until_acked(held, time.monotonic() + 30)
    faults.append("black hole until the 503")
    # Resets: every open connection and every new one for a second.
    proxy.faults.reset_new = True
    proxy.reset_all()
    during = _send(gen, [next(batches) for _ in range(3)])
    assert set(during) <= {200, 503}, during
    proxy.heal()
    faults.append("RST of every connection for 1 s")
    # A cut inside the next INSERT message: nothing committed, the retry counts it.
    # (the version is named, so no default-version read, which would be retried, takes the cut)
    big = Batch("net-big", 2_000, mp(body("net-big", 2_000, seed=12, version="v1")))
    proxy.faults.cut_mid_insert = True
    first = gen.send_once(big)
    proxy.heal()
    assert first == 503 and proxy.stats["cuts"] >= 1, (first, proxy.stats)
    assert gen.send_until_acked(big, time.monotonic() + 30)
    faults.append("cut in the middle of an INSERT")
    rest = [next(batches) for _ in range(20)]
    for b in rest:
        assert gen.send_until_acked(b, time.monotonic() + 30)
    gen.close()
    truth = gen.truth
    for b in truth.sent:  # a batch that got a 503 was retried until acknowledged, or never counted
        if b not in truth.acked:
            assert truth.statuses[503] > 0
    assert truth.statuses.get(500, 0) == 0 and truth.retry_after_missing == 0, truth.statuses
    check = check_store(pg_url, truth)
    check.assert_exact()
    assert reported_rows(cluster.urls[0]) == check.stored_rows
    assert httpx.get(f"{cluster.urls[0]}/readyz", timeout=10).status_code == 200
    record("Network faults (proxy)", load="sequential sends, 1 process x 1 worker", faults="; ".join(faults),
           sent=len(truth.sent), acked=len(truth.acked), lost=check.lost, duplicates=check.duplicate_rows,
           five_xx=truth.five_xx, peak_rss_mib=None, seconds=time.monotonic() - started,
           statuses=dict(truth.statuses), proxy=dict(proxy.stats))  # fmt: skip
