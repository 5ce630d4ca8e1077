"""R11 compression bombs: a gzip body that inflates to 10 GiB (160 concatenated gzip members of 64 MiB of
zeros, about 10 MB on the wire) is refused with 415 under every ``Content-Encoding`` spelling, before it
is inflated: the worker's RSS grows by less than twice the body limit, and no count changes."""

from __future__ import annotations

import gzip
import time
import zlib
from pathlib import Path

import httpx
import pytest
from harness import Cluster, RssSampler, reported_rows
from rel_results import record
from service_helpers import MSGPACK

import mlmon

pytestmark = pytest.mark.e2e

MIB = 2**20
LIMIT = 16 * MIB


def gzip_bomb(inflated_gib: int = 10) -> bytes:
    """Concatenated gzip members (RFC 1952 allows several) that inflate to ``inflated_gib`` GiB."""
    member = gzip.compress(b"\x00" * (64 * MIB), compresslevel=9)
    return member * (inflated_gib * 16)


def _inflated_size(data: bytes, limit: int) -> int:
    # Checks the bomb is real without inflating all of it: stops after ``limit`` bytes.
    d = zlib.decompressobj(wbits=31)
    return len(d.decompress(data[: 64 * 1024], limit))


def test_gzip_bomb_is_refused_before_inflating(tmp_path: Path, baseline: mlmon.Baseline) -> None:
    bomb = gzip_bomb()
    assert len(bomb) < LIMIT and len(bomb) // len(gzip.compress(b"\x00" * (64 * MIB))) == 160
    assert _inflated_size(bomb, 32 * MIB) == 32 * MIB
    started = time.monotonic()
    encodings = [
        "gzip",
        "GZIP",
        "x-gzip",
        "deflate",
        "br",
        "zstd",
        "gzip, identity",
        "x-compress",
        "identity, gzip",
    ]
    with Cluster(f"sqlite:///{tmp_path / 'r11.db'}", tmp_path / "server.log", processes=1) as cluster:
        url = cluster.urls[0]
        cluster.upload_baseline(baseline)
        pids = cluster.worker_pids()
        with RssSampler(list(pids)) as rss, httpx.Client(timeout=60) as client:
            before = rss.sample()
            statuses = []
            for enc in encodings:
                headers = {**MSGPACK, "content-encoding": enc}
                r = client.post(f"{url}/v1/models/churn/ingest", content=bomb, headers=headers)
                statuses.append(r.status_code)
                assert r.status_code == 415, (enc, r.status_code, r.text)
                assert "Content-Encoding" in r.json()["detail"]
            # Without the header the bytes are just a malformed body: 400, never inflated.
            r = client.post(f"{url}/v1/models/churn/ingest", content=bomb, headers=MSGPACK)
            statuses.append(r.status_code)
            assert r.status_code == 400, r.text
            after = rss.sample()
        growth = max(after[p] - before[p] for p in before if p in after)
        assert growth < 2 * LIMIT, growth / MIB
        assert cluster.worker_pids() == pids
        assert reported_rows(url) == 0
    record("R11 compression bomb", load=f"{len(statuses)} requests of a {len(bomb) / MIB:.1f} MiB gzip body",
           faults="inflates to 10 GiB; 9 Content-Encoding spellings", sent=len(statuses), acked=0, lost=0,
           duplicates=0, five_xx=sum(s >= 500 for s in statuses), peak_rss_mib=rss.peak_mib,
           seconds=time.monotonic() - started, rss_growth_mib=round(growth / MIB, 1))  # fmt: skip
