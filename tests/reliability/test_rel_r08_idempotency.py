"""R8 idempotency: 1,000 batches sent 3 times each, interleaved across 2 service processes with 2 workers
each on one PostgreSQL database, are counted exactly once; the same id with another body is a 409 naming
the id; and a Hypothesis state machine checks the service against a model of exactly-once counting."""

from __future__ import annotations

import random
import tempfile
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import msgspec
import numpy as np
import pytest
from harness import Cluster, RssSampler, check_store, reported_rows
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule
from litestar.testing import TestClient
from loadgen import Batch, LoadGen, make_batches
from prometheus_client import CollectorRegistry
from rel_results import record
from service_helpers import MSGPACK, body, make_settings, mp

import mlmon
from mlmon.service import create_app

N_BATCHES = 1000
SENDS = 3


@pytest.mark.postgres
@pytest.mark.e2e
@pytest.mark.slow  # make test-slow: over 15 s on 2 busy cores
def test_three_sends_across_workers_and_processes_count_once(
    pg_url: str, tmp_path: Path, baseline: mlmon.Baseline
) -> None:
    batches = make_batches("r8-", N_BATCHES, rows=(3, 12), seed=8)
    sends = [b for b in batches for _ in range(SENDS)]
    random.Random(8).shuffle(sends)  # copies of one id land on different connections, workers, processes
    started = time.monotonic()
    with Cluster(pg_url, tmp_path / "server.log") as cluster:
        cluster.upload_baseline(baseline)
        gen = LoadGen(cluster.urls, concurrency=8)
        with RssSampler([p.pid for p in cluster.procs]) as rss, ThreadPoolExecutor(8) as pool:
            statuses = list(pool.map(lambda b: _send(gen, b, cluster.urls), sends))
        gen.close()
        assert gen.truth.statuses == Counter({200: N_BATCHES * SENDS})
        assert Counter(statuses) == Counter({"accepted": N_BATCHES, "duplicate": N_BATCHES * (SENDS - 1)})
        check = check_store(pg_url, gen.truth)
        check.assert_exact()
        expected = sum(b.rows for b in batches)
        assert check.stored_rows == expected
        assert reported_rows(cluster.urls[0]) == reported_rows(cluster.urls[1]) == expected
    record("R8 idempotency", load=f"{N_BATCHES:,} batches x {SENDS} sends, 2 processes x 2 workers",
           faults="none (retries interleaved)", sent=N_BATCHES * SENDS, acked=len(gen.truth.acked),
           lost=check.lost, duplicates=check.duplicate_rows, five_xx=gen.truth.five_xx,
           peak_rss_mib=rss.peak_mib, seconds=time.monotonic() - started)  # fmt: skip


def _send(gen: LoadGen, batch: Batch, urls: list[str]) -> str:
    url = random.choice(urls)
    r = gen.client.post(f"{url}/v1/models/churn/ingest", content=batch.data, headers=gen.headers)
    with gen.truth.lock:
        gen.truth.sent[batch.batch_id] = batch.rows
        gen.truth.statuses[r.status_code] += 1
        if r.status_code == 200:
            gen.truth.acked[batch.batch_id] = batch.rows
    assert r.status_code == 200, r.text
    return str(r.json()["status"])


def test_same_id_with_other_body_is_409_naming_it(tmp_path: Path, baseline: mlmon.Baseline) -> None:
    with TestClient(create_app(make_settings(tmp_path), CollectorRegistry())) as c:
        c.put("/v1/models/churn/versions/v1/baseline", content=baseline.to_bytes())
        first = c.post("/v1/models/churn/ingest", content=mp(body("dup-7", 50, seed=1)), headers=MSGPACK)
        assert first.status_code == 200 and first.json()["status"] == "accepted"
        other = c.post("/v1/models/churn/ingest", content=mp(body("dup-7", 50, seed=2)), headers=MSGPACK)
        assert other.status_code == 409 and "dup-7" in other.json()["detail"], other.text
        # The same content as JSON (lists) is the same batch: a duplicate, not a conflict.
        as_json = msgspec.json.encode(body("dup-7", 50, seed=1, raw=False))
        json_ct = {"content-type": "application/json"}
        again = c.post("/v1/models/churn/ingest", content=as_json, headers=json_ct)
        assert again.status_code == 200 and again.json()["status"] == "duplicate", again.text
        assert c.get("/v1/models/churn/drift").json()["current_rows"] == 50


class IdempotencyMachine(RuleBasedStateMachine):
    """The service against a model: each id is counted with the first body it came with; the same id with
    the same content (in either encoding) is a duplicate; with other content a 409; counts always add up."""

    def __init__(self) -> None:
        super().__init__()
        self.model: dict[str, tuple[int, int]] = {}  # id -> (seed, rows)
        self.client: Any = None

    @initialize()
    def start(self) -> None:
        self.tmp = tempfile.TemporaryDirectory()
        app = create_app(make_settings(Path(self.tmp.name)), CollectorRegistry())
        self.client = TestClient(app).__enter__()
        put = self.client.put("/v1/models/churn/versions/v1/baseline", content=_BASELINE.to_bytes())
        assert put.status_code == 200

    @rule(bid=st.sampled_from([f"id-{i}" for i in range(6)]), seed=st.integers(0, 2),
          rows=st.sampled_from([1, 7, 30]), raw=st.booleans(), as_json=st.booleans())  # fmt: skip
    def send(self, bid: str, seed: int, rows: int, raw: bool, as_json: bool) -> None:
        doc = body(bid, rows, seed=seed, raw=raw and not as_json)
        if as_json:
            r = self.client.post("/v1/models/churn/ingest", content=msgspec.json.encode(doc),
                                 headers={"content-type": "application/json"})  # fmt: skip
        else:
            r = self.client.post("/v1/models/churn/ingest", content=mp(doc), headers=MSGPACK)
        known = self.model.get(bid)
        if known is None:
            assert r.status_code == 200 and r.json()["status"] == "accepted", r.text
            self.model[bid] = (seed, rows)
        elif known == (seed, rows):
            assert r.status_code == 200 and r.json()["status"] == "duplicate", r.text
        else:
            assert r.status_code == 409 and bid in r.json()["detail"], r.text

    @invariant()
    def counts_add_up(self) -> None:
        if self.client is None:
            return
        report = self.client.get("/v1/models/churn/drift").json()
        expected = sum(rows for _, rows in self.model.values())
        assert report["current_rows"] == expected
        if expected:
            assert report["features"]["age"]["count"] == report["features"]["plan"]["count"] == expected

    def teardown(self) -> None:
        if self.client is not None:
            self.client.__exit__(None, None, None)
            self.tmp.cleanup()


_RNG = np.random.default_rng(0)
_BASELINE = mlmon.Baseline.fit({"age": _RNG.normal(40, 9, 5000), "plan": _RNG.choice(["a", "b", "c"], 5000)})
IdempotencyMachine.TestCase.settings = settings(max_examples=15, stateful_step_count=12, deadline=None)
TestIdempotencyMachine = IdempotencyMachine.TestCase


def test_retry_without_sent_at_in_the_next_window_is_a_duplicate(
    tmp_path: Path, baseline: mlmon.Baseline
) -> None:
    """A batch without ``sent_at`` lands in the window of its arrival; its retry after the window turned
    (say after an ambiguous commit's 503) is the same batch: a duplicate, not a 409."""
    with TestClient(create_app(make_settings(tmp_path, window_seconds=1), CollectorRegistry())) as c:
        c.put("/v1/models/churn/versions/v1/baseline", content=baseline.to_bytes())
        data = mp(body("turn", 20, seed=4))
        first = c.post("/v1/models/churn/ingest", content=data, headers=MSGPACK)
        assert first.status_code == 200 and first.json()["status"] == "accepted", first.text
        time.sleep(1.1)  # the next window
        again = c.post("/v1/models/churn/ingest", content=data, headers=MSGPACK)
        assert again.status_code == 200 and again.json()["status"] == "duplicate", again.text
        # With sent_at the window is the sender's: the same content at another time is another batch.
        pinned = {**body("pinned", 20, seed=4), "sent_at": "2026-01-01T00:00:00Z"}
        assert (
            c.post("/v1/models/churn/ingest", content=mp(pinned), headers=MSGPACK).json()["status"]
            == "accepted"
        )
        moved = mp({**pinned, "sent_at": "2026-01-01T00:00:05Z"})
        assert c.post("/v1/models/churn/ingest", content=moved, headers=MSGPACK).status_code == 409
